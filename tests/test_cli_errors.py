"""Bad paths and commands through the real CLI: each is one line that names the problem and the fix, the
documented exit status (2 usage, 1 below --fail-under), and never a traceback."""
import json
import shutil
import subprocess
import zipfile

import pytest

from helpers import GRADE, REPO

HW5_ANSWERS = REPO / "rubrics" / "hw5" / "examples"


def run(*args, cwd=None):
    return subprocess.run([*GRADE, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


def theory_zip(path, answers="answers_correct.md"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(HW5_ANSWERS / answers, "answers.md")
    return path


def assert_clean_error(done, code, *phrases):
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == code, said
    assert "Traceback" not in said, said
    for phrase in phrases:
        assert phrase in said, said


def test_a_missing_file_is_named(tmp_path):
    assert_clean_error(run("nonexistent.zip", cwd=tmp_path), 2, "no such file: nonexistent.zip")


def test_a_folder_given_to_grade_points_to_grade_batch(tmp_path):
    (tmp_path / "class").mkdir()
    assert_clean_error(run(tmp_path / "class"), 2, "is a folder", "grade batch")


@pytest.mark.parametrize("typo, command", [("bacth", "batch"), ("valdiate", "validate"), ("selftets", "selftest")])
def test_a_mistyped_command_is_not_taken_for_a_file(typo, command, tmp_path):
    assert_clean_error(run(typo, "x", cwd=tmp_path), 2, f"no command '{typo}'", f"did you mean 'grade {command}'")


def test_an_unwritable_out_folder_is_refused_before_grading(tmp_path):
    submission = theory_zip(tmp_path / "HW5_Sara_Ahmadi_401234567.zip")
    (tmp_path / "a-file").write_text("")
    done = run(submission, "--rubric", "hw5", "--out", tmp_path / "a-file" / "results")
    assert_clean_error(done, 2, "cannot write to --out", "choose a folder you can write to")
    done = run("batch", tmp_path, "--rubric", "hw5", "--out", tmp_path / "a-file" / "results", "--quiet")
    assert_clean_error(done, 2, "cannot write to --out")


def test_a_batch_of_an_empty_folder_is_a_usage_error(tmp_path):
    (tmp_path / "class").mkdir()
    done = run("batch", tmp_path / "class", "--rubric", "hw5", "--out", tmp_path / "results", "--quiet")
    assert_clean_error(done, 2, "holds no submission")
    (tmp_path / "class" / "HW5_Sara_Ahmadi_401234567.rar").write_bytes(b"Rar!")  # no file is left out unnamed
    done = run("batch", tmp_path / "class", "--rubric", "hw5", "--out", tmp_path / "results", "--quiet")
    assert_clean_error(done, 2, "holds no submission", "left out: HW5_Sara_Ahmadi_401234567.rar")
    assert not (tmp_path / "results" / "gradebook.csv").exists()


def test_a_rubric_with_an_unknown_table_is_refused(tmp_path):
    rubric = tmp_path / "rubric.toml"
    rubric.write_text((REPO / "rubrics" / "hw5" / "rubric.toml").read_text() + "\n[limit]\ncall_timeout_s = 5\n")
    assert_clean_error(run("validate", rubric), 2, "[limit]", "unknown table", "did you mean [limits]?")


def test_fail_under_says_why_it_exits_1(tmp_path):
    submission = theory_zip(tmp_path / "HW5_Ali_Rezaei_401234568.zip", "answers_wrong.md")
    done = run(submission, "--rubric", "hw5", "--fail-under", "90", "--format", "json")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "below the threshold" in done.stderr and "--fail-under 90" in done.stderr
    json.loads(done.stdout)  # the report on stdout stays machine-readable


def test_a_batch_lists_files_that_name_no_student_and_reads_a_browsers_copy(tmp_path):
    folder = tmp_path / "class"
    theory_zip(folder / "HW5_Sara_Ahmadi_401234567 (1).zip")
    theory_zip(folder / "hw5-final-submission.zip")
    shutil.copy(folder / "hw5-final-submission.zip", folder / "HW5_Ali_Rezaei_401234568-2.zip")
    done = run("batch", folder, "--rubric", "hw5", "--out", tmp_path / "results", "--quiet")
    said = " ".join((done.stdout + done.stderr).split())
    assert done.returncode == 0, said
    assert "hw5-final-submission.zip: the file name names no student" in said
    reports = {p.stem for p in (tmp_path / "results" / "reports").glob("*.json")}
    assert {"401234567", "401234568"} <= reports


def test_two_uploads_at_the_same_time_are_a_tie_for_the_ta(tmp_path):
    folder = tmp_path / "class"
    theory_zip(folder / "HW5_Sara_Ahmadi_401234567.zip")
    theory_zip(folder / "HW5_Sara_Ahmadi_401234567 (1).zip", "answers_wrong.md")
    times = tmp_path / "times.csv"
    times.write_text("file,submitted\nHW5_Sara_Ahmadi_401234567.zip,2025-11-20T10:00:00+03:30\n"
                     "HW5_Sara_Ahmadi_401234567 (1).zip,2025-11-20T10:00:00+03:30\n")
    done = run("batch", folder, "--rubric", "hw5", "--out", tmp_path / "results", "--times", times, "--quiet")
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "results" / "reports" / "401234567.json").read_text())
    assert any("uploads at the same time" in c for c in report["identity_conflicts"]), report["identity_conflicts"]


@pytest.mark.parametrize("jobs, said", [("0", "0 is not a number of jobs"), ("many", "'many' is neither a number of jobs nor auto")])
def test_a_number_of_jobs_that_is_none_is_refused(jobs, said, tmp_path):
    theory_zip(tmp_path / "class" / "HW5_Sara_Ahmadi_401234567.zip")
    done = run("batch", tmp_path / "class", "--rubric", "hw5", "--out", tmp_path / "results", "--jobs", jobs)
    assert_clean_error(done, 2, said)
