"""The kinds of document a student hands in, by file suffix: the one table that submissions, a class's
inbox and the reader agree on."""
from __future__ import annotations

from pathlib import Path

KINDS = {".pdf": "pdf", ".png": "image", ".jpg": "image", ".jpeg": "image", ".docx": "docx", ".md": "text",
         ".markdown": "text", ".tex": "text", ".txt": "text", ".ipynb": "notebook"}


def kind_of(name: str) -> str | None:
    """pdf | image | docx | text | notebook, or None for a file that is no document."""
    return KINDS.get(Path(name).suffix.lower())
