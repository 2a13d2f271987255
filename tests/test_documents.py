"""Theory handed in as documents: the seven kinds of hw5 submission a TA meets (typed PDFs in English and
Persian, a scan, two phone photos, a .docx, a seed-style Markdown document, a LaTeX file, a PDF beside
the blank template), graded as proposals a TA confirms; answers not found are pending with the pages;
hostile documents cost only their own submission; bare documents in a class folder are submissions."""
import json
import subprocess
import time
from pathlib import Path

import pytest

from grader import rubric as rubric_module
from grader.grading import GradingOptions, grade

from documents import (HW5_CORRECT, HW5_WRONG, docx, hw5_lines, image_decompression_bomb, latex_document,
                       markdown_document, nested_pdf, pdf_page_bomb, photo, scanned_pdf, typed_pdf, zip_of)
from helpers import GRADE, REPO

HW5 = rubric_module.load("hw5")
AUTOMATIC = [item.id for item in HW5.items if item.kind != "manual"]
NAME = "HW5_Sara_Ahmadi_401234567"


def graded(path: Path, pages_dir: Path | None = None):
    return grade(path, HW5, GradingOptions(pages_dir=pages_dir))


def by_id(report) -> dict:
    return {item.id: item for item in report.items}


def answers_file_verdicts(answers) -> dict:
    """The verdicts the answers file gives the same answers: a proposal must say the same."""
    text = "".join(f"## {item}\n{answer}\n\n" for item, answer in answers)
    report = grade(zip_of(Path(pytest.tmp) / f"{NAME}.zip", {"answers.md": text}), HW5, GradingOptions())
    return by_id(report)


@pytest.fixture(autouse=True)
def _tmp(tmp_path):
    pytest.tmp = tmp_path


def assert_never_zeroed(report) -> None:
    """No automatic item of a document student is decided 0 by the grader: proposed or pending."""
    for item in report.items:
        assert item.status == "manual", (item.id, item.status, item.feedback)
        assert item.score == 0 and item.details.get("pending") is True


def test_typed_english_pdf_proposes_every_correct_answer_passed(tmp_path):
    pdf = typed_pdf(tmp_path / f"{NAME}.pdf", [hw5_lines(HW5_CORRECT, "en")[:16], hw5_lines(HW5_CORRECT, "en")[16:]])
    report = graded(pdf, tmp_path / "pages")
    assert_never_zeroed(report)
    items = by_id(report)
    for item_id in AUTOMATIC:
        proposal = items[item_id].details["proposal"]
        assert proposal["status"] == "passed", (item_id, items[item_id].feedback)
        assert items[item_id].details["source"]["file"] == pdf.name
    assert "read from" in items["q3.a"].feedback and "page" in items["q3.a"].feedback
    assert items["q3.a"].details["source"]["page"] in (1, 2)
    assert report.documents[0].pages == 2 and report.documents[0].text_layer
    assert (tmp_path / "pages" / "page-1.png").read_bytes().startswith(b"\x89PNG")
    assert report.total.manual_pending == report.total.max


def test_planted_wrong_answers_are_proposed_failed_with_the_answers_files_feedback(tmp_path):
    pdf = typed_pdf(tmp_path / f"{NAME}.pdf", [hw5_lines(HW5_WRONG, "en")])
    items = by_id(graded(pdf))
    expected = answers_file_verdicts(HW5_WRONG)
    for item_id in ("q1.b", "q2.a", "q3.a"):
        proposal = items[item_id].details["proposal"]
        assert proposal["status"] == "failed", item_id
        assert proposal["feedback"] == expected[item_id].feedback
    assert items["q2.b"].details["proposal"]["status"] == "passed"


def test_typed_persian_pdf_is_read_in_logical_order(tmp_path):
    lines = hw5_lines(HW5_CORRECT, "fa")
    pdf = typed_pdf(tmp_path / f"{NAME}.pdf", [lines[:15], lines[15:]], presentation_forms=True)
    report = graded(pdf)
    assert_never_zeroed(report)
    items = by_id(report)
    proposed = {item_id: items[item_id].details.get("proposal", {}).get("status") for item_id in AUTOMATIC}
    assert set(proposed.values()) == {"passed"}, proposed
    # the reason under its own label ("دلیل:", the rubric's written_as) is the reason's, not the choice's
    assert items["q1.a"].details["answer"] == "ب و ج"
    assert "برچسب" in items["q1.a.reason"].details["answer"]


def test_visual_order_pdf_still_finds_the_persian_labels(tmp_path):
    lines = hw5_lines(HW5_CORRECT, "fa", parts="latin")
    pdf = typed_pdf(tmp_path / f"{NAME}.pdf", [lines], visual_order_rtl=True)
    items = by_id(graded(pdf))
    assert items["q3.a"].details.get("proposal", {}).get("status") == "passed", items["q3.a"].feedback


def test_scan_and_photos_are_pending_with_their_pages(tmp_path):
    lines = hw5_lines(HW5_CORRECT, "en")
    scan = graded(scanned_pdf(tmp_path / f"{NAME}.pdf", [lines[:20], lines[20:]]), tmp_path / "scan")
    assert_never_zeroed(scan)
    assert all(item.details["pages"] == [1, 2] for item in scan.items if item.details.get("unplaced"))
    assert sorted(p.name for p in (tmp_path / "scan").iterdir()) == ["page-1.png", "page-2.png"]
    first = photo(tmp_path / "page1.jpg", lines[:15], exif_orientation=6, rotate_degrees=2)
    second = photo(tmp_path / "page2.jpg", lines[15:], rotate_degrees=-1)
    photos = graded(zip_of(tmp_path / f"{NAME}.zip", {"page1.jpg": first, "page2.jpg": second}), tmp_path / "photos")
    assert_never_zeroed(photos)
    assert [d.kind for d in photos.documents] == ["image", "image"]
    assert "TA assigns" in by_id(photos)["q3.a"].feedback
    from PIL import Image

    with Image.open(tmp_path / "photos" / "page-1.png") as upright:  # EXIF orientation 6 applied: portrait
        assert upright.height > upright.width


def test_a_students_page_declaration_places_a_scan(tmp_path):
    lines = hw5_lines(HW5_CORRECT, "en")
    scan = scanned_pdf(tmp_path / "scan.pdf", [lines[:20], lines[20:]])
    report = graded(zip_of(tmp_path / f"{NAME}.zip", {"answers.pdf": scan, "pages.txt": "q1: 1\nq2: 1\nq3: 2\nq4: 2"}))
    items = by_id(report)
    assert items["q3.a"].details["pages"] == [2] and items["q1.b"].details["pages"] == [1]


def test_docx_markdown_and_latex_documents(tmp_path):
    lines = hw5_lines(HW5_CORRECT, "en")
    word = docx(tmp_path / f"{NAME}.docx", lines)
    seed_style = markdown_document(tmp_path / "doc.md", "\n".join(
        ("## " + line if line.startswith("Question") else "### " + line if line.startswith("(") else line)
        for line in hw5_lines(HW5_CORRECT, "fa", parts="latin")))
    tex = latex_document(tmp_path / "main.tex", "\n".join(
        ("\\section*{" + line + "}" if line.startswith("Question") else line + "\n") for line in lines))
    for path in (word, zip_of(tmp_path / f"{NAME}.zip", {"answers.md": seed_style.read_bytes()}),
                 zip_of(tmp_path / f"HW5_Ali_Rezaei_1.zip", {"main.tex": tex.read_bytes()})):
        report = graded(path)
        assert_never_zeroed(report)
        items = by_id(report)
        assert items["q3.a"].details.get("proposal", {}).get("status") == "passed", (path.name, items["q3.a"].feedback)
        assert items["q2.d"].details.get("proposal", {}).get("status") == "passed", (path.name, items["q2.d"].feedback)


def test_a_pdf_beside_the_blank_template(tmp_path):
    blank = subprocess.run([*GRADE, "template", "hw5"], capture_output=True, text=True, check=True).stdout
    pdf = typed_pdf(tmp_path / "answers.pdf", [hw5_lines(HW5_CORRECT, "en")])
    report = graded(zip_of(tmp_path / f"{NAME}.zip", {"answers_template.md": blank, "answers.pdf": pdf}))
    assert_never_zeroed(report)
    assert by_id(report)["q3.a"].details["proposal"]["status"] == "passed"


def test_answers_file_answers_stay_final_and_a_document_fills_only_the_gaps(tmp_path):
    pdf = typed_pdf(tmp_path / "answers.pdf", [hw5_lines(HW5_CORRECT, "en")])
    report = graded(zip_of(tmp_path / f"{NAME}.zip", {"answers.md": "## q3.a\n[6, 1, 2]\n", "answers.pdf": pdf}))
    items = by_id(report)
    assert items["q3.a"].status == "passed" and items["q3.a"].score == items["q3.a"].points
    assert items["q2.b"].status == "manual" and items["q2.b"].details["proposal"]["status"] == "passed"


@pytest.mark.parametrize("build, words", [
    (lambda path: pdf_page_bomb(path), "pages, more than the limit"),
    (lambda path: nested_pdf(path), None),
])
def test_hostile_pdfs_cost_only_their_own_submission(tmp_path, build, words):
    started = time.monotonic()
    report = graded(build(tmp_path / f"{NAME}.pdf"), tmp_path / "pages")
    assert time.monotonic() - started < 60
    assert report.grader_error is None
    assert_never_zeroed(report)
    if words:
        assert words in report.documents[0].problem
    assert sum(1 for _ in (tmp_path / "pages").glob("*.png")) <= 60 if (tmp_path / "pages").exists() else True


def test_an_image_decompression_bomb_is_refused_from_its_header(tmp_path):
    bomb = image_decompression_bomb(tmp_path / "bomb.png")
    report = graded(zip_of(tmp_path / f"{NAME}.zip", {"page.png": bomb}), tmp_path / "pages")
    assert "pixels" in report.documents[0].problem or "bomb" in report.documents[0].problem
    assert_never_zeroed(report)
    assert not list((tmp_path / "pages").glob("*.png")) if (tmp_path / "pages").exists() else True


def test_grade_cli_takes_a_bare_pdf_and_detects_its_rubric(tmp_path):
    pdf = typed_pdf(tmp_path / f"{NAME}.pdf", [hw5_lines(HW5_CORRECT, "en")])
    result = subprocess.run([*GRADE, str(pdf), "--format", "json", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["assignment"]["id"] == "hw5" and report["student"]["student_id"] == "401234567"
    assert report["documents"][0]["file"] == pdf.name
    assert (tmp_path / "out" / "pages" / "page-1.png").is_file()


def test_batch_grades_bare_documents_and_names_every_file_left_out(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    typed_pdf(folder / f"{NAME}.pdf", [hw5_lines(HW5_CORRECT, "en")])
    photo(folder / "HW5_Ali_Rezaei_401234568 (1).jpg", hw5_lines(HW5_CORRECT, "en")[:15])
    photo(folder / "HW5_Ali_Rezaei_401234568 (2).jpg", hw5_lines(HW5_CORRECT, "en")[15:])
    (folder / "notes.rar").write_bytes(b"Rar!")
    results = tmp_path / "results"
    run = subprocess.run([*GRADE, "batch", str(folder), "-r", "hw5", "-o", str(results), "-j", "1", "--quiet"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "left out: notes.rar" in run.stderr
    gradebook = (results / "gradebook.csv").read_text()
    assert "401234567" in gradebook and "401234568" in gradebook
    ali = json.loads((results / "reports" / "401234568.json").read_text())
    assert [d["kind"] for d in ali["documents"]] == ["image", "image"]
    assert (results / "evidence" / "401234568" / "pages" / "page-2.png").is_file()


# a reader that dies on documents over ``size`` bytes and answers (no pages) for smaller ones
CRASHING_READER = ("import os, sys\nif os.path.getsize(sys.argv[1]) > {size}: sys.exit(1)\n"
                   "print('{{\"pages\": [], \"problem\": null}}')\n")


def test_a_reader_that_cannot_run_at_all_is_a_grader_fault_not_a_grade(tmp_path, monkeypatch):
    from grader.documents import reader

    pdf = typed_pdf(tmp_path / f"{NAME}.pdf", [hw5_lines(HW5_CORRECT, "en")])
    monkeypatch.setattr(reader, "READER_SOURCE", CRASHING_READER.format(size=0))  # not even a blank page
    report = graded(pdf)
    assert report.grader_error is not None and "blank page" in report.grader_error["cause"]
    assert all(item.status == "grader_error" for item in report.items)


def test_a_document_that_crashes_its_reader_is_that_students_problem(tmp_path, monkeypatch):
    from grader.documents import reader

    pdf = typed_pdf(tmp_path / f"{NAME}.pdf", [hw5_lines(HW5_CORRECT, "en")])
    monkeypatch.setattr(reader, "READER_SOURCE", CRASHING_READER.format(size=5000))  # a blank page still reads
    report = graded(pdf)
    assert report.grader_error is None
    assert "did not answer" in report.documents[0].problem
    assert_never_zeroed(report)


def test_the_rubric_is_detected_by_kind_a_hw3_pdf_is_the_theory_a_hw3_zip_the_practical():
    from grader.cli import _detect_rubric

    assert _detect_rubric(Path("HW3_Sara_Ahmadi_401234567.pdf")) == "hw3-theory"
    assert _detect_rubric(Path("HW3_Sara_Ahmadi_401234567.zip")) == "hw3"
    assert _detect_rubric(Path("HW3_Theory_Sara_Ahmadi_401234567.zip")) == "hw3-theory"


def test_answers_in_a_notebooks_markdown_cells(tmp_path):
    from helpers import notebook_text

    lines = hw5_lines(HW5_CORRECT, "en")
    cells = tuple("\n".join(lines[i:i + 6]) for i in range(0, len(lines), 6))
    report = graded(zip_of(tmp_path / f"{NAME}.zip", {"HW5.ipynb": notebook_text("x = 1", markdown=cells)}))
    assert [d.kind for d in report.documents] == ["notebook"]
    proposed = {i.id: i.details.get("proposal", {}).get("status") for i in report.items if i.id in AUTOMATIC}
    assert set(proposed.values()) == {"passed"}, proposed


def test_a_persian_pdf_printed_by_a_browser_is_read_by_where_its_letters_stand(tmp_path):
    """Work our builder did not write: Chromium shapes the Persian with HarfBuzz and stores some words'
    glyphs in visual order, which PDFium's own reading gives back reversed (لاوس for سوال)."""
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    body = "".join(f"<p>{line}</p>" for line in hw5_lines(HW5_CORRECT, "fa"))
    (tmp_path / "hw5.html").write_text(f'<!doctype html><html lang="fa" dir="rtl"><head><meta charset="utf-8">'
                                       f"<style>body{{font-family:'DejaVu Sans'}}</style></head><body>{body}</body></html>")
    pdf = tmp_path / f"{NAME}.pdf"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", str(tmp_path / "hw5.html")], capture_output=True, timeout=120, check=True)
    report = graded(pdf)
    assert_never_zeroed(report)
    items = by_id(report)
    for item_id in ("q1.a", "q1.b", "q1.c"):  # labels and answers read in logical order
        assert items[item_id].details.get("proposal", {}).get("status") == "passed", items[item_id].feedback
    assert "برچسب" in items["q1.a.reason"].details["answer"]  # هر دو یک دنباله … in reading order
