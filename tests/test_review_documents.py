"""`grade review` on a class that handed its theory in as documents: a TA opens a question, sees each
student's page, confirms a group of proposals with one key, assigns an unplaced page by keyboard, and the
marks reach the database, the reports, gradebook.csv and the platform export."""
import csv
import io
import json
import subprocess

import pytest

from grader.review.decisions import Review, ReviewError
from grader.review.server import App, serve_in_thread

from documents import HW5_CORRECT, HW5_WRONG, hw5_lines, scanned_pdf, typed_pdf
from helpers import GRADE

TYPED = {"HW5_Sara_Ahmadi_401234567.pdf": HW5_CORRECT, "HW5_Ali_Rezaei_401234568.pdf": HW5_CORRECT,
         "HW5_Maryam_Hosseini_401234569.pdf": HW5_WRONG}
SCANNED = "HW5_Reza_Karimi_401234570.pdf"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("documents-class")
    folder = root / "class"
    folder.mkdir()
    for name, answers in TYPED.items():
        lines = hw5_lines(answers, "en")
        typed_pdf(folder / name, [lines[:16], lines[16:]])
    lines = hw5_lines(HW5_CORRECT, "en")
    scanned_pdf(folder / SCANNED, [lines[:20], lines[20:]])
    out = root / "results"
    done = subprocess.run([*GRADE, "batch", str(folder), "-r", "hw5", "-o", str(out), "-j", "2", "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*GRADE, "gradebook", str(out), "--export", "canvas"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def gradebook(results):
    return {r["student_key"]: r for r in csv.DictReader(io.StringIO((results / "gradebook.csv").read_text("utf-8-sig")))}


def report(results, key):
    return json.loads((results / "reports" / f"{key}.json").read_text())


def test_proposals_are_grouped_by_verdict_with_each_students_page(results):
    review = Review(results)
    try:
        view = review.item_view("q3.a")
    finally:
        review.close()
    groups = view["groups"]
    proposed = [g for g in groups if g[0]["proposal"]]
    assert sorted(len(g) for g in proposed) == [1, 2]  # the two correct, the planted wrong one
    correct = next(g for g in proposed if len(g) == 2)
    assert correct[0]["proposal"]["status"] == "passed"
    page = correct[0]["pages"][0]
    assert page["url"].endswith(".png") and page["region"] is not None and page["file"].endswith(".pdf")
    scanned = next(g for g in groups if g[0]["unplaced"])
    assert len(scanned) == 1 and [p["number"] for p in scanned[0]["pages"]] == [1, 2]
    assert view["item"]["title"].startswith("Q3(a)")


def test_confirm_refuses_a_student_without_a_proposal(results):
    review = Review(results)
    try:
        with pytest.raises(ReviewError):
            review.confirm("q3.a", ["401234570"], "tara")
        with pytest.raises(ReviewError):
            review.assign_pages("q3.a", "401234570", [9], "tara")
    finally:
        review.close()


def test_a_ta_confirms_a_group_and_places_a_scanned_page_by_keyboard(results, browser):
    server, address = serve_in_thread(App(results, "hw5", "tara"))
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.goto(address)
        page.wait_for_selector("li[data-item='q3.a']")
        page.focus("li[data-item='q3.a']")  # the items list by keyboard
        page.keyboard.press("Enter")
        page.wait_for_selector(".group.current .page img")
        assert page.locator(".group.current .region").count() == 1  # where the answer was read, marked
        assert page.locator(".group.current .proposal").first.text_content().startswith("proposed: passed")
        page.screenshot(path=str(results / "review-documents-proposal.png"))
        page.keyboard.press("c")  # the two correct proposals, with one key
        page.wait_for_selector("#status:has-text('confirmed 2')")
        rows = gradebook(results)
        assert rows["401234567"]["q3.a"] == "10" and rows["401234568"]["q3.a"] == "10"
        # the scanned student: nothing was read; the TA pages to the answer and assigns it by keyboard
        groups = page.locator(".group")
        scanned = next(i for i in range(groups.count()) if "not found" in groups.nth(i).text_content())
        for _ in range(scanned - int(page.locator(".group.current").get_attribute("data-group"))):
            page.keyboard.press("j")
        page.wait_for_selector(".group.current .page img")
        page.keyboard.press("]")
        page.wait_for_selector(".group.current .page-label:has-text('page 2')")
        page.keyboard.press("a")
        page.wait_for_function("() => !document.querySelector('.group.current').textContent.includes('not found')")
        page.screenshot(path=str(results / "review-documents-assigned.png"))
        page.close()
    finally:
        server.shutdown()
    review = Review(results)
    try:
        assert review.assigned_pages("q3.a") == {"401234570": [2]}
        review.add_comment("q3.a", "right vector, from the photo", 10, "tara")
        review.mark("q3.a", ["401234570"], [1], grader="tara")  # pending, not an override: no reason asked
    finally:
        review.close()
    rows = gradebook(results)
    assert rows["401234570"]["q3.a"] == "10"
    assert report(results, "401234567")["items"][10]["status"] == "passed"
    canvas = (results / "canvas-hw5.csv").read_text("utf-8-sig")
    assert "401234570" in canvas
