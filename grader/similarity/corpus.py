"""The code of each submission in a class, read straight from its zip (nothing is unpacked to disk or
run), fingerprinted, with the template's own fingerprints taken away."""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..execution.cells import cell_source, without_magics
from ..execution.runner import MAX_NOTEBOOK_BYTES
from ..rubric import Rubric
from ..submission import JUNK, find_file
from .fingerprint import fingerprints, normalise

MAX_FILE_BYTES = MAX_NOTEBOOK_BYTES   # what grading reads of a notebook is what is compared
MAX_FILES = 200                       # per submission, the graded files first
MAX_TOTAL_BYTES = 256 * 2**20         # per submission


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
    skipped: list[str] = field(default_factory=list)  # code files not compared, and why


def units_of_notebook(name: str, data: bytes) -> list[Unit]:
    document = json.loads(data)
    cells = document.get("cells", []) if isinstance(document, dict) else []
    return [Unit(f"{name}, cell {index}", without_magics(cell_source(cell)))
            for index, cell in enumerate(cells, start=1)
            if isinstance(cell, dict) and cell.get("cell_type") == "code" and cell_source(cell).strip()]


def read_units(zip_path: Path, skip_names: set[str], graded: tuple[tuple[str, ...], ...] = ()) -> tuple[list[Unit], list[str]]:
    """Every code cell of the zip's notebooks and every Python file but the course's starter files, the
    files grading chooses (``graded``: each notebook's patterns) first, so that what is graded is always
    compared, however many files come before it or however large it is; and what was not compared."""
    units: list[Unit] = []
    skipped: list[str] = []
    with zipfile.ZipFile(zip_path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and not any(
            marker in i.filename if marker.endswith("/") else i.filename.endswith(marker) for marker in JUNK)]
        code = {i.filename: i for i in infos if i.filename.lower().endswith((".ipynb", ".py"))
                and PurePosixPath(i.filename).name not in skip_names}
        chosen = [name for patterns in graded for name in [find_file(list(code), patterns)[0]] if name]
        order = list(dict.fromkeys(chosen + sorted(code)))
        if len(order) > MAX_FILES:
            skipped.append(f"{len(order) - MAX_FILES} more code files (the first {MAX_FILES} are compared)")
        left = MAX_TOTAL_BYTES
        for name in order[:MAX_FILES]:
            info = code[name]
            if info.file_size > min(MAX_FILE_BYTES, left):
                skipped.append(f"{name}: {info.file_size / 2**20:.0f} MiB, more than the "
                               f"{min(MAX_FILE_BYTES, left) / 2**20:.0f} MiB read")
                continue
            with archive.open(info) as handle:
                data = handle.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]  # a lying header cannot inflate this
            left -= len(data)
            short = PurePosixPath(name).name
            if short.lower().endswith(".ipynb"):
                try:
                    units += units_of_notebook(short, data)
                except (ValueError, RecursionError):
                    skipped.append(f"{name}: not a notebook (invalid JSON)")
            else:
                units.append(Unit(short, data.decode("utf-8", errors="replace")))
    return units, skipped


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


def read_document(key: str, label: str, zip_path: Path, template: set[int], starters: set[str],
                  graded: tuple[tuple[str, ...], ...] = ()) -> Document:
    """A submission's code units and their fingerprints, minus the template's; ``starters`` are the
    course's own file names, not read; ``graded``, the notebooks' patterns, are read first."""
    document = Document(key, label, zip_path.name)
    try:
        document.units, document.skipped = read_units(zip_path, starters, graded)
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
    graded = tuple(notebook.match for notebook in rubric.notebooks.values())
    documents = []
    for entry in entries:
        name = " ".join(p for p in (entry.student.first, entry.student.last) if p)
        label = f"{name} ({entry.student.student_id})" if name and entry.student.student_id else name or entry.name
        documents.append(read_document(entry.student_key, label, entry.path, template, starters, graded))
        advance()
    return documents
