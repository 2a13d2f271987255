"""Student text made safe for any renderer: escape sequences and control characters removed, so a
feedback line that quotes a student's output can neither colour a terminal nor break XML."""
from __future__ import annotations

import re

CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Shown as their code point instead: the bidirectional overrides, embeddings and the isolates a report
# never opens itself (they reorder the text after them: "Trojan source"), and the characters XML 1.0
# forbids.  The grader's own LRI ... PDI around numbers in a right-to-left report stay.
VISIBLE = re.compile("[\u202a-\u202e\u2067\u2068\ufffe\uffff]")


def clean(text: str | None, limit: int | None = None) -> str:
    value = CONTROL.sub("", text or "").encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    value = VISIBLE.sub(lambda match: f"⟨U+{ord(match.group()):04X}⟩", value)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def spreadsheet_cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP's CSV injection advice):
    a cell that starts with = + - @ or a tab or carriage return gets a leading apostrophe; numbers stay."""
    if value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def points(value: float) -> str:
    return f"{value:g}"


def item_points(item, separator: str = "/") -> str:
    """An item's score out of its points; an item a grader fault stopped has no score, not a zero."""
    earned = "–" if item.status == "grader_error" else points(item.score)
    return f"{earned}{separator}{points(item.points)}"
