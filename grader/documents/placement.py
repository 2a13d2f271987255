"""Where each rubric item's answer is in a student's document.

The document arrives as lines, normalised (``text.normalise``), each with its page.  Students label
answers in every way: questions "سوال ۲", "سؤال دوم", "پاسخ سوال ۲", "Question 2", "Q2", "Problem 2",
"Exercise 2", "## 2", "2." / "2)" / "2-"; parts "قسمت ب", "بخش ب", "(ب)", "ب)", "الف-", "(a)", "a)",
"a.", "Part b"; both at once "Q2(b)", "2.a", "۲-ج", "2a)", "سوال ۲ - قسمت ب", "2.1)", "### ۱.۱ الف" (a
section's number, then the part); any of them inside Markdown headers, bold, \\section{…} or \\textbf{…}.

The rubric's item ids say which questions and parts exist (``q2.b``: question 2, part b; ``q1.4.dW_y``:
question 1, part 4, the answer named dW_y), and a label is taken only when it names one of them.  A
strong label (a word such as "سوال" or "Part", a header, a question named with its part) is taken as it
is.  A weak one (a bare "2." or "(b)") must move forward (part b after part a, question 3 after 2), and
is the answer's text when a later line labels the same thing before the next part or question (a choice
"(b)" written under part a, a list "a) b) c)" inside an answer), when it names several letters ("(b) and
(c)", "ب، ج"), or when it continues a numbered list inside the answer.  A bare "2." is never question 2
in a document that labels question 2 with a word.  Each answer runs from its label to the next one.

Known limits, all leaving an answer unplaced or in its neighbour's text rather than guessing further:
a question answered before an earlier one and labelled by a bare number only ("3." then "2."); labels
in a form not above ("جواب دوم"); a part's label lost to a list inside the part before it that ends on
the same letter in the same style, when nothing later labels that part again; "2.1" alone on a line
(as likely a numeric answer as a label: it needs ".", ")", ":" or a header); a sub-answer written as
LaTeX (\\frac{∂L}{∂W_y} = …) unless the rubric's labels give that form.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, replace
from itertools import accumulate

from .text import normalise

MAX_LINES = 20_000        # of one submission's documents; a hostile one may hold millions of short lines
LABEL_WINDOW = 200        # a label is at a line's start: only that much of a line is read for one
MAX_WARNINGS = 50
MAX_DECLARATION_LINES = 1_000
MAX_DECLARED_RANGE = 500  # pages in one "3-7" range

LETTERS = "abcdefgh"
# the abjad order these courses use; پ and ت are no abjad letters, so a student writing them counts الف، ب، پ، ت
ABJAD = {"الف": "a", "آ": "a", "ب": "b", "ج": "c", "د": "d", "ه": "e", "و": "f", "ز": "g", "ح": "h",
         "پ": "c", "ت": "d"}
ALPHABETICAL = {"الف": "a", "آ": "a", "ب": "b", "پ": "c", "ت": "d", "ث": "e", "ج": "f", "چ": "g", "ح": "h"}
ORDINALS = {"اول": 1, "یکم": 1, "دوم": 2, "سوم": 3, "چهارم": 4, "پنجم": 5, "ششم": 6, "هفتم": 7, "هشتم": 8,
            "نهم": 9, "دهم": 10, "یک": 1, "دو": 2, "سه": 3, "چهار": 4, "پنج": 5, "شش": 6, "هفت": 7, "هشت": 8,
            "ده": 10, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10}

ORDINAL = "|".join(sorted(ORDINALS, key=len, reverse=True))
LETTER = r"الف|آ|[a-hبپتثجچحدهوز]"
PART_VALUE = rf"(?:{LETTER}|\d{{1,2}}(?!\d))"
NOT_A_LETTER_NEXT = r"(?![^\W_])"  # "ب" is a part, "بله" is a word
# headers, list bullets, bold and LaTeX around a label ("=" is no bullet: "= 2. …" is a derivation's step)
MARKUP = re.compile(r"(?:\s+|#{1,6}|\\(?:sub)*section\*?\s*\{|\\paragraph\*?\s*\{|\*\*?|__|\\textbf\s*\{|"
                    r"\\item\b\s*\[?|[-–—_+•·▪>]+(?=\s))*")
HEADER = re.compile(r"#|\\(?:sub)*section|\\paragraph")
QUESTION_WORD = (r"(?:(?:پاسخ|جواب|answer|solution)\s*(?:به|to|of|for)?\s*)?"
                 r"(?P<word>سوال|سؤال|سوأل|سئوال|پرسش|مسئله|مساله|question|problem|exercise|prob\.?|ex\.?|q)"
                 r"\s*(?:شماره|no\.?|number)?\s*[.#№]?\s*")
QUESTION = re.compile(rf"{QUESTION_WORD}(?:(?P<number>\d{{1,2}})(?!\d)|(?P<ordinal>{ORDINAL}){NOT_A_LETTER_NEXT})",
                      re.I)
# a part named right after its question: "Q2(b)", "Q2b", "Q2.b", "سوال ۲ - قسمت ب", "سوال دوم الف"
PART_AFTER_QUESTION = re.compile(
    rf"(?:\s*[-–—:,،]?\s*(?:قسمت|بخش|part)\s*[(\[]?\s*(?P<word>{PART_VALUE})\s*[)\]]?{NOT_A_LETTER_NEXT}"
    rf"|\s?[-–._]?\s?\(\s*(?P<paren>{PART_VALUE})\s*\)"
    rf"|\s?[-–._]?\s?(?P<bare>{LETTER})(?=\s*\)|\s*[:.\-–—](?:\s|$)|\s*$|\s*[*}}]))", re.I)
# a word label ends its line or is set off by punctuation: "سوال ۲ نشان داد …" is prose about question 2
LABEL_END = re.compile(r"\s*(?:$|[:：.)\-–—(*}\]،,])")
ABBREVIATIONS = ("q", "ex", "ex.", "prob", "prob.")  # "Q2 the gradient …" is a label all the same
PART_WORD = re.compile(rf"(?:قسمت|بخش|part)\s*[(\[]?\s*(?P<part>{PART_VALUE})\s*[)\]]?{NOT_A_LETTER_NEXT}", re.I)
PART_PAREN = re.compile(rf"\(\s*(?P<part>{PART_VALUE})\s*\)", re.I)
PART_CLOSING = re.compile(rf"(?P<part>{PART_VALUE})\s*\)", re.I)
PART_DOT = re.compile(rf"(?P<part>{LETTER})[.:\-–—](?=\s|$)", re.I)
PART_ALONE = re.compile(rf"(?P<part>{LETTER})\s*[.:)]?\s*[*}}]*\s*$", re.I)
# numbers at a line's start: "2.a", "۲-ج", "2(a)", "2a)"; "2.1"; "2." "2)" "2-"; a section number before a label
NUMBER_AND_LETTER = re.compile(
    rf"(?P<number>\d{{1,2}})(?:[.\-–_]?\s?\(\s*(?P<paren>{LETTER})\s*\)|[.\-–_](?P<split>{LETTER})(?=[\s:.)\-–—]|$)"
    rf"|(?P<joined>{LETTER})(?=[:.)\-–—](?:\s|$)|$))", re.I)
DOTTED = re.compile(r"(?P<number>\d{1,2})\.(?P<part>\d{1,2})(?!\d)(?:(?P<closed>[.):])(?=\s|$)|(?=[\s*}]|$))")
BARE_NUMBER = re.compile(r"\(?(?P<number>\d{1,2})(?:[.):]|-(?=\s))(?=\s|$)|(?P<alone>\d{1,2})\.?\s*[*}]*\s*$")
SECTION_NUMBER = re.compile(r"\d{1,2}(?:\.\d{1,2}){0,3}\.?\s+")
CHOICE_AFTER = re.compile(rf"(?:[,،/&]|and|or|و|یا)\s*\(?\s*(?:{LETTER})\s*\)?(?:\s|[,،.)]|$)", re.I)
# what a label leaves of its line: "Q2: -1.5" keeps its minus sign, "سوال اول - تئوری" loses the dash
AFTER_LABEL = re.compile(r"(?:[\s:：*}\])]|[.\-–—](?=\s|$))*")
DECLARATION = re.compile(r"\s*(?:pages|صفحات|صفحه\u200c?\s?ها)\s*[:：=]", re.I)


@dataclass(frozen=True)
class Line:
    text: str            # normalised already
    page: int            # 1-based page number; 0 for a document without pages (.md, .tex, .docx)
    top: float | None = None     # the line's top and bottom as fractions (0..1) of the page height, when known
    bottom: float | None = None


@dataclass
class Placed:
    item_id: str
    lines: list[Line]     # the answer's lines, the label removed from the first; blank lines dropped
    label: str            # the label as the student wrote it ("سوال ۲ - قسمت ب", "Q2(b)", "dW_y")

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def pages(self) -> list[int]:
        return sorted({line.page for line in self.lines})

    def region(self, page: int) -> tuple[float, float] | None:
        """The stretch of ``page`` the answer covers, as fractions of its height, when its lines say where."""
        tops = [line.top for line in self.lines if line.page == page and line.top is not None]
        bottoms = [line.bottom for line in self.lines if line.page == page and line.bottom is not None]
        return (min(tops), max(bottoms)) if tops and bottoms else None


@dataclass
class Placement:
    answers: dict[str, Placed] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)                   # item ids whose answer was not found
    declared_pages: dict[str, list[int]] = field(default_factory=dict)  # item id → pages, as the student declared
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _ItemPath:
    question: int | None     # q2 → 2; None for an id that names no question ("bonus.essay")
    part: str | None         # "b", or "1" for a numbered part
    sub: tuple[str, ...]     # what names an answer inside the part: ("dW_y",), ("shape", "encoder_input")


def _item_path(item_id: str) -> _ItemPath:
    components = item_id.split(".")
    question = re.fullmatch(r"q(\d{1,3})", components[0], re.I)
    if not question:
        return _ItemPath(None, None, tuple(components))
    rest = components[1:]
    if rest and re.fullmatch(r"[a-h]|\d{1,2}", rest[0], re.I):
        return _ItemPath(int(question.group(1)), rest[0].lower(), tuple(rest[1:]))
    return _ItemPath(int(question.group(1)), None, tuple(rest))


@dataclass(frozen=True)
class _Candidate:
    """What a line's start reads as, before the document's structure says whether it is a label."""
    text: str = ""                  # the label as written
    rest: str = ""                  # the line after it
    question: int | None = None     # named by the label: "سوال ۲", "Q2(b)", "2.a"
    worded: bool = False            # named with a word: "سوال", "Question", "Q"
    part: str | None = None         # a part as written: "b", "ب", "2"
    number: int | None = None       # a bare "2." or "## 2": question 2, or part 2 of the current question
    strong: bool = False            # nothing but a label reads so: a word, a header, a question with its part
    style: str = ""                 # the form, to tell a list inside an answer from labels: "(x)", "x)", "n." …
    item: str | None = None         # the rubric's own label of this item


def _read_label(line: str) -> _Candidate | None:
    """The label at the start of ``line`` if it reads as one, whatever the rubric; None otherwise."""
    window = line[:LABEL_WINDOW]
    start = MARKUP.match(window).end()
    header = bool(HEADER.search(window, 0, start))
    found = None
    section = SECTION_NUMBER.match(window, start) if header else None
    if section:  # "## ۱ سوال دوم", "### ۱.۱ الف": a section's number, then the label
        found = _label_at(window, section.end(), header, after_section_number=True)
    found = found or _label_at(window, start, header)
    if found is None:
        return None
    fields, end = found
    return _Candidate(line[start:end].strip(), line[AFTER_LABEL.match(line, end).end():].strip(), **fields)


def _label_at(text: str, start: int, header: bool, after_section_number: bool = False) -> tuple[dict, int] | None:
    """The label's fields and where it ends, reading from ``start``."""
    question = QUESTION.match(text, start)
    if question:
        number = question.group("number")
        number = int(number) if number else ORDINALS[question.group("ordinal").lower()]
        part = PART_AFTER_QUESTION.match(text, question.end())
        value = part and (part.group("word") or part.group("paren") or part.group("bare"))
        end = part.end() if part else question.end()
        if not (header or question.group("word").lower() in ABBREVIATIONS or LABEL_END.match(text, end)):
            return None
        return (dict(question=number, worded=True, part=value or None, strong=True),
                end)
    word = PART_WORD.match(text, start)
    if word and (header or LABEL_END.match(text, word.end())):
        return dict(part=word.group("part"), strong=True, style="word"), word.end()
    alone = PART_ALONE.match(text, start) if header else None
    if alone:  # "### ب"
        return dict(part=alone.group("part"), strong=True, style="header"), alone.end()
    if after_section_number:
        return None
    combined = NUMBER_AND_LETTER.match(text, start)
    if combined:
        value = combined.group("paren") or combined.group("split") or combined.group("joined")
        return dict(question=int(combined.group("number")), part=value, strong=True), combined.end()
    dotted = DOTTED.match(text, start)
    if dotted and (header or dotted.group("closed")):  # "2.1" alone is as likely a number as a label
        return dict(question=int(dotted.group("number")), part=dotted.group("part"), strong=header, style="n.n"), \
            dotted.end()
    bare = BARE_NUMBER.match(text, start)
    if bare and (bare.group("number") or header):  # a lone "2" is an answer, "## 2" a label
        style = "header" if bare.group("alone") else re.sub(r"\d+", "n", bare.group().strip())
        return dict(number=int(bare.group("number") or bare.group("alone")), style=style), bare.end()
    for pattern, style in ((PART_PAREN, "(x)"), (PART_CLOSING, "x)"), (PART_DOT, "x.")):
        part = pattern.match(text, start)
        if part and part.group("part").isdigit():  # "(2)", "2)": a number like "2."
            return dict(number=int(part.group("part")), strong=header, style=style), part.end()
        if part:
            return dict(part=part.group("part"), strong=header, style=style), part.end()
    return None


def _order(part: str | None) -> int:
    """A part's place among its question's parts: a → 1, b → 2 …, "3" → 3; no part → 0."""
    if part is None:
        return 0
    return int(part) if part.isdigit() else LETTERS.index(part) + 1


class _Rubric:
    """The questions and parts that exist, from the item ids, and the rubric's own labels."""

    def __init__(self, items: list[tuple[str, tuple[str, ...]]]):
        self.paths = {item_id: _item_path(item_id) for item_id, _ in items}
        self.labels = {item_id: tuple(folded for folded in map(_fold, labels) if folded) for item_id, labels in items}
        self.parts: dict[int, list[str]] = {}
        # questions with an item of their own, not of a part: a second label of them moves that answer
        self.answered_whole = {p.question for p in self.paths.values() if p.question is not None and p.part is None}
        for path in self.paths.values():
            if path.question is not None:
                parts = self.parts.setdefault(path.question, [])
                if path.part is not None and path.part not in parts:
                    parts.append(path.part)
        # by their first character, longest first: a line is compared with the few that can start it
        self.labels_by_first: dict[str, list[tuple[str, str]]] = {}
        for item_id, folded_labels in self.labels.items():
            for label in folded_labels:
                self.labels_by_first.setdefault(label[0], []).append((label, item_id))
        for entries in self.labels_by_first.values():
            entries.sort(key=lambda entry: -len(entry[0]))

    def rubric_label(self, line: str, only: str | None = None) -> _Candidate | None:
        """The rubric's label of an item at the start of ``line`` (of item ``only`` when given)."""
        window = line[:LABEL_WINDOW]
        for start in sorted({0, MARKUP.match(window).end()}):
            folded = window[start:].casefold()
            for label, item_id in self.labels_by_first.get(folded[:1], ()):
                if (only is None or item_id == only) and folded.startswith(label) \
                        and not folded[len(label):len(label) + 1].isalnum():
                    end = start + len(label)
                    return _Candidate(line[start:end], line[AFTER_LABEL.match(line, end).end():].strip(), strong=True,
                                     item=item_id)
        return None


def _fold(label: str) -> str:
    return normalise(label).strip().casefold()


@dataclass
class _Label:
    index: int                  # of its line
    text: str
    rest: str
    question: int | None
    part: str | None            # as the rubric names it: "a".."h", "1"..
    item: str | None = None     # the rubric's label of an item that names no question


def place(lines: list[Line], items: list[tuple[str, tuple[str, ...]]],
          manual_ids: frozenset[str] = frozenset()) -> Placement:
    """Each item's answer in ``lines``.  ``items``: the rubric's items in order, each with the labels the
    rubric gives it; ``manual_ids``: those a person grades (prose)."""
    placement = Placement()
    warnings: list[str] = []
    if len(lines) > MAX_LINES:
        warnings.append(f"the documents hold {len(lines)} lines; only the first {MAX_LINES} were searched for answers")
        lines = lines[:MAX_LINES]
    item_ids = [item_id for item_id, _ in items]
    declaring = {i for i, line in enumerate(lines) if DECLARATION.match(line.text)}
    if declaring:
        placement.declared_pages, problems = read_page_declaration(
            "\n".join(lines[i].text for i in sorted(declaring)), item_ids)
        warnings += problems
    rubric = _Rubric(items)
    blank = [i in declaring or not line.text.strip() for i, line in enumerate(lines)]
    candidates = [None if blank[i] else rubric.rubric_label(line.text) or _read_label(line.text)
                  for i, line in enumerate(lines)]
    where = _where_function(lines)
    labels = _Reading(candidates, blank, rubric, where, warnings).labels()
    first_rubric_label = {}  # item → the first line that starts with the rubric's label for it
    for index, c in enumerate(candidates):
        if c and c.item:
            first_rubric_label.setdefault(c.item, index)
    _Cutting(lines, blank, labels, rubric, where, warnings).assign(placement, items, manual_ids, first_rubric_label)
    placement.unplaced = [item_id for item_id in item_ids if item_id not in placement.answers]
    placement.warnings = warnings[:MAX_WARNINGS] + (
        [f"{len(warnings) - MAX_WARNINGS} more warnings like these"] if len(warnings) > MAX_WARNINGS else [])
    return placement


def _where_function(lines: list[Line]):
    """'page 3, line 12' for the line at an index; 'line 40' in a document without pages."""
    in_page, count, last_page = [], 0, None
    for line in lines:
        count = count + 1 if line.page == last_page else 1
        last_page = line.page
        in_page.append(count)
    return lambda i: f"page {lines[i].page}, line {in_page[i]}" if lines[i].page else f"line {in_page[i]}"


class _Reading:
    """Reads the candidates in order and decides which are labels: by the rubric's structure, by what came
    before and, for a weak label, by what comes after (a later line labelling the same thing)."""

    def __init__(self, candidates: list[_Candidate | None], blank: list[bool], rubric: _Rubric, where,
                 warnings: list[str]):
        self.candidates, self.blank, self.rubric, self.where, self.warnings = candidates, blank, rubric, where, warnings
        # a document that uses پ as a part letter counts الف، ب، پ، ت …; any other counts ابجد
        self.letters = ALPHABETICAL if any(c and c.part == "پ" for c in candidates) else ABJAD
        # a question that a word labels somewhere ("سوال ۲") is labelled by no bare "2." anywhere
        self.worded = {c.question for c in candidates if c and c.worded}
        self.questions = sorted(set(rubric.parts) | self.worded)
        self.filled = list(accumulate(not b for b in blank))  # lines with text up to each line, to see a gap
        self.styles = sorted({c.style for c in candidates if c})
        self.positions: dict[tuple, list[int]] = {}  # what each candidate names → its lines, to look ahead
        for index, c in enumerate(candidates):
            for key in self._keys(c) if c and not c.item else ():
                self.positions.setdefault(key, []).append(index)

    def _keys(self, c: _Candidate) -> list[tuple]:
        """What a candidate names: a bare number or letter (also with its style), or a question and part."""
        if c.number is not None:
            return [("number", c.number), ("number", c.number, c.style)]
        part = self._letter(c.part)
        if c.question is not None:
            return [("question", c.question)] + ([("part", c.question, part)] if part else [])
        return [("letter", part), ("letter", part, c.style)] if part else []

    def _letter(self, written: str | None) -> str | None:
        """A part as written, in the rubric's terms: "ب" → "b", "B" → "b", "2" → "2"."""
        if not written:
            return None
        written = written.lower()
        return written if written.isdigit() or written in LETTERS else self.letters.get(written)

    def _part(self, written: str | None, question: int | None, strong: bool) -> str | None:
        """The part of ``question`` that ``written`` names, if the rubric has it; a strong label may name a
        numbered part by its letter ("قسمت الف" for part 1) or a lettered part by its number."""
        value = self._letter(written)
        parts = self.rubric.parts.get(question, [])
        if value is None or value in parts:
            return value
        if strong and value.isdigit() and 0 < int(value) <= len(LETTERS) and LETTERS[int(value) - 1] in parts:
            return LETTERS[int(value) - 1]
        if strong and not value.isdigit() and str(_order(value)) in parts:
            return str(_order(value))
        return None

    def _next(self, key: tuple, after: int) -> int:
        found = self.positions.get(key, [])
        at = bisect.bisect_right(found, after)
        return found[at] if at < len(found) else len(self.candidates)

    def _next_bare(self, part: str, after: int, list_style: str | None) -> int:
        """The next bare label of ``part`` ("(c)", "c)", "3."), of any style but a list's."""
        key = ("number", int(part)) if part.isdigit() else ("letter", part)
        if list_style is None:
            return self._next(key, after)
        return min([self._next(key + (style,), after) for style in self.styles if style != list_style]
                   + [len(self.candidates)])

    def _labelled_later(self, index: int, question: int, part: str | None, list_style: str | None = None
                        ) -> int | None:
        """A later line naming the same question (or the same part of it) before another question begins,
        or (for a part) before a later part is labelled: past "(c)", an "(a)" is content.  The list an
        item continues (``list_style``) labels no later part."""
        numbered_parts = {int(p) for p in self.rubric.parts.get(question, []) if p.isdigit()} if part else set()
        later_parts = [p for p in self.rubric.parts.get(question, []) if part and _order(p) > _order(part)]
        end = min([self._next(("question", q), index) for q in self.questions if q != question]
                  + [self._next(("number", q), index) for q in self.questions
                     if q > question and q not in self.worded and q not in numbered_parts]
                  + [self._next(("part", question, p), index) for p in later_parts]
                  + [self._next_bare(p, index, list_style) for p in later_parts]
                  + [len(self.candidates)])
        keys = [("question", question), ("number", question)] if part is None else \
            [("part", question, part), ("number", int(part)) if part.isdigit() else ("letter", part)]
        later = min(self._next(key, index) for key in keys)
        while later < end and self.filled[later - 1] == self.filled[index]:
            later = min(self._next(key, later) for key in keys)  # right under this label: its answer, "(ج)"
        return later if later < end else None

    def labels(self) -> list[_Label]:
        labels: list[_Label] = []
        question: int | None = None
        part: str | None = None
        has_content = False  # the current answer has a line besides its label
        content_lists: dict[str, int] = {}  # a numbered list inside the current answer: its style → its last number
        for index, c in enumerate(self.candidates):
            if c is None:
                has_content = has_content or not self.blank[index]
                continue
            decided = self._decide(index, c, question, part, has_content, content_lists)
            if decided is None:
                value = _order(self._letter(c.part)) if self._letter(c.part) else c.number
                if value is not None and c.style and (value == 1 or content_lists.get(c.style) == value - 1):
                    content_lists[c.style] = value
                has_content = True
                continue
            question, part, item = decided
            labels.append(_Label(index, c.text, c.rest, question, part, item))
            has_content, content_lists = bool(c.rest), {}
        return labels

    def _decide(self, index: int, c: _Candidate, question: int | None, part: str | None, has_content: bool,
                content_lists: dict[str, int]) -> tuple[int | None, str | None, str | None] | None:
        """(question, part, item) when the candidate at ``index`` is a label; None when it is content."""
        parts = self.rubric.parts
        if c.item:
            path = self.rubric.paths[c.item]
            if path.sub and path.question is not None:
                return None  # a sub-answer's own label: found inside its part's answer
            return path.question, path.part, None if path.question is not None else c.item
        if c.worded:  # a question the rubric lacks still ends the answer before it
            return c.question, self._part(c.part, c.question, True), None
        if c.question is not None:  # "2.a", "2.1)": only a part the rubric has
            named = self._part(c.part, c.question, c.strong)
            if named is None:
                return None
            if c.strong:
                return c.question, named, None
            if (c.question, _order(named)) <= (question or 0, _order(part) if c.question == question else 0):
                return None  # backwards
            return self._unless_later(index, c, c.question, named, content_lists)
        if c.number is not None:
            if question is not None and str(c.number) in parts.get(question, []) and c.number > _order(part):
                return self._weak(index, c, question, str(c.number), content_lists)
            if c.number in parts and c.number not in self.worded and c.number > (question or 0):
                return self._weak(index, c, c.number, None, content_lists)
            return None
        if question is None:
            return None  # a part before any question: a list's "(a)", or a question not labelled
        named = self._part(c.part, question, c.strong)
        if named is None:
            return None
        if c.strong:
            return question, named, None
        if _order(named) <= _order(part) or CHOICE_AFTER.match(c.rest):
            return None  # backwards, or a choice: "(b) and (c)"
        if part is not None and not has_content:
            # right under a part's label it is that part's answer (the choice "(b)") when "(b)" comes again
            return None if self._labelled_later(index, question, named) is not None else (question, named, None)
        return self._unless_later(index, c, question, named, content_lists)

    def _weak(self, index: int, c: _Candidate, question: int, part: str | None,
              content_lists: dict[str, int]) -> tuple[int, str | None, None] | None:
        if c.style == "header":  # "## 2" alone on its line: no list item reads so
            return question, part, None
        return self._unless_later(index, c, question, part, content_lists)

    def _unless_later(self, index: int, c: _Candidate, question: int, part: str | None,
                      content_lists: dict[str, int]) -> tuple[int, str | None, None] | None:
        """A weak label, unless a later line labels the same answer (then this one is the earlier answer's
        text: a list item, a choice).  A bare question number is doubted only when it continues a list."""
        continues_list = content_lists.get(c.style) == (_order(part) if part is not None else question) - 1
        if part is None and not continues_list:
            return question, part, None
        later = self._labelled_later(index, question, part, c.style if continues_list else None)
        if later is None:
            return question, part, None
        if not continues_list:
            self.warnings.append(f"{self.where(index)}: '{c.text}' reads as a label, but {self.where(later)} labels "
                                 "the same answer; the later one is taken")
        return None


_Stretch = tuple[_Label, list[tuple[int, Line]]]  # a label and its lines with their indices


class _Cutting:
    """Cuts the lines at the labels and gives each item its stretch."""

    def __init__(self, lines: list[Line], blank: list[bool], labels: list[_Label], rubric: _Rubric, where,
                 warnings: list[str]):
        self.lines, self.blank, self.labels, self.rubric, self.where = lines, blank, labels, rubric, where
        self.warnings = warnings
        # the label's own line holds what follows the label
        self.parts: dict[tuple[int, str], _Stretch] = {}
        self.questions: dict[int, _Stretch] = {}  # from a question's label to the next question's
        self.own: dict[int, _Stretch] = {}        # from a question's label to its first part's
        self.by_item: dict[str, _Stretch] = {}
        ends = [label.index for label in labels[1:]] + [len(lines)]
        for position, (label, end) in enumerate(zip(labels, ends)):
            if label.item is not None:
                self.by_item[label.item] = (label, self._body(label, end))
            elif label.part is not None:
                key = (label.question, label.part)
                if key in self.parts:
                    warnings.append(f"question {key[0]} part {key[1]} is labelled twice ({where(self.parts[key][0].index)} "
                                    f"and {where(label.index)}); the later one is taken")
                self.parts[key] = (label, self._body(label, end))
            else:
                if label.question in self.questions and label.question in rubric.answered_whole:
                    warnings.append(f"question {label.question} is labelled twice "
                                    f"({where(self.questions[label.question][0].index)} and {where(label.index)}); "
                                    "the later one is taken")
                following = position + 1  # the question runs over its parts' labels
                while following < len(labels) and labels[following].question == label.question \
                        and labels[following].part is not None:
                    following += 1
                question_end = labels[following].index if following < len(labels) else len(lines)
                self.questions[label.question] = (label, self._body(label, question_end))
                self.own[label.question] = (label, self._body(label, end))

    def _body(self, label: _Label, end: int) -> list[tuple[int, Line]]:
        first = [(label.index, replace(self.lines[label.index], text=label.rest))] if label.rest else []
        return first + [(i, self.lines[i]) for i in range(label.index + 1, end) if not self.blank[i]]

    def assign(self, placement: Placement, items: list[tuple[str, tuple[str, ...]]], manual_ids: frozenset[str],
               first_rubric_label: dict[str, int]):
        paths = self.rubric.paths
        # sub-answers first: what one finds by its own name is not its part's answer
        scopes: dict[tuple[int, str | None], list[str]] = {}
        for item_id, _ in items:
            if paths[item_id].sub and paths[item_id].question is not None:
                scopes.setdefault((paths[item_id].question, paths[item_id].part), []).append(item_id)
        searches: dict[tuple, tuple[_Stretch | None, list[str]]] = {}
        for (question, part), sub_ids in scopes.items():
            segment = self.parts.get((question, part)) if part is not None else self.questions.get(question)
            if segment is None and part is not None and question in self.own:
                # its part not labelled: the question's own answer, searched for all such parts' names at once
                key = ("own", question)
                searches[key] = (self.own[question], searches.get(key, (None, []))[1] + sub_ids)
            else:
                searches[(question, part)] = (segment, sub_ids)
        claimed: set[int] = set()  # the lines sub-answers took
        for segment, sub_ids in searches.values():
            found = _sub_answers(segment[1] if segment else [], sub_ids, self.rubric)
            for item_id in sub_ids:
                if item_id in found:
                    name, answer = found[item_id]
                    placement.answers[item_id] = Placed(item_id, [line for _, line in answer], name)
                    claimed.update(index for index, _ in answer)
                elif segment is None:
                    if item_id in first_rubric_label:  # its question never labelled: its own label, anywhere
                        placement.answers[item_id] = self._from_line(item_id, first_rubric_label[item_id])
                elif item_id in manual_ids and segment[1]:  # prose beside the part's answer: all of it
                    placement.answers[item_id] = Placed(item_id, [line for _, line in segment[1]], segment[0].text)
        for item_id, _ in items:
            path = paths[item_id]
            if item_id in placement.answers or path.sub and path.question is not None:
                continue
            if path.question is None:
                segment = self.by_item.get(item_id)
            elif path.part is not None:
                segment = self.parts.get((path.question, path.part))
            else:
                segment = self.questions.get(path.question)
            answer = [line for index, line in segment[1] if index not in claimed] if segment else []
            if answer:
                placement.answers[item_id] = Placed(item_id, answer, segment[0].text)

    def _from_line(self, item_id: str, index: int) -> Placed:
        """A sub-answer from its rubric label's line to the next label; the label stays, as a name would."""
        starts = [label.index for label in self.labels]
        following = bisect.bisect_right(starts, index)
        end = starts[following] if following < len(starts) else len(self.lines)
        label = self.rubric.rubric_label(self.lines[index].text, only=item_id)
        answer = [self.lines[index]] + [self.lines[i] for i in range(index + 1, end) if not self.blank[i]]
        return Placed(item_id, answer, label.text if label else item_id)


SUB_START = r"(?:[-*•+]\s+)?(?:\$\$?|\\\(|\\\[)?\s*"
# what may follow a sub-answer's name before its "=": "c^{<t>}", "a⟨t⟩", "dW_y_t", "c(t)"
SUB_DECORATION = (r"(?:\s*\^?\s*(?:\{[^{}]{0,12}\}|<[^<>]{0,8}>|⟨[^⟨⟩]{0,8}⟩|\([A-Za-z0-9,+\-\s]{0,8}\))"
                  r"|_\{?[A-Za-z0-9,+\-]{1,6}\}?)*")
SPACE_OR_UNDERSCORE = re.compile(r"(?:\\?_|\s+)")


def _sub_answers(segment: list[tuple[int, Line]], sub_ids: list[str], rubric: _Rubric
                 ) -> dict[str, tuple[str, list[tuple[int, Line]]]]:
    """Each sub-answer in ``segment`` found by its name followed by ":" or "=" ("dW_y =", "encoder input:")
    or by the rubric's label for it, from that line to the next sub-answer's; the name stays on the line
    (the readers take what follows the "=")."""
    owners: dict[str, str | None] = {}  # a name, folded with "_" for spaces → its item; None when two share it
    for item_id in sub_ids:
        sub = rubric.paths[item_id].sub
        names = {SPACE_OR_UNDERSCORE.sub("_", n.casefold()) for n in (sub[-1], "_".join(sub))}
        names |= {SPACE_OR_UNDERSCORE.sub("_", label) for label in rubric.labels[item_id]}
        for name in names:
            owners[name] = item_id if owners.get(name, item_id) == item_id else None
    names = sorted(owners, key=len, reverse=True)  # a name two items share still ends the answer before it
    if not segment or not names:
        return {}
    spelled = "|".join(re.escape(name).replace("_", r"(?:\\?_|\s+)") for name in names)
    pattern = re.compile(rf"{SUB_START}(?P<name>{spelled})(?P<equals>{SUB_DECORATION}\s*[:=：])?(?!\w)", re.I)
    starts: list[tuple[int, str, str]] = []  # (line, item, the name as written)
    for index, (_, line) in enumerate(segment):
        found = pattern.match(line.text[:LABEL_WINDOW])
        if not found:
            continue
        owner = owners.get(SPACE_OR_UNDERSCORE.sub("_", found.group("name").casefold()))
        is_rubric_label = owner is not None and _fold(found.group("name")) in rubric.labels[owner]
        if found.group("equals") or is_rubric_label:  # a bare name is prose: "dW_y is …"
            starts.append((index, owner, found.group("name")))
    ends, end = [], len(segment)  # each answer ends where another name begins
    for position in reversed(range(len(starts))):
        ends.append(end)
        if position and starts[position - 1][1] != starts[position][1]:
            end = starts[position][0]
    answers: dict[str, tuple[str, list[tuple[int, Line]]]] = {}
    for position, ((index, owner, name), end) in enumerate(zip(starts, reversed(ends))):
        if owner is None or position and starts[position - 1][1] == owner:
            continue  # the same name again right after: the next step of the same derivation
        answers[owner] = (name, segment[index:end])  # a later answer under the same name replaces it
    return answers


PAGES_PREFIX = re.compile(r"\s*(?:pages|صفحات|صفحه\u200c?\s?ها)\s*[:：=]?\s*", re.I)
KEY_START = re.compile(r"[,،\s]+(?=(?:q\s*\d|question|problem|سوال|سؤال|پرسش)[^:=：]{0,40}[:=：])", re.I)
ENTRY = re.compile(r"\s*(?P<key>[^:=：]{1,60}?)\s*[:=：]\s*(?P<pages>.*?)\s*$")
PAGE_WORDS = re.compile(r"^(?:pages?|pp?\.?|صفحات|صفحه|ص\.?)\s*", re.I)
PAGE = re.compile(r"(\d{1,4})(?:-(\d{1,4}))?")


def read_page_declaration(text: str, item_ids: list[str]) -> tuple[dict[str, list[int]], list[str]]:
    """Which pages hold which answers, as a student declares them: "q1: 1-2", "q2.b: 3", "Q3 = 4, 5",
    "سوال ۲: صفحه ۳", "pages: q1=1-2; q2=3".  A question's pages hold each of its items.  Returns (item id
    → sorted pages, a warning for each line or entry that could not be read)."""
    paths = {item_id: _item_path(item_id) for item_id in item_ids}
    declared: dict[str, set[int]] = {}
    warnings: list[str] = []
    lines = normalise(text).splitlines()
    if len(lines) > MAX_DECLARATION_LINES:
        warnings.append(f"the page declaration has {len(lines)} lines; the first {MAX_DECLARATION_LINES} were read")
    for number, line in enumerate(lines[:MAX_DECLARATION_LINES], start=1):
        line = line[:500].strip()
        if not line:
            continue
        prefix = PAGES_PREFIX.match(line)
        body = line[prefix.end():] if prefix else line
        entries = [entry for chunk in re.split(r"[;؛]", body) for entry in KEY_START.split(chunk) if entry.strip()]
        if not entries:
            warnings.append(f"page declaration, line {number}: '{line[:80]}' names no answer and its pages")
        for entry in entries:
            problem = _declare(entry, paths, declared)
            if problem:
                warnings.append(f"page declaration, line {number}: {problem}")
    return {item_id: sorted(declared[item_id]) for item_id in item_ids if item_id in declared}, warnings


def _declare(entry: str, paths: dict[str, _ItemPath], declared: dict[str, set[int]]) -> str | None:
    """Records one "answer: pages"; what could not be read, or None."""
    found = ENTRY.match(entry)
    if not found:
        return f"'{entry.strip()[:80]}' is not 'answer: pages'"
    key = found.group("key").strip()
    targets = _declared_items(key, paths)
    if not targets:
        return f"'{key[:60]}' names no question of this assignment"
    pages: set[int] = set()
    page_text = re.sub(r"\s*[-–—]\s*", "-", PAGE_WORDS.sub("", found.group("pages")))
    for token in re.split(r"\s*(?:[,،]|\band\b|\sو\s)\s*|\s+", page_text):
        page = PAGE.fullmatch(token) if token else None
        if token and page is None:
            return f"'{token[:30]}' in '{entry.strip()[:80]}' is not a page or a range of pages"
        if page:
            first, last = int(page.group(1)), int(page.group(2) or page.group(1))
            if first < 1 or last < first or last - first >= MAX_DECLARED_RANGE:
                return f"'{token}' in '{entry.strip()[:80]}' is not a range of pages"
            pages.update(range(first, last + 1))
    if not pages:
        return f"'{entry.strip()[:80]}' names no page"
    for item_id in targets:
        declared.setdefault(item_id, set()).update(pages)
    return None


def _declared_items(key: str, paths: dict[str, _ItemPath]) -> list[str]:
    """The items a declaration's key names: an item id and the items under it, or a question and its part."""
    by_id = {item_id.casefold(): item_id for item_id in paths}
    if key.casefold() in by_id:
        named = by_id[key.casefold()]
        return [item_id for item_id in paths if item_id == named or item_id.startswith(named + ".")]
    candidate = _Candidate(question=int(key)) if key.isdigit() and len(key) <= 2 else _read_label(key)
    if candidate is None or candidate.rest:
        return []
    question = candidate.question if candidate.question is not None else candidate.number
    part = (candidate.part or "").lower() or None
    if part is not None and not part.isdigit() and part not in LETTERS:
        part = ABJAD.get(part)
    return [item_id for item_id, path in paths.items()
            if question is not None and path.question == question and (part is None or path.part == part)]
