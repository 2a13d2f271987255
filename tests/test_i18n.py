"""Reports in Persian: headings, the engine's messages, the rubric's own titles, right-to-left pages."""
from __future__ import annotations

import json
import subprocess

import pytest

from grader import rubric as rubric_module
from grader.report import html_page, markdown, terminal
from grader.report.i18n import LRI, PDI, localize, translate
from grader.report.model import GraderInfo, ItemResult, Report, Student, SubmissionInfo, totals
from helpers import EXAMPLES, GRADE


def test_engine_messages_become_persian_with_numbers_and_names_kept_left_to_right():
    message = ("0/6 cases passed; case 1 (n_x=6, n_a=7): dc_prev: 35 of 35 values wrong; max abs error 0.485 at "
               "index [2, 4] (expected -0.527944, got -1.01306), max rel error 0.919 (also wrong: dWf, dbf)")
    text = translate(message, "fa")
    for phrase in ("از", "مورد آزمون درست بود", "مقدار نادرست است", "بیشترین خطای مطلق", "مقدار درست",
                   "این‌ها هم نادرست‌اند"):
        assert phrase in text
    for technical in ("0.485", "[2, 4]", "-0.527944", "-1.01306", "n_x=6, n_a=7", "dWf, dbf"):
        assert f"{LRI}{technical}{PDI}" in text
    assert "cases passed" not in text and "values wrong" not in text
    assert translate("lstm_forward is not defined in the notebook; did you mean lstm_fwd?", "fa") == \
        f"{LRI}lstm_forward{PDI} در نوت‌بوک تعریف نشده است؛ شاید منظورتان {LRI}lstm_fwd{PDI} است؟"
    # what the catalogue does not know is left as it is, and English is never touched
    assert translate("a message nobody catalogued", "fa") == "a message nobody catalogued"
    assert translate(message, "en") == message


def _report() -> Report:
    items = [ItemResult("p1.rnn_cell_forward", "RNN cell, forward", "function", "public", 2, 2, "passed",
                        "all 6 cases passed"),
             ItemResult("p1.lstm_cell_backward", "LSTM cell, backward", "gradient", "public", 3, 0, "failed",
                        "0/6 cases passed; case 1 (m=1): dc_prev: expected shape (5, 1), got (1, 5)"),
             ItemResult("q", "Essay", "manual", "hidden", 1, 0, "manual", "to be graded by a TA")]
    return Report({"id": "hw3", "title": "HW3"}, Student("سارا", "احمدی", "401234567"), SubmissionInfo("s.zip"),
                  GraderInfo("0", "hw3", "x"), items, totals(items), [], {})


def test_localize_uses_the_rubric_titles_and_leaves_the_report_untouched():
    report = _report()
    persian = localize(report, "fa", rubric_module.load("hw3"))
    assert persian.language == "fa" and report.language == "en"
    assert persian.assignment["title"].startswith("یادگیری عمیق، تمرین ۳")
    assert persian.items[0].title == "سلول RNN، گذر رو به جلو" and report.items[0].title == "RNN cell, forward"
    assert persian.items[2].title == "Essay"  # no Persian title in the rubric: the rubric's own text stays
    assert persian.items[1].feedback.startswith(f"{LRI}0{PDI} از {LRI}6{PDI}")
    with pytest.raises(ValueError, match="unknown language"):
        localize(report, "de")


def test_every_renderer_speaks_persian_and_pages_run_right_to_left(tmp_path):
    persian = localize(_report(), "fa")
    page = html_page.render(persian)
    assert '<html lang="fa" dir="rtl">' in page and "<th>مورد</th>" in page and ">قبول<" in page
    md = markdown.render(persian)
    assert md.startswith('<div dir="rtl">') and "| مورد | نمره | وضعیت | بازخورد |" in md
    assert f"**مجموع: {LRI}2 / 6{PDI}**" in md  # the score stays left to right: 2 / 6, never 6 / 2
    assert 'id="total"><span dir="ltr">2 / 6</span>' in page and '<td class="points" dir="ltr">' in page
    from rich.console import Console
    console = Console(record=True, width=120)
    terminal.render(persian, console)
    shown = console.export_text()
    assert "مجموع: 2 / 6" in shown and "پنهان" in shown and LRI not in shown  # no isolate boxes in a terminal
    english = html_page.render(_report())
    assert '<html lang="en" dir="ltr">' in english and "<th>item</th>" in english


@pytest.mark.e2e
def test_grade_lang_fa_gives_a_persian_report(tmp_path):
    done = subprocess.run([*GRADE, str(EXAMPLES / "HW3_Ali_Rezaei_401234568.zip"), "--lang", "fa", "--format", "json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["language"] == "fa" and report["total"]["score"] == 14.5
    items = {item["id"]: item for item in report["items"]}
    assert items["p1.lstm_cell_backward"]["title"] == "سلول LSTM، گذر رو به عقب"
    feedback = items["p1.lstm_cell_backward"]["feedback"]
    assert "مورد آزمون درست بود" in feedback and "dc_prev" in feedback and "cases passed" not in feedback


from test_formats import chromium, measure_in_chromium  # noqa: E402,F401 - the fixture


def test_persian_page_lays_out_right_to_left_in_chromium(chromium, tmp_path):  # noqa: F811
    page = html_page.render(localize(_report(), "fa"))
    found = measure_in_chromium(chromium, page, tmp_path, "page: getComputedStyle(document.documentElement).direction,"
                                "first_column_on_the_right: Math.abs(document.querySelector('th')"
                                ".getBoundingClientRect().right - document.querySelector('table')"
                                ".getBoundingClientRect().right) < 2,"
                                "total: document.getElementById('total').textContent")
    assert found == {"page": "rtl", "first_column_on_the_right": True, "total": "2 / 6"}
