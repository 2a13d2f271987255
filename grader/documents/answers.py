"""A submission's theory answers, found in the documents the student handed in.

The documents are read (``reader``), their text normalised (``text``: presentation forms, visual order,
digits), and each rubric item's answer placed by the labels students write (``placement``).  A student
may also say which pages answer which question, in a ``pages.txt`` beside the documents or on a line of
the document (``placement.read_page_declaration``): a scan or a photo has no text to find labels in.

What was found is graded by the same checks as the answers file, but as a *proposal* a TA confirms
(``as_proposal``): the report says where it was read.  What was not found is never a 0: the item is
pending for a TA, with the student's pages (``not_found``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..report.model import DocumentInfo, ItemResult
from ..theory.answers import Answer
from . import placement, reader, text
from .kinds import kind_of

DECLARATION_FILES = ("pages.txt", "pages.md")
MAX_DOCUMENTS = 40
SNIPPET = 160


@dataclass
class FromDocuments:
    answers: dict[str, Answer] = field(default_factory=dict)  # item id → the answer found, with its source
    documents: list[DocumentInfo] = field(default_factory=list)
    pages: list[reader.Page] = field(default_factory=list)
    unplaced: dict[str, list[int]] = field(default_factory=dict)  # item id → the pages a TA looks at
    warnings: list[str] = field(default_factory=list)


def natural_key(path: str) -> list:
    """page2.jpg before page10.jpg: the order a person numbers photos in."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", path)]


def theory_documents(files: list[str], taken: set[str]) -> list[str]:
    """The submission's documents that are not already something else (a graded notebook, the answers
    file, a page declaration), in the order a person reads them."""
    chosen = [f for f in files if kind_of(f) and f not in taken
              and PurePosixPath(f).name.lower() not in DECLARATION_FILES]
    return sorted(chosen, key=natural_key)


def read_answers(workspace: Path, files: list[str], documents: list[str], items: list, manual_ids: set[str],
                 pages_dir: Path | None, protections, limits: reader.DocumentLimits = reader.DocumentLimits()
                 ) -> FromDocuments:
    """Every item's answer that the documents hold; ``items`` are the rubric's items answered in writing."""
    found = FromDocuments()
    lines: list[placement.Line] = []
    next_page = 1
    for name in documents[:MAX_DOCUMENTS]:
        document = reader.read(workspace.joinpath(*PurePosixPath(name).parts), name, next_page, pages_dir,
                               protections, limits)
        found.pages += document.pages
        next_page += len(document.pages)
        first = document.pages[0].number if document.pages else 0
        found.documents.append(DocumentInfo(name, document.kind, first, len(document.pages),
                                            bool(document.lines) and any(t.strip() for t, *_ in document.lines),
                                            document.problem))
        if document.problem:
            found.warnings.append(f"{name}: {document.problem}")
            continue
        # visual order first: a lam-alef ligature is one glyph only until normalising splits it
        fixed = [text.normalise(line) for line in text.logical_order([line for line, *_ in document.lines])]
        lines += [placement.Line(line, page, top, bottom) for line, (_, page, top, bottom) in zip(fixed, document.lines)]
    if len(documents) > MAX_DOCUMENTS:
        found.warnings.append(f"{len(documents)} documents; the first {MAX_DOCUMENTS} were read")
    ids = [item.id for item in items]
    placed = placement.place(lines, [(item.id, item.labels) for item in items], frozenset(manual_ids))
    found.warnings += placed.warnings
    declared, problems = _declared_pages(workspace, files, ids)
    declared = {**placed.declared_pages, **declared}
    found.warnings += problems
    every_page = [page.number for page in found.pages]
    for item_id in ids:
        answer = placed.answers.get(item_id)
        if answer is not None and answer.lines:
            found.answers[item_id] = Answer(item_id, unwrapped([line.text for line in answer.lines]), 0,
                                            source=_source(answer, found.pages))
        else:
            found.unplaced[item_id] = declared.get(item_id) or every_page
    return found


CONTINUES = re.compile(r"[-+*/@=(\[{,^_×·⋅−]\s*$")
CONTINUED = re.compile(r"^\s*[-+*/@=)\]}×·⋅−]")


def unwrapped(lines: list[str]) -> list[str]:
    """A formula a page wrapped onto two lines is one line again: a line that ends in an operator, or is
    followed by one that starts with one (the readers take an answer's last line)."""
    joined: list[str] = []
    for line in lines:
        if joined and (CONTINUES.search(joined[-1]) or CONTINUED.match(line)):
            joined[-1] = f"{joined[-1].rstrip()} {line.strip()}"
        else:
            joined.append(line)
    return joined


def _declared_pages(workspace: Path, files: list[str], ids: list[str]) -> tuple[dict, list[str]]:
    """A ``pages.txt`` beside the documents (the lines of the document that say the same are read by
    ``placement.place``)."""
    declaration = next((f for f in files if PurePosixPath(f).name.lower() in DECLARATION_FILES), None)
    if declaration is None:
        return {}, []
    path = workspace.joinpath(*PurePosixPath(declaration).parts)
    if path.stat().st_size > 64 * 1024:
        return {}, [f"{declaration} is larger than 64 KiB: not read"]
    return placement.read_page_declaration(text.normalise(path.read_text("utf-8", errors="replace")), ids)


def _source(answer: "placement.Placed", pages: list[reader.Page]) -> dict:
    by_number = {page.number: page for page in pages}
    first = answer.pages[0] if answer.pages else 0
    page = by_number.get(first)
    region = answer.region(first) if first else None
    return {"file": page.file if page else None, "page": first or None,
            "page_in_file": page.page_in_file if page else None, "pages": answer.pages, "label": answer.label,
            "region": list(region) if region and None not in region else None}


def where(source: dict) -> str:
    """'answers.pdf, page 3' for the feedback."""
    if not source.get("file"):
        return "the student's document"
    page = f", page {source['page_in_file']}" if source.get("page_in_file") else ""
    return f"{source['file']}{page}"


def as_proposal(result: ItemResult, answer: Answer) -> ItemResult:
    """An automatic verdict on an answer read from a document: pending until a TA confirms it."""
    snippet = " ".join(answer.lines)[:SNIPPET]
    proposal = {"status": result.status, "score": result.score, "feedback": result.feedback,
                "details": result.details}
    feedback = (f"proposed {result.status} ({result.score:g}/{result.points:g}): {result.feedback} — read from "
                f"{where(answer.source)}: “{snippet}”; a TA confirms")
    details = {"pending": True, "answer": "\n".join(answer.lines)[:4000], "source": answer.source,
               "proposal": proposal}
    return ItemResult(result.id, result.title, result.kind, result.visibility, result.points, 0.0, "manual", feedback,
                      result.notebook, details, result.duration_s)


def not_found(item, pages: list[int], documents: list[DocumentInfo], answers_problem: str = "") -> tuple[str, dict]:
    """The feedback and details of an item whose answer was not found in the documents (nor in an answers
    file: ``answers_problem`` says why)."""
    names = ", ".join(d.file for d in documents if not d.problem) or ", ".join(d.file for d in documents)
    readable = any(d.text_layer for d in documents)
    why = "not found in" if readable else "to be read from"
    shown = _page_ranges(pages)
    before = f"{answers_problem}; " if answers_problem else ""
    return (f"{before}{why} {names}{f' (pages {shown})' if shown else ''}: a TA assigns its page and grades it",
            {"pending": True, "answer": None, "pages": pages, "unplaced": True})


def _page_ranges(pages: list[int]) -> str:
    runs: list[list[int]] = []
    for page in sorted(set(pages)):
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    return ", ".join(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)
