"""Helpers shared by the tests: notebooks and zips built on the fly."""
from __future__ import annotations

import json
import shutil
import sys
import textwrap
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "submissions_example"
# the installed command, as a user types it; the module when only the source is on the path
GRADE = [shutil.which("grade")] if shutil.which("grade") else [sys.executable, "-m", "grader"]


def notebook_text(*cells: str, markdown: tuple[str, ...] = ()) -> str:
    """A notebook whose code cells are ``cells`` (dedented), in order."""
    code = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
             "source": textwrap.dedent(c).strip("\n")} for c in cells]
    text = [{"cell_type": "markdown", "metadata": {}, "source": m} for m in markdown]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3"}},
                       "cells": text + code})


def write_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def solution_variant(rubric_dir: Path, target: Path, edits: list[tuple[str, str]] = (), extra: dict | None = None) -> Path:
    """A zip of a bundled rubric's solution notebooks with each ``(old, new)`` edit applied once; an
    edit that matches nothing fails the test, so a planted bug can never silently miss."""
    files: dict[str, str | bytes] = {}
    pending = list(edits)
    for path in sorted((rubric_dir / "solution").iterdir()):
        if path.suffix != ".ipynb":
            files[path.name] = path.read_bytes()
            continue
        document = json.loads(path.read_text(encoding="utf-8"))
        for cell in document["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for edit in list(pending):
                if edit[0] in source:
                    source = source.replace(edit[0], edit[1], 1)
                    pending.remove(edit)
            cell["source"] = source
        files[path.name] = json.dumps(document)
    assert not pending, f"planted edits matched nothing: {pending}"
    return write_zip(target, {**files, **(extra or {})})


def restamped_zip(source: Path, target: Path, year: int) -> Path:
    """A copy of the zip ``source`` whose entries all say 1 January of ``year``: the times a student sets."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            info.date_time = (year, 1, 1, 0, 0, 0)
            copy.writestr(info, data)
    return target
