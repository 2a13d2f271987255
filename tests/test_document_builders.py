"""The document builders of tests/documents.py make what they claim: a typed PDF's text layer holds its
lines, a scan has none, a photo needs its EXIF tag to stand upright, a .docx parses, and the hostile
documents are as big inside and as small on disk as they say."""
from __future__ import annotations

import re
import tomllib
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageOps

from documents import (FORMS, HW5_CORRECT, HW5_WRONG, docx, hw5_lines, image_decompression_bomb, latex_document,
                       markdown_document, nested_pdf, pdf_page_bomb, photo, scanned_pdf, typed_pdf, visual, zip_of)

REPO = Path(__file__).resolve().parents[1]
ZWNJ = "\u200c"
PERSIAN = ["سوال ۱۲", "الف) ب و ج", "گزینه‌ی ج درست است", "بالا و کلاس", "نیمسال ۱۴۰۲ - ۱۴۰۳"]
ENGLISH = ["Question 2", "(a) b, c", "dJ_t/do_t = y_hat_t - y_t", "W_hh.T @ W_hh.T @ W_yh.T @ (y_hat_3 - y_3)"]
MIXED = ["دلیل: y_t فقط به x_1 … x_t وابسته است.", "پاسخ: [6, 1, 2]", "الف) dJ_t/do_t = y_hat_t - y_t"]


def page_lines(path: Path, index: int = 0) -> list[str]:
    return pdfium.PdfDocument(path)[index].get_textpage().get_text_range().split("\r\n")


def words(line: str) -> list[str]:
    # what survives pdfium's reordering of a mixed line: its words, without the punctuation that moves
    return sorted(w for w in re.sub(r"[()\[\],.:]", " ", line.replace(ZWNJ, "")).split())


def to_unicode_targets(path: Path) -> set[int]:
    """The code points the fonts' ToUnicode maps give (fpdf2 writes these maps uncompressed)."""
    return {int(code, 16) for code in re.findall(rb"<[0-9A-F]{4}> <([0-9A-F]{4})>", path.read_bytes())}


def test_typed_pdf_text_layer_holds_the_lines(tmp_path):
    path = typed_pdf(tmp_path / "typed.pdf", [PERSIAN + ENGLISH, MIXED])
    assert len(pdfium.PdfDocument(path)) == 2
    # a line in one direction comes back exactly, ZWNJ (گزینه‌ی) included
    assert page_lines(path, 0) == PERSIAN + ENGLISH
    # a mixed line comes back with its runs in display order: the same words
    assert [words(line) for line in page_lines(path, 1)] == [words(line) for line in MIXED]
    targets = to_unicode_targets(path)  # letters written as themselves, no presentation forms
    assert {ord("س"), ord("ج")} <= targets and not any(0xFB50 <= c <= 0xFEFF for c in targets)


def test_typed_pdf_in_presentation_forms(tmp_path):
    path = typed_pdf(tmp_path / "word.pdf", [PERSIAN + ENGLISH], presentation_forms=True, font="condensed")
    targets = to_unicode_targets(path)
    letters = {c for line in PERSIAN for c in line if c in FORMS}
    assert not targets & {ord(c) for c in letters}, "a Persian letter was written as itself"
    # سوال: initial sin, final waw, then alef and lam alone (alef never joins the letter after it)
    assert {0xFEB3, 0xFEEE, 0xFE8D, 0xFEDD} <= targets
    assert {0xFEFB, 0xFEFC} <= targets  # the lam-alef ligature alone (بالا) and final (کلاس)
    # pdfium folds the presentation forms back into letters; shaping dropped the ZWNJ
    assert page_lines(path) == [line.replace(ZWNJ, "") for line in PERSIAN + ENGLISH]


def test_typed_pdf_in_visual_order(tmp_path):
    path = typed_pdf(tmp_path / "visual.pdf", [PERSIAN + ENGLISH], visual_order_rtl=True)
    lines = page_lines(path)
    assert lines[0] == "۱۲ لاوس"  # the letters reversed, the number still read left to right
    assert lines[:len(PERSIAN)] == [visual(line) for line in PERSIAN]
    assert lines[len(PERSIAN):] == ENGLISH


def test_a_long_line_is_wrapped_not_lost(tmp_path):
    long = dict(HW5_CORRECT)["q2.c"] + " + " + dict(HW5_CORRECT)["q2.c"]
    text = pdfium.PdfDocument(typed_pdf(tmp_path / "long.pdf", [[long]]))[0].get_textpage().get_text_range()
    assert text.count("\r\n") >= 1 and text.replace("\r\n", " ") == long


def test_scanned_pdf_has_pages_of_images_and_no_text(tmp_path):
    path = scanned_pdf(tmp_path / "scan.pdf", [PERSIAN, ENGLISH + MIXED], rotate=1.5)
    document = pdfium.PdfDocument(path)
    assert len(document) == 2
    for page in document:
        assert page.get_textpage().count_chars() == 0
        assert [obj.type for obj in page.get_objects()] == [pdfium.raw.FPDF_PAGEOBJ_IMAGE]


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_photo_is_upright_only_through_its_exif_tag(tmp_path, orientation):
    lines = hw5_lines(HW5_CORRECT[:4])
    stored = Image.open(photo(tmp_path / "p.png", lines, exif_orientation=orientation, fmt="PNG", size=(400, 500)))
    assert stored.getexif()[0x0112] == orientation
    assert stored.size == ((500, 400) if orientation in (6, 8) else (400, 500))  # 6, 8: stored landscape
    upright = ImageOps.exif_transpose(stored)
    straight = Image.open(photo(tmp_path / "p1.png", lines, fmt="PNG", size=(400, 500)))
    assert upright.size == (400, 500) and upright.tobytes() == straight.convert("RGB").tobytes()


def test_photo_upright_page_has_its_writing_at_the_top(tmp_path):
    path = photo(tmp_path / "p.jpg", hw5_lines(HW5_CORRECT[:4]), exif_orientation=6, rotate_degrees=4)
    image = ImageOps.exif_transpose(Image.open(path))
    red, _, blue = (channel.load() for channel in image.split())
    width, height = image.size
    # ink is blue: count it in the top and bottom halves of the page
    ink = [sum(blue[x, y] > red[x, y] + 40 for x in range(0, width, 4) for y in range(top, top + height // 2, 4))
           for top in (0, height // 2)]
    assert image.size == (1600, 2000) and ink[0] > 5 * max(ink[1], 1)
    assert Image.open(path).format == "JPEG" and Image.open(path).getexif()[0x0112] == 6


def test_docx_is_a_word_document_with_its_paragraphs_and_equations(tmp_path):
    paragraphs = ["سوال ۲ بخش الف پاسخ زیر است", "Question 2 (a) the answer is below", "dJ_t/do_t"]
    path = docx(tmp_path / "answers.docx", paragraphs, equations={0: "dJ_t/do_t = y_hat_t - y_t", 2: "a^T b = c"})
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert {"[Content_Types].xml", "_rels/.rels", "word/document.xml", "word/_rels/document.xml.rels",
                "docProps/core.xml"} <= set(archive.namelist())
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))
        root = ElementTree.fromstring(archive.read("word/document.xml"))
    w = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
    m = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
    body = root.findall(f"{w}body/{w}p")
    assert ["".join(t.text for t in p.iter(f"{w}t")) for p in body] == paragraphs
    assert all(len(p.findall(f"{w}r")) >= 2 for p in body[:2])  # runs split as Word leaves them
    assert body[0].find(f"{w}pPr/{w}bidi") is not None and body[0].find(f"{w}r/{w}rPr/{w}rtl") is not None
    assert body[1].find(f"{w}pPr/{w}bidi") is None and body[1].find(f".//{w}rtl") is None
    assert "".join(t.text for t in body[0].iter(f"{m}t")) == "dJ_t/do_t = y_hat_t - y_t"
    assert len(body[0].findall(f"{m}oMathPara/{m}oMath/{m}r")) >= 2
    power = body[2].find(f"{m}oMathPara/{m}oMath/{m}sSup")
    assert power.find(f"{m}e/{m}r/{m}t").text == "a" and power.find(f"{m}sup/{m}r/{m}t").text == "T"
    assert body[1].find(f".//{m}oMath") is None


def test_text_documents_and_the_zip(tmp_path):
    markdown = markdown_document(tmp_path / "answers.md", "## q1.a\nب و ج\n")
    latex = latex_document(tmp_path / "main.tex", "\\section*{سوال ۱}\n$\\hat{y}_t - y_t$")
    assert markdown.read_bytes() == "## q1.a\nب و ج\n".encode()
    tex = latex.read_text(encoding="utf-8")
    assert tex.startswith("\\documentclass{article}") and "\\usepackage{xepersian}" in tex
    assert tex.index("\\begin{document}") < tex.index("سوال ۱") < tex.index("\\end{document}")
    archive = zip_of(tmp_path / "HW5_Sara_Ahmadi_401234567.zip",
                     {"answers.md": markdown, "main.tex": "text", "scan.jpg": b"\xff\xd8"})
    with zipfile.ZipFile(archive) as opened:
        assert opened.read("answers.md") == markdown.read_bytes() and opened.read("main.tex") == b"text"
        assert opened.read("scan.jpg") == b"\xff\xd8"


def test_pdf_page_bomb_has_its_pages_and_is_small(tmp_path):
    path = pdf_page_bomb(tmp_path / "bomb.pdf")
    assert path.stat().st_size < 3_000_000
    document = pdfium.PdfDocument(path)
    assert len(document) == 100_000
    assert document[99_999].get_size() == (595, 842)


def test_image_decompression_bomb_declares_its_size_and_is_small(tmp_path, monkeypatch):
    path = image_decompression_bomb(tmp_path / "bomb.png")
    assert path.stat().st_size < 2**20
    with pytest.raises(Image.DecompressionBombError):  # Pillow's own guard calls it a bomb
        Image.open(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    with Image.open(path) as image:  # reads the header only
        assert image.size == (60_000, 60_000)


def test_nested_pdf_holds_the_nesting(tmp_path):
    data = nested_pdf(tmp_path / "nested.pdf", depth=100_000).read_bytes()
    assert b"/Nested " + b"[" * 100_000 + b"]" * 100_000 + b">>" in data
    assert b"[" * 100_001 not in data
    # the cross-reference table is exact: each entry points at its object
    xref = data[int(data.rsplit(b"startxref\n", 1)[1].split()[0]):]
    offsets = [int(entry[:10]) for entry in re.findall(rb"\d{10} 00000 n", xref)]
    assert [data[offset:offset + 8] for offset in offsets] == [b"%d 0 obj\n" % n for n in range(1, 5)]


def test_hw5_answers_cover_the_rubric_and_plant_three_mistakes():
    rubric = tomllib.loads((REPO / "rubrics/hw5/rubric.toml").read_text(encoding="utf-8"))
    assert [item for item, _ in HW5_CORRECT] == [item["id"] for item in rubric["items"]]
    changed = [item for (item, right), (_, wrong) in zip(HW5_CORRECT, HW5_WRONG) if right != wrong]
    assert changed == ["q1.b", "q2.a", "q3.a"]


def test_hw5_choices_read_as_the_rubric_says():
    from grader.checks.choice import read_choices

    rubric = tomllib.loads((REPO / "rubrics/hw5/rubric.toml").read_text(encoding="utf-8"))
    correct = {item["id"]: set(item["correct"]) for item in rubric["items"] if item["kind"] == "choice"}
    for language in ("fa", "en"):
        for item, answer in HW5_CORRECT:
            if item in correct:
                line = hw5_lines([(item, answer)], language)[-1]  # the question's line, the label, the answer
                assert read_choices(line) == (correct[item], ""), (language, item, line)
        wrong = hw5_lines([("q1.b", dict(HW5_WRONG)["q1.b"])], language)[-1]
        assert read_choices(wrong)[0] == {"a"}


def test_hw5_lines_label_as_students_do():
    persian = hw5_lines(HW5_CORRECT)
    assert persian[:3] == ["سوال ۱", "(a)", "ب و ج"] and "سوال ۴" in persian
    second = persian.index("سوال ۲")
    assert persian[second + 1:second + 3] == ["الف)", "dJ_t/do_t = y_hat_t - y_t"]
    assert "دلیل:" in persian and "[6, 1, 2]" in persian
    assert hw5_lines(HW5_CORRECT, parts="fa")[1] == "الف)"
    assert hw5_lines(HW5_WRONG, same_line=True)[1:3] == ["(a) ب و ج",
                                                         "دلیل: هر دو یک دنباله می‌گیرند و یک برچسب می‌دهند."]
    english = hw5_lines(HW5_WRONG, "en")
    assert english[:3] == ["Question 1", "(a)", "b, c"] and "Reason:" in english and "[6, 1, -2]" in english


def test_lines_that_do_not_fit_a_picture_are_refused_not_dropped(tmp_path):
    with pytest.raises(ValueError, match="do not fit"):
        photo(tmp_path / "p.jpg", ["سوال ۱"] * 40, size=(400, 500))
    with pytest.raises(ValueError, match="do not fit"):
        scanned_pdf(tmp_path / "s.pdf", [["Question 1"] * 60])
