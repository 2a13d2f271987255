"""The Report: the one serialisable result of grading a submission.  Renderers read only this."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1
# error: the student's code raised, hung, crashed or is missing; grader_error: the grading system failed
# (``grader.faults``) and the item has no score at all
STATUSES = ("passed", "partial", "failed", "error", "manual", "skipped", "grader_error")


@dataclass
class Student:
    first: str | None = None
    last: str | None = None
    student_id: str | None = None


@dataclass
class SubmissionInfo:
    file: str
    sha256: str | None = None
    size_bytes: int | None = None


@dataclass
class GraderInfo:
    version: str
    rubric_id: str
    rubric_sha256: str


@dataclass
class ItemResult:
    id: str
    title: str
    kind: str
    visibility: str
    points: float
    score: float
    status: str
    feedback: str
    notebook: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0


@dataclass
class CellErrorInfo:
    cell: int
    error: str


@dataclass
class NotebookResult:
    name: str
    path: str | None
    mode: str
    duration_s: float = 0.0
    errors: list[CellErrorInfo] = field(default_factory=list)
    kernel_restarts: int = 0
    timed_out: bool = False
    problem: str | None = None  # the notebook was not found or could not be run at all


@dataclass
class DocumentInfo:
    """A document the theory answers were read from: a PDF, a photo, a .docx, a Markdown or LaTeX file."""

    file: str
    kind: str                      # pdf | image | docx | text | notebook
    first_page: int = 0            # its pages' numbers in the submission, first_page … first_page + pages - 1
    pages: int = 0                 # 0 for a document without pages (.docx, .md, .tex)
    text_layer: bool = False       # its answers could be read (a scan or a photo has no text to read)
    problem: str | None = None     # why it could not be read (a limit, a damaged file)


@dataclass
class Total:
    score: float
    max: float
    manual_pending: float = 0.0

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max if self.max else 100.0


@dataclass
class Report:
    assignment: dict[str, str]
    student: Student
    submission: SubmissionInfo
    grader: GraderInfo
    items: list[ItemResult]
    total: Total
    notebooks: list[NotebookResult]
    limits: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    sandbox: dict[str, Any] = field(default_factory=dict)  # the protections in force (execution.sandbox)
    error: str | None = None  # the submission could not be read at all
    grader_error: dict[str, str] | None = None  # {cause, fix}: a fault of the grader; the report is no grade
    started_at: str = ""
    duration_s: float = 0.0
    language: str = "en"  # of the feedback and headings (``report.i18n``)
    documents: list[DocumentInfo] = field(default_factory=list)  # what theory answers were read from
    schema_version: int = SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Report":
        """A report read back from its JSON (a batch's database or reports folder); what a batch adds
        beside the report's own fields (lateness, earlier uploads) is left out."""
        def known(kind, values: dict) -> dict:
            return {key: value for key, value in values.items() if key in kind.__dataclass_fields__}

        return cls(**{**known(cls, data),
                      "student": Student(**known(Student, data.get("student", {}))),
                      "submission": SubmissionInfo(**known(SubmissionInfo, data["submission"])),
                      "grader": GraderInfo(**known(GraderInfo, data["grader"])),
                      "items": [ItemResult(**known(ItemResult, item)) for item in data["items"]],
                      "total": Total(**known(Total, data["total"])),
                      "notebooks": [NotebookResult(**{**known(NotebookResult, notebook), "errors": [
                          CellErrorInfo(**known(CellErrorInfo, e)) for e in notebook.get("errors", [])]})
                          for notebook in data.get("notebooks", [])],
                      "documents": [DocumentInfo(**known(DocumentInfo, d)) for d in data.get("documents", [])]})


def totals(items: list[ItemResult]) -> Total:
    score = round(sum(item.score for item in items), 6)
    manual = sum(item.points for item in items if item.status == "manual")
    return Total(score=score, max=sum(item.points for item in items), manual_pending=manual)
