"""What a TA reads for a manual item tied to a notebook (training curves, samples, experiments): the
student's notebook as a page, written beside the batch's results when the submission is graded, so that
``grade review`` reads nothing outside the results folder.

The page is inert: markdown is shown as text, code is highlighted by pygments (already here with rich),
outputs are text or PNG/JPEG images inlined as data; no HTML, SVG or script output of the notebook is
ever copied.  A notebook too large, or not JSON, gives a page that says so.
"""
from __future__ import annotations

import base64
import binascii
import html
import json
import zipfile
from pathlib import Path

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from ..execution.runner import MAX_NOTEBOOK_BYTES
from ..report import json_format
from ..submission import find_file

MAX_IMAGE_BYTES = 4 * 2**20
MAX_TEXT = 20_000
IMAGES = ("image/png", "image/jpeg")
STYLE = ("body{font:15px/1.45 system-ui,sans-serif;margin:1rem;color:#1d2330}.cell{margin:.8rem 0;border-left:3px "
         "solid #dde2ea;padding-left:.6rem}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f7f9;"
         "padding:.4rem}img{max-width:100%;height:auto;border:1px solid #e3e6eb}.markdown{white-space:pre-wrap;"
         "unicode-bidi:plaintext}")


def notebooks_with_manual_items(rubric) -> set[str]:
    return {item.notebook for item in rubric.items if item.kind == "manual" and item.notebook}


def write(zip_path: Path, rubric, folder: Path) -> list[str]:
    """One page per notebook of the rubric that has manual items, from the submission ``zip_path``."""
    written = []
    wanted = notebooks_with_manual_items(rubric)
    if not wanted:
        return written
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError):
        return written
    with archive:
        infos = {info.filename: info for info in archive.infolist() if not info.is_dir()
                 and "__MACOSX" not in info.filename and ".ipynb_checkpoints" not in info.filename}
        for name in sorted(wanted):
            chosen, _ = find_file(list(infos), rubric.notebooks[name].match)
            if chosen is None:
                page = _page(name, "<p>No notebook of this name in the submission.</p>")
            elif infos[chosen].file_size > MAX_NOTEBOOK_BYTES:
                page = _page(name, f"<p>{html.escape(chosen)} is larger than the grader reads.</p>")
            else:
                page = _page(name, render(archive.read(chosen)[:MAX_NOTEBOOK_BYTES + 1], chosen))
            json_format.write_atomic(folder / f"{name}.html", page)
            written.append(name)
    return written


def render(data: bytes, file_name: str) -> str:
    try:
        cells = json.loads(data).get("cells", [])
    except (ValueError, AttributeError, RecursionError):
        return f"<p>{html.escape(file_name)} is not a notebook the grader can read.</p>"
    formatter = HtmlFormatter(noclasses=True, nowrap=False)
    parts = [f"<p><code>{html.escape(file_name)}</code></p>"]
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        source = _text(cell.get("source"))
        if cell.get("cell_type") == "markdown":
            parts.append(f'<div class="cell markdown">{html.escape(source)}</div>')
            continue
        if cell.get("cell_type") != "code":
            continue
        body = [highlight(source, PythonLexer(), formatter)] if source.strip() else []
        for output in cell.get("outputs", []) if isinstance(cell.get("outputs"), list) else []:
            body.append(_output(output))
        parts.append(f'<div class="cell">{"".join(body)}</div>')
    return "".join(parts)


def _output(output) -> str:
    if not isinstance(output, dict):
        return ""
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    for kind in IMAGES:
        encoded = _text(data.get(kind)).replace("\n", "")
        if encoded and len(encoded) <= MAX_IMAGE_BYTES * 4 // 3 + 4:
            try:
                base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                continue
            return f'<img alt="output" src="data:{kind};base64,{encoded}">'
    text = _text(output.get("text")) or _text(data.get("text/plain")) or _text(output.get("evalue"))
    return f"<pre>{html.escape(text[:MAX_TEXT])}</pre>" if text else ""


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _page(title: str, body: str) -> str:
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")
