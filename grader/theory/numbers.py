"""Numbers as students write them, read exactly or not at all.

A written number may group its thousands (``12,345,678``, ``12 345 678`` with plain, thin or no-break
spaces, ``28٬348٬416``, ``28،348،416``, LaTeX's ``28{,}348{,}416``), use Persian or Arabic digits and the
Persian decimal sign (``۱۲٫۵``), carry a unit or a word after it (``12,345,678 parameters``, ``۱۲ میلیون
پارامتر``), a scale (``45.2M``, ``2.4 million``), be the result of arithmetic (``12 × 1,048,576``) or be a
vector (``[4, 0, 7]``, ``[4; 0; 7]``, ``[4, 0, 7]^T``, one row per line, nested lists, ``\\begin{bmatrix}``
or ``pmatrix`` with ``\\\\`` between rows and ``&`` between columns).  Everything else
is refused with the reason: two numbers side by side (``2 3``), a decimal comma (``1,5``), groups that are
not of three digits (``1,23,456``) — a number is never read as another number.
"""
from __future__ import annotations

import re

import numpy as np

from . import code, expressions
from .answers import after_equals

DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
SYMBOLS = {"٫": ".", "−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "\\times": "*", "\\cdot": "*", "{,}": ",",
           "\\,": " ", "\\;": " ", "\\ ": " ", "\\!": "", "\u2009": " ", "\u202f": " ", "\u00a0": " ", "\\approx": "≈",
           "\\simeq": "≈", "≃": "≈", "~": "", "$": "", "\\left": "", "\\right": ""}
# a separator between groups of three digits; the same one throughout a number
GROUPED = re.compile(r"(?<![\d.])(\d{1,3})((?P<sep>[,٬،' ])\d{3}(?:(?P=sep)\d{3})*)(\.\d+)?(?![\d])")
SCALES = {"k": 1e3, "thousand": 1e3, "هزار": 1e3, "m": 1e6, "million": 1e6, "millions": 1e6, "میلیون": 1e6,
          "b": 1e9, "bn": 1e9, "billion": 1e9, "billions": 1e9, "میلیارد": 1e9, "g": 1e9}
SCALED = re.compile(r"(\d(?:[\d.]*\d)?)\s*(" + "|".join(sorted(SCALES, key=len, reverse=True)) + r")(?![\w])", re.I)
WORDS = re.compile(r"(?:\s+|^)[^\W\d_][^\W\d]*(?:\s+[^\W\d_][^\W\d]*)*\s*\.?\s*$")
LABEL = re.compile(r"^\s*[^\W\d_][^\W\d]*(?:\s+[^\W\d_][^\W\d]*)*\s*[:：]\s*")  # "Answer:", "پاسخ:"
MATRIX = re.compile(r"\\begin\{([bpvBV]?matrix\*?|array)\}(?:\{[^{}]*\})?(.*?)\\end\{\1\}", re.S)
MAX_ANSWER = 16_000  # characters of one number's answer: a matrix of a few hundred entries, written out
TRANSPOSED = re.compile(r"(\^\s*\{?\s*(?:T|\\top|\\intercal)\s*\}?|\.T|ᵀ)\s*$")


def normalise(text: str) -> str:
    text = text.translate(DIGITS)
    for old, new in SYMBOLS.items():
        text = text.replace(old, new)
    return text.strip()


def read(text: str, symbols: dict, vector_lengths: set[int] | None = None) -> np.ndarray:
    """The number or vector ``text`` writes.  ``vector_lengths``: the lengths of the vectors the answer
    may be (empty: one number is expected; None: unknown).  A comma between groups of three digits is a
    thousands mark unless reading it as a separator gives a vector of one of those lengths.  Raises
    ``expressions.ParseError`` with what could not be read."""
    if len(text) > MAX_ANSWER:
        raise expressions.ParseError(f"the answer is {len(text):,} characters long; at most {MAX_ANSWER:,} are read")
    text = MATRIX.sub(_matrix_as_list, code.from_code(text))
    printed = _printed_array(after_equals(text), vector_lengths)
    if printed is not None:  # numpy's own print: [4. 0. 7.], [[1 2]\n [3 4]]
        return printed
    rows = _assigned_rows(text)
    joined = _rows(rows, symbols, vector_lengths) if rows else None
    if joined is not None:  # PE(0) = […], PE(1) = […]: every line gives part of the answer, none is dropped
        return joined
    lines = [normalise(line) for line in after_equals(text).splitlines() if line.strip()]
    if not lines:
        raise expressions.ParseError("no number in the answer")
    if any("≈" in line for line in lines):
        return _rounded(" ".join(lines), symbols, vector_lengths)
    if len(lines) > 1 and all(_is_plain_number(line.strip("[]() ,;")) for line in lines):
        return _vector([line.strip("[]() ,;") for line in lines], symbols, vector_lengths)  # one row per line
    text = LABEL.sub("", " ".join(lines))
    text = TRANSPOSED.sub("", text).strip()
    text = _without_words(text, symbols)
    if "x" not in symbols:  # 12 x 5, as on paper
        text = re.sub(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])", " * ", text)
    inner = text
    while inner[:1] in "[(" and inner[-1:] in "])" and _balanced(inner[1:-1]):
        inner = inner[1:-1].strip()
    negated = re.match(r"-\s*(\[.*\])$", inner)
    if negated and _balanced(negated.group(1)):  # -[1, 2] is [-1, -2], never [-1, 2]
        return -read(negated.group(1), symbols, vector_lengths)
    if "[" in inner and re.search(r"[*/+]|\S\s*-", _outside_brackets(inner)):
        return _scaled_list(inner, symbols, vector_lengths)  # 0.5 · [-2, -1, 0]
    parts = [part.strip() for part in re.split(r"[;,،]", inner.replace("[", "").replace("]", ""))]
    if len(parts) > 1 and all(parts):
        listed = ";" in inner or "[" in inner or not any(m.group("sep") in ",،" for m in GROUPED.finditer(inner))
        if listed or (vector_lengths and len(parts) in vector_lengths):
            return _vector(parts, symbols, vector_lengths)
    return _value(text, symbols)


ASSIGNED = re.compile(r"^\s*[^=\n]{1,40}?=(?!=)\s*(?P<value>\S.*?)\s*$")
SCALAR_TIMES_LIST = re.compile(r"^(?P<left>[^\[\]]+?)\s*\*\s*(?P<list>\[[^\[\]]*\])$|^(?P<list2>\[[^\[\]]*\])\s*"
                               r"(?:\*|/)\s*(?P<right>[^\[\]]+)$")


PRINTED_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _printed_array(text: str, vector_lengths: set[int] | None) -> np.ndarray | None:
    """An array as numpy prints it (numbers apart by spaces, no commas, brackets around): the vector
    asked for, when its count is one the question allows; None otherwise (``[28 348 416]`` for one number
    groups thousands)."""
    text = normalise(text)
    if not vector_lengths or not (text.startswith("[") and text.endswith("]")) or not _balanced(text):
        return None
    numbers = text.replace("[", " ").replace("]", " ").split()
    if not 2 <= len(numbers) <= max(vector_lengths) or len(numbers) not in vector_lengths:
        return None
    if not all(PRINTED_NUMBER.fullmatch(number) for number in numbers):
        return None
    return np.array([float(number) for number in numbers])


def _assigned_rows(text: str) -> list[str]:
    """The values of an answer written as several assignments, one a line (``PE(0) = [0, 1]`` then
    ``PE(1) = [0.84, 0.54]``); empty when it is not one."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return []
    found = [ASSIGNED.match(line) for line in lines]
    if not all(found):
        return []
    return [after_equals(line) for line in lines]


def _rows(rows: list[str], symbols: dict, vector_lengths: set[int] | None) -> np.ndarray | None:
    """Several assigned values read one by one and given together, row by row, when together they are
    the vector the question asks for; None when they are not (a derivation: its last line answers)."""
    if not vector_lengths:
        return None
    try:
        joined = np.concatenate([np.ravel(read(row, symbols, None)) for row in rows])
    except expressions.ParseError:
        return None
    return joined if joined.size in vector_lengths else None


def _rounded(text: str, symbols: dict, vector_lengths: set[int] | None) -> np.ndarray:
    """``45,213,184 ≈ 45.2M``: a value and its rounding.  Each side is read; when they agree to the
    rounding the most precise one is the answer, and when they do not the answer is refused: ``≈`` is
    never a product."""
    sides = [side.strip() for side in text.split("≈") if side.strip()]
    values = []
    for side in sides:
        try:
            values.append(read(side, symbols, vector_lengths))
        except expressions.ParseError:
            continue  # a name (N ≈ …) or words around the value
    if not values:
        raise expressions.ParseError(f"no number on either side of '≈' in '{text[:60]}'")
    shapes = {value.shape for value in values}
    best = max(values, key=lambda value: _significant_digits(value))
    if len(shapes) > 1 or any(not np.allclose(value, best, rtol=0.05, atol=1e-9) for value in values):
        raise expressions.ParseError(f"the two sides of '≈' in '{text[:60]}' are not one value rounded: write the "
                                     "value you mean")
    return best


def _significant_digits(value: np.ndarray) -> int:
    return sum(len(f"{float(x):.15g}".replace("-", "").replace(".", "").strip("0")) for x in np.ravel(value))


def _scaled_list(text: str, symbols: dict, vector_lengths: set[int] | None) -> np.ndarray:
    """``0.5 · [-4, 2, 6]`` is the vector [-2, 1, 3], never the list with its first entry scaled;
    any other operation on a list is refused."""
    found = SCALAR_TIMES_LIST.match(text.strip())
    if not found:
        raise expressions.ParseError(f"an operation on a list in '{text[:60]}': write the vector it gives")
    scalar = _scalar(found.group("left") or found.group("right"), symbols)
    values = read(found.group("list") or found.group("list2"), symbols, vector_lengths)
    if found.group("list2") and "/" in text[len(found.group("list2")):].split(found.group("right"))[0]:
        return values / scalar
    return values * scalar


def _matrix_as_list(found: re.Match) -> str:
    """``\\begin{bmatrix} 4 \\\\ 0 \\\\ 7 \\end{bmatrix}`` (or pmatrix, a row with &) → ``[4; 0; 7]``, read row by row."""
    cells = [cell.strip() for row in re.split(r"\\\\", found.group(2)) for cell in row.split("&")]
    return "[" + "; ".join(cell for cell in cells if cell) + "]"


def _vector(parts: list[str], symbols: dict, vector_lengths: set[int] | None) -> np.ndarray:
    if vector_lengths is not None and not vector_lengths:
        raise expressions.ParseError(f"{len(parts)} numbers where one is expected ({', '.join(p[:12] for p in parts[:4])}): "
                                     "for a decimal write a point (1.5); group thousands by threes (1,234,567)")
    return np.array([_scalar(part, symbols) for part in parts])


def _scalar(text: str, symbols: dict) -> float:
    value = _value(text, symbols)
    if value.size != 1:
        raise expressions.ParseError(f"'{text[:40]}' is not one number")
    return float(value.reshape(()))


def _value(text: str, symbols: dict) -> np.ndarray:
    for token in re.findall(r"\d[\d,٬،']*\d(?:\.\d+)?", text):
        if re.search(r"[,٬،']", token) and not GROUPED.fullmatch(token):
            raise expressions.ParseError(f"'{token}': a comma inside a number that is not a thousands mark (groups "
                                         "of three digits, 1,234,567); for a decimal write a point: 1.5")
    text = GROUPED.sub(lambda m: m.group(1) + re.sub(r"\D", "", m.group(2)) + (m.group(4) or ""), text)
    text = SCALED.sub(lambda m: _scaled(m, symbols), text)
    side_by_side = re.search(r"(\d)\s+(\d)", text)
    if side_by_side:
        raise expressions.ParseError(f"two numbers side by side ('{side_by_side.group(0)}'): write one number, "
                                     "its thousands grouped by threes, or the operation between them")
    value = expressions.evaluate(expressions.parse(text, symbols), symbols)
    return np.ravel(value) if value.ndim > 1 else value


def _scaled(found: re.Match, symbols: dict) -> str:
    """``45.2M`` → ``(45.2 * 1000000)``; a letter counts as a scale only right after the digits and
    when it is no symbol of the question (``2 b`` is 2·b, never two billion)."""
    number, word = found.group(1), found.group(2)
    if len(word) <= 2 and (word in symbols or found.group(0) != number + word):
        return found.group(0)
    return f"({number} * {SCALES[word.lower()]:.0f})"


def _without_words(text: str, symbols: dict) -> str:
    """``12,345,678 parameters`` → ``12,345,678``: words after the number that are no symbol, function
    or scale of the answer's are a unit or a remark."""
    known = set(symbols) | set(expressions.FUNCTIONS) | set(expressions.CONSTANTS) | set(SCALES)
    remark = re.search(r"\s*\(([^()]*)\)\s*$", text)  # 4,096,000 (one table for both sides)
    if remark and text[:remark.start()].strip() and any(
            word.lower() not in known and word not in known and len(word) > 1
            for word in re.findall(r"[^\W\d_]+", remark.group(1))):
        text = text[:remark.start()].strip()
    found = WORDS.search(text)
    if not found or found.start() == 0:
        return text
    words = found.group(0).strip(" .").split()
    if any(word.lower() in known or word in known for word in words):
        return text
    return text[:found.start()].strip()


def _is_plain_number(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?(\d[\d,٬' ]*)(\.\d+)?([eE][-+]?\d+)?", text.strip()))


def _outside_brackets(text: str) -> str:
    """What of ``text`` is outside every [ ] ( ): the operations on the lists it holds."""
    depth, kept = 0, []
    for char in text:
        depth += char in "[("
        if depth == 0:
            kept.append(char)
        depth -= char in "])" and depth > 0
    return "".join(kept)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += (char in "[(") - (char in "])")
        if depth < 0:
            return False
    return depth == 0
