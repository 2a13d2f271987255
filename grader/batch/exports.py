"""The class's grades as tables: ``gradebook.csv`` for people (every item, pending manual items written
``pending``), and the grade-import files of learning platforms.  All are rebuilt from the course
database, in UTF-8 with a byte-order mark so that a spreadsheet shows Persian names as they are.

Canvas (Grades → Import) matches a row by ``Student``, ``ID`` or ``SIS User ID`` and reads one column per
assignment, titled as the assignment is; a blank cell changes nothing.  Moodle (Grades → Import → CSV
file) lets the teacher map one column to the user's ``ID number`` and another to a grade item.  A
student whose manual items are not all graded gets a blank cell on both, never a partial total that
would read as final.
"""
from __future__ import annotations

import csv
import io

from ..report.text import spreadsheet_cell
from .gradebook import final_of, status_of

BOM = "\ufeff"
PLATFORMS = ("canvas", "moodle")


def table(rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    return BOM + buffer.getvalue()


def gradebook_rows(item_ids: list[str], keyed_reports: list[tuple[str, dict]]) -> list[list]:
    """One row per student: the same rows however many runs it took."""
    header = ["student_key", "student_id", "first", "last", "file", "submitted_at", "time_source", "superseded",
              *item_ids, "auto_total", "manual_pending", "max", "late_days", "free_days_used", "penalty_percent",
              "final", "status"]
    rows = [header]
    for student_key, report in keyed_reports:
        items = {item["id"]: item for item in report["items"]}
        late, student, total = report.get("late", {}), report["student"], report["total"]
        rows.append([
            *(spreadsheet_cell(str(cell)) for cell in (  # names and files come from students
                student_key, student.get("student_id") or "", student.get("first") or "", student.get("last") or "",
                report["submission"]["file"], report.get("submitted_at") or "", report.get("time_source") or "",
                " ".join(report.get("superseded", [])))),
            *[_item_cell(items.get(i)) for i in item_ids],
            f"{total['score'] - _manual_score(report):g}", f"{total['manual_pending']:g}", f"{total['max']:g}",
            *((late.get("days_late", 0), late.get("free_days_used", 0), f"{late.get('penalty_percent', 0):g}")
              if late.get("assessed", True) else ("not assessed", "", "")),
            f"{final_of(report):g}", status_of(report)])
    return rows


def platform_rows(platform: str, title: str, keyed_reports: list[tuple[str, dict]]) -> tuple[list[list], int]:
    """The platform's import table, and how many students were left blank because a TA still has to grade
    some of their items."""
    if platform == "canvas":
        rows = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title]]
    else:
        rows = [["ID number", "First name", "Last name", title, "Feedback"]]
    blank = 0
    for student_key, report in keyed_reports:
        student, total = report["student"], report["total"]
        pending = total["manual_pending"] > 0 or bool(report.get("error"))
        blank += pending
        score = "" if pending else f"{final_of(report):g}"
        first, last = student.get("first") or "", student.get("last") or ""
        identity = student.get("student_id") or student_key
        note = (f"{total['manual_pending']:g} points wait for a TA" if total["manual_pending"] > 0
                else "not graded: " + str(report.get("error"))[:200] if report.get("error") else "")
        if platform == "canvas":
            name = f"{last}, {first}" if last and first else last or first or student_key
            rows.append([spreadsheet_cell(cell) for cell in (name, "", identity, "", "")] + [score])
        else:
            rows.append([spreadsheet_cell(cell) for cell in (identity, first, last)] + [score, spreadsheet_cell(note)])
    return rows, blank


def _item_cell(item: dict | None) -> str:
    if item is None:
        return ""
    return "pending" if item["status"] == "manual" else f"{item['score']:g}"


def _manual_score(report: dict) -> float:
    return sum(item["score"] for item in report["items"] if item["kind"] == "manual")
