# The sandboxed side of reading a student's document.  This file is never imported by the grader: it is
# copied beside the document and run by ``python -I`` inside the same sandbox as a student's kernel,
# under the document limits, because PDFium, libjpeg and zlib are C code facing hostile input.
#
#     python -I reader_source.py DOCUMENT OUT_DIR MAX_PAGES MAX_PIXELS RENDER
#
# It prints one JSON object on stdout: {"kind", "pages": [{"lines": [[text, top, bottom], ...],
# "image": "page-N.png" | null, "text_layer": bool}], "problem": str | null} and writes each page's PNG
# into OUT_DIR.  The grader trusts none of it: it re-validates the JSON's shape and sizes and the PNGs'
# names, sizes and signatures.
import io
import json
import sys
import warnings
import zipfile

LONGEST_SIDE = 1600   # pixels of a rendered page or photo: readable on a laptop, a few hundred KiB
MAX_TEXT_CHARS = 200_000  # of one page
MAX_DOCX_XML = 32 * 2**20


class Refused(Exception):
    """A limit the document hits: that student's error, with the reason."""


def main(argv):
    document, out_dir, max_pages, max_pixels, render = argv[1], argv[2], int(argv[3]), int(argv[4]), argv[5] == "1"
    lowered = document.lower()
    try:
        if lowered.endswith(".pdf"):
            result = read_pdf(document, out_dir, max_pages, max_pixels, render)
        elif lowered.endswith((".png", ".jpg", ".jpeg")):
            result = read_image(document, out_dir, max_pixels, render)
        elif lowered.endswith(".docx"):
            result = read_docx(document)
        else:
            raise Refused("not a document kind the reader knows")
    except Refused as exc:
        result = {"pages": [], "problem": str(exc)}
    except Exception as exc:  # a damaged file: the student's error, said plainly
        result = {"pages": [], "problem": f"cannot be read ({type(exc).__name__}: {str(exc)[:200]})"}
    sys.stdout.write(json.dumps(result))


# --- PDF -----------------------------------------------------------------------------------------------

def read_pdf(path, out_dir, max_pages, max_pixels, render):
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    count = len(pdf)
    if count > max_pages:
        raise Refused(f"{count} pages, more than the limit of {max_pages}")
    pages = []
    for index in range(count):
        page = pdf[index]
        width, height = page.get_size()
        lines = pdf_lines(page, height)
        image = None
        if render:
            scale = min(LONGEST_SIDE / max(width, height, 1), 4.0)
            if width * scale * height * scale > max_pixels:
                raise Refused(f"page {index + 1} would render to more than {max_pixels} pixels")
            image = f"page-{index + 1}.png"
            without_colour(page.render(scale=scale, may_draw_forms=False).to_pil()).save(f"{out_dir}/{image}",
                                                                                         compress_level=3)
        pages.append({"lines": lines, "image": image, "text_layer": any(line[0].strip() for line in lines)})
        page.close()
    return {"pages": pages, "problem": None}


def without_colour(image):
    """A page with no colour on it as one grey channel: a third of the bytes to encode, write and send;
    a page with a coloured figure or a highlight keeps its colours."""
    from PIL import ImageChops

    red, green, blue = (image if image.mode == "RGB" else image.convert("RGB")).split()
    if ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None:
        return red
    return image


def pdf_lines(page, height):
    """The page's text layer, line by line, each with its vertical extent as fractions of the page.  A
    line with right-to-left letters is rebuilt from where its characters stand (right to left, its
    left-to-right runs kept): PDF producers store such glyphs in visual order, per word or per line,
    and PDFium's own reading reverses some words and not others."""
    textpage = page.get_textpage()
    count = min(textpage.count_chars(), MAX_TEXT_CHARS)
    lines, current = [], []
    for index in range(count):
        char = textpage.get_text_range(index, 1)
        if char in ("\r", "\n", "\r\n"):
            if char != "\r":
                lines.append(line_of(current, height))
                current = []
            continue
        current.append((char, textpage.get_charbox(index)))
    if current:
        lines.append(line_of(current, height))
    textpage.close()
    return lines


def line_of(chars, height):
    boxes = [box for _, box in chars if box[2] > box[0]]
    top = clamp(1 - max(box[3] for box in boxes) / height) if boxes and height > 0 else None
    bottom = clamp(1 - min(box[1] for box in boxes) / height) if boxes and height > 0 else None
    text = "".join(char for char, _ in chars)
    # "(a)" alone on a line of a right-to-left page: its brackets are mirrored glyphs, read right to left
    mirrored = text.strip()[:1] in ")]" and text.strip()[-1:] in "(["
    if not mirrored and not any(is_rtl_letter(char) for char, _ in chars):
        return [text, top, bottom]
    return [right_to_left(chars), top, bottom]


def is_rtl_letter(char):
    return "\u0600" <= char <= "\u06ff" and not ("\u0660" <= char <= "\u0669" or "\u06f0" <= char <= "\u06f9") \
        or "\ufb50" <= char <= "\ufeff"


def is_ltr(char):
    return char.isascii() and char.isalnum() or "\u06f0" <= char <= "\u06f9" or "\u0660" <= char <= "\u0669"


def right_to_left(chars):
    """Characters in reading order from their positions: right to left, a space wherever two glyphs stand
    apart (a space's own box is no guide: producers put it anywhere), then each run from a left-to-right
    character to the last one before a right-to-left letter read left to right again."""
    glyphs = sorted(((box[0], box[2], char) for char, box in chars if not char.isspace() and box[2] > box[0]),
                    key=lambda glyph: -(glyph[0] + glyph[1]))
    heights = sorted(box[3] - box[1] for char, box in chars if not char.isspace() and box[2] > box[0])
    # between words a space's width, about half a letter's height; inside a word a non-joining letter's
    # side bearing, a third of that at most
    gap = 0.45 * heights[len(heights) // 2] if heights else 1.0
    text = []
    for index, (left, right, char) in enumerate(glyphs):
        if index and glyphs[index - 1][0] - right > gap:
            text.append(" ")
        text.append(char)
    index = 0
    while index < len(text):
        if not is_ltr(text[index]):
            index += 1
            continue
        end = scan = index
        while scan < len(text) and not is_rtl_letter(text[scan]):
            if is_ltr(text[scan]):
                end = scan
            scan += 1
        text[index:end + 1] = text[index:end + 1][::-1]
        index = scan
    return "".join(text)


def clamp(value):
    return None if value is None else round(min(max(value, 0.0), 1.0), 4)


# --- photos ----------------------------------------------------------------------------------------------

def read_image(path, out_dir, max_pixels, render):
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)  # over the limit is refused, not warned
    try:
        image = Image.open(path)
        width, height = image.size  # the header only: the pixels are not decoded yet
        if width * height > max_pixels:
            raise Refused(f"the image declares {width} x {height} pixels, more than the limit of {max_pixels}")
        image.draft("RGB", (LONGEST_SIDE, LONGEST_SIDE))  # a JPEG decodes straight at a smaller size
        image = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Refused(f"a decompression bomb: {exc}") from None
    name = None
    if render:
        image = image.convert("RGB")
        image.thumbnail((LONGEST_SIDE, LONGEST_SIDE))
        name = "page-1.png"
        image.save(f"{out_dir}/{name}")
    return {"pages": [{"lines": [], "image": name, "text_layer": False}], "problem": None}


# --- Word ------------------------------------------------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"


def read_docx(path):
    """Paragraphs of word/document.xml with their equations (OMML), which text-only readers drop: in
    these homeworks the equations are the answers.  A superscript is written ^(…), a subscript _(…),
    a fraction (…)/(…), so that the math readers see what the student typed."""
    from xml.etree import ElementTree

    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("word/document.xml")
        if info.file_size > MAX_DOCX_XML:
            raise Refused(f"word/document.xml unpacks to {info.file_size} bytes, more than {MAX_DOCX_XML}")
        data = archive.open(info).read(MAX_DOCX_XML + 1)
    root = ElementTree.parse(io.BytesIO(data)).getroot()
    lines = [[paragraph_text(paragraph), None, None] for paragraph in root.iter(W + "p")]
    return {"pages": [{"lines": lines, "image": None, "text_layer": True}], "problem": None}


def paragraph_text(paragraph):
    parts = []
    for child in paragraph:
        if child.tag in (M + "oMath", M + "oMathPara"):
            parts.append(" " + math_text(child) + " ")
        else:
            parts.extend(node.text or "" for node in child.iter() if node.tag in (W + "t", W + "tab"))
    return "".join(parts).strip()


def math_text(node):
    tag = node.tag
    if tag == M + "t":
        return node.text or ""
    children = [math_text(child) for child in node if child.tag != M + "rPr" and not child.tag.endswith("Pr")]
    named = {child.tag: math_text(child) for child in node}
    if tag == M + "sSup":
        return f"{named.get(M + 'e', '')}^({named.get(M + 'sup', '')})"
    if tag == M + "sSub":
        return f"{named.get(M + 'e', '')}_({named.get(M + 'sub', '')})"
    if tag == M + "sSubSup":
        return f"{named.get(M + 'e', '')}_({named.get(M + 'sub', '')})^({named.get(M + 'sup', '')})"
    if tag == M + "f":
        return f"({named.get(M + 'num', '')})/({named.get(M + 'den', '')})"
    if tag == M + "d":
        return "(" + ", ".join(math_text(child) for child in node if child.tag == M + "e") + ")"
    return "".join(children)


if __name__ == "__main__":
    main(sys.argv)
