"""Grading a theory-only submission with the real `grade` CLI, against the floor measured in the same run.

The floor is starting Python at all (`python -c pass`).  A second reference, `python -c "import torch"`,
shows what a theory grade would cost if anything on its path still imported torch.  Each theory
rubric's own example answers are zipped as a student would hand them in; the series are interleaved so
that drift in machine load hits all of them alike, and the figures are medians.

    python bench/bench_theory.py                      # every bundled theory rubric, 7 repeats
    python bench/bench_theory.py --baseline 57afa7c --repeat 15 --write bench/RESULTS-theory.md

``--baseline REV`` also grades each submission with the grader at REV (a git worktree put first on
PYTHONPATH), in the same interleaved runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
THEORY_RUBRICS = ("hw3-theory", "hw4", "hw5", "hw7")


def timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def worktree(revision: str, folder: Path) -> Path:
    path = folder / f"grader-{revision}"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), revision], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def theory_zip(rubric: str, folder: Path) -> Path:
    """The rubric's example of correct answers, zipped under a name the default pattern identifies."""
    answers = REPO / "rubrics" / rubric / "examples" / "answers_correct.md"
    path = folder / f"{rubric}_401234567_Sara_Ahmadi.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(answers, "answers.md")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--write", type=Path, help="also write the table as Markdown to this file")
    parser.add_argument("--baseline", help="a git revision to grade with too, in the same runs")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base = {**os.environ, "PYTHONPATH": str(worktree(args.baseline, folder))} if args.baseline else None
        commands = {"python -c pass (floor)": ([python, "-c", "pass"], None),
                    "python -c 'import torch'": ([python, "-c", "import torch"], None)}
        for rubric in THEORY_RUBRICS:
            submission = theory_zip(rubric, folder)
            grade = [python, "-m", "grader", str(submission), "--rubric", rubric, "--out", str(folder / f"out-{rubric}")]
            commands[f"grade {rubric} answers"] = (grade, None)
            if base:
                commands[f"grade {rubric} answers, at {args.baseline}"] = (grade, base)
        for command, env in commands.values():  # warm the page cache once
            subprocess.run(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, (command, env) in commands.items():
                times[name].append(timed(command, folder, env))
        if args.baseline:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(folder / f"grader-{args.baseline}")],
                           check=False)
    floor = statistics.median(times["python -c pass (floor)"])
    lines = ["| command | median s | min s | × floor |", "| --- | ---: | ---: | ---: |"]
    for name, series in times.items():
        median = statistics.median(series)
        lines.append(f"| {name} | {median:.3f} | {min(series):.3f} | {median / floor:.1f} |")
    if args.baseline:
        lines += ["", "| rubric | now ÷ baseline (medians) |", "| --- | ---: |"]
        for rubric in THEORY_RUBRICS:
            now = statistics.median(times[f"grade {rubric} answers"])
            before = statistics.median(times[f"grade {rubric} answers, at {args.baseline}"])
            lines.append(f"| {rubric} | {now / before:.2f} |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        baseline = f" --baseline {args.baseline}" if args.baseline else ""
        args.write.write_text(f"# Theory-only grading\n\n`python bench/bench_theory.py{baseline} --repeat {args.repeat}`, "
                              f"{args.repeat} interleaved runs, medians, on this project's 2-core machine.\n\n{table}\n")


if __name__ == "__main__":
    main()
