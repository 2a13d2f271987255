"""A class graded at once: dlgrade batch against the floor and against an earlier grader, measured in one run.

Builds a synthetic class of K hw3 P1 submissions from the examples (each zip made unique): mostly
correct, some buggy (Ali), some crashing (Maryam), one slow (Reza's infinite loop) and one hostile
(Mallory), and measures:

* the floor: a fresh Python that imports torch and runs the same definitions (what a student's own
  code costs; no grader can go below it per submission without sharing processes between students);
* dlgrade on one submission (`grade ZIP`, the TA's and CI's path);
* `grade batch` with each number of jobs in ``--jobs`` (amortized seconds per submission; the speed-up over
  one job), run ``--repeat`` times, interleaved: the medians are reported, and a speed-up is the median of
  the paired ratios (one run differs by several per cent from the next on a shared machine); and the same
  for the class without its slow and hostile submissions, which spend their time limits whatever the
  grader does (three 3 s limits, one of them a fork bomb that holds every core for its limit);
* the peak memory (PSS: pages shared with the zygote or the forkserver count once, shared out) of each
  worker, each kernel and the zygote, sampled in batches of its own (sampling slows what it samples);
* a regrade after a points-only rubric change (served from the cache), as a share of the first run;
* with ``--baseline REV``, the grader at REV (a git worktree put first on PYTHONPATH) in the same interleaved
  runs, and whether its gradebook is identical to this one's (it must be: speed changes no verdict);
* otter-grader and nbgrader when installed (they are not on this machine: reported as absent).

    python bench/bench_batch.py                 # K = 20, jobs 1 and 2
    python bench/bench_batch.py --size 100 --repeat 3 --baseline fc25cd4 --write bench/RESULTS.md
    python bench/bench_batch.py --size 200 --jobs 1,2,4,8,16      # scaling on a bigger machine

On a machine with N cores, ``--jobs 1,2,…,N`` and a class of at least 20 submissions a job show how
throughput grows with cores; the memory rows say how many jobs its memory holds.
"""
from __future__ import annotations

import argparse
import ast
import csv
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
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


def timed(command: list[str], env: dict | None = None, memory: "TreeMemory | None" = None) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    sampler = TreeMemory(process.pid, memory) if memory is not None else None
    if process.wait() != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    elapsed = time.perf_counter() - started
    if sampler is not None:
        sampler.stop()
    return elapsed


def worktree(revision: str, folder: Path) -> Path:
    path = folder / f"grader-{revision}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), revision], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


ZYGOTE_MARK = "The warm zygote"  # the start of the zygote's source, which is its command line


class TreeMemory:
    """Samples a ``grade batch`` process tree every 50 ms and keeps, into ``peaks``, the highest PSS in MiB
    of each process by its role: the coordinator, a worker (the coordinator itself with one job), the
    zygote, a kernel's go-between, a kernel."""

    def __init__(self, root: int, peaks: dict[tuple[str, int], float]):
        self.root, self.peaks = root, peaks
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(0.05):
            for pid, role in self._roles().items():
                pss = _pss_mib(pid)
                if pss is not None:
                    self.peaks[role, pid] = max(self.peaks.get((role, pid), 0.0), pss)

    def _roles(self) -> dict[int, str]:
        children: dict[int, list[int]] = {}
        commands: dict[int, str] = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                try:
                    parent = int(Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()[1])
                    commands[int(entry.name)] = Path(f"/proc/{entry.name}/cmdline").read_bytes().decode(errors="replace")
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        roles = {self.root: "coordinator"}
        todo = [self.root]
        while todo:
            pid = todo.pop()
            for child in children.get(pid, []):
                todo.append(child)
                command = commands.get(child, "")
                python = Path(command.split("\0", 1)[0]).name.startswith("python")  # not the sandbox around it
                if roles.get(pid) in ("kernel", "kernel's child"):
                    roles[child] = "kernel's child"  # what a submission started: counted with nothing
                elif ZYGOTE_MARK in command and python and roles.get(pid) not in ("zygote", "go-between"):
                    roles[child] = "zygote"
                elif roles.get(pid) == "zygote":
                    roles[child] = "go-between"  # forks the kernel into namespaces of its own, and waits
                elif roles.get(pid) == "go-between":
                    roles[child] = "kernel"
                elif "forkserver" in commands.get(pid, "") and "forkserver" in command:
                    roles[child] = "worker"
        return roles


def _pss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


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
    parser.add_argument("--repeat", type=int, default=1, help="Interleaved rounds of every batch (medians reported).")
    parser.add_argument("--jobs", default="1,2", help="The numbers of jobs to run the batch with (default 1,2).")
    parser.add_argument("--baseline", help="A git revision whose grader runs in the same rounds.")
    parser.add_argument("--write", type=Path, help="Also write the figures as Markdown here.")
    args = parser.parse_args()
    job_counts = [int(n) for n in args.jobs.split(",")]
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-") as folder:
        root = Path(folder)
        klass = root / "class"
        klass.mkdir()
        counts = build_class(klass, args.size)
        # the same class without the two submissions that spend their time limits: what grading costs when
        # every call returns (the slow and hostile ones cost their limits whatever the grader does)
        behaved = root / "behaved"
        behaved.mkdir()
        for path in klass.glob("*.zip"):
            if "_Slow_" not in path.name and "_Hostile_" not in path.name:
                os.link(path, behaved / path.name)
        behaved_size = len(list(behaved.glob("*.zip")))
        graders = {"now": {**os.environ, "PYTHONPATH": str(REPO)}}  # this checkout's grader, whatever is installed
        if args.baseline:
            graders[args.baseline] = {**os.environ, "PYTHONPATH": str(worktree(args.baseline, root))}
        floor = floor_seconds(root)
        correct = str(next(klass.glob("*_Correct_*.zip")))
        # one submission with the rubric's reference values computed afresh (its first grade on a machine),
        # and with them kept from an earlier run (every grade after it: grader.values)
        single: dict[str, list[float]] = {f"{name}, {store}": [] for name in graders for store in ("first", "later")}
        for name, env in graders.items():
            timed([*GRADE, correct, "--rubric", "hw3", "--format", "json"], _store(env, root / f"kept-{name}"))
        samples: dict[tuple[str, int], list[float]] = {(name, jobs): [] for name in graders for jobs in job_counts}
        behaved_samples: dict[tuple[str, int], list[float]] = {key: [] for key in samples}
        memory: dict[int, dict[tuple[str, int], float]] = {jobs: {} for jobs in job_counts}
        for turn in range(args.repeat):
            for name, env in graders.items():
                for attempt in range(2):
                    single[f"{name}, first"].append(timed([*GRADE, correct, "--rubric", "hw3", "--format", "json"],
                                                          _store(env, root / f"fresh-{name}-{turn}-{attempt}")))
                    single[f"{name}, later"].append(timed([*GRADE, correct, "--rubric", "hw3", "--format", "json"],
                                                          _store(env, root / f"kept-{name}")))
                for jobs in job_counts:
                    samples[name, jobs].append(timed(
                        [*GRADE, "batch", str(klass), "-r", "hw3", "-o", str(root / f"results-{name}-{jobs}-{turn}"),
                         "-j", str(jobs), "-q", *TIMEOUTS], env))
                    behaved_samples[name, jobs].append(timed(
                        [*GRADE, "batch", str(behaved), "-r", "hw3", "-o", str(root / f"behaved-{name}-{jobs}-{turn}"),
                         "-j", str(jobs), "-q", *TIMEOUTS], env))
        # memory in runs of its own: reading every process's smaps_rollup 20 times a second takes CPU and
        # the processes' memory locks, which would slow the runs it sampled
        for jobs in job_counts:
            timed([*GRADE, "batch", str(klass), "-r", "hw3", "-o", str(root / f"memory-{jobs}"), "-j", str(jobs), "-q",
                   *TIMEOUTS], graders["now"], memory[jobs])
        last = args.repeat - 1
        same_gradebook = {name: _scores(root / f"results-{name}-{job_counts[-1]}-{last}")
                          == _scores(root / f"results-now-{job_counts[-1]}-{last}") for name in graders}
        # the same class with every kernel started cold: what the warm zygote saves
        most = job_counts[-1]
        cold = timed([*GRADE, "batch", str(klass), "-r", "hw3", "-o", str(root / "cold"), "-j", str(most), "--cold",
                      "-q", *TIMEOUTS], graders["now"])
        rubric = root / "rubric"
        shutil.copytree(REPO / "rubrics" / "hw3", rubric)
        (rubric / "rubric.toml").write_text((rubric / "rubric.toml").read_text().replace("points = 3", "points = 4"))
        shutil.copytree(root / f"results-now-{most}-{last}", root / "regrade")
        regrade = timed([*GRADE, "batch", str(klass), "-r", str(rubric), "-o", str(root / "regrade"), "-q", *TIMEOUTS],
                        graders["now"])
        if args.baseline:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(root / f"grader-{args.baseline}")],
                           check=False)
    peers = {name: "installed" if importlib.util.find_spec(module) else "not installed"
             for name, module in (("otter-grader", "otter"), ("nbgrader", "nbgrader"))}
    size = args.size
    runs = {key: statistics.median(seconds) for key, seconds in samples.items()}
    figures = {
        "class": counts, "size": size, "repeat": args.repeat, "jobs": job_counts, "baseline": args.baseline,
        "floor_s": round(floor, 3),
        "one_submission_s": {name: round(statistics.median(times), 3) for name, times in single.items()},
        "batch_s": {f"{name} -j {jobs}": [round(x, 2) for x in seconds] for (name, jobs), seconds in samples.items()},
        "amortized_s": {f"{name} -j {jobs}": round(run / size, 3) for (name, jobs), run in runs.items()},
        "behaved_size": behaved_size,
        "behaved_batch_s": {f"{name} -j {jobs}": [round(x, 2) for x in seconds]
                            for (name, jobs), seconds in behaved_samples.items()},
        "behaved_amortized_s": {f"{name} -j {jobs}": round(statistics.median(seconds) / behaved_size, 3)
                                for (name, jobs), seconds in behaved_samples.items()},
        "speedup_over_1_job": {jobs: round(statistics.median(one / many for one, many in zip(samples["now", 1], samples["now", jobs])), 2)
                               for jobs in job_counts if 1 in job_counts},
        "now_over_baseline": {jobs: round(statistics.median(now / before for now, before in zip(samples["now", jobs], samples[args.baseline, jobs])), 2)
                              for jobs in job_counts} if args.baseline else {},
        "one_submission_now_over_baseline": {store: round(statistics.median(single[f"now, {store}"])
                                                          / statistics.median(single[f"{args.baseline}, {store}"]), 2)
                                             for store in ("first", "later")} if args.baseline else {},
        "same_gradebook_as_now": same_gradebook,
        "amortized_cold_s": round(cold / size, 3), "warm_over_cold": round(cold / runs["now", most], 2),
        "peak_pss_mib": {jobs: _by_role(peaks) for jobs, peaks in memory.items()},
        "regrade_share_of_first_run": round(regrade / runs["now", most], 4),
        "peers": peers}
    print(json.dumps(figures, indent=2))
    if args.write:
        text = args.write.read_text(encoding="utf-8") if args.write.exists() else ""
        kept = text[text.index("<!-- bench_profile.py -->"):] if "<!-- bench_profile.py -->" in text else ""
        args.write.write_text(markdown(figures) + ("\n" + kept if kept else ""), encoding="utf-8")
    return 0


def _store(env: dict | None, folder: Path) -> dict:
    """``env`` with the grader's cache (its kept reference values) in ``folder``."""
    return {**(env or os.environ), "DLGRADE_CACHE": str(folder)}


def _by_role(peaks: dict[tuple[str, int], float]) -> dict[str, dict[str, int]]:
    """Per role, the highest of its processes' peaks and their median (a hostile kernel is the highest)."""
    roles: dict[str, list[float]] = {}
    for (role, _), mib in peaks.items():
        roles.setdefault(role, []).append(mib)
    return {role: {"max": round(max(values)), "median": round(statistics.median(values)), "processes": len(values)}
            for role, values in sorted(roles.items())}


def _scores(results: Path) -> list[list[str]]:
    """The gradebook's rows, without the columns that record when and how long."""
    with open(results / "gradebook.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    keep = [i for i, name in enumerate(rows[0]) if not any(word in name.lower() for word in ("time", "graded_at", "duration"))]
    return [[row[i] for i in keep if i < len(row)] for row in rows]


def markdown(f: dict) -> str:
    size, repeat, base, most = f["size"], f["repeat"], f["baseline"], f["jobs"][-1]
    floor = f["floor_s"]
    command = (f"python bench/bench_batch.py --size {size} --repeat {repeat} --jobs {','.join(map(str, f['jobs']))}"
               + (f" --baseline {base}" if base else "") + " --write bench/RESULTS.md")
    rows = [f"| floor: fresh Python, `import torch`, the definitions | {floor} | 1 × floor | |"]
    for key, seconds in f["one_submission_s"].items():
        name, store = key.split(", ")
        label = ("`grade` one correct submission, " + ("the rubric's first on this machine" if store == "first" else
                 "reference values kept from an earlier grade") + ("" if name == "now" else f", at {name}"))
        rows.append(f"| {label} | {seconds} | {seconds / floor:.2f} × floor | |")
    for key, seconds in f["amortized_s"].items():
        name, jobs = key.split(" -j ")
        label = f"`grade batch -j {jobs}`, amortized per submission" + ("" if name == "now" else f", at {name}")
        speedup = f"{f['speedup_over_1_job'][int(jobs)]} × one job's throughput" if name == "now" and 1 in f["jobs"] else ""
        rows.append(f"| {label} | {seconds} | {seconds / floor:.2f} × floor | {speedup} |")
    for key, seconds in f["behaved_amortized_s"].items():
        name, jobs = key.split(" -j ")
        rows.append(f"| `grade batch -j {jobs}`, amortized, the class without its slow and hostile submissions "
                    f"({f['behaved_size']}){'' if name == 'now' else f', at {name}'} | {seconds} | "
                    f"{seconds / floor:.2f} × floor | |")
    rows.append(f"| `grade batch -j {most} --cold` (every kernel started fresh), amortized | {f['amortized_cold_s']} | "
                f"{f['amortized_cold_s'] / floor:.2f} × floor | warm kernels: {f['warm_over_cold']} × the throughput |")
    rows.append(f"| regrade after a points-only change | "
                f"{round(f['regrade_share_of_first_run'] * f['amortized_s'][f'now -j {most}'] * size, 2)} | "
                f"{100 * f['regrade_share_of_first_run']:.2f} % of the first run | |")
    against = ""
    if base:
        ratios = ", ".join(f"{jobs} job{'s' if jobs > 1 else ''}: {ratio}" for jobs, ratio in f["now_over_baseline"].items())
        same = "identical" if all(f["same_gradebook_as_now"].values()) else "**different**"
        against = (f"\n\nAgainst the grader at `{base}`, in the same interleaved rounds: batch time now ÷ then, medians of "
                   f"the paired runs — {ratios}; one submission, the rubric's first: {f['one_submission_now_over_baseline']['first']}, "
                   f"later ones: {f['one_submission_now_over_baseline']['later']}. The two "
                   f"gradebooks (every student's scores, the timing columns left out) are {same}.")
    roles = ("coordinator", "worker", "zygote", "kernel")
    memory = ["| jobs | " + " | ".join(roles) + " |", "| ---: | ---: | ---: | ---: | ---: |"]
    for jobs, peaks in f["peak_pss_mib"].items():
        memory.append(f"| {jobs} | " + " | ".join(
            f"{peaks[role]['median']} MiB (highest {peaks[role]['max']}, {peaks[role]['processes']} "
            f"process{'es' if peaks[role]['processes'] != 1 else ''})"
            if role in peaks else "—" for role in roles) + " |")
    samples = "; ".join(f"{key}: {', '.join(map(str, seconds))} s" for key, seconds in f["batch_s"].items())
    samples += "; without the slow and hostile submissions: " + "; ".join(
        f"{key}: {', '.join(map(str, seconds))} s" for key, seconds in f["behaved_batch_s"].items())
    return f"""# Benchmark results

Command: `{command}` (one invocation, this machine: 2 cores; every figure below comes from it).  Every
batch ran {repeat} time(s), interleaved ({samples}); the rows give the medians.

Class: {size} hw3 P1 submissions — {', '.join(f'{v} {k}' for k, v in f['class'].items())}; the slow and
hostile ones are bounded by `--call-timeout 3 --cell-timeout 3`.

| measure | seconds | against the floor | |
| --- | ---: | ---: | --- |
{chr(10).join(rows)}{against}

Peak memory of each process, proportional set size (a page shared by several processes counts as its
share; the kernels share torch and numpy with the zygote they are forked from), sampled every 50 ms during
batches of their own (not the timed ones): the median of the processes of each role, and the highest (a hostile submission's kernel
allocates up to its limit). With one job the coordinator grades itself: it is the worker.

{chr(10).join(memory)}

Peers: {', '.join(f'{k} {v}' for k, v in f['peers'].items())} (nothing to compare against on this machine).
"""


if __name__ == "__main__":
    sys.exit(main())
