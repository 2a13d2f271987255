"""The report in every channel's format: Gradescope's results.json, JUnit XML, Markdown and a
self-contained HTML page rendered in headless Chromium — each from the one Report, each showing
hostile student text inert."""
import json
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from grader.report import gradescope, html_page, junit, markdown
from grader.report.model import GraderInfo, ItemResult, Report, Student, SubmissionInfo, totals

from helpers import EXAMPLES, GRADE

ALI = EXAMPLES / "HW3_Ali_Rezaei_401234568.zip"
HOSTILE = "\x1b[2J\x1b[32mALL PASSED\x1b[0m\r<script>alert(1)</script> ![x](http://evil/x.png) [click](http://evil) | # \ud800"


def report(feedback=HOSTILE, first="سارا", last="احمدی") -> Report:
    items = [ItemResult("q1", "تابع softmax", "function", "public", 2, 2, "passed", "all 6 cases passed"),
             ItemResult("q2", "Backward", "gradient", "public", 3, 1, "partial", feedback, details={"cases": [1, 2]}),
             ItemResult("q3", "Hidden one", "function", "hidden", 2, 0, "failed", "incorrect"),
             ItemResult("q4", "Broken", "module", "public", 1, 0, "error", "Head is not defined"),
             ItemResult("q5", "Essay", "manual", "public", 4, 0, "manual", "to be graded by a TA")]
    return Report({"id": "hw", "title": "HW — تمرین", "hidden_until": "published"}, Student(first, last, "401"),
                  SubmissionInfo("HW_x.zip", "ab", 10), GraderInfo("0", "hw", "sha"), items, totals(items), [], {},
                  warnings=["warn \x1b[31mred"], duration_s=2.6)


def test_gradescope_results_have_the_spec_fields_and_no_manual_tests():
    results = json.loads(gradescope.render(report()))
    assert set(results) >= {"score", "execution_time", "output", "tests"} and results["score"] == 3
    assert results["execution_time"] == 3 and "4 more points are graded by a TA" in results["output"]
    assert [t["name"].split(" ")[0] for t in results["tests"]] == ["q1", "q2", "q3", "q4"]
    for test in results["tests"]:
        assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and isinstance(test["number"], str)
    assert [t["visibility"] for t in results["tests"]] == ["visible", "visible", "after_published", "visible"]
    assert "\x1b" not in results["tests"][1]["output"] and "\r" not in results["tests"][1]["output"]
    never = report()
    never.assignment["hidden_until"] = "never"
    assert json.loads(gradescope.render(never))["tests"][2]["visibility"] == "hidden"


def test_junit_parses_with_a_junit_parser():
    junitparser = pytest.importorskip("junitparser")
    text = junit.render(report())
    assert "\x1b" not in text
    suites = junitparser.JUnitXml.fromstring(text)
    suite = next(iter(suites))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (5, 2, 1, 1)
    results = {case.name.split(":")[0]: [type(r).__name__ for r in case.result] for case in suite}
    assert results == {"q1": [], "q2": ["Failure"], "q3": ["Failure"], "q4": ["Error"], "q5": ["Skipped"]}
    failure = next(case for case in suite if case.name.startswith("q2")).result[0]
    assert "<script>" in failure.text  # the text, escaped by XML and read back as text
    ET.fromstring(text.split("\n", 1)[1])  # well-formed XML 1.0 despite control characters


def test_markdown_shows_student_text_inert():
    text = markdown.render(report())
    assert "\x1b" not in text and "\r" not in text and "\ud800" not in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "![x]" not in text and "\\!\\[x\\]" in text and "[click]" not in text
    assert "| 1/3 | 🟡 partial |" in text and "### What to fix" in text
    assert "hidden item(s) are graded too" in text
    assert text.count("\n| q") == 5  # a | in feedback does not split the table's row


def test_html_escapes_everything_and_marks_text_direction():
    page = html_page.render(report())
    assert "<script>" not in page and "&lt;script&gt;" in page and "\x1b" not in page
    assert '<span id="student" dir="auto">سارا احمدی</span>' in page
    assert page.count("<details") == 3 and 'Content-Security-Policy' in page


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return path


def measure_in_chromium(chromium: str, page: str, folder, fields: str) -> dict:
    """What Chromium computed for a page: a copy runs a probe script (the page itself runs none) that
    stores ``{fields}`` as JSON in the DOM, which --dump-dom prints."""
    probe = page.replace('<meta http-equiv="Content-Security-Policy"', '<meta name="x"').replace(
        "</body>", f"<script>document.body.dataset.probe = JSON.stringify({{{fields}}})</script></body>")
    probed = folder / "probe.html"
    probed.write_text(probe, encoding="utf-8")
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", probed.as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.split('data-probe="', 1)[1].split('"', 1)[0].replace("&quot;", '"'))


def test_html_renders_in_headless_chromium_with_totals_and_rtl_text(chromium, tmp_path):
    page = html_page.render(report())
    original = tmp_path / "report.html"
    original.write_text(page, encoding="utf-8")
    screenshot = tmp_path / "report.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={screenshot}",
                    "--window-size=420,1000", original.as_uri()], capture_output=True, timeout=120, check=True)
    assert screenshot.stat().st_size > 5000
    found = measure_in_chromium(chromium, page, tmp_path, "direction: getComputedStyle(document.getElementById("
                                "'student')).direction, total: document.getElementById('total').textContent,"
                                "rows: document.querySelectorAll('tbody tr').length")
    assert found == {"direction": "rtl", "total": "3 / 12", "rows": 5}
    artifacts = __import__("os").environ.get("DLGRADE_ARTIFACTS")
    if artifacts:
        shutil.copy(screenshot, artifacts)


@pytest.mark.parametrize("output_format, file_name", [("gradescope", "results.json"), ("junit", "junit.xml"),
                                                       ("md", "report.md"), ("html", "report.html")])
def test_the_cli_writes_each_format_to_stdout_and_out(tmp_path, output_format, file_name):
    done = subprocess.run([*GRADE, str(ALI), "--format", output_format, "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    written = (tmp_path / file_name).read_text(encoding="utf-8")
    assert written == done.stdout and (tmp_path / "report.json").is_file()
    assert "14.5" in written


@pytest.mark.parametrize("language", ["en", "fa"])
@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_fits_a_phone_and_a_desktop_in_both_languages(chromium, tmp_path, language, width):
    """No sideways scrolling at either width; the score reads left to right (3 / 12) on a Persian page
    too, where it sits on the right; a lost point's cases are a table, not a JSON dump."""
    from grader.report.i18n import localize

    page = html_page.render(localize(report(), language))
    assert "&quot;cases&quot;" not in page and "<pre>" not in page
    probe = page.replace('<meta http-equiv="Content-Security-Policy"', '<meta name="x"').replace(
        "</body>", "<script>const t = document.querySelector('#total span').getBoundingClientRect();"
        "document.body.dataset.probe = JSON.stringify({overflow: document.documentElement.scrollWidth > innerWidth,"
        "direction: getComputedStyle(document.querySelector('#total span')).direction,"
        "total: document.querySelector('#total').textContent, right: innerWidth - t.right, left: t.left})"
        "</script></body>")
    probed = tmp_path / "probe.html"
    probed.write_text(probe, encoding="utf-8")
    done = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={width},900",
                           "--dump-dom", probed.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    found = json.loads(done.stdout.split('data-probe="', 1)[1].split('"', 1)[0].replace("&quot;", '"'))
    assert not found["overflow"] and found["direction"] == "ltr" and found["total"] == "3 / 12", found
    assert (found["right"] < found["left"]) == (language == "fa"), found  # on the reading side of the page
