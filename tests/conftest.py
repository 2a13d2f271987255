"""Fixtures shared by the tests."""
from __future__ import annotations

import shutil
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


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium driven by playwright (no browser is downloaded); skipped, and says so,
    where it is not installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()
