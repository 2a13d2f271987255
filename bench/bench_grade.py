"""Grading time against the execution floor, measured in the same run.

The floor is what no grader can avoid: start a kernel and run the notebook's definitions (which
import numpy/torch).  dlgrade's overhead is everything else: unzip, the rubric, the calls and the
reference computations.  Figures are medians over --repeat runs, reported as ratios to the floor
because these machines are noisy.

    python bench/bench_grade.py                       # hw3 correct example, 3 repeats
    python bench/bench_grade.py --repeat 5 --json
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

from grader import rubric as rubric_module
from grader.execution import sandbox
from grader.execution.cells import select_code
from grader.execution.kernel import KernelSession
from grader.execution.runner import read_notebook_cells
from grader.grading import GradingOptions, grade
from grader.submission import find_file

REPO = Path(__file__).resolve().parents[1]


def floor_once(zip_path: Path, rubric, sandbox_mode: str = "auto") -> float:
    """Kernel start + the notebook's definitions, nothing else (in the sandbox, or with limits only)."""
    notebook = next(iter(rubric.notebooks.values()))
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
        files = [p.relative_to(folder).as_posix() for p in Path(folder).rglob("*") if p.is_file()]
        chosen, _ = find_file([f for f in files if ".ipynb_checkpoints" not in f], notebook.match)
        path = Path(folder) / chosen
        started = time.perf_counter()
        units = select_code(read_notebook_cells(path), notebook.mode)
        protections = sandbox.protections_for(sandbox_mode, rubric.limits)
        with KernelSession(path.parent, rubric.limits, Path(folder), protections) as kernel:
            for unit in units:
                kernel.execute(unit.source, rubric.limits.cell_timeout_s)
        return time.perf_counter() - started


def grade_once(zip_path: Path, rubric, cache: dict | None) -> tuple[float, float]:
    started = time.perf_counter()
    report = grade(zip_path, rubric, GradingOptions(expected_cache=cache if cache is not None else {}))
    elapsed = time.perf_counter() - started
    assert report.total.score == report.total.max, "the benchmark submission must be fully correct"
    return elapsed, sum(item.duration_s for item in report.items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submission", type=Path, default=REPO / "submissions_example" / "HW3_Sara_Ahmadi_401234567.zip")
    parser.add_argument("--rubric", default="hw3")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    rubric = rubric_module.load(args.rubric)

    floors, bare, cold, warm, checks = [], [], [], [], []
    shared_cache: dict = {}
    grade_once(args.submission, rubric, shared_cache)  # fills the expected-value cache, as a batch would
    for _ in range(args.repeat):  # interleaved, so drift in machine load hits every series alike
        floors.append(floor_once(args.submission, rubric))
        bare.append(floor_once(args.submission, rubric, "off"))
        cold.append(grade_once(args.submission, rubric, None)[0])
        elapsed, in_checks = grade_once(args.submission, rubric, shared_cache)
        warm.append(elapsed)
        checks.append(in_checks)

    floor = statistics.median(floors)
    figures = {
        "submission": args.submission.name,
        "repeat": args.repeat,
        "floor_s": round(floor, 3),
        "floor_without_sandbox_s": round(statistics.median(bare), 3),
        "sandbox_over_bare_floor": round(floor / statistics.median(bare), 2),
        "grade_cold_s": round(statistics.median(cold), 3),
        "grade_warm_s": round(statistics.median(warm), 3),
        "checks_warm_s": round(statistics.median(checks), 3),
        "cold_over_floor": round(statistics.median(cold) / floor, 2),
        "warm_over_floor": round(statistics.median(warm) / floor, 2),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"{figures['submission']}, median of {args.repeat}")
    print(f"  floor without the sandbox (limits only)  {figures['floor_without_sandbox_s']:7.2f} s   "
          f"{1 / figures['sandbox_over_bare_floor']:.2f}×")
    print(f"  floor (kernel start + definitions)       {figures['floor_s']:7.2f} s   1.00×")
    print(f"  grade, expected values computed          {figures['grade_cold_s']:7.2f} s   {figures['cold_over_floor']:.2f}×")
    print(f"  grade, expected values cached (batch)    {figures['grade_warm_s']:7.2f} s   {figures['warm_over_floor']:.2f}×")
    print(f"    of which checks ({len(rubric.items)} items)               {figures['checks_warm_s']:7.2f} s")


if __name__ == "__main__":
    main()
