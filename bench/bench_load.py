"""The same class graded on a quiet machine and on a busy one: the scores must be identical.

Builds a class of K hw3 P1 submissions (correct and buggy, each zip unique) and grades it with ``grade
batch`` three ways in one run, each into a fresh results folder:

* quiet: nothing else running (the baseline);
* cpu: ``--hogs`` busy-looping processes beside it, each in a session of its own (so each is its own
  scheduling group, as a student's kernel is: ten hogs in one session take far less from the kernels);
* kernels: ``--batches`` more graders of the same class at once, each with its own jobs and kernels.

Reports each run's wall time as a ratio against the quiet one, and every student whose score differs
from the quiet run (there must be none).  A tight ``--call-timeout`` makes a wall-clock deadline fail
under load; the grader's deadlines count the kernel's own time, so it must not.

    python bench/bench_load.py --size 12 --call-timeout 0.25
    python bench/bench_load.py --size 12 --call-timeout 0.25 --write bench/RESULTS-load.md
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "submissions_example"
GRADE = [sys.executable, "-m", "grader"]


def build_class(folder: Path, size: int) -> None:
    """Two thirds correct (Sara), one third buggy (Ali); each zip unique."""
    sources = [EXAMPLES / "HW3_Sara_Ahmadi_401234567.zip", EXAMPLES / "HW3_Ali_Rezaei_401234568.zip"]
    for index in range(size):
        source = sources[int(index % 3 == 2)]
        target = folder / f"HW3_Student{index:03d}_Load_{403000000 + index}.zip"
        with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
            for info in original.infolist():
                copy.writestr(info, original.read(info))
            copy.writestr("NOTE.txt", f"submission {index}")


def batch(classroom: Path, results: Path, jobs: int, call_timeout: float | None) -> subprocess.Popen:
    extra = ["--call-timeout", str(call_timeout)] if call_timeout else []
    return subprocess.Popen([*GRADE, "batch", str(classroom), "-r", "hw3", "-o", str(results), "-j", str(jobs),
                             "-q", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def scores(results: Path) -> dict[str, tuple[float, list[str], dict[str, str]]]:
    """Per student: the score, the items that timed out, and every item's status and feedback."""
    found = {}
    for path in sorted((results / "reports").glob("*.json")):
        report = json.loads(path.read_text())
        timeouts = [i["id"] for i in report["items"] if "did not return within" in i["feedback"]]
        found[path.stem] = (report["total"]["score"], timeouts,
                            {i["id"]: f"{i['status']}: {i['feedback'][:300]}" for i in report["items"]})
    return found


@contextmanager
def hogs(count: int):
    """``count`` busy loops, each in a session (and so a scheduling group) of its own."""
    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
                 for _ in range(count)]
    try:
        time.sleep(0.5)
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


def graded(classroom: Path, results: Path, jobs: int, call_timeout: float | None) -> tuple[float, dict]:
    started = time.perf_counter()
    process = batch(classroom, results, jobs, call_timeout)
    _, stderr = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"grade batch failed ({process.returncode}): {stderr[-2000:]}")
    return time.perf_counter() - started, scores(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--hogs", type=int, default=4)
    parser.add_argument("--batches", type=int, default=3, help="other graders of the same class at once")
    parser.add_argument("--call-timeout", type=float, default=None)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlgrade-bench-load-") as folder:
        root = Path(folder)
        classroom = root / "class"
        classroom.mkdir()
        build_class(classroom, args.size)
        quiet_s, quiet = graded(classroom, root / "quiet", args.jobs, args.call_timeout)
        with hogs(args.hogs):
            cpu_s, cpu = graded(classroom, root / "cpu", args.jobs, args.call_timeout)
        others = [batch(classroom, root / f"other{i}", args.jobs, args.call_timeout) for i in range(args.batches)]
        try:
            kernels_s, kernels = graded(classroom, root / "kernels", args.jobs, args.call_timeout)
        finally:
            for other in others:
                other.communicate()
        runs = [("quiet", quiet_s, quiet), (f"cpu: {args.hogs} hogs in sessions of their own", cpu_s, cpu),
                (f"kernels: {args.batches} more batches of -j {args.jobs} at once", kernels_s, kernels)]
        lines = [f"# The same class on a quiet and a busy machine ({os.cpu_count()} cores)", "",
                 f"`python bench/bench_load.py --size {args.size} --jobs {args.jobs} --hogs {args.hogs} "
                 f"--batches {args.batches}" + (f" --call-timeout {args.call_timeout:g}`" if args.call_timeout else "`"),
                 "", "| run | wall s | × quiet | students whose score differs from quiet | calls timed out |",
                 "| --- | ---: | ---: | --- | ---: |"]
        for label, seconds, found in runs:
            differ = sorted(key for key in quiet if found.get(key, (None,))[0] != quiet[key][0])
            timed_out = sum(len(found[key][1]) for key in found)
            lines.append(f"| {label} | {seconds:.1f} | {seconds / quiet_s:.2f} | "
                         f"{', '.join(differ) if differ else 'none'} | {timed_out} |")
        for label, _, found in runs[1:]:
            for key in sorted(k for k in quiet if found.get(k, (None,))[0] != quiet[k][0]):
                changed = {item: text for item, text in found[key][2].items() if text != quiet[key][2][item]}
                lines += ["", f"{label}, {key}:"] + [f"- {item}: {text}" for item, text in changed.items()]
        text = "\n".join(lines) + "\n"
        print(text)
        if args.write:
            args.write.write_text(text)
        if any({k: v[0] for k, v in found.items()} != {k: v[0] for k, v in quiet.items()} for _, _, found in runs[1:]):
            sys.exit(1)


if __name__ == "__main__":
    main()
