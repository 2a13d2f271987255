"""A TA's edits of a batch's reports (``grade manual``) brought into the course database, and the class's
tables rebuilt from it: the gradebook and the files a learning platform imports."""
from __future__ import annotations

import json
from pathlib import Path

from ..report import html_page, json_format, markdown
from ..report.i18n import localize
from ..report.model import Report
from . import exports
from .gradebook import Gradebook
from .run import report_name


class RecordsError(Exception):
    pass


def take_edits(results: Path, book: Gradebook, rubric_id: str) -> list[str]:
    """Store every report in ``results/reports`` that a TA changed since it was recorded; the student keys."""
    changed = []
    for student_key, stored in book.keyed_reports(rubric_id):
        path = results / "reports" / f"{report_name(student_key)}.json"
        try:
            edited = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if edited.get("assignment", {}).get("id") == rubric_id and book.update_report(rubric_id, student_key, edited,
                                                                                      "manual"):
            changed.append(student_key)
    return changed


def only_rubric(book: Gradebook, rubric_id: str | None) -> str:
    known = book.rubric_ids()
    if rubric_id is not None:
        if rubric_id not in known:
            raise RecordsError(f"the database holds no results of '{rubric_id}' (it holds: {', '.join(known) or 'none'})")
        return rubric_id
    if len(known) != 1:
        raise RecordsError(f"the database holds {', '.join(known) or 'no results'}: pass --rubric to choose one")
    return known[0]


def write_tables(results: Path, book: Gradebook, rubric_id: str, platforms: tuple[str, ...] = ()) -> list[str]:
    """``gradebook.csv`` and each platform's import file; one line for the TA per file written."""
    keyed = book.keyed_reports(rubric_id)
    item_ids = [item["id"] for item in keyed[0][1]["items"]] if keyed else []
    json_format.write_atomic(results / "gradebook.csv", exports.table(exports.gradebook_rows(item_ids, keyed)))
    said = [f"{results / 'gradebook.csv'}: {len(keyed)} students"]
    title = keyed[0][1]["assignment"].get("title", rubric_id) if keyed else rubric_id
    for platform in platforms:
        rows, blank = exports.platform_rows(platform, title, keyed)
        path = results / f"{platform}-{rubric_id}.csv"
        json_format.write_atomic(path, exports.table(rows))
        said.append(f"{path}: {len(rows) - 1} students" + (f", {blank} left blank (manual items pending or not "
                                                            "graded: the platform keeps what it has)" if blank else ""))
    return said


FEEDBACK = {"html": (".html", html_page.render), "md": (".md", markdown.render)}


def write_feedback(results: Path, book: Gradebook, rubric_id: str, formats: tuple[str, ...], language: str,
                   rubric=None) -> list[str]:
    """Each student's page beside their report (``reports/STUDENT.html``, ``.md``), ready to send back."""
    written = 0
    for student_key, stored in book.keyed_reports(rubric_id):
        report = localize(Report.from_dict(stored), language, rubric)
        late = stored.get("late", {})
        if late.get("assessed") and (late.get("penalty_percent") or late.get("refused")):
            report.warnings.append(f"late: {late.get('days_late', 0)} days, {late.get('penalty_percent', 0):g} % penalty"
                                   f"{' (refused)' if late.get('refused') else ''}; final score {late['final']:g}")
        for name in formats:
            suffix, render = FEEDBACK[name]
            json_format.write_atomic(results / "reports" / f"{report_name(student_key)}{suffix}", render(report))
        written += 1
    return [f"{results / 'reports'}: {written} feedback pages ({', '.join(formats)}, {language})"] if formats else []


def report_in_results(report_path: Path) -> Path | None:
    """The batch's results folder when ``report_path`` is one of its reports."""
    folder = report_path.resolve().parent
    return folder.parent if folder.name == "reports" and (folder.parent / "gradebook.sqlite").is_file() else None
