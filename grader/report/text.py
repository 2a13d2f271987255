"""Student text made safe for any renderer: escape sequences and control characters removed, so a
feedback line that quotes a student's output can neither colour a terminal nor break XML."""
from __future__ import annotations

import re

CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str | None, limit: int | None = None) -> str:
    value = CONTROL.sub("", text or "").encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def points(value: float) -> str:
    return f"{value:g}"


def item_points(item, separator: str = "/") -> str:
    """An item's score out of its points; an item a grader fault stopped has no score, not a zero."""
    earned = "–" if item.status == "grader_error" else points(item.score)
    return f"{earned}{separator}{points(item.points)}"
