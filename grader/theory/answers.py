"""The answers file: one text file of theory answers, keyed by item id.

    ## q1
    > ∂L/∂z in terms of p and t        (lines starting with > are the question: ignored)
    p - t

Everything up to the next ``## id`` is the answer; blank lines are dropped; a derivation writes one
step per line.  ``grade template RUBRIC`` writes a blank file with every question.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_ANSWERS_BYTES = 16 * 2**20  # a 10 MB answer is refused by the parser, not the whole file
MAX_UNKNOWN_LISTED = 20
HEADER = re.compile(r"^\s*##\s+(\S+)")
DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


@dataclass
class Answer:
    item: str
    lines: list[str]
    line_number: int  # of the header, for messages
    # where it was read when not from the answers file: a document's file, page, region and label
    # (``documents.answers``); its verdict is then a proposal a TA confirms
    source: dict | None = None

    @property
    def text(self) -> str:
        return " ".join(self.lines)


@dataclass
class AnswersFile:
    answers: dict[str, Answer] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    file: str | None = None  # the submission's file it was read from


def parse_answers(text: str, known_ids: set[str], file_name: str = "answers") -> AnswersFile:
    result = AnswersFile()
    current: Answer | None = None
    unknown = 0  # headers naming no question: the first few are listed, the rest counted (memory)
    for number, raw in enumerate(text.splitlines(), start=1):
        header = HEADER.match(raw)
        if header:
            item = header.group(1)
            if item not in known_ids:
                unknown += 1
                if unknown <= MAX_UNKNOWN_LISTED:
                    result.warnings.append(f"{file_name}, line {number}: '{item[:60]}' is not a question of this "
                                           "assignment")
                current = None
                continue
            if item in result.answers:
                result.warnings.append(f"{file_name}, line {number}: '{item}' is answered twice; the last answer counts")
            current = Answer(item, [], number)
            result.answers[item] = current
            continue
        line = raw.strip()
        if current is None or not line or line.startswith(">"):
            continue
        current.lines.append(line.translate(DIGITS))
    if unknown > MAX_UNKNOWN_LISTED:
        result.warnings.append(f"{file_name}: {unknown - MAX_UNKNOWN_LISTED} more headers name no question of this "
                               "assignment")
    return result


LABEL = re.compile(r"^\s*[^\W\d_][^\W\d]*(?:[\s\u200c]+[^\W\d_][^\W\d]*)*\s*[:：]\s*")  # "Answer:", "پاسخ:"


def split_equals(text: str) -> list[str]:
    """The sides of a chain ``a = b = c``; only an ``=`` outside brackets splits, so ``\\sum_{t=1}^{3}``
    keeps its own, and ``<=``, ``>=``, ``==``, ``!=`` are no equals sign."""
    depth, parts, start = 0, [], 0
    for position, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if (char == "=" and depth == 0 and text[position - 1:position] not in ("<", ">", "=", "!")
                and text[position + 1:position + 2] != "="):
            parts.append(text[start:position])
            start = position + 1
    return parts + [text[start:]]


def after_equals(text: str) -> str:
    """``dJ/dz = a - b`` → ``a - b``: a student may restate the left-hand side, or label the
    answer (``Answer:``, ``پاسخ:``)."""
    parts = split_equals(text)
    tail = parts[-1] if len(parts) > 1 and parts[-1].strip() else text
    return LABEL.sub("", tail.strip(), count=1).strip()
