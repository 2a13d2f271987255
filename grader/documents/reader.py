"""Read a student's document into lines and page images, without trusting it.

PDFs, photos and ``.docx`` files are parsed by C code (PDFium, libjpeg, zlib, expat), so they are read
by ``reader_source.py`` in the sandbox that student kernels run in, under ``DocumentLimits``: pages,
pixels (a decompression bomb is refused from its header), wall time, memory and the size of what comes
back.  What comes back is re-validated here: the JSON's shape and sizes, and each page image's name,
size and PNG signature.  A document that hits a limit, crashes its reader or cannot be parsed is that
submission's problem, with the reason, and costs no other submission anything.

Plain-text documents (Markdown, LaTeX, text, a notebook's markdown cells) are decoded here: nothing but
UTF-8 and JSON parses them.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..execution import sandbox
from ..execution.limits import Limits
from ..faults import GraderFault
from .kinds import kind_of

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CRASHED = "cannot be read: its reader did not answer"
READER_SOURCE = resources.files(__package__).joinpath("reader_source.py").read_text()


@dataclass(frozen=True)
class DocumentLimits:
    pages: int = 60                 # of one PDF
    pixels: int = 40_000_000        # of one image, declared or rendered
    timeout_s: float = 60.0         # to read (and render) one document
    memory_mb: int = 2048           # of its reader
    output_mb: int = 64             # text and page images that come back
    text_bytes: int = 4 * 2**20     # of a plain-text document

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Page:
    number: int          # 1-based, across all of a submission's documents
    file: str            # the document it is a page of
    page_in_file: int
    image: Path | None   # the rendered PNG, when pages were rendered
    text_layer: bool


@dataclass
class ReadDocument:
    file: str
    kind: str                          # pdf | image | docx | text | notebook
    lines: list[tuple[str, int, float | None, float | None]] = field(default_factory=list)  # text, page, top, bottom
    pages: list[Page] = field(default_factory=list)
    problem: str | None = None


def read(path: Path, shown_name: str, first_page: int, out_dir: Path | None, protections: sandbox.Protections,
         limits: DocumentLimits = DocumentLimits()) -> ReadDocument:
    """The document's lines and pages, numbered from ``first_page``; page images into ``out_dir`` when given."""
    kind = kind_of(path.name)
    document = ReadDocument(shown_name, kind or "unknown")
    if kind == "text":
        return _read_text(path, document, first_page, limits)
    if kind == "notebook":
        return _read_notebook(path, document, first_page, limits)
    if kind is None:
        document.problem = "not a kind of document the grader reads"
        return document
    raw, problem = _run_reader(path, out_dir, protections, limits)
    if problem and problem.startswith(CRASHED):
        _machine_can_read(protections, limits)  # a reader that crashes on a blank page too is the machine's fault
    if problem:
        document.problem = problem
        return document
    return _accept(raw, document, first_page, out_dir, limits)


def _machine_can_read(protections: sandbox.Protections, limits: DocumentLimits) -> None:
    """Read a blank one-page PDF made here; ``GraderFault`` when even that fails: no student is blamed for a
    reader that cannot run on this machine (a broken sandbox, a missing pypdfium2)."""
    with tempfile.TemporaryDirectory(prefix="dlgrade-doc-check-") as folder:
        blank = Path(folder, "blank.pdf")
        try:
            import pypdfium2

            made = pypdfium2.PdfDocument.new()
            made.new_page(200, 200)
            made.save(str(blank))
        except Exception as exc:  # pypdfium2 missing or broken: nothing can be read
            raise GraderFault(f"the document reader cannot run: {type(exc).__name__}: {exc}",
                              "install dlgrade's dependencies (pip install dlgrade), then grade again") from None
        _, problem = _run_reader(blank, None, protections, limits)
    if problem:
        raise GraderFault(f"the document reader cannot read even a blank page on this machine: {problem}",
                          "run 'grade doctor' to see the sandbox's state, fix it, then grade again")


def _read_text(path: Path, document: ReadDocument, first_page: int, limits: DocumentLimits) -> ReadDocument:
    if path.stat().st_size > limits.text_bytes:
        document.problem = f"larger than {limits.text_bytes // 2**20} MiB"
        return document
    text = path.read_bytes().decode("utf-8", errors="replace")
    document.lines = [(line, 0, None, None) for line in text.splitlines()]
    return document


def _read_notebook(path: Path, document: ReadDocument, first_page: int, limits: DocumentLimits) -> ReadDocument:
    """The notebook's markdown cells, where students write their theory answers."""
    if path.stat().st_size > limits.text_bytes * 8:
        document.problem = f"larger than {limits.text_bytes * 8 // 2**20} MiB"
        return document
    try:
        cells = json.loads(path.read_bytes()).get("cells", [])
    except (ValueError, AttributeError, RecursionError):
        document.problem = "not a notebook (its JSON cannot be read)"
        return document
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "markdown":
            source = cell.get("source")
            text = "".join(s for s in source if isinstance(s, str)) if isinstance(source, list) else source
            if isinstance(text, str):
                document.lines += [(line, 0, None, None) for line in text.splitlines()]
    return document


def _run_reader(path: Path, out_dir: Path | None, protections: sandbox.Protections,
                limits: DocumentLimits) -> tuple[dict | None, str | None]:
    """Run ``reader_source.py`` on a copy of the document in the sandbox; (its JSON, or why there is none)."""
    with tempfile.TemporaryDirectory(prefix="dlgrade-doc-") as folder:
        workspace, output = Path(folder, "in"), Path(folder, "out")
        workspace.mkdir()
        output.mkdir()
        document = workspace / ("document" + path.suffix.lower())
        shutil.copyfile(path, document)
        (workspace / "reader.py").write_text(READER_SOURCE)
        reader_limits = Limits(memory_mb=limits.memory_mb, processes=16, cpu_s=limits.timeout_s,
                               file_size_mb=limits.output_mb, disk_mb=limits.output_mb + 64)
        uid = sandbox.kernel_uid()
        sandbox.prepare_host_paths(workspace, output, protections, uid)
        command = [sys.executable, "-I", str(workspace / "reader.py"), str(document), str(output),
                   str(limits.pages), str(limits.pixels), "1" if out_dir is not None else "0"]
        wrapped = sandbox.wrap(command, workspace=workspace, cwd=workspace, runtime_dir=output, limits=reader_limits,
                               protections=protections, uid=uid)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
        process = subprocess.Popen(wrapped, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                                   start_new_session=True)
        try:
            stdout, _ = process.communicate(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            _kill(process)
            return None, f"reading it took longer than {limits.timeout_s:g} s: refused"
        finally:
            _kill(process)
        if len(stdout) > limits.output_mb * 2**20:
            return None, "its reader produced more text than the limit"
        try:
            raw = json.loads(stdout)
        except (ValueError, RecursionError):
            how = f"the reader was killed by signal {-process.returncode}" if process.returncode < 0 else \
                f"the reader stopped (exit {process.returncode})"
            return None, f"{CRASHED}: {how}, at a limit (memory {limits.memory_mb} MiB) or on a damaged file"
        if not isinstance(raw, dict):
            return None, "cannot be read: its reader answered nonsense"
        if isinstance(raw.get("problem"), str):
            return None, raw["problem"][:300]
        if out_dir is not None:
            raw["_images"] = _collect_images(output, out_dir, limits)
        return raw, None


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()


def _collect_images(output: Path, out_dir: Path, limits: DocumentLimits) -> dict[str, bytes]:
    """The reader's page images, moved out of its folder: plain files only, PNG only, within the limit."""
    images, total = {}, 0
    out_dir.mkdir(parents=True, exist_ok=True)
    for entry in sorted(os.scandir(output), key=lambda e: e.name):
        if not entry.is_file(follow_symlinks=False) or not entry.name.endswith(".png"):
            continue
        size = entry.stat(follow_symlinks=False).st_size
        total += size
        if total > limits.output_mb * 2**20:
            break
        descriptor = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(descriptor, "rb") as handle:
            data = handle.read(size + 1)
        if data.startswith(PNG_SIGNATURE):
            images[entry.name] = data
    return images


def _accept(raw: dict, document: ReadDocument, first_page: int, out_dir: Path | None,
            limits: DocumentLimits) -> ReadDocument:
    pages = raw.get("pages")
    if not isinstance(pages, list) or len(pages) > limits.pages:
        document.problem = "cannot be read: its reader answered nonsense"
        return document
    images = raw.get("_images", {})
    for index, page in enumerate(pages):
        number = first_page + index
        if not isinstance(page, dict):
            continue
        image_name = page.get("image")
        image = None
        if out_dir is not None and isinstance(image_name, str) and image_name in images:
            image = out_dir / f"page-{number}.png"
            image.write_bytes(images[image_name])
        if document.kind != "docx":  # a Word file's text has no pages until Word lays it out
            document.pages.append(Page(number, document.file, index + 1, image, bool(page.get("text_layer"))))
        for line in page.get("lines", [])[:5000] if isinstance(page.get("lines"), list) else []:
            if isinstance(line, list) and len(line) == 3 and isinstance(line[0], str):
                top, bottom = (value if isinstance(value, (int, float)) else None for value in line[1:])
                document.lines.append((line[0][:2000], number if document.kind != "docx" else 0, top, bottom))
    return document
