"""Every student's report file is their own by construction: keys that a name-cleaning would make equal
("Alice Smith" and "Alice_Smith") get distinct files, so no student inherits another's manual points
or overwrites their report; reports named the old way are still read for their own submission."""
import json

import pytest

from grader.batch.run import report_name

from helpers import notebook_text, write_zip
from test_cli_e2e import run
from test_output_injection import REFS, RUBRIC

pytestmark = pytest.mark.e2e

MANUAL = RUBRIC + '''
[[items]]
id = "essay"
kind = "manual"
points = 2
'''


@pytest.mark.parametrize("keys", [("Alice Smith", "Alice_Smith"), ("a%20b", "a b"), ("a/b", "a_b", "a%2Fb"),
                                  ("", "+empty", "%2Bempty"), ("x" * 300, "x" * 301, "x" * 100)])
def test_distinct_keys_get_distinct_names_that_stay_plain_files(keys):
    names = [report_name(key) for key in keys]
    assert len(set(names)) == len(keys)
    assert all(name and "/" not in name and len(name) <= 120 and name not in (".", "..") for name in names)


def test_two_students_whose_names_clean_alike_keep_their_own_reports_and_manual_points(tmp_path):
    (tmp_path / "refs.py").write_text(REFS)
    (tmp_path / "rubric.toml").write_text(MANUAL)
    (tmp_path / "class").mkdir()
    right = notebook_text("def target(x):\n    return x + 1")
    wrong = notebook_text("def target(x):\n    return x")
    write_zip(tmp_path / "class" / "Alice Smith.zip", {"work.ipynb": right})
    write_zip(tmp_path / "class" / "Alice_Smith.zip", {"work.ipynb": wrong})
    results = tmp_path / "results"
    assert run("batch", tmp_path / "class", "-r", tmp_path / "rubric.toml", "-o", results, "-q").returncode == 0
    reports = {path.name: json.loads(path.read_text()) for path in (results / "reports").glob("*.json")}
    assert sorted(reports) == ["Alice%20Smith.json", "Alice_Smith.json"]
    assert reports["Alice%20Smith.json"]["submission"]["file"] == "Alice Smith.zip"
    assert reports["Alice_Smith.json"]["total"]["score"] == 0
    done = run("manual", results / "reports" / "Alice%20Smith.json", "--set", "essay=2")
    assert done.returncode == 0, done.stderr
    # a new upload of the other student: their report is graded again, and inherits nothing
    write_zip(tmp_path / "class" / "Alice_Smith.zip", {"work.ipynb": right, "v2.txt": "again"})
    assert run("batch", tmp_path / "class", "-r", tmp_path / "rubric.toml", "-o", results, "-q").returncode == 0
    other = json.loads((results / "reports" / "Alice_Smith.json").read_text())
    essay = {item["id"]: item for item in other["items"]}["essay"]
    assert other["total"]["score"] == 1 and essay["status"] == "manual" and essay["score"] == 0
    mine = json.loads((results / "reports" / "Alice%20Smith.json").read_text())
    assert {item["id"]: item for item in mine["items"]}["essay"]["score"] == 2


def test_a_report_named_the_old_way_keeps_its_manual_points_for_its_own_submission_only(tmp_path):
    (tmp_path / "refs.py").write_text(REFS)
    (tmp_path / "rubric.toml").write_text(MANUAL)
    (tmp_path / "class").mkdir()
    right = notebook_text("def target(x):\n    return x + 1")
    write_zip(tmp_path / "class" / "Alice Smith.zip", {"work.ipynb": right})
    results = tmp_path / "results"
    assert run("batch", tmp_path / "class", "-r", tmp_path / "rubric.toml", "-o", results, "-q").returncode == 0
    old = results / "reports" / "Alice_Smith.json"  # where an earlier version wrote it
    (results / "reports" / "Alice%20Smith.json").rename(old)
    assert run("manual", old, "--set", "essay=2").returncode == 0
    write_zip(tmp_path / "class" / "Alice Smith.zip", {"work.ipynb": right, "v2.txt": "again"})
    assert run("batch", tmp_path / "class", "-r", tmp_path / "rubric.toml", "-o", results, "-q").returncode == 0
    mine = json.loads((results / "reports" / "Alice%20Smith.json").read_text())
    assert {item["id"]: item for item in mine["items"]}["essay"]["score"] == 2
