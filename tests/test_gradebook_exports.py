"""The class gradebook a TA can use, through the real CLI: gradebook.csv in UTF-8 with a BOM (Persian
names survive a spreadsheet) with pending manual items written 'pending'; grade manual on a batch's report
updates the gradebook at once; grade gradebook rebuilds it, writes Canvas's and Moodle's import files in
their documented layouts (a student with items still to grade is blank, never a partial total) and lists
a student's regrades."""
import csv
import io
import json
import subprocess
import zipfile

import pytest

from helpers import GRADE, REPO

HW5 = REPO / "rubrics" / "hw5"
MANUAL = ("q1.a.reason", "q1.b.reason", "q1.c.reason", "q3.b", "q4.notebook")


def run(*args):
    return subprocess.run([*GRADE, *map(str, args)], capture_output=True, text=True, timeout=300)


def read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode()), path  # a spreadsheet reads UTF-8 only with the mark
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def batch(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name, answers in (("HW5_علی_رضایی_401234568.zip", "answers_correct.md"),
                          ("HW5_Sara_Ahmadi_401234567.zip", "answers_wrong.md")):
        with zipfile.ZipFile(folder / name, "w") as archive:
            archive.write(HW5 / "examples" / answers, "answers.md")
    results = tmp_path / "results"
    done = run("batch", folder, "--rubric", "hw5", "--out", results, "--quiet")
    assert done.returncode == 0, done.stderr
    return results


def test_the_gradebook_keeps_persian_names_and_shows_pending_items(batch):
    rows = {row["student_key"]: row for row in read_csv(batch / "gradebook.csv")}
    ali = rows["401234568"]
    assert (ali["first"], ali["last"]) == ("علی", "رضایی")
    assert all(ali[item] == "pending" for item in MANUAL) and float(ali["manual_pending"]) == 58
    assert ali["q2.a"] == "5"


def test_grade_manual_on_a_batch_report_updates_the_gradebook_at_once(batch):
    report = batch / "reports" / "401234568.json"
    sets = [arg for item in MANUAL for arg in ("--set", f"{item}=1")]
    done = run("manual", report, *sets)
    assert done.returncode == 0, done.stderr
    assert "gradebook.csv" in done.stdout
    ali = {row["student_key"]: row for row in read_csv(batch / "gradebook.csv")}["401234568"]
    assert all(ali[item] == "1" for item in MANUAL) and float(ali["manual_pending"]) == 0
    assert float(ali["final"]) == json.loads(report.read_text())["total"]["score"]
    history = run("gradebook", batch, "--history", "401234568")
    assert history.returncode == 0, history.stderr
    said = " ".join(history.stdout.split())
    assert "graded" in said and "manual" in said


def test_platform_import_files_follow_their_documented_layouts(batch):
    run("manual", batch / "reports" / "401234568.json", *[a for i in MANUAL for a in ("--set", f"{i}=1")])
    done = run("gradebook", batch, "--export", "canvas", "--export", "moodle")
    assert done.returncode == 0, done.stderr
    assert "1 left blank" in " ".join(done.stdout.split())   # Sara's manual items still wait for a TA
    title = json.loads((batch / "reports" / "401234568.json").read_text())["assignment"]["title"]
    canvas = read_csv(batch / "canvas-hw5.csv")
    assert list(canvas[0]) == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title]
    by_id = {row["SIS User ID"]: row for row in canvas}
    ali_total = json.loads((batch / "reports" / "401234568.json").read_text())["total"]["score"]
    assert by_id["401234568"]["Student"] == "رضایی, علی" and float(by_id["401234568"][title]) == ali_total
    assert by_id["401234567"][title] == ""   # pending: blank, which Canvas leaves as it is
    moodle = read_csv(batch / "moodle-hw5.csv")
    assert list(moodle[0]) == ["ID number", "First name", "Last name", title, "Feedback"]
    sara = {row["ID number"]: row for row in moodle}["401234567"]
    assert sara[title] == "" and "wait for a TA" in sara["Feedback"]


def test_grade_gradebook_takes_a_report_edited_by_hand(batch):
    path = batch / "reports" / "401234567.json"
    report = json.loads(path.read_text())
    done = run("manual", path, "--set", "q3.b=7")  # and then the TA runs grade gradebook again: nothing changes twice
    assert done.returncode == 0, done.stderr
    again = run("gradebook", batch)
    assert again.returncode == 0 and "taken from edited reports" not in again.stdout
    sara = {row["student_key"]: row for row in read_csv(batch / "gradebook.csv")}["401234567"]
    assert sara["q3.b"] == "7" and report["total"]["score"] + 7 == pytest.approx(float(sara["final"]))


def test_a_folder_without_a_database_is_a_clear_error(tmp_path):
    done = run("gradebook", tmp_path)
    assert done.returncode == 2 and "holds no gradebook.sqlite" in done.stderr and "Traceback" not in done.stderr


def test_feedback_pages_for_every_student_from_a_batch_in_persian(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    with zipfile.ZipFile(folder / "HW5_Sara_Ahmadi_401234567.zip", "w") as archive:
        archive.write(HW5 / "examples" / "answers_wrong.md", "answers.md")
    results = tmp_path / "results"
    done = run("batch", folder, "--rubric", "hw5", "--out", results, "--quiet", "--feedback", "html",
               "--feedback", "md", "--lang", "fa")
    assert done.returncode == 0, done.stderr
    page = (results / "reports" / "401234567.html").read_text(encoding="utf-8")
    assert 'dir="rtl"' in page and "Sara" in page
    assert (results / "reports" / "401234567.md").read_text(encoding="utf-8").strip()
    # after manual grading, grade gradebook writes the pages again from the database
    run("manual", results / "reports" / "401234567.json", "--set", "q3.b=9")
    again = run("gradebook", results, "--feedback", "html")
    assert again.returncode == 0, again.stderr
    assert 'dir="rtl"' not in (results / "reports" / "401234567.html").read_text(encoding="utf-8")  # English now
