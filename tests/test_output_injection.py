"""Student text is inert in everything people and programs read: a gradebook cell is never a formula,
junit.xml stays valid XML, no bidirectional override reorders a report, no bare URL becomes a link on
GitHub's Markdown, no tag reaches an HTML page.  Graded through the real ``grade`` command and checked
with the formats' own parsers."""
import csv
import json
import html.parser
import xml.etree.ElementTree as ElementTree

import pytest
from junitparser import JUnitXml

from helpers import notebook_text, write_zip
from test_cli_e2e import run

pytestmark = pytest.mark.e2e

RUBRIC = '''
[assignment]
id = "inject"
[limits]
call_timeout_s = 5
[[notebooks]]
name = "nb"
match = ["*.ipynb"]
[generators.vec]
function = "refs.py:vec_inputs"
dims = { n = [2, 3] }
[[items]]
id = "target"
kind = "function"
points = 1
notebook = "nb"
target = "target"
reference = "refs.py:target"
inputs = "vec"
cases = 1
'''
REFS = "def vec_inputs(rng, n):\n    return {'x': rng.standard_normal(n)}\n\ndef target(x):\n    return x + 1\n"
HOSTILE = ("=cmd|' /C calc'!A0 \u202eevil\u202c \u2067rli \uffff\ufffe https://evil.example/x www.evil.com "
           "me@evil.com <b>bold</b> [click](http://evil.example) ![img](http://evil.example/i.png)")
NOTEBOOK = notebook_text(f"def target(x):\n    raise ValueError({HOSTILE!r})")
OVERRIDES = "\u202a\u202b\u202c\u202d\u202e\u2067\u2068\ufffe\uffff"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inject")
    (root / "refs.py").write_text(REFS)
    (root / "rubric.toml").write_text(RUBRIC)
    archive = write_zip(root / "student.zip", {"work.ipynb": NOTEBOOK})
    found = {}
    for fmt in ("junit", "md", "html"):
        done = run(archive, "--rubric", root / "rubric.toml", "--format", fmt, "--out", root / fmt)
        assert done.returncode == 0, done.stderr
        found[fmt] = (root / fmt / {"junit": "junit.xml", "md": "report.md", "html": "report.html"}[fmt]).read_text(
            encoding="utf-8")
    found["terminal"] = run(archive, "--rubric", root / "rubric.toml").stdout
    found["json"] = run(archive, "--rubric", root / "rubric.toml", "--format", "json").stdout
    return found


def test_the_json_report_keeps_what_the_student_wrote_for_programs_to_read(outputs):
    feedback = json.loads(outputs["json"])["items"][0]["feedback"]
    assert "\u202eevil" in feedback and "https://evil.example/x" in feedback


@pytest.mark.parametrize("fmt", ["junit", "md", "html", "terminal"])
def test_no_override_or_character_xml_forbids_survives_in_what_people_read(outputs, fmt):
    assert not set(OVERRIDES) & set(outputs[fmt])
    assert "⟨U+202E⟩" in outputs[fmt]


def test_junit_stays_valid_xml_with_the_feedback_shown(outputs):
    ElementTree.fromstring(outputs["junit"].encode())  # raises on a character XML forbids
    (case,) = [case for suite in JUnitXml.fromstring(outputs["junit"]) for case in suite]
    assert "⟨U+FFFF⟩" in case.result[0].message


def test_markdown_links_nothing_and_shows_the_text(outputs):
    page = outputs["md"]
    assert "https://" not in page and "http://" not in page and "www.evil" not in page and "me@evil" not in page
    assert "https\u2060://evil.example/x" in page and "me\u2060@evil.com" in page
    assert "<b>" not in page and "&lt;b&gt;" in page and "\\[click\\]" in page and "\\!\\[img\\]" in page


def test_html_page_has_no_tag_from_the_student(outputs):
    tags = []

    class Tags(html.parser.HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)

    Tags().feed(outputs["html"])
    assert "b" not in tags and "img" not in tags and "&lt;b&gt;" in outputs["html"]


def test_gradebook_cells_from_file_names_are_never_formulas(tmp_path):
    (tmp_path / "refs.py").write_text(REFS)
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    (tmp_path / "class").mkdir()
    names = ["=HYPERLINK(evil)", "+SUM(1)", "-2+3", "@cmd", "plain"]
    honest = notebook_text("def target(x):\n    return x + 1")
    for name in names:
        write_zip(tmp_path / "class" / f"{name}.zip", {"work.ipynb": honest})
    done = run("batch", tmp_path / "class", "-r", tmp_path / "rubric.toml", "-o", tmp_path / "results", "-q")
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "results" / "gradebook.csv", newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(names) and all(row["target"] == "1" for row in rows)
    for row in rows:
        for column in ("student_key", "file"):
            assert row[column][:1] not in ("=", "+", "-", "@"), row
    assert {row["file"] for row in rows} == {"'=HYPERLINK(evil).zip", "'+SUM(1).zip", "'-2+3.zip", "'@cmd.zip",
                                             "plain.zip"}


def test_an_answers_file_with_endless_unknown_questions_makes_a_small_report(tmp_path):
    """200,000 headings of questions the assignment does not have: the report lists 50 warnings and says
    how many more there were, instead of growing with the file."""
    rubric = RUBRIC.replace("[limits]", '[answers]\nmatch = ["answers*.md"]\n\n[limits]') + '''
[[items]]
id = "essay"
kind = "manual"
points = 1
'''
    (tmp_path / "refs.py").write_text(REFS)
    (tmp_path / "rubric.toml").write_text(rubric)
    answers = "## essay\nmine\n" + "".join(f"## q{i}\nx\n" for i in range(200_000))
    archive = write_zip(tmp_path / "s.zip", {"work.ipynb": notebook_text("def target(x):\n    return x + 1"),
                                             "answers.md": answers})
    done = run(archive, "--rubric", tmp_path / "rubric.toml", "--format", "json", "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "report.json").stat().st_size < 100_000
    warnings = json.loads(done.stdout)["warnings"]
    assert len(warnings) == 21 and warnings[-1].endswith("199980 more headers name no question of this assignment")


def test_a_report_lists_at_most_fifty_warnings_and_cell_errors_then_counts():
    from grader.grading import MAX_LISTED, bounded
    from grader.report.model import CellErrorInfo

    warnings = bounded([f"w{i}" for i in range(500)])
    assert len(warnings) == MAX_LISTED + 1 and warnings[-1] == "… and 450 more, not listed"
    errors = bounded([CellErrorInfo(i, f"e{i}") for i in range(60)])
    assert len(errors) == MAX_LISTED + 1 and errors[-1].error == "… and 10 more, not listed"
    assert bounded(["one"]) == ["one"]
