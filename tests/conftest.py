"""Fixtures shared by the tests."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from helpers import write_zip


@pytest.fixture
def make_zip(tmp_path):
    def make(name: str, files: dict[str, str | bytes]) -> Path:
        return write_zip(tmp_path / name, files)
    return make


@pytest.fixture
def write_rubric(tmp_path):
    """Write a rubric file (dedented TOML) into tmp_path, with extra files beside it."""
    def write(text: str, extra: dict[str, str] | None = None, name: str = "rubric.toml") -> Path:
        for relative, content in (extra or {}).items():
            target = tmp_path / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(content))
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path
    return write
