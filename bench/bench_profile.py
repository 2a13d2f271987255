"""Where one submission's time goes in a warm batch: a profile, to decide from rather than guess.

Grades a class of K correct hw3 P1 submissions (unique bytes, so none comes from the cache) with
``grade batch``'s own code, one job, warm kernels forked from the zygote, in this process, with a timer
around each phase of a submission's life (the bench wraps the grader's own functions; the grader is not
changed for it).  Phases nest: the indented rows are part of the row above them.  Figures are per
submission (the mean over the class after the first, which warms the zygote and the caches) and the
share of the amortized wall time per submission.

    python bench/bench_profile.py                 # K = 20
    python bench/bench_profile.py --size 40 --write bench/RESULTS.md     # its own section of that file
"""
from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from grader import grading  # noqa: E402
from grader.batch import cache, gradebook  # noqa: E402
from grader.batch import run as batch_run  # noqa: E402
from grader.batch.inbox import Entry  # noqa: E402
from grader.batch.run import Batch  # noqa: E402
from grader.execution import kernel, runner, zygote  # noqa: E402
from grader.grading import GradingOptions  # noqa: E402
from grader.report import json_format  # noqa: E402

from bench_batch import ZYGOTE_MARK  # noqa: E402 - how bench_batch finds the zygote among the processes

BEGIN, END = "<!-- bench_profile.py -->", "<!-- /bench_profile.py -->"
# (label, owner, attribute, depth): the phases, in a submission's order
PHASES = [
    ("cache key: hash the zip, look it up", Entry, "sha256", 0),
    ("grade(): one submission", batch_run, "grade", 0),
    ("unzip: checks and the copy into the workspace", grading, "open_submission", 1),
    ("kernel start: fork from the zygote, wall-off, ready", kernel.KernelSession, "start", 1),
    ("the fork request to the zygote", zygote.Spawner, "spawn", 2),
    ("cell execution: the student's definitions", runner.NotebookRunner, "_run_units", 1),
    ("agent install", runner.NotebookRunner, "_install_agent", 1),
    ("checks: every item", grading, "_run_notebook_checks", 1),
    ("request round trips to the kernel", runner.NotebookRunner, "call_many", 2),
    ("kernel shutdown", kernel.KernelSession, "shutdown", 1),
    ("re-score and carry manual points", cache, "rescore", 0),
    ("report files written", json_format, "write_atomic", 0),
    ("database commit", gradebook.Gradebook, "record", 0),
]


def timing(spent: dict, label: str, function):
    """The function, timed when it runs on the grading thread (the preflight's kernel runs in another)."""
    @functools.wraps(function)
    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            if threading.current_thread() is threading.main_thread():
                spent[label].append(time.perf_counter() - started)
    return timed


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_now() -> dict[str, float]:
    """CPU seconds so far: this process (it grades, with one job), the zygote, and the kernels it forked
    and reaped (each with its go-between; a kernel still running is counted when it ends)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    found = {"the grading process (the worker)": own.ru_utime + own.ru_stime, "the zygote": 0.0,
             "the kernels (with their go-betweens)": 0.0}
    pythons = {}  # the zygote and its go-betweens and kernels (a fork keeps the command line): pid -> stat
    for entry in os.scandir("/proc"):
        try:
            command = Path(f"/proc/{entry.name}/cmdline").read_bytes() if entry.name.isdigit() else b""
            if ZYGOTE_MARK.encode() in command and Path(command.split(b"\0")[0].decode()).name.startswith("python"):
                pythons[entry.name] = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, IndexError):
            continue
    for fields in pythons.values():
        if fields[1] not in pythons:  # the zygote itself (its parent is the sandbox around it)
            found["the zygote"] += (int(fields[11]) + int(fields[12])) / TICKS
            found["the kernels (with their go-betweens)"] += (int(fields[13]) + int(fields[14])) / TICKS
    return found


def build_class(folder: Path, size: int) -> None:
    source = REPO / "submissions_example" / "HW3_Sara_Ahmadi_401234567.zip"
    for index in range(size):
        with zipfile.ZipFile(source) as original, \
                zipfile.ZipFile(folder / f"HW3_Student{index:03d}_Test_{402000000 + index}.zip", "w") as copy:
            for info in original.infolist():
                copy.writestr(info, original.read(info))
            copy.writestr("NOTE.txt", f"submission {index}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    spent: dict[str, list[float]] = defaultdict(list)
    for label, owner, attribute, _ in PHASES:
        setattr(owner, attribute, timing(spent, label, getattr(owner, attribute)))
    with tempfile.TemporaryDirectory() as tmp:
        folder, results = Path(tmp) / "class", Path(tmp) / "results"
        folder.mkdir()
        build_class(folder, args.size)
        stamps: list[float] = []
        cpu: list[dict[str, float]] = []  # after the first submission, and after the last

        def progress(name, done, total, failed):
            stamps.append(time.perf_counter())
            if done in (1, total):
                cpu.append(cpu_now())
        batch = Batch("hw3", results, GradingOptions(), jobs=1)
        started = time.perf_counter()
        summary = batch.run(folder, progress)
        wall = time.perf_counter() - started
    assert summary.graded == args.size, summary
    steady = [b - a for a, b in zip(stamps, stamps[1:])]  # one submission each, once the zygote is warm
    per_submission = statistics.mean(steady)
    lines = ["| phase | ms per submission | share |", "| --- | ---: | ---: |"]
    for label, _, _, depth in PHASES:
        samples = spent[label]
        # per submission, leaving out the first submission's samples (the zygote still importing)
        per = sum(samples[len(samples) // args.size:]) / (args.size - 1) if samples else 0.0
        lines.append(f"| {'↳ ' * depth}{label} | {per * 1000:.1f} | {100 * per / per_submission:.0f} % |")
    top = sum(sum(spent[label][len(spent[label]) // args.size:]) / (args.size - 1)
              for label, _, _, depth in PHASES if depth == 0)
    lines.append(f"| the rest (the loop, the progress, the gradebook CSV) | {(per_submission - top) * 1000:.1f} | "
                 f"{100 * (per_submission - top) / per_submission:.0f} % |")
    lines.append(f"| **one submission, amortized (steady state)** | **{per_submission * 1000:.1f}** | 100 % |")
    lines += ["", "| process | CPU ms per submission | share |", "| --- | ---: | ---: |"]
    used = {role: (cpu[-1][role] - cpu[0][role]) / (args.size - 1) for role in cpu[0]}
    for role, seconds in used.items():
        lines.append(f"| {role} | {seconds * 1000:.1f} | {100 * seconds / sum(used.values()):.0f} % |")
    lines.append(f"| **all of them** | **{sum(used.values()) * 1000:.1f}** | 100 % |")
    table = "\n".join(lines)
    print(table)
    print(f"whole run: {wall:.2f} s for {args.size} submissions, the first one warming the zygote")
    if args.write:  # a section of its own in the file, replaced on each run
        section = (f"{BEGIN}\n## Where one submission's time goes (warm batch, 1 job)\n\n"
                   f"`python bench/bench_profile.py --size {args.size} --write {args.write}`: {args.size} correct hw3 P1 "
                   "submissions graded by `grade batch`'s own code with one job and warm kernels, a timer around "
                   "each phase (indented rows are part of the row above); per submission, after the first. Whole "
                   f"run: {wall:.2f} s. The second table is the CPU each process spent per submission (from "
                   "`/proc`, after the first submission): with as many jobs as cores, the CPU a submission costs, "
                   f"not its wall time, sets the throughput.\n\n{table}\n{END}\n")
        text = args.write.read_text(encoding="utf-8") if args.write.exists() else ""
        if BEGIN in text and END in text:
            text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END) + 1:]
        else:
            text = text.rstrip("\n") + "\n\n" + section
        args.write.write_text(text, encoding="utf-8")

if __name__ == "__main__":
    main()
