"""The code of each submission in a class, read straight from its zip (nothing is unpacked to disk or
run), fingerprinted, with the template's own fingerprints taken away."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..execution.cells import cell_source, without_magics
from ..rubric import Rubric
from ..submission import JUNK
from .fingerprint import fingerprints, normalise

MAX_FILE_BYTES = 16 * 2**20   # one notebook's or module's text
MAX_FILES = 200               # per submission


@dataclass
class Unit:
    name: str    # "P1_RNN_LSTM.ipynb, cell 5" or "helpers.py"
    source: str


@dataclass
class Document:
    key: str
    label: str
    file: str
    units: list[Unit] = field(default_factory=list)
    # fingerprint hash -> where it occurs: (unit index, first line, last line)
    prints: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)
    problem: str = ""


def units_of_notebook(name: str, data: bytes) -> list[Unit]:
    document = json.loads(data)
    cells = document.get("cells", []) if isinstance(document, dict) else []
    return [Unit(f"{name}, cell {index}", without_magics(cell_source(cell)))
            for index, cell in enumerate(cells, start=1)
            if isinstance(cell, dict) and cell.get("cell_type") == "code" and cell_source(cell).strip()]


def read_units(zip_path: Path, skip_names: set[str]) -> list[Unit]:
    """Every code cell of the zip's notebooks and every Python file but the course's starter files."""
    units: list[Unit] = []
    with zipfile.ZipFile(zip_path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and not any(
            marker in i.filename if marker.endswith("/") else i.filename.endswith(marker) for marker in JUNK)]
        code = [i for i in infos if i.filename.lower().endswith((".ipynb", ".py"))
                and PurePosixPath(i.filename).name not in skip_names][:MAX_FILES]
        for info in sorted(code, key=lambda i: i.filename):
            if info.file_size > MAX_FILE_BYTES:
                continue
            with archive.open(info) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]  # a lying header cannot inflate this
            name = PurePosixPath(info.filename).name
            if name.lower().endswith(".ipynb"):
                try:
                    units += units_of_notebook(name, data)
                except (ValueError, RecursionError):
                    continue  # not a notebook: nothing to compare
            else:
                units.append(Unit(name, data.decode("utf-8", errors="replace")))
    return units


def fingerprint_units(units: list[Unit], ignored: set[int]) -> dict[int, list[tuple[int, int, int]]]:
    prints: dict[int, list[tuple[int, int, int]]] = {}
    for index, unit in enumerate(units):
        for value, first, last in fingerprints(normalise(unit.source)):
            if value not in ignored:
                prints.setdefault(value, []).append((index, first, last))
    return prints


def template_prints(rubric: Rubric) -> set[int]:
    """The fingerprints of the code every student was given: the template notebooks and starter files."""
    units: list[Unit] = []
    for notebook in rubric.notebooks.values():
        if notebook.template is not None:
            units += units_of_notebook(notebook.template.name, notebook.template.read_bytes())
        units += [Unit(path.name, path.read_text(encoding="utf-8", errors="replace")) for path in notebook.starter_files]
    return set(fingerprint_units(units, set()))


def starter_names(rubric: Rubric) -> set[str]:
    return {path.name for notebook in rubric.notebooks.values() for path in notebook.starter_files}


def read_document(key: str, label: str, zip_path: Path, template: set[int], starters: set[str]) -> Document:
    """A submission's code units and their fingerprints, minus the template's; ``starters`` are the
    course's own file names, not read."""
    document = Document(key, label, zip_path.name)
    try:
        document.units = read_units(zip_path, starters)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        document.problem = f"{zip_path.name}: cannot be read ({type(exc).__name__}: {exc})"[:300]
        return document
    document.prints = fingerprint_units(document.units, template)
    if not document.units:
        document.problem = f"{zip_path.name}: no notebook or Python file"
    return document


def read_class(entries, rubric: Rubric, advance=lambda: None) -> list[Document]:
    """One Document per counted submission (``batch.inbox`` entries: a student's latest)."""
    template, starters = template_prints(rubric), starter_names(rubric)
    documents = []
    for entry in entries:
        name = " ".join(p for p in (entry.student.first, entry.student.last) if p)
        label = f"{name} ({entry.student.student_id})" if name and entry.student.student_id else name or entry.name
        documents.append(read_document(entry.student_key, label, entry.path, template, starters))
        advance()
    return documents
