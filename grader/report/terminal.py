"""The report for a person at a terminal, with rich.  Student text is shown inert: it is passed as
plain ``Text`` (never as markup) after control characters are removed."""
from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .model import Report
from .text import clean, points

STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "bold red", "manual": "cyan",
         "skipped": "dim"}


def inert(text: str | None, limit: int = 400) -> Text:
    return Text(clean((text or "").replace("\n", " "), limit))


def build(report: Report) -> Group:
    student = report.student
    name = " ".join(p for p in (student.first, student.last) if p) or "unknown student"
    header = Text.assemble((f"{report.assignment.get('title', report.assignment.get('id'))}", "bold"), "\n",
                           inert(f"{name}  {student.student_id or ''}  ·  {report.submission.file}"))
    parts = [header]
    if report.error:
        parts.append(Text.assemble(("Submission could not be graded: ", "bold red"), inert(report.error)))
    for warning in report.warnings:
        parts.append(Text.assemble(("warning: ", "yellow"), inert(warning)))
    for notebook in report.notebooks:
        if notebook.problem:
            parts.append(Text.assemble((f"notebook {notebook.name}: ", "red"), inert(notebook.problem)))
        for error in notebook.errors:
            parts.append(Text.assemble((f"{notebook.name} cell {error.cell}: ", "yellow"), inert(error.error, 200)))
    table = Table(show_lines=False, expand=False)
    table.add_column("item")
    table.add_column("points", justify="right")
    table.add_column("status")
    table.add_column("feedback", overflow="fold")
    for item in report.items:
        label = Text(item.id)
        if item.visibility == "hidden":
            label.append(" (hidden)", style="dim")
        table.add_row(label, f"{points(item.score)}/{points(item.points)}",
                      Text(item.status, style=STYLE.get(item.status, "")), inert(item.feedback))
    parts.append(table)
    total = report.total
    pending = f"  (+{points(total.manual_pending)} pending manual grading)" if total.manual_pending else ""
    parts.append(Text(f"Total: {points(total.score)} / {points(total.max)}  ({total.percent:.1f} %){pending}",
                      style="bold"))
    return Group(*parts)


def render(report: Report, console: Console | None = None) -> None:
    (console or Console()).print(build(report))
