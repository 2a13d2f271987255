"""The report for a person at a terminal, with rich.  Student text is shown inert: it is passed as
plain ``Text`` (never as markup) after control characters are removed."""
from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from .i18n import LRI, PDI, labels
from .model import Report
from .text import clean, item_points, points

STYLE = {"passed": "green", "partial": "yellow", "failed": "red", "error": "bold red", "manual": "cyan",
         "skipped": "dim", "grader_error": "bold magenta"}


def inert(text: str | None, limit: int = 400) -> Text:
    # terminals do not lay out bidirectional text; the isolates that keep numbers LTR in a page show as boxes
    return Text(clean((text or "").replace("\n", " ").replace(LRI, "").replace(PDI, ""), limit))


def build(report: Report) -> Group:
    words = labels(report.language)
    student = report.student
    name = " ".join(p for p in (student.first, student.last) if p) or words["unknown_student"]
    header = Text.assemble((f"{report.assignment.get('title', report.assignment.get('id'))}", "bold"), "\n",
                           inert(f"{name}  {student.student_id or ''}  ·  {report.submission.file}"))
    parts = [header]
    if report.grader_error:
        parts.append(Text.assemble((f"{words['grader_fault']}: ", "bold magenta"), inert(report.grader_error["cause"], 1000),
                                   "\n", (f"{words['fix']}: ", "bold"), inert(report.grader_error["fix"], 1000)))
    if report.error:
        parts.append(Text.assemble((f"{words['unreadable']}: ", "bold red"), inert(report.error)))
    for warning in report.warnings:
        parts.append(Text.assemble((f"{words['warning']}: ", "yellow"), inert(warning)))
    for notebook in report.notebooks:
        if notebook.problem:
            parts.append(Text.assemble((f"{words['notebook']} {notebook.name}: ", "red"), inert(notebook.problem)))
        for error in notebook.errors:
            parts.append(Text.assemble((f"{notebook.name} {words['cell']} {error.cell}: ", "yellow"),
                                       inert(error.error, 200)))
    table = Table(show_lines=False, expand=False)
    table.add_column(words["item"])
    table.add_column(words["points"], justify="right")
    table.add_column(words["status"])
    table.add_column(words["feedback"], overflow="fold")
    for item in report.items:
        label = Text(item.id)
        if item.visibility == "hidden":
            label.append(f" ({words['hidden']})", style="dim")
        table.add_row(label, item_points(item),
                      Text(words.get(item.status, item.status), style=STYLE.get(item.status, "")), inert(item.feedback))
    parts.append(table)
    total = report.total
    if report.grader_error:
        parts.append(Text(f"{words['total']}: {words['grader_error']}", style="bold magenta"))
        return Group(*parts)
    pending = "  (" + words["pending"].format(points=points(total.manual_pending)) + ")" if total.manual_pending else ""
    parts.append(Text(f"{words['total']}: {points(total.score)} / {points(total.max)}  ({total.percent:.1f} %){pending}",
                      style="bold"))
    return Group(*parts)


def render(report: Report, console: Console | None = None) -> None:
    (console or Console()).print(build(report))
