"""`grade review`: answer groups, a rubric of reusable comments whose edits re-mark every student they
were applied to, marks that reach the reports, the database and the gradebook and survive a regrade, two
TAs at once, and the app itself in headless Chromium (keyboard grading of a group, a hostile answer left
inert, resuming after a restart)."""
import csv
import io
import json
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
import zipfile

import pytest

from grader.review.decisions import Review, ReviewError
from grader.review.groups import group_answers, normalise
from grader.review.server import App, serve_in_thread
from helpers import GRADE, REPO

CORRECT = (REPO / "rubrics" / "hw5" / "examples" / "answers_correct.md").read_text(encoding="utf-8")
ONE_PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5E"
             "rkJggg==")
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
REASONS = {  # q1.a.reason as a class writes it: repeats, a near-duplicate, Persian, a hostile one
    "HW5_Sara_Ahmadi_401234567.zip": "Both take a sequence and give one label.",
    "HW5_Ali_Rezaei_401234568.zip": "Both take a sequence and give one label.",
    "HW5_Maryam_Hosseini_401234569.zip": "both take a sequence and give one label",
    "HW5_Reza_Karimi_401234570.zip": "Both take a sequence and give a single label!",
    "HW5_Mina_Sadeghi_401234571.zip": "هر دو یک دنباله می‌گیرند و یک برچسب می‌دهند",
    "HW5_Eve_Mallory_401234572.zip": HOSTILE,
}


def answers(reason: str) -> str:
    return CORRECT.replace("Both take a sequence and give one label.", reason)


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name, reason in REASONS.items():
        with zipfile.ZipFile(folder / name, "w") as archive:
            archive.writestr("answers.md", answers(reason))
    out = tmp_path / "results"
    done = subprocess.run([*GRADE, "batch", str(folder), "--rubric", "hw5", "--out", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def gradebook(results):
    return {r["student_key"]: r for r in csv.DictReader(io.StringIO((results / "gradebook.csv").read_text("utf-8-sig")))}


def test_answers_that_say_the_same_thing_are_one_group():
    groups = group_answers({"a": "Both take a sequence.", "b": "both  take a sequence", "c": "Both take a sequence!",
                            "d": "Something else entirely", "e": "", "f": "هر دو يك دنباله"})
    assert groups[0] == ["a", "b", "c"] and ["d"] in groups and ["e"] in groups
    assert normalise("هر دو يك ۲") == normalise("هر دو یک 2")  # Arabic forms and digits read as Persian ones


def test_a_group_graded_once_and_a_comment_edited_reach_every_student(results):
    review = Review(results)
    view = review.item_view("q1.a.reason")
    biggest = view["groups"][0]
    assert len(biggest) == 4 and {s["answer"] for s in biggest} >= {"Both take a sequence and give one label."}
    good = review.add_comment("q1.a.reason", "clear: one output for the whole sequence", 1.0, "tara")
    review.mark("q1.a.reason", [s["key"] for s in biggest], [good.id], grader="tara")
    rows = gradebook(results)
    assert all(rows[s["key"]]["q1.a.reason"] == "1" for s in biggest)
    assert rows["401234571"]["q1.a.reason"] == "pending"
    subprocess.run([*GRADE, "gradebook", str(results), "--export", "canvas"], check=True, capture_output=True)
    report = json.loads((results / "reports" / f"{biggest[0]['key']}.json").read_text())
    assert report["items"][1]["feedback"] == "clear: one output for the whole sequence"
    # the rubric entry is worth half after all: everyone it was applied to changes at once
    remarked = review.edit_comment("q1.a.reason", good.id, "clear, but no example", 0.5, "omid")
    assert sorted(remarked) == sorted(s["key"] for s in biggest)
    assert all(gradebook(results)[key]["q1.a.reason"] == "0.5" for key in remarked)
    canvas = (results / "canvas-hw5.csv").stat().st_mtime_ns  # the export the TA made follows every mark
    review.mark("q1.a.reason", ["401234571"], [good.id], grader="omid")
    assert (results / "canvas-hw5.csv").stat().st_mtime_ns > canvas
    assert any("edited" in what and who == "omid" for _, _, what, who, _ in review.history())
    with pytest.raises(ReviewError, match="needs a reason"):
        review.mark("q2.a", ["401234567"], [], adjustment=1, grader="tara")
    review.close()


def test_a_regrade_of_the_automatic_items_keeps_every_review_mark(results, tmp_path):
    review = Review(results)
    note = review.add_comment("q3.b", "right: argmax has no gradient", 8, "tara")
    review.mark("q3.b", ["401234567"], [note.id], adjustment=1, grader="tara")
    review.close()
    shutil.copy(REPO / "rubrics" / "hw5" / "rubric.toml", tmp_path / "rubric.toml")
    changed = (tmp_path / "rubric.toml").read_text().replace('id = "hw5"', 'id = "hw5"', 1)
    (tmp_path / "rubric.toml").write_text(changed)
    done = subprocess.run([*GRADE, "batch", str(tmp_path / "class"), "--rubric", "hw5", "--out", str(results), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert gradebook(results)["401234567"]["q3.b"] == "9"


def test_two_tas_on_different_items_of_the_same_students_lose_nothing(results):
    first, second = Review(results), Review(results)
    one = first.add_comment("q1.a.reason", "ok", 1, "tara")
    two = second.add_comment("q1.b.reason", "ok", 1, "omid")
    keys = sorted(gradebook(results))
    errors = []

    def grade(item, comment):  # each TA's app has its own connection, as two processes would
        review = Review(results)
        try:
            for key in keys:
                review.mark(item, [key], [comment.id], grader="x")
        except Exception as exc:  # noqa: BLE001 - the assertion below names it
            errors.append(exc)
        finally:
            review.close()

    threads = [threading.Thread(target=grade, args=("q1.a.reason", one)),
               threading.Thread(target=grade, args=("q1.b.reason", two))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    rows = gradebook(results)
    assert all(rows[key]["q1.a.reason"] == "1" and rows[key]["q1.b.reason"] == "1" for key in keys)
    for key in keys:
        report = json.loads((results / "reports" / f"{key}.json").read_text())
        items = {i["id"]: i for i in report["items"]}
        assert items["q1.a.reason"]["score"] == items["q1.b.reason"]["score"] == 1
    first.close()
    second.close()


def test_the_app_serves_nothing_without_its_token(results):
    app = App(results, None, "tara")
    server, address = serve_in_thread(app)
    try:
        base = address.split("?")[0]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "api/items")
        assert refused.value.code == 403
        with urllib.request.urlopen(urllib.request.Request(base + "api/items", headers={"X-Review-Token": app.token})) as ok:
            items = json.loads(ok.read())["items"]
        assert {"q1.a.reason", "q3.b"} <= {i["id"] for i in items}
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()


def test_grading_a_group_by_keyboard_in_the_browser_with_a_hostile_answer_inert(results, browser):
    review = Review(results)
    review.add_comment("q1.a.reason", "clear", 1, "tara")
    review.add_comment("q1.a.reason", "vague", 0.5, "tara")
    review.close()
    server, address = serve_in_thread(App(results, None, "tara"))
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(address)
        page.click("li[data-item='q1.a.reason']")
        page.wait_for_selector(".group.current")
        assert page.locator(".group").count() == 3  # four alike, the Persian answer, the hostile one
        page.keyboard.press("1")
        page.keyboard.press("Enter")  # the whole group of four, once
        page.wait_for_selector("#status:has-text('graded 4')")  # (the page's policy forbids eval-based waits)
        assert sum(row["q1.a.reason"] == "1" for row in gradebook(results).values()) == 4
        # the rubric entry is worth half after all: edited in the page, the four students change at once
        page.click("li[data-comment='1'] button.edit")
        page.fill("li[data-comment] input.points", "0.5")
        page.click("li[data-comment] button.save")
        page.wait_for_selector("#status:has-text('re-marked 4')")
        assert sum(row["q1.a.reason"] == "0.5" for row in gradebook(results).values()) == 4
        assert page.locator(".group").first.locator(".score.graded").first.text_content() == "0.5 / 1"
        hostile = page.locator(".answer", has_text="onerror")
        assert hostile.count() == 1 and hostile.locator("img, script").count() == 0
        assert page.title() == "dlgrade review"  # neither the img's handler nor the script ran
        page.screenshot(path=str(results / "review.png"))
        page.close()
    finally:
        server.shutdown()
    # a restart picks up where the TA stopped: the four graded answers are no longer left
    server, address = serve_in_thread(App(results, None, "tara"))
    try:
        page = browser.new_page()
        page.goto(address)
        left = page.locator("li[data-item='q1.a.reason'] .left").text_content()
        assert left == "2 left"
    finally:
        server.shutdown()


def test_two_sessions_in_two_browsers_grade_different_items_at_once(results, browser):
    for item in ("q1.a.reason", "q1.b.reason"):
        review = Review(results)
        review.add_comment(item, "fine", 1, "tara")
        review.close()
    servers = [serve_in_thread(App(results, None, name)) for name in ("tara", "omid")]
    try:
        pages = []
        for (_, address), item in zip(servers, ("q1.a.reason", "q1.b.reason")):
            page = browser.new_page()
            page.goto(address)
            page.click(f"li[data-item='{item}']")
            page.wait_for_selector(".group.current")
            pages.append(page)
        for page in pages:  # each TA grades their item's largest group, interleaved
            page.keyboard.press("1")
        for page in pages:
            page.keyboard.press("Enter")
        for page in pages:
            page.wait_for_selector("#status:has-text('graded')")
    finally:
        for server, _ in servers:
            server.shutdown()
    rows = gradebook(results)
    assert sum(row["q1.a.reason"] == "1" for row in rows.values()) == 4
    assert sum(row["q1.b.reason"] == "1" for row in rows.values()) >= 1
    history = Review(results).history()
    assert {who for _, _, what, who, _ in history if what.startswith("marked")} == {"tara", "omid"}


@pytest.mark.parametrize("language", ["en", "fa"])
def test_the_app_in_english_and_persian(results, browser, language):
    server, address = serve_in_thread(App(results, None, "tara", language))
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(address)
        page.click("li[data-item='q1.a.reason']")
        page.wait_for_selector(".group.current")
        direction = page.locator("html").get_attribute("dir")
        heading = page.locator("#items-heading").text_content()
        assert (direction, heading) == (("rtl", "پرسش‌ها") if language == "fa" else ("ltr", "Items"))
        page.screenshot(path=str(results / f"review-{language}.png"))
    finally:
        server.shutdown()


def test_a_manual_item_tied_to_a_notebook_shows_the_students_notebook_inert(tmp_path, browser):
    """hw4's Q5 experiments are read in the student's notebook: the batch writes it as an inert page beside
    the results (code highlighted, text and images kept, no HTML or script output), and the app links it."""
    solution = REPO / "rubrics" / "hw4-practical" / "solution"
    notebook = json.loads((solution / "Q5_ViT.ipynb").read_text(encoding="utf-8"))
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": 1,
                              "source": ["plt.plot(losses)"], "outputs": [
                                  {"output_type": "display_data", "metadata": {},
                                   "data": {"image/png": ONE_PIXEL,
                                            "text/html": ["<script>document.title='pwned'</script>"]}},
                                  {"output_type": "stream", "name": "stdout", "text": ["final loss 0.12\n"]}]})
    folder = tmp_path / "class"
    folder.mkdir()
    with zipfile.ZipFile(folder / "HW4_Sara_Ahmadi_401234567.zip", "w") as archive:
        archive.writestr("Q5_ViT.ipynb", json.dumps(notebook))
    results = tmp_path / "results"
    done = subprocess.run([*GRADE, "batch", str(folder), "--rubric", "hw4-practical", "--out", str(results), "--quiet"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    page = (results / "evidence" / "401234567" / "vit.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "final loss 0.12" in page and "<script" not in page
    review = Review(results)
    student = review.item_view("q5.experiments")["groups"][0][0]
    assert student["evidence"] == "/evidence/401234567/vit.html"
    with pytest.raises(LookupError):
        review.evidence_file("/evidence/../gradebook.sqlite")
    review.close()
    server, address = serve_in_thread(App(results, None, "tara"))
    try:
        tab = browser.new_page()
        tab.goto(address)
        tab.click("li[data-item='q5.experiments']")
        link = tab.locator("a", has_text="notebook")
        link.wait_for()
        with tab.context.expect_page() as opened:
            link.click()
        shown = opened.value
        shown.wait_for_load_state()
        assert shown.locator("img").count() >= 1 and shown.locator("script").count() == 0
        assert "final loss 0.12" in shown.content()
    finally:
        server.shutdown()


def test_an_automatic_items_answers_are_grouped_by_the_engines_verdict(tmp_path):
    """Equivalent expressions written differently are one group (the theory engine decided them equal)."""
    folder = tmp_path / "class"
    folder.mkdir()
    forms = {"HW5_A_One_401230001.zip": "y_hat_t - y_t", "HW5_B_Two_401230002.zip": "\\hat{y}_t - y_t",
             "HW5_C_Three_401230003.zip": "-(y_t - \\hat y_t)", "HW5_D_Four_401230004.zip": "y_t - y_hat_t"}
    for name, form in forms.items():
        with zipfile.ZipFile(folder / name, "w") as archive:
            archive.writestr("answers.md", f"## q2.a\n{form}\n")
    results = tmp_path / "results"
    done = subprocess.run([*GRADE, "batch", str(folder), "--rubric", "hw5", "--out", str(results), "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    review = Review(results)
    groups = [[s["key"] for s in group] for group in review.item_view("q2.a")["groups"]]
    review.close()
    assert groups == [["401230001", "401230002", "401230003"], ["401230004"]]
