"""Helpers shared by the tests: notebooks and zips built on the fly."""
from __future__ import annotations

import json
import textwrap
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "submissions_example"


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
