"""The same hw3 class graded by two versions of the grader, and with and without a course environment,
alternately, in one run: what a change costs per submission, measured as a ratio on this machine's
noise rather than against a figure taken on another day.

* ``--baseline REV``: a git worktree of REV (for example the commit before resilient definitions) grades
  the class with ``grade batch``; the working tree grades it right after; the pair repeats ``--repeat``
  times, and the ratio reported is the median of the paired ratios.
* the course environment: the working tree grades the class with the bundled hw3 rubric, and with a copy
  of it that declares ``[environment] requirements`` (a wheel built here, installed from a local folder
  with no network, after its one build, which is timed apart).

    python bench/bench_versions.py --baseline 6351b63 --size 40 --repeat 3 --write bench/RESULTS-versions.md
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_batch import REPO, TIMEOUTS, build_class  # noqa: E402

sys.path.insert(0, str(REPO / "tests"))
from test_course_environment import wheel  # noqa: E402


def batch_seconds(tree: Path, klass: Path, rubric: str, results: Path, jobs: int, env: dict) -> float:
    started = time.perf_counter()
    # ``python -m grader`` run in ``tree``: that tree's grader package comes first on the path
    subprocess.run([sys.executable, "-m", "grader", "batch", str(klass), "-r", rubric, "-o", str(results), "-j", str(jobs),
                    "-q", *TIMEOUTS], check=True, cwd=tree, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def which_grader(tree: Path, env: dict) -> str:
    return subprocess.run([sys.executable, "-c", "import grader; print(grader.__file__)"], cwd=tree, env=env,
                          capture_output=True, text=True, check=True).stdout.strip()


def paired(first, second, repeat: int) -> tuple[list[float], list[float]]:
    """``first()`` and ``second()`` alternately, ``repeat`` times each, the order swapped every turn."""
    a, b = [], []
    for turn in range(repeat):
        if turn % 2 == 0:
            a.append(first())
            b.append(second())
        else:
            b.append(second())
            a.append(first())
    return a, b


def summary(name_a: str, a: list[float], name_b: str, b: list[float], size: int) -> dict:
    ratios = [y / x for x, y in zip(a, b)]
    return {f"{name_a}_s": [round(x, 2) for x in a], f"{name_b}_s": [round(y, 2) for y in b],
            f"{name_a}_per_submission_s": round(statistics.median(a) / size, 3),
            f"{name_b}_per_submission_s": round(statistics.median(b) / size, 3),
            "ratio_median": round(statistics.median(ratios), 3),
            "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", required=True, help="The git revision to compare the working tree with.")
    parser.add_argument("--size", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlgrade-versions-") as folder:
        root = Path(folder)
        klass = root / "class"
        klass.mkdir()
        counts = build_class(klass, args.size)
        baseline = root / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(baseline), args.baseline],
                       check=True, capture_output=True)
        try:
            env = {**os.environ, "DLGRADE_CACHE": str(root / "cache")}
            assert which_grader(baseline, env).startswith(str(baseline)), "the baseline's grader is not the one run"
            assert which_grader(REPO, env).startswith(str(REPO))
            turns = iter(range(10_000))

            def run(tree: Path, rubric: str = "hw3") -> float:
                return batch_seconds(tree, klass, rubric, root / f"results-{next(turns)}", args.jobs, env)

            base, current = paired(lambda: run(baseline), lambda: run(REPO), args.repeat)
            versions = summary("baseline", base, "current", current, args.size)

            rubric = root / "hw3-env"
            shutil.copytree(REPO / "rubrics" / "hw3", rubric)
            (rubric / "wheels").mkdir()
            wheel(rubric / "wheels", "course_plot", "1.0", {"course_plot/__init__.py": "def scale():\n    return 1\n"})
            text = (rubric / "rubric.toml").read_text()
            (rubric / "rubric.toml").write_text(text.replace("[limits]", "[environment]\nrequirements = "
                                                "[\"course-plot\"]\nfind_links = [\"wheels\"]\noffline = true\n\n"
                                                "[limits]", 1))
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "grader", "env", str(rubric)], cwd=REPO, env=env, check=True,
                           capture_output=True)
            build = time.perf_counter() - started
            without, with_env = paired(lambda: run(REPO), lambda: run(REPO, str(rubric)), args.repeat)
            environment = {**summary("without", without, "with_environment", with_env, args.size),
                           "first_build_s": round(build, 2)}
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)],
                           capture_output=True)
    figures = {"class": counts, "size": args.size, "jobs": args.jobs, "repeat": args.repeat,
               "baseline": args.baseline, "versions": versions, "environment": environment}
    print(json.dumps(figures, indent=2))
    if args.write:
        args.write.write_text(markdown({**figures, "written_to": args.write.as_posix()}))
    return 0


def markdown(f: dict) -> str:
    v, e = f["versions"], f["environment"]
    return f"""# The cost of a change, measured in one run

Command: `python bench/bench_versions.py --baseline {f['baseline']} --size {f['size']} --repeat {f['repeat']} \
--write {f['written_to']}` (this machine: 2 cores; every figure below comes from that one run).
Class: {f['size']} hw3 P1 submissions ({', '.join(f'{n} {k}' for k, n in f['class'].items())}), `grade batch -j
{f['jobs']}`, the slow and hostile ones bounded by `--call-timeout 3 --cell-timeout 3`. Each pair of runs
alternates its order; a ratio is the median of the paired ratios (its range in brackets): pairing a
run with its neighbour cancels the machine's drift, which the per-submission medians (each column's
median run ÷ the class size) keep, so the two can disagree in sign by a few per cent.

| comparison | per submission | ratio |
| --- | --- | --- |
| grader at `{f['baseline']}` (before) | {v['baseline_per_submission_s']} s | 1 |
| working tree (after) | {v['current_per_submission_s']} s | {v['ratio_median']} × [{v['ratio_range'][0]}, {v['ratio_range'][1]}] |
| hw3 without `[environment]` | {e['without_per_submission_s']} s | 1 |
| hw3 with `[environment]` (built once before, {e['first_build_s']} s) | {e['with_environment_per_submission_s']} s | {e['ratio_median']} × [{e['ratio_range'][0]}, {e['ratio_range'][1]}] |

Samples (s): before {v['baseline_s']}, after {v['current_s']}; without {e['without_s']}, with {e['with_environment_s']}.
"""


if __name__ == "__main__":
    sys.exit(main())
