"""Documents that students really hand in for theory homework, built by the tests themselves.

Every builder writes one file and returns its path; nothing is downloaded and nothing comes from the
repository's fixtures.  Typed PDFs (fpdf2, a test-only dependency), scanned PDFs and phone photos
(Pillow), Word .docx files (zipfile), Markdown, LaTeX, submission zips, and hostile documents that
are small on disk but huge when opened (a 100 000-page PDF, a 60 000 x 60 000 PNG, a PDF nested
100 000 arrays deep).  The hw5 builders at the end give the lines of a student's theory answers.

Persian text.  Letters are shaped here, without HarfBuzz or Raqm, so every machine draws the same
pixels: ``shape`` replaces each Arabic letter by its presentation form (isolated, initial, medial or
final, from whether it joins its neighbours; lam + alef becomes one ligature), as Word's PDF export
writes them, and ``visual`` puts a line in display order with the Unicode bidi algorithm (fpdf2's
implementation) and mirrors brackets in right-to-left runs.

How pdfium (pypdfium2, the grader's PDF reader) reads the typed PDFs back: it takes the order of the
glyphs in the page as display order and turns right-to-left runs back into reading order, and it
folds presentation forms back into plain letters.  So ``typed_pdf`` writes glyphs in display order,
as typesetters generally do, and a Persian-only or English-only line reads back exactly; a line that
mixes the two reads back with the same words, but pdfium leaves its runs in display order and its
neutral characters where they were displayed: ``پاسخ: [6, 1, 2]`` reads back ``پاسخ: [,6 ,1 2]``.
A reader of real Persian PDFs has to cope with that.  ``visual_order_rtl=True`` writes the glyphs in reading
order instead, as a producer without bidi support does: the page shows the letters backwards, and
pdfium reads a Persian-only line back as it is displayed, ``visual(line)``: its letters reversed, its
numbers still left to right.  pdfium keeps a ZWNJ that is in the page; ``shape`` drops it.
"""
from __future__ import annotations

import io
import random
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import escape

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {"sans": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf", "condensed": "DejaVuSansCondensed.ttf"}
FONT = FONT_DIR / FONTS["sans"]  # has Arabic and the Arabic presentation forms


# --- Persian shaping -------------------------------------------------------------------------------

def _presentation_forms() -> dict[str, dict[str, str]]:
    """letter -> {"isolated"|"final"|"initial"|"medial": glyph}, read from Unicode's own decompositions
    of U+FB50-U+FEFF (e.g. U+FE91 is "<initial> 0628"), so no table is typed by hand."""
    forms: dict[str, dict[str, str]] = {}
    # Forms-B first: where both blocks have a form (U+0649), the common one wins
    for code in [*range(0xFE70, 0xFF00), *range(0xFB50, 0xFE00)]:
        decomposition = unicodedata.decomposition(chr(code)).split()
        if len(decomposition) == 2 and decomposition[0] in ("<isolated>", "<final>", "<initial>", "<medial>"):
            forms.setdefault(chr(int(decomposition[1], 16)), {}).setdefault(decomposition[0][1:-1], chr(code))
    return forms


FORMS = _presentation_forms()
LAM_ALEF = {"ا": "\ufefb", "آ": "\ufef5", "أ": "\ufef7", "إ": "\ufef9"}  # isolated; the final form is +1
MIRROR = dict(zip("()[]{}<>«»", ")(][}{><»«"))


def _joins_forward(char: str) -> bool:  # dual-joining: connects to the letter after it
    return "initial" in FORMS.get(char, {})


def _joins_backward(char: str) -> bool:
    return "final" in FORMS.get(char, {})


def shape(text: str) -> str:
    """``text`` with each Arabic letter replaced by its presentation form, chosen by joining: medial
    between two joining letters, initial/final at a word's ends, isolated alone; ``لا`` becomes the
    ligature and ZWNJ is dropped (it only breaks a join, which the chosen forms now show)."""
    out = []
    index = 0
    while index < len(text):
        char = text[index]
        previous = text[index - 1] if index else ""
        following = text[index + 1] if index + 1 < len(text) else ""
        after_joins = _joins_forward(previous)
        if char == "ل" and following in LAM_ALEF:
            out.append(chr(ord(LAM_ALEF[following]) + after_joins))
            index += 2
            continue
        if char not in FORMS:
            out.append("" if char == "\u200c" else char)
            index += 1
            continue
        before = after_joins and _joins_backward(char)
        after = _joins_forward(char) and _joins_backward(following)
        form = {(True, True): "medial", (True, False): "final", (False, True): "initial"}.get((before, after), "isolated")
        out.append(FORMS[char].get(form, FORMS[char]["isolated"]))
        index += 1
    return "".join(out)


def is_rtl(line: str) -> bool:
    """A Persian line: one with a Persian letter.  It is a right-to-left paragraph even where it starts
    with Latin (``y_t فقط به ...``), as in a Persian Word document; a line of math alone is not."""
    return any(unicodedata.bidirectional(char) in ("R", "AL") for char in line)


def visual(line: str, rtl: bool | None = None) -> str:
    """``line`` in display order, left to right: the bidi algorithm's reordering (fpdf2's) in a
    right-to-left paragraph when ``rtl`` (default: ``is_rtl(line)``), with brackets mirrored in
    right-to-left runs so that ``الف)`` shows its bracket on the left."""
    from fpdf.bidi import BidiParagraph
    from fpdf.enums import TextDirection

    rtl = is_rtl(line) if rtl is None else rtl
    paragraph = BidiParagraph(line, base_direction=TextDirection.RTL if rtl else TextDirection.LTR, preserve_bn_chars=True)
    return "".join(MIRROR.get(c.character, c.character) if c.embedding_level % 2 else c.character
                   for c in paragraph.get_reordered_characters())


def _wrap(line: str, fits) -> list[str]:
    """``line`` cut at spaces into pieces that ``fits`` (in reading order, so a right-to-left line
    continues on the next line as a reader expects); a single over-long word stays whole."""
    pieces, current = [], ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and not fits(candidate):
            pieces.append(current)
            candidate = word
        current = candidate
    return pieces + [current]


# --- PDFs with a text layer, scanned PDFs, photos --------------------------------------------------

def typed_pdf(path, pages: list[list[str]], *, font: str = "sans", visual_order_rtl: bool = False,
              presentation_forms: bool = False) -> Path:
    """A PDF with a real text layer, one list of lines per page, Persian lines right-aligned.  A line
    too wide at 12 pt is set smaller (down to 8 pt), then cut at spaces into several lines; a page
    that overflows continues on a new one.  ``font``: one of ``FONTS``.  See the module docstring for
    what pdfium reads back in each mode."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_font("body", fname=str(FONT_DIR / FONTS[font]))
    for lines in pages:
        pdf.add_page()
        for line in lines:
            glyphs = shape(line) if presentation_forms else line
            size = 12.0
            pdf.set_font("body", size=size)
            while size > 8 and pdf.get_string_width(glyphs) > pdf.epw:
                size -= 0.5
                pdf.set_font("body", size=size)
            for piece in _wrap(glyphs, lambda text: pdf.get_string_width(text) <= pdf.epw):
                written = piece if visual_order_rtl else visual(piece, is_rtl(line))
                pdf.cell(0, size * 0.6, written, align="R" if is_rtl(line) else "L", new_x="LMARGIN", new_y="NEXT")
    path = Path(path)
    pdf.output(str(path))
    return path


def _draw_lines(image, lines: list[str], *, box: tuple[int, int, int, int], size: int, ink, jitter: float = 0.0,
                seed: int = 0) -> None:
    """Draw ``lines`` into ``box`` (left, top, right, bottom) of ``image``: shaped Persian in display
    order, right-aligned; long lines cut at spaces; ValueError when they do not fit.  ``jitter`` > 0
    writes like a hand: each line a little tilted, shifted and of its own size."""
    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    left, top, right, bottom = box
    y = top
    for line in lines:
        font = ImageFont.truetype(str(FONT), int(size * (1 + jitter * rng.uniform(-0.3, 0.3))),
                                  layout_engine=ImageFont.Layout.BASIC)
        glyphs = shape(line)
        for piece in _wrap(glyphs, lambda text: font.getlength(text) <= right - left):
            text = visual(piece, is_rtl(line))
            width = int(font.getlength(text)) + 1
            height = int(size * 1.5)
            layer = Image.new("L", (width, height), 0)
            ImageDraw.Draw(layer).text((0, size * 0.2), text, font=font, fill=255)
            if jitter:
                layer = layer.rotate(rng.uniform(-1, 1) * jitter * 6, expand=True, resample=Image.BICUBIC)
            x = right - layer.width if is_rtl(line) else left
            x += int(rng.uniform(-1, 1) * jitter * size)
            if y + layer.height > bottom:  # never drop a line silently: the test would miss it
                raise ValueError(f"{len(lines)} lines do not fit on one page: split them over more pages")
            image.paste(Image.new(image.mode, layer.size, ink), (x, y), layer)
            y += int(size * 1.7 * (1 + jitter * rng.uniform(-0.2, 0.2)))


def scanned_pdf(path, pages: list[list[str]], *, rotate: float = 0.0) -> Path:
    """A PDF of page images only, no text layer: each page drawn at 150 dpi (A4, grey, 12 pt; about
    34 lines fit, more raise ValueError), turned by ``rotate`` degrees counter-clockwise as a crooked
    scan is, and stored as Pillow stores images."""
    from PIL import Image

    images = []
    for lines in pages:
        page = Image.new("L", (1240, 1754), 255)
        _draw_lines(page, lines, box=(120, 140, 1120, 1650), size=26, ink=20)
        if rotate:
            page = page.rotate(rotate, resample=Image.BICUBIC, fillcolor=255)
        images.append(page)
    path = Path(path)
    images[0].save(path, "PDF", save_all=True, append_images=images[1:], resolution=150.0)
    return path


# how the stored pixels are turned so that the EXIF Orientation tag turns them back upright
# (ImageOps.exif_transpose applies ROTATE_180 for 3, ROTATE_270 for 6, ROTATE_90 for 8)
_STORED = {1: None, 3: "ROTATE_180", 6: "ROTATE_90", 8: "ROTATE_270"}


def photo(path, lines: list[str], *, exif_orientation: int = 1, rotate_degrees: float = 0.0, noise: float = 0.05,
          fmt: str = "JPEG", size=(1600, 2000)) -> Path:
    """A phone photo of a handwritten-looking page: ink on off-white paper lying on a darker desk,
    the paper turned by ``rotate_degrees``, a little blur, gaussian noise of ``noise`` (0-1, of the
    full scale) and salt-and-pepper specks.  ``size`` is the upright (width, height).  With
    ``exif_orientation`` 3, 6 or 8 the pixels are stored turned (6 and 8: landscape, as a phone's
    sensor holds them) and the EXIF Orientation tag says how to turn them upright.  About 22 lines
    fit at the default size (more raise ValueError).  Deterministic."""
    import numpy as np
    from PIL import Image, ImageFilter

    width, height = size
    desk = Image.new("RGB", size, (78, 68, 60))
    paper = Image.new("RGB", (int(width * 0.86), int(height * 0.88)), (244, 239, 226))
    margin = paper.width // 12
    _draw_lines(paper, lines, box=(margin, margin, paper.width - margin, paper.height - margin),
                size=max(16, width // 40), ink=(28, 38, 92), jitter=0.15, seed=len(lines))
    mask = Image.new("L", paper.size, 255)
    paper = paper.rotate(rotate_degrees, expand=True, resample=Image.BICUBIC)
    mask = mask.rotate(rotate_degrees, expand=True, resample=Image.BICUBIC)
    desk.paste(paper, ((width - paper.width) // 2, (height - paper.height) // 2), mask)
    upright = desk.filter(ImageFilter.GaussianBlur(1.2))
    if noise:
        rng = np.random.default_rng(0)
        pixels = np.asarray(upright, dtype=np.float32)
        pixels += rng.normal(0, noise * 255, pixels.shape)
        specks = rng.random(pixels.shape[:2]) < noise / 20
        pixels[specks] = rng.choice([0.0, 255.0], size=(int(specks.sum()), 1))
        upright = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    turn = _STORED[exif_orientation]
    stored = upright.transpose(getattr(Image.Transpose, turn)) if turn else upright
    exif = Image.Exif()
    exif[0x0112] = exif_orientation
    exif[0x010F] = "samsung"  # Make, as a phone writes it
    path = Path(path)
    if fmt.upper() in ("JPEG", "JPG"):
        stored.save(path, "JPEG", quality=85, exif=exif.tobytes())
    else:
        stored.save(path, "PNG", exif=exif.tobytes())
    return path


# --- Word, Markdown, LaTeX, zips ---------------------------------------------------------------------

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
M = "http://schemas.openxmlformats.org/officeDocument/2006/math"


def _word_runs(text: str, rtl: bool) -> str:
    """The runs of a paragraph, cut at spaces into 2-3 pieces as Word's editing history leaves them."""
    words = text.split(" ")
    cuts = sorted({len(words) // 3, 2 * len(words) // 3} - {0}) if len(words) > 2 else [1] if len(words) == 2 else []
    pieces = [" ".join(words[a:b]) + (" " if b < len(words) else "") for a, b in zip([0, *cuts], [*cuts, len(words)])]
    runs = []
    for piece in pieces:
        properties = '<w:rFonts w:ascii="Calibri" w:hAnsi="Calibri" w:cs="B Nazanin"/>'
        if rtl and any(unicodedata.bidirectional(c) in ("R", "AL") for c in piece):
            properties += '<w:rtl/><w:lang w:bidi="fa-IR"/>'
        runs.append(f'<w:r><w:rPr>{properties}</w:rPr><w:t xml:space="preserve">{escape(piece)}</w:t></w:r>')
    return "".join(runs)


def _math_run(text: str) -> str:
    return ('<m:r><w:rPr><w:rFonts w:ascii="Cambria Math" w:hAnsi="Cambria Math"/></w:rPr>'
            f'<m:t xml:space="preserve">{escape(text)}</m:t></m:r>')


def _omml(linear: str) -> str:
    """A linear equation as Word's equation editor stores it: runs cut after each ``=`` and ``+``,
    and ``x^T`` (base and exponent: a word, or a bracketed group) as ``<m:sSup>``."""
    import re

    parts = []
    for piece in re.split(r"((?:\w+|\([^()]*\))\^(?:\w+|\{[^{}]*\}))", linear):
        if "^" in piece:
            base, exponent = piece.rsplit("^", 1)
            parts.append(f"<m:sSup><m:e>{_math_run(base)}</m:e><m:sup>{_math_run(exponent.strip('{}'))}</m:sup></m:sSup>")
        else:
            parts += [_math_run(run) for run in re.split(r"(?<=[=+])", piece) if run]
    return f"<m:oMathPara><m:oMath>{''.join(parts)}</m:oMath></m:oMathPara>"


def docx(path, paragraphs: list[str], *, equations: dict[int, str] | None = None) -> Path:
    """A minimal, valid Word .docx: one ``<w:p>`` per paragraph; Persian paragraphs carry
    ``<w:bidi/>`` and their Persian runs ``<w:rtl/>``; ``equations`` (paragraph index -> linear math,
    e.g. ``"a^T b = c"``) puts an OMML equation into that paragraph after its text."""
    equations = equations or {}
    body = []
    for index, text in enumerate(paragraphs):
        rtl = is_rtl(text)
        properties = "<w:pPr><w:bidi/><w:jc w:val=\"both\"/></w:pPr>" if rtl else ""
        runs = _word_runs(text, rtl) if text else ""
        body.append(f"<w:p>{properties}{runs}{_omml(equations[index]) if index in equations else ''}</w:p>")
    document = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W}" xmlns:m="{M}">'
                f'<w:body>{"".join(body)}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:bidi/></w:sectPr></w:body>'
                '</w:document>')
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '</Types>'),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{relationships}/officeDocument" Target="word/document.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/>'
            '</Relationships>'),
        "word/document.xml": document,
        "word/_rels/document.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'),
        "docProps/core.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            '<dc:creator>Sara Ahmadi</dc:creator>'
            '<dcterms:created xsi:type="dcterms:W3CDTF">2024-01-10T08:00:00Z</dcterms:created>'
            '</cp:coreProperties>'),
    }
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():  # [Content_Types].xml first, as Word writes it
            archive.writestr(name, text)
    return path


def markdown_document(path, text: str) -> Path:
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


def latex_document(path, body: str) -> Path:
    """A full main.tex as Persian students write it: xepersian (which must be the last package)."""
    path = Path(path)
    path.write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\usepackage{graphicx}\n"
                    "\\usepackage{xepersian}\n\\settextfont{XB Niloofar}\n\n"
                    f"\\begin{{document}}\n{body}\n\\end{{document}}\n", encoding="utf-8")
    return path


def zip_of(path, files: dict[str, Path | bytes | str]) -> Path:
    """A submission zip: arcname -> a ``Path`` (its bytes are read), ``bytes``, or a ``str`` (the
    content itself, UTF-8; a ``str`` is never taken as a file name)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content.read_bytes() if isinstance(content, Path) else content)
    return path


# --- hostile documents, each small on disk ----------------------------------------------------------

def pdf_page_bomb(path, pages: int = 100_000) -> Path:
    """A valid PDF of ``pages`` empty pages, about 1 MB for 100 000: every page shares one content
    stream, the page tree is two levels of ``/Kids`` arrays (1 000 pages a node), and the pages and
    nodes are packed into compressed object streams with a compressed cross-reference stream (PDF
    1.5), which is what keeps 100 000 page objects small."""
    per_node = 1000
    nodes = -(-pages // per_node)
    # object numbers: 1 catalog, 2 page-tree root, 3 the content stream, then the nodes, the pages,
    # the object streams and last the cross-reference stream
    first_node, first_page = 4, 4 + nodes
    packed = {}  # object number -> its text, for the object streams
    for node in range(nodes):
        kids = range(first_page + node * per_node, first_page + min(pages, (node + 1) * per_node))
        packed[first_node + node] = (f"<</Type/Pages/Parent 2 0 R/Count {len(kids)}/Kids["
                                     + " ".join(f"{kid} 0 R" for kid in kids) + "]>>")
        for kid in kids:
            packed[kid] = f"<</Type/Page/Parent {first_node + node} 0 R/Contents 3 0 R>>"
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}

    def plain(number: int, text: bytes) -> None:
        offsets[number] = out.tell()
        out.write(b"%d 0 obj\n" % number + text + b"\nendobj\n")

    kids = " ".join(f"{first_node + node} 0 R" for node in range(nodes))
    plain(1, b"<</Type/Catalog/Pages 2 0 R>>")
    plain(2, f"<</Type/Pages/Count {pages}/Kids[{kids}]/MediaBox[0 0 595 842]/Resources<<>>>>".encode())
    plain(3, b"<</Length 0>>\nstream\n\nendstream")
    numbers = sorted(packed)
    next_number = first_page + pages
    in_stream = {}  # object number -> (object stream number, index in it)
    for start in range(0, len(numbers), 10_000):
        chunk, stream_number = numbers[start:start + 10_000], next_number
        next_number += 1
        bodies = [packed[n].encode() for n in chunk]
        header, position = [], 0
        for index, (number, body) in enumerate(zip(chunk, bodies)):
            header.append(f"{number} {position}")
            position += len(body) + 1
            in_stream[number] = (stream_number, index)
        head = (" ".join(header) + "\n").encode()
        data = zlib.compress(head + b"\n".join(bodies), 9)
        plain(stream_number, b"<</Type/ObjStm/N %d/First %d/Filter/FlateDecode/Length %d>>\nstream\n"
              % (len(chunk), len(head), len(data)) + data + b"\nendstream")
    xref_number = next_number
    offsets[xref_number] = out.tell()
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    for number in range(1, xref_number + 1):
        if number in offsets:
            rows.append(struct.pack(">BIH", 1, offsets[number], 0))
        else:
            rows.append(struct.pack(">BIH", 2, *in_stream[number]))
    data = zlib.compress(b"".join(rows), 9)
    out.write(b"%d 0 obj\n<</Type/XRef/Size %d/W[1 4 2]/Root 1 0 R/Filter/FlateDecode/Length %d>>\nstream\n"
              % (xref_number, xref_number + 1, len(data)) + data + b"\nendstream\nendobj\n")
    out.write(b"startxref\n%d\n%%%%EOF\n" % offsets[xref_number])
    path = Path(path)
    path.write_bytes(out.getvalue())
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def image_decompression_bomb(path, size: tuple[int, int] = (60_000, 60_000)) -> Path:
    """A valid PNG that declares ``size`` pixels (60 000 x 60 000: 3.6 billion, 450 MB even at one
    bit a pixel) and weighs about 0.55 MB: a white 1-bit greyscale image, compressed row block by row
    block so that this process never holds more than a few MB of pixels."""
    width, height = size
    row = b"\x00" + b"\xff" * ((width + 7) // 8)  # filter type 0, then white pixels
    block = row * max(1, 4_000_000 // len(row))
    rows_per_block = len(block) // len(row)
    compressor = zlib.compressobj(9)
    path = Path(path)
    with path.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)))
        done = 0
        while done < height:
            count = min(rows_per_block, height - done)
            data = compressor.compress(block if count == rows_per_block else row * count)
            if data:
                out.write(_png_chunk(b"IDAT", data))
            done += count
        out.write(_png_chunk(b"IDAT", compressor.flush()))
        out.write(_png_chunk(b"IEND", b""))
    return path


def nested_pdf(path, depth: int = 100_000) -> Path:
    """A one-page PDF whose page ``/Resources`` holds an array nested ``depth`` deep, ``[[[...]]]``:
    a reader that parses objects recursively runs out of stack.  The cross-reference table is exact."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Count 1/Kids[3 0 R]>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Nested "
        + b"[" * depth + b"]" * depth + b">>>>",
        b"<</Length 0>>\nstream\n\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    path = Path(path)
    path.write_bytes(out.getvalue())
    return path


# --- hw5: a student's theory answers -----------------------------------------------------------------
# (rubric item id, answer) for every item of rubrics/hw5/rubric.toml, in order.  Expressions are
# written as students type them in a document, restating the left-hand side; the grader's readers
# take what follows the last "=" (see rubrics/hw5/examples/answers_correct.md).

HW5_CORRECT: list[tuple[str, str]] = [
    ("q1.a", "b, c"),
    ("q1.a.reason", "Both take a sequence and give one label."),
    ("q1.b", "c"),
    ("q1.b.reason", "y_t depends only on x_1 … x_t."),
    ("q1.c", "(c)"),
    ("q1.c.reason", "A language model predicts the next token from the previous ones."),
    ("q2.a", "dJ_t/do_t = y_hat_t - y_t"),
    ("q2.b", "dJ_3/dh_1 = W_hh.T @ W_hh.T @ W_yh.T @ (y_hat_3 - y_3)"),
    ("q2.c", "W_yh.T @ (y_hat_3 - y_3) @ h_2.T + W_hh.T @ W_yh.T @ (y_hat_3 - y_3) @ h_1.T"
             " + W_hh.T @ W_hh.T @ W_yh.T @ (y_hat_3 - y_3) @ h_0.T"),
    ("q2.d", "dJ/dW_hh = gW_1 + gW_2 + gW_3"),
    ("q3.a", "[6, 1, 2]"),
    ("q3.b", "argmax has zero gradient almost everywhere, so the queries and keys never learn."),
    ("q4.notebook", "See the notebook."),
]
# the three planted mistakes: a wrong choice, a flipped sign, the value of the smallest key's score
_PLANTED = {"q1.b": "a", "q2.a": "dJ_t/do_t = y_t - y_hat_t", "q3.a": "[6, 1, -2]"}
HW5_WRONG: list[tuple[str, str]] = [(item, _PLANTED.get(item, answer)) for item, answer in HW5_CORRECT]

# how a Persian student writes the same answers: choices in Persian letters, prose in Persian
_PERSIAN = {
    "b, c": "ب و ج", "c": "ج", "(c)": "(ج)", "a": "آ",
    "Both take a sequence and give one label.": "هر دو یک دنباله می‌گیرند و یک برچسب می‌دهند.",
    "y_t depends only on x_1 … x_t.": "y_t فقط به x_1 … x_t وابسته است.",
    "A language model predicts the next token from the previous ones.":
        "مدل زبانی توکن بعدی را از روی توکن‌های قبلی پیش‌بینی می‌کند.",
    "argmax has zero gradient almost everywhere, so the queries and keys never learn.":
        "گرادیان argmax تقریباً همه‌جا صفر است، پس پرس‌وجوها و کلیدها یاد گرفته نمی‌شوند.",
    "See the notebook.": "پاسخ در نوت‌بوک است.",
}
_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _part_label(question: int, part: str, language: str, parts: str) -> str:
    letter = "abcd".index(part)
    # the homework itself labels Q1's parts (a), (b), (c) and Q2's and Q3's الف) ب) ج) د)
    persian = parts == "fa" or (parts == "seed" and question != 1)
    if language == "fa" and persian:
        return ("الف", "ب", "ج", "د")[letter] + ")"
    return f"({part})"


def hw5_lines(answers: list[tuple[str, str]], language: str = "fa", *, parts: str = "seed",
              same_line: bool = False) -> list[str]:
    """The lines of a student's hw5 document: a line per question ("سوال ۱" / "Question 1"), then for
    each item a label line ("الف)" or "(a)"; a reason: "دلیل:" / "Reason:") and an answer line.
    ``parts`` (Persian only): "seed" labels as the homework does, "fa" all الف/ب/ج, "latin" all
    (a)/(b)/(c).  ``same_line`` writes "label answer" on one line instead."""
    lines, question_seen = [], None
    for item, answer in answers:
        question, _, rest = item.partition(".")
        number = int(question[1:])
        if number != question_seen:
            question_seen = number
            lines.append(f"سوال {str(number).translate(_FA_DIGITS)}" if language == "fa" else f"Question {number}")
        if language == "fa":
            answer = _PERSIAN.get(answer, answer)
        part = rest.split(".")[0]
        if rest.endswith("reason"):
            label = "دلیل:" if language == "fa" else "Reason:"
        elif len(part) == 1:
            label = _part_label(number, part, language, parts)
        else:
            label = ""  # q4.notebook: the question's line is its label
        if not label:
            lines.append(answer)
        elif same_line:
            lines.append(f"{label} {answer}")
        else:
            lines += [label, answer]
    return lines
