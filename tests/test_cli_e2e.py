"""End to end: the real ``grade`` command on the example submissions, item by item."""
import json
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers import EXAMPLES, GRADE, REPO, write_zip

ALL_ITEMS = ["p1.rnn_cell_forward", "p1.rnn_forward", "p1.lstm_cell_forward", "p1.lstm_forward",
             "p1.rnn_cell_backward", "p1.rnn_backward", "p1.lstm_cell_backward", "p1.lstm_backward"]


def run(*args, timeout=300):
    started = time.monotonic()
    done = subprocess.run([*GRADE, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=REPO)
    done.elapsed = time.monotonic() - started
    return done


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every example graded once through the CLI (two at a time), as JSON plus --out report.json."""
    out = tmp_path_factory.mktemp("reports")
    jobs = {
        "correct": ("HW3_Sara_Ahmadi_401234567.zip", []),
        "buggy": ("HW3_Ali_Rezaei_401234568.zip", []),
        "raises": ("HW3_Maryam_Hosseini_401234569.zip", []),
        "loops": ("HW3_Reza_Karimi_401234570.zip", ["--call-timeout", "3"]),
        "misnamed": ("hw3-final-submission.zip", ["--rubric", "hw3"]),
        "hostile": ("HW3_Mallory_Hacker_401234599.zip", ["--call-timeout", "3", "--cell-timeout", "3"]),
    }

    def grade_one(name):
        file_name, extra = jobs[name]
        done = run(EXAMPLES / file_name, "--format", "json", "--out", out / name, *extra)
        return name, done

    with ThreadPoolExecutor(2) as pool:
        return dict(pool.map(grade_one, jobs))


def items_of(done):
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    return report, {item["id"]: item for item in report["items"]}


def test_correct_submission_gets_full_marks_and_a_complete_report(graded, tmp_path_factory):
    report, items = items_of(graded["correct"])
    assert list(items) == ALL_ITEMS
    assert all(item["status"] == "passed" and item["score"] == item["points"] for item in items.values())
    assert report["total"] == {"score": 20, "max": 20, "manual_pending": 0}
    assert report["schema_version"] == 1 and report["assignment"]["id"] == "hw3"
    assert report["student"] == {"first": "Sara", "last": "Ahmadi", "student_id": "401234567"}
    assert report["submission"]["file"] == "HW3_Sara_Ahmadi_401234567.zip" and len(report["submission"]["sha256"]) == 64
    assert report["grader"]["version"] and len(report["grader"]["rubric_sha256"]) == 64
    assert report["notebooks"][0]["path"] == "HW3_Sara_Ahmadi_401234567/HW3_P1_RNN_LSTM.ipynb"
    assert report["notebooks"][0]["errors"] == [] and report["warnings"] == []
    assert report["limits"]["call_timeout_s"] == 10
    for item in items.values():
        assert set(item) >= {"id", "title", "kind", "visibility", "points", "score", "status", "feedback",
                             "details", "duration_s"}


def test_out_writes_the_same_report_json(graded):
    report, _ = items_of(graded["correct"])
    out_dir = Path(graded["correct"].args[graded["correct"].args.index("--out") + 1])
    written = json.loads((out_dir / "report.json").read_text())
    assert written["items"] == report["items"] and written["total"] == report["total"]


def test_buggy_lstm_backward_loses_exactly_the_dependent_items(graded):
    report, items = items_of(graded["buggy"])
    lost = {i for i, item in items.items() if item["score"] < item["points"]}
    assert lost == {"p1.lstm_cell_backward", "p1.lstm_backward"}
    cell = items["p1.lstm_cell_backward"]
    assert cell["status"] == "failed" and "dc_prev:" in cell["feedback"]
    assert "also wrong" not in cell["feedback"]  # only dc_prev is wrong in the cell
    sequence = items["p1.lstm_backward"]
    assert sequence["status"] == "partial" and 0 < sequence["score"] < 3  # the one-step edge case still passes
    assert any("T_x=1" in case["case"] and case["ok"] for case in sequence["details"]["cases"])


def test_a_missing_helper_module_costs_only_the_functions_that_use_it_and_their_callers(graded):
    report, items = items_of(graded["raises"])
    lost = {i for i, item in items.items() if item["score"] < item["points"]}
    assert lost == {"p1.rnn_cell_backward", "p1.rnn_backward"}
    for item in ("p1.rnn_cell_backward", "p1.rnn_backward"):
        assert "ModuleNotFoundError: rnn_helpers could not be imported in the grading environment" in \
            items[item]["feedback"], items[item]["feedback"]
    assert "No module named 'rnn_helpers'; a stand-in raises if graded code uses it" in \
        report["notebooks"][0]["errors"][0]["error"]


def test_an_infinite_loop_costs_only_its_item_and_ends_within_the_timeouts(graded):
    report, items = items_of(graded["loops"])
    lost = {i for i, item in items.items() if item["score"] < item["points"]}
    assert lost == {"p1.lstm_forward"}
    assert items["p1.lstm_forward"]["status"] == "error"
    assert "did not return within 3 s" in items["p1.lstm_forward"]["feedback"]
    # this student spells the update gate Wu/bu: the rubric's aliases grade the math, not the spelling
    assert items["p1.lstm_cell_backward"]["status"] == "passed"
    assert report["notebooks"][0]["kernel_restarts"] == 1
    assert graded["loops"].elapsed < 60


def test_a_wrong_file_name_is_a_warning_not_a_failure(graded):
    report, items = items_of(graded["misnamed"])
    assert report["total"]["score"] == 20
    assert report["student"] == {"first": None, "last": None, "student_id": None}
    assert any("hw3-final-submission.zip" in w and "does not follow" in w for w in report["warnings"])


def test_a_hostile_submission_is_graded_and_its_honest_items_keep_their_points(graded):
    report, items = items_of(graded["hostile"])
    lost = {i for i, item in items.items() if item["score"] < item["points"]}
    assert lost == {"p1.rnn_forward", "p1.lstm_forward", "p1.rnn_cell_backward", "p1.rnn_backward"}
    assert "crashed the kernel" in items["p1.rnn_forward"]["feedback"]
    assert "did not return within 3 s" in items["p1.lstm_forward"]["feedback"]
    assert "No such file or directory: '/work/main/rubrics/hw3/rubric.toml'" in items["p1.rnn_cell_backward"]["feedback"]
    assert report["notebooks"][0]["errors"][0]["error"] == "cell timed out after 3 s"  # the class-body trap
    assert report["sandbox"]["isolation"] == "bubblewrap"
    assert graded["hostile"].elapsed < 90


def test_terminal_report_and_rubric_detected_from_the_file_name():
    done = run(EXAMPLES / "HW3_Ali_Rezaei_401234568.zip")
    assert done.returncode == 0, done.stderr
    assert "Ali Rezaei" in done.stdout and "p1.lstm_cell_backward" in done.stdout
    assert "Total: 14.5 / 20" in done.stdout


def test_fail_under_gives_exit_1_below_the_threshold():
    assert run(EXAMPLES / "HW3_Ali_Rezaei_401234568.zip", "--fail-under", "90", "--format", "json").returncode == 1


def test_unreadable_submission_exits_3_with_a_report(tmp_path):
    fake = tmp_path / "HW3_A_B_1.zip"
    fake.write_text("not a zip")
    done = run(fake, "--rubric", "hw3", "--format", "json")
    assert done.returncode == 3
    report = json.loads(done.stdout)
    assert "not a readable zip file" in report["error"] and {i["status"] for i in report["items"]} == {"error"}
    slip = write_zip(tmp_path / "HW3_A_B_2.zip", {"../../escape.py": "x"})
    done = run(slip, "--rubric", "hw3")
    assert done.returncode == 3 and "absolute path or '..'" in done.stdout


def test_usage_and_rubric_errors_exit_2(tmp_path):
    assert run(tmp_path / "whatever.zip").returncode == 2  # no rubric matches the name
    course = shutil.copytree(REPO / "rubrics" / "hw3", tmp_path / "hw3")
    broken = course / "rubric.toml"
    broken.write_text(broken.read_text().replace("points = 3", "points = 'three'", 1))
    done = run("validate", broken)
    assert done.returncode == 2
    assert f"{broken}: items[2] (p1.lstm_cell_forward), field 'points': must be a number" in done.stderr


def test_validate_and_selftest_on_the_bundled_rubric():
    done = run("validate", "hw3")
    assert done.returncode == 0 and "valid" in done.stdout and "20 points" in done.stdout
    done = run("selftest", "hw3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "selftest passed" in done.stdout and "20/20" in done.stdout
