"""A class graded at once: dlgrade batch against the floor, measured in one run.

Builds a synthetic class of K hw3 P1 submissions from the examples (each zip made unique): mostly
correct, some buggy (Ali), some crashing (Maryam), one slow (Reza's infinite loop) and one hostile
(Mallory), and measures:

* the floor: a fresh Python that imports torch and runs the same definitions (what a student's own
  code costs; no grader can go below it per submission without sharing processes between students);
* dlgrade on one submission (`grade ZIP`);
* `grade batch` with 1 and with 2 jobs (amortized seconds per submission; the 2-job speed-up), run back to
  back ``--repeat`` times: the medians are reported, and the speed-up is the median of the paired ratios
  (one run of each differs by several per cent from the next on a shared machine);
* a regrade after a points-only rubric change (served from the cache), as a share of the first run;
* otter-grader and nbgrader when installed (they are not on this machine: reported as absent).

    python bench/bench_batch.py                 # K = 20
    python bench/bench_batch.py --size 100 --repeat 3 --write bench/RESULTS.md
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "submissions_example"
GRADE = [shutil.which("grade") or sys.executable, *([] if shutil.which("grade") else ["-m", "grader"])]
KINDS = [("Sara_Ahmadi", "correct"), ("Ali_Rezaei", "buggy"), ("Maryam_Hosseini", "crashing"),
         ("Reza_Karimi", "slow"), ("Mallory_Hacker", "hostile")]
TIMEOUTS = ["--call-timeout", "3", "--cell-timeout", "3"]  # the hostile and slow ones cost these


def build_class(folder: Path, size: int) -> dict[str, int]:
    """K unique zips: 1 slow, 1 hostile, 15 % buggy, 10 % crashing, the rest correct."""
    plan = ["slow", "hostile"] + ["buggy"] * max(1, size * 15 // 100) + ["crashing"] * max(1, size // 10)
    plan += ["correct"] * (size - len(plan))
    sources = {kind: next(EXAMPLES.glob(f"HW3_{name}_*.zip")) for name, kind in KINDS}
    counts: dict[str, int] = {}
    for index, kind in enumerate(plan[:size]):
        target = folder / f"HW3_Student{index:03d}_{kind.capitalize()}_{402000000 + index}.zip"
        with zipfile.ZipFile(sources[kind]) as source, zipfile.ZipFile(target, "w") as copy:
            for info in source.infolist():
                copy.writestr(info, source.read(info))
            copy.writestr("NOTE.txt", f"submission {index}")  # unique bytes: no two students share a cache key
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def floor_seconds(workdir: Path) -> float:
    """A fresh Python importing torch and running the correct notebook's definitions."""
    import nbformat

    from grader.execution.cells import select_code

    zip_path = next(EXAMPLES.glob("HW3_Sara_*.zip"))
    with zipfile.ZipFile(zip_path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".ipynb"))
        notebook = nbformat.reads(archive.read(name).decode(), as_version=4)
    # what definitions mode runs, statement by statement, a failing one costing only itself (as the grader does)
    statements = [ast.get_source_segment(unit.source, node) for unit in select_code(notebook.cells, "definitions")
                  for node in ast.parse(unit.source).body]
    script = workdir / "floor.py"
    script.write_text("import torch\nfrom rnn_utils import *\n"
                      f"for statement in {statements!r}:\n"
                      "    try:\n        exec(statement, globals())\n    except Exception:\n        pass\n")
    shutil.copy(REPO / "rubrics" / "hw3" / "template" / "rnn_utils.py", workdir / "rnn_utils.py")
    return min(timed([sys.executable, str(script)]) for _ in range(3))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1, help="Pairs of 1-job and 2-job runs (medians reported).")
    parser.add_argument("--write", type=Path, help="Also write the figures as Markdown here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as folder:
        root = Path(folder)
        klass = root / "class"
        klass.mkdir()
        counts = build_class(klass, args.size)
        floor = floor_seconds(root)
        one = min(timed([*GRADE, str(next(klass.glob("*_Correct_*.zip"))), "--rubric", "hw3", "--format", "json"])
                  for _ in range(2))
        samples: dict[int, list[float]] = {1: [], 2: []}
        for turn in range(args.repeat):
            for jobs in (1, 2):
                samples[jobs].append(timed([*GRADE, "batch", str(klass), "-r", "hw3", "-o",
                                            str(root / f"results{jobs}-{turn}"), "-j", str(jobs), "-q", *TIMEOUTS]))
        runs = {jobs: statistics.median(seconds) for jobs, seconds in samples.items()}
        speedups = [one_job / two_jobs for one_job, two_jobs in zip(samples[1], samples[2])]
        # the same class with every kernel started cold: what the warm zygote saves
        cold = timed([*GRADE, "batch", str(klass), "-r", "hw3", "-o", str(root / "cold"), "-j", "2", "--cold", "-q",
                      *TIMEOUTS])
        rubric = root / "rubric"
        shutil.copytree(REPO / "rubrics" / "hw3", rubric)
        (rubric / "rubric.toml").write_text((rubric / "rubric.toml").read_text().replace("points = 3", "points = 4"))
        shutil.copytree(root / f"results2-{args.repeat - 1}", root / "regrade")
        regrade = timed([*GRADE, "batch", str(klass), "-r", str(rubric), "-o", str(root / "regrade"), "-q", *TIMEOUTS])
    peers = {name: "installed" if importlib.util.find_spec(module) else "not installed"
             for name, module in (("otter-grader", "otter"), ("nbgrader", "nbgrader"))}
    size = args.size
    figures = {
        "class": counts, "floor_s": round(floor, 3), "one_submission_s": round(one, 3), "repeat": args.repeat,
        "batch_1_job_s": round(runs[1], 2), "batch_2_jobs_s": round(runs[2], 2),
        "batch_1_job_samples_s": [round(x, 2) for x in samples[1]],
        "batch_2_jobs_samples_s": [round(x, 2) for x in samples[2]],
        "amortized_1_job_s": round(runs[1] / size, 3), "amortized_2_jobs_s": round(runs[2] / size, 3),
        "amortized_2_jobs_cold_s": round(cold / size, 3), "warm_over_cold_2_jobs": round(cold / runs[2], 2),
        "one_submission_vs_floor": round(one / floor, 2),
        "amortized_2_jobs_vs_floor": round(runs[2] / size / floor, 2),
        "speedup_2_jobs": round(statistics.median(speedups), 2),
        "speedup_2_jobs_range": [round(min(speedups), 2), round(max(speedups), 2)],
        "regrade_share_of_first_run": round(regrade / runs[2], 4),
        "peers": peers}
    print(json.dumps(figures, indent=2))
    if args.write:
        args.write.write_text(markdown(figures, size, args.repeat))
    return 0


def markdown(f: dict, size: int, repeat: int) -> str:
    low, high = f["speedup_2_jobs_range"]
    return f"""# Benchmark results

Command: `python bench/bench_batch.py --size {size} --repeat {repeat} --write bench/RESULTS.md` (one
invocation, this machine: 2 cores; every figure below comes from it).  `grade batch -j 1` and `-j 2`
ran back to back {repeat} time(s), taking {', '.join(map(str, f['batch_1_job_samples_s']))} s (1 job) and
{', '.join(map(str, f['batch_2_jobs_samples_s']))} s (2 jobs): their rows give the medians, and the speed-up is the
median of the {repeat} paired ratios (from {low} to {high}).

Class: {size} hw3 P1 submissions — {', '.join(f'{v} {k}' for k, v in f['class'].items())}; the slow and
hostile ones are bounded by `--call-timeout 3 --cell-timeout 3`.

| measure | seconds | ratio |
| --- | --- | --- |
| floor: fresh Python, `import torch`, the definitions | {f['floor_s']} | 1 |
| `grade` one correct submission | {f['one_submission_s']} | {f['one_submission_vs_floor']} × floor |
| `grade batch -j 1`, amortized per submission | {f['amortized_1_job_s']} | {round(f['amortized_1_job_s'] / f['floor_s'], 2)} × floor |
| `grade batch -j 2`, amortized per submission | {f['amortized_2_jobs_s']} | {f['amortized_2_jobs_vs_floor']} × floor |
| `grade batch -j 2 --cold` (every kernel started fresh), amortized | {f['amortized_2_jobs_cold_s']} | {round(f['amortized_2_jobs_cold_s'] / f['floor_s'], 2)} × floor |
| warm kernels over cold (throughput, 2 jobs) | | {f['warm_over_cold_2_jobs']} × |
| 2 jobs over 1 job (throughput) | | {f['speedup_2_jobs']} × |
| regrade after a points-only change | {round(f['regrade_share_of_first_run'] * f['batch_2_jobs_s'], 2)} | {100 * f['regrade_share_of_first_run']:.2f} % of the first run |

Peers: {', '.join(f'{k} {v}' for k, v in f['peers'].items())} (nothing to compare against on this machine).
"""


if __name__ == "__main__":
    sys.exit(main())
