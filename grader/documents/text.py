"""Text extracted from a student's document, made comparable with what the grader looks for.

``normalise`` undoes what PDF and Word extraction does to Persian and to math: presentation forms,
Arabic letters in place of Persian ones, Persian and Arabic-Indic digits, odd spaces and invisible
marks.  ``logical_order`` undoes what some PDF producers do to right-to-left text: they store each
line in *visual* order, so "سوال ۲" comes out "۲ لاوس".

``logical_order`` takes the lines as extracted, before ``normalise``: a lam-alef ligature (ﻻ) is one
glyph for two letters, and only while it is one can it be turned around whole.  Normalised lines are
turned right too, but for the ligature's two letters, which come out swapped ("کالس" for "کلاس").

Known limits of ``logical_order``: a line's direction is guessed from its letters (right to left unless
its Latin letters outnumber its Arabic-script ones more than three to one), so an English sentence with
a Persian word keeps its place and turns only that word, and a Persian line that is nearly all Latin
math is read as an English one; of the numbers beside a Persian word in an English line, only one set
off by spaces alone goes with the word; a bracket between right-to-left and left-to-right text is
mirrored, as if the producer stored the glyph it drew; a combining mark stays after its letter.
"""
from __future__ import annotations

import re
import unicodedata

# Superscripts, subscripts, ᵀ and vulgar fractions are kept as written: NFKC would turn x² into x2, Wᵀ
# into WT and 1½ into 11⁄2, a number read as another number; the math readers know these characters.
KEPT_BY_NFKC = re.compile("[\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u1d2c-\u1d6a\u2150-\u215f\u2189]")
NOT_KEPT = re.compile("[^\u00b2\u00b3\u00b9\u00bc-\u00be\u2070-\u209f\u1d2c-\u1d6a\u2150-\u215f\u2189]+")
PERSIAN = str.maketrans({
    "ي": "ی", "ى": "ی", "ك": "ک", "ـ": None,  # Arabic yeh, alef maksura and kaf; tatweel only stretches a word
    **{chr(0x06F0 + d): str(d) for d in range(10)}, **{chr(0x0660 + d): str(d) for d in range(10)},
    # spaces that are not a plain space (NFKC already folds most; these stay sure)
    "\u00a0": " ", "\u202f": " ", "\u2007": " ", "\u2009": " ", "\u200a": " ", "\u205f": " ", "\u3000": " ",
    "\t": " ",
    # invisible: the soft hyphen, bidi controls, zero-width characters other than ZWNJ (part of Persian words)
    "\u00ad": None, "\u061c": None, "\u200e": None, "\u200f": None, "\u200b": None, "\u2060": None,
    "\ufeff": None, **{chr(c): None for c in range(0x202A, 0x202F)}, **{chr(c): None for c in range(0x2066, 0x206A)},
})
SPACES = re.compile(r" {2,}")

# Words nearly every Persian answer holds, to tell text stored in visual order (each reversed) from text
# stored as written.
COMMON_WORDS = frozenset("سوال پاسخ قسمت است که از به را این با در برای می".split())
WORD = re.compile(r"[^\W\d_]+")
MIRRORED = str.maketrans("()[]{}<>«»", ")(][}{><»«")
OPENING, CLOSING = "([{<«", ")]}>»"


def normalise(text: str) -> str:
    """``text`` as the grader compares it: NFKC (presentation forms become letters, full-width and
    mathematical letters plain ones), Persian letters and ASCII digits, one kind of space, no invisible
    marks but ZWNJ, runs of spaces collapsed, each line stripped.  Dashes and the minus sign stay."""
    if KEPT_BY_NFKC.search(text):
        text = NOT_KEPT.sub(lambda run: unicodedata.normalize("NFKC", run.group()), text)
    else:
        text = unicodedata.normalize("NFKC", text)
    text = SPACES.sub(" ", text.translate(PERSIAN))
    return "\n".join(line.strip() for line in text.splitlines())


def logical_order(lines: list[str]) -> list[str]:
    """The lines in the order they were written.  Decided for the whole document: when the common
    Persian words are found more often (and at least twice) by reading each word backwards, the document
    was stored in visual order and every line is turned around; otherwise the lines come back as they are."""
    as_given = reversed_reading = 0
    for line in lines:
        if line.isascii():
            continue
        for word in WORD.findall(normalise(line)):  # presentation forms counted as the letters they are
            as_given += word in COMMON_WORDS
            reversed_reading += word[::-1] in COMMON_WORDS
    if reversed_reading >= 2 and reversed_reading > as_given:
        return [_visual_to_logical(line) for line in lines]
    return list(lines)


def _is_arabic_letter(char: str) -> bool:
    return ("\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f" or "\u08a0" <= char <= "\u08ff"
            or "\ufb50" <= char <= "\ufdff" or "\ufe70" <= char <= "\ufeff") and unicodedata.category(char)[0] in "LM"


def _is_left_to_right(char: str) -> bool:
    """A letter of a left-to-right script, or a digit of any script (digits read left to right in both)."""
    category = unicodedata.category(char)
    return category == "Nd" or (category[0] == "L" and not _is_arabic_letter(char))


def _tokens(line: str) -> list[tuple[str, str]]:
    """The line cut into what turns around and what does not: ("R", an Arabic letter with its marks),
    ("N", one neutral character), ("L", a left-to-right stretch such as "W_hh", "x^{(t)}" or "12")."""
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(line):
        char = line[position]
        if _is_arabic_letter(char):
            end = position + 1
            while end < len(line) and unicodedata.category(line[end]) == "Mn":  # a mark stays on its letter
                end += 1
            tokens.append(("R", line[position:end]))
            position = end
            continue
        end = position
        while end < len(line) and not _is_arabic_letter(line[end]):
            end += 1
        tokens += _stretch_tokens(line[position:end])
        position = end
    return tokens


def _stretch_tokens(stretch: str) -> list[tuple[str, str]]:
    """A stretch without Arabic letters: its left-to-right part kept whole, the neutrals around it apart."""
    strong = [i for i, char in enumerate(stretch) if _is_left_to_right(char)]
    if not strong:
        return [("N", char) for char in stretch]
    start, end = strong[0], strong[-1] + 1
    opened = sum(stretch.count(c, start, end) for c in OPENING) - sum(stretch.count(c, start, end) for c in CLOSING)
    while True:  # brackets that belong to the left-to-right part go with it: "f(x)", "(a+b)", "W_{hh}"
        if end < len(stretch) and stretch[end] in CLOSING and opened > 0:
            end, opened = end + 1, opened - 1
        elif start > 0 and stretch[start - 1] in OPENING and opened < 0:
            start, opened = start - 1, opened + 1
        elif (0 < start and end < len(stretch) and stretch[start - 1] in OPENING
              and stretch[end] == CLOSING[OPENING.index(stretch[start - 1])]):
            start, end = start - 1, end + 1
        else:
            break
    return [("N", c) for c in stretch[:start]] + [("L", stretch[start:end])] + [("N", c) for c in stretch[end:]]


def _visual_to_logical(line: str) -> str:
    tokens = _tokens(line)
    arabic = sum(kind == "R" for kind, _ in tokens)
    if not arabic:
        return line
    latin = sum(sum(c.isalpha() for c in text) for kind, text in tokens if kind == "L")
    if 3 * arabic >= latin:  # a right-to-left line (a Persian document's lines are): laid out from the right
        return _turned(tokens)
    # a left-to-right line: only its runs of Persian words turn, with a number beside them ("۲ لاوس");
    # its left-to-right stretches stay where they are, so they are cut into words to find such a number
    tokens = [piece for kind, text in tokens
              for piece in ([(kind, text)] if kind != "L" else _words(text))]
    out: list[str] = []
    position = 0
    while position < len(tokens):
        if tokens[position][0] != "R":
            out.append(tokens[position][1])
            position += 1
            continue
        end = probe = position + 1
        while probe < len(tokens) and not _is_latin(tokens[probe]):
            if tokens[probe][0] == "R":
                end = probe + 1
            probe += 1
        start, end = _with_number(tokens, position, -1), _with_number(tokens, end, 1)
        del out[len(out) - (position - start):]  # the number and spaces before the run go with it
        out.append(_turned(tokens[start:end]))
        position = end
    return "".join(out)


def _words(stretch: str) -> list[tuple[str, str]]:
    return [("N", word) if word.isspace() else ("L", word) for word in re.split(r"(\s+)", stretch) if word]


def _is_latin(token: tuple[str, str]) -> bool:
    return token[0] == "L" and any(char.isalpha() for char in token[1])


def _with_number(tokens: list[tuple[str, str]], edge: int, step: int) -> int:
    """``edge`` moved over spaces and one number next to a run, when there is one: a number separated
    from Persian words by punctuation ("x = 2, ...") is left where it is."""
    probe = edge - 1 if step < 0 else edge
    while 0 <= probe < len(tokens) and tokens[probe] == ("N", " "):
        probe += step
    if probe != (edge - 1 if step < 0 else edge) and 0 <= probe < len(tokens) and tokens[probe][0] == "L" \
            and tokens[probe][1].isdigit():
        return probe if step < 0 else probe + 1
    return edge


def _turned(tokens: list[tuple[str, str]]) -> str:
    return "".join(text.translate(MIRRORED) if kind == "N" else text for kind, text in reversed(tokens))
