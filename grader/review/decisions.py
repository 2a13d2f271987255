"""The manual grading of a class, kept in the course database beside the batch's results.

A rubric of reusable comments per item (``review_comments``: text and signed points) and one mark per
student and item (``review_marks``: the comments applied and an adjustment).  An item's points are the
sum of its comments' points and the adjustment, kept within the item's range.  Every change is a row of
``review_history`` with who made it and when; editing a comment re-marks every student it was applied
to.  A mark is carried into the student's report (``report.manual``: so a regrade of the automatic items
keeps it), into the database's current results and into ``gradebook.csv``.

Each write is one ``BEGIN IMMEDIATE`` transaction that re-reads what it changes, so two TAs grading at
once, in one app or in two, never lose each other's work.
"""
from __future__ import annotations

import contextlib
import functools
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from ..batch import records
from ..batch.exports import PLATFORMS
from ..batch.gradebook import Gradebook
from ..batch.run import report_name
from ..report import json_format, manual
from .groups import group_answers

SCHEMA = """
CREATE TABLE IF NOT EXISTS review_comments (rubric_id TEXT, item_id TEXT, comment_id INTEGER, text TEXT, points REAL,
    PRIMARY KEY (rubric_id, item_id, comment_id));
CREATE TABLE IF NOT EXISTS review_marks (rubric_id TEXT, item_id TEXT, student_key TEXT, comment_ids TEXT,
    adjustment REAL, reason TEXT, grader TEXT, at TEXT, PRIMARY KEY (rubric_id, item_id, student_key));
CREATE TABLE IF NOT EXISTS review_history (rubric_id TEXT, item_id TEXT, student_key TEXT, what TEXT, grader TEXT,
    at TEXT);
CREATE TABLE IF NOT EXISTS review_pages (rubric_id TEXT, item_id TEXT, student_key TEXT, pages TEXT, grader TEXT,
    at TEXT, PRIMARY KEY (rubric_id, item_id, student_key));
"""


MAX_PAGES_SHOWN = 12  # of one student's answer to one item


class ReviewError(Exception):
    pass


@functools.lru_cache(maxsize=8)
def _rubric_texts(rubric_id: str) -> dict[str, dict]:
    """Each item's question text and the rubric's guidance or reference answer, when the rubric can be
    loaded by its id (a bundled one); loaded once, since a rubric may derive values with torch."""
    try:
        from ..rubric import load

        rubric = load(rubric_id)
    except Exception:  # a course's own rubric elsewhere: the page shows the groups without it
        return {}
    texts = {}
    for item in rubric.items:
        config = item.config if isinstance(item.config, dict) else {}
        guidance = config.get("guidance") or config.get("reference") or ""
        texts[item.id] = {"description": item.description, "guidance": str(guidance)}
    return texts


def _verdict_text(entry: dict) -> str:
    """What an automatic item's answers are grouped by: the verdict, or the verdict proposed."""
    proposal = entry.get("proposal")
    if isinstance(proposal, dict) and entry["status"] == "manual":
        return f"proposed {proposal.get('status')} {proposal.get('score', 0):g} {proposal.get('feedback')}"
    return f"{entry['status']} {entry['score']:g} {entry['feedback']}"


@dataclass
class Comment:
    id: int
    text: str
    points: float


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Review:
    """One assignment's manual grading in ``results`` (the folder of a ``grade batch``)."""

    def __init__(self, results: Path, rubric_id: str | None = None):
        if not (results / "gradebook.sqlite").is_file():
            raise ReviewError(f"{results} holds no gradebook.sqlite: give the --out folder of a 'grade batch'")
        self.results = results
        self.book = Gradebook(results / "gradebook.sqlite")
        self.book.connection.executescript(SCHEMA)
        try:
            self.rubric_id = records.only_rubric(self.book, rubric_id)
        except records.RecordsError as exc:
            self.book.close()
            raise ReviewError(str(exc)) from None

    def close(self) -> None:
        self.book.close()

    # --- reading ---------------------------------------------------------------------------------------

    def reports(self) -> dict[str, dict]:
        return dict(self.book.keyed_reports(self.rubric_id))

    def items(self) -> list[dict]:
        """The items a TA grades (manual ones) with how many answers wait, and the automatic ones for reference."""
        reports = self.reports()
        first = next(iter(reports.values()), {"items": []})
        out = []
        for item in first["items"]:
            states = [next(i for i in report["items"] if i["id"] == item["id"]) for report in reports.values()]
            out.append({"id": item["id"], "title": item["title"], "kind": item["kind"], "points": item["points"],
                        "students": len(states), "remaining": sum(s["status"] == "manual" for s in states)})
        return out

    def comments(self, item_id: str) -> list[Comment]:
        rows = self.book.connection.execute(
            "SELECT comment_id, text, points FROM review_comments WHERE rubric_id = ? AND item_id = ? ORDER BY comment_id",
            (self.rubric_id, item_id)).fetchall()
        return [Comment(*row) for row in rows]

    def item_view(self, item_id: str) -> dict:
        """Every student's answer to one item, in answer groups (largest first), with their marks."""
        reports = self.reports()
        marks = {row[0]: row for row in self.book.connection.execute(
            "SELECT student_key, comment_ids, adjustment, reason, grader, at FROM review_marks "
            "WHERE rubric_id = ? AND item_id = ?", (self.rubric_id, item_id))}
        assigned = self.assigned_pages(item_id)
        entries, answers = {}, {}
        for key, report in reports.items():
            item = next((i for i in report["items"] if i["id"] == item_id), None)
            if item is None:
                raise ReviewError(f"no item '{item_id}' in {self.rubric_id}")
            answer = item.get("details", {}).get("answer")
            answers[key] = answer if isinstance(answer, str) else ""
            student = report["student"]
            mark = marks.get(key)
            entries[key] = {"key": key, "name": " ".join(p for p in (student.get("first"), student.get("last")) if p),
                            "answer": answers[key], "status": item["status"], "score": item["score"],
                            "feedback": item["feedback"], "automatic": item["kind"] != "manual",
                            "comment_ids": json.loads(mark[1]) if mark else [], "adjustment": mark[2] if mark else 0.0,
                            "reason": mark[3] if mark else "", "graded_by": mark[4] if mark else None,
                            "evidence": self._evidence(key, item.get("notebook")),
                            **self._document_evidence(key, report, item, assigned.get(key))}
        first = next(iter(reports.values()))
        item = next(i for i in first["items"] if i["id"] == item_id)
        # answers not found in a document have nothing to group by: each is a TA's to place and read alone
        alone = [[key] for key, entry in entries.items() if entry["unplaced"]]
        grouped = {key: entry for key, entry in entries.items() if not entry["unplaced"]}
        if item["kind"] == "manual":
            groups = group_answers({key: answers[key] for key in grouped})
        else:  # the engine already decided (or proposed): equivalent expressions or one convention's number
            groups = group_answers({key: _verdict_text(entry) for key, entry in grouped.items()}, near=False)
        rubric_item = self._rubric_item(item_id)
        return {"item": {"id": item_id, "title": item["title"], "kind": item["kind"], "points": item["points"],
                         "question": rubric_item.get("description", ""), "guidance": rubric_item.get("guidance", "")},
                "comments": [comment.__dict__ for comment in self.comments(item_id)],
                "groups": [[entries[key] for key in group] for group in groups + sorted(alone)]}

    def _rubric_item(self, item_id: str) -> dict:
        return _rubric_texts(self.rubric_id).get(item_id, {})

    def assigned_pages(self, item_id: str) -> dict[str, list[int]]:
        return {key: json.loads(pages) for key, pages in self.book.connection.execute(
            "SELECT student_key, pages FROM review_pages WHERE rubric_id = ? AND item_id = ?",
            (self.rubric_id, item_id))}

    def _document_evidence(self, key: str, report: dict, item: dict, assigned: list[int] | None) -> dict:
        """Where the answer was read (file, page, region), the proposal, and the student's pages to show:
        those it was read from or a TA assigned, or every page when it was not found."""
        details = item.get("details", {})
        source = details.get("source") if isinstance(details.get("source"), dict) else None
        documents = {}
        for document in report.get("documents", []):
            for offset in range(document.get("pages") or 0):
                documents[document["first_page"] + offset] = (document["file"], offset + 1)
        unplaced = bool(details.get("unplaced")) and not assigned
        pages = assigned or (source or {}).get("pages") or (sorted(documents) if unplaced else [])
        shown = []
        for number in pages[:MAX_PAGES_SHOWN]:
            image = self.results / "evidence" / report_name(key) / "pages" / f"page-{int(number)}.png"
            file, in_file = documents.get(int(number), ("", 0))
            region = source.get("region") if source and number == source.get("page") and not assigned else None
            shown.append({"number": int(number), "file": file, "page_in_file": in_file, "region": region,
                          "url": f"/evidence/{quote(report_name(key))}/pages/page-{int(number)}.png"
                          if image.is_file() else None})
        return {"source": source, "proposal": details.get("proposal"), "pages": shown, "unplaced": unplaced,
                "assigned": assigned or []}

    def history(self, student_key: str | None = None) -> list[tuple]:
        return self.book.connection.execute(
            "SELECT item_id, student_key, what, grader, at FROM review_history WHERE rubric_id = ? "
            "AND (? IS NULL OR student_key = ?) ORDER BY rowid", (self.rubric_id, student_key, student_key)).fetchall()

    def _evidence(self, student_key: str, notebook: str | None) -> str | None:
        """The address of the student's notebook page (``evidence.py``) for an item tied to a notebook."""
        if not notebook:
            return None
        path = self.results / "evidence" / report_name(student_key) / f"{notebook}.html"
        return f"/evidence/{quote(report_name(student_key))}/{quote(notebook)}.html" if path.is_file() else None

    def evidence_file(self, address: str) -> Path:
        """The file behind an evidence address (a notebook page, a document's page image), never outside
        ``results/evidence``."""
        root = (self.results / "evidence").resolve()
        path = (self.results / address.lstrip("/")).resolve()
        if root not in path.parents or path.suffix not in (".html", ".png") or not path.is_file():
            raise LookupError(address)
        return path

    # --- writing ---------------------------------------------------------------------------------------

    def add_comment(self, item_id: str, text: str, points: float, grader: str) -> Comment:
        self._check_item(item_id)
        with self._transaction() as db:
            (last,) = db.execute("SELECT COALESCE(MAX(comment_id), 0) FROM review_comments WHERE rubric_id = ? "
                                 "AND item_id = ?", (self.rubric_id, item_id)).fetchone()
            comment = Comment(last + 1, text.strip()[:2000], float(points))
            db.execute("INSERT INTO review_comments VALUES (?, ?, ?, ?, ?)",
                       (self.rubric_id, item_id, comment.id, comment.text, comment.points))
            self._log(db, item_id, None, f"comment {comment.id} added: {comment.points:+g} {comment.text}", grader)
        return comment

    def edit_comment(self, item_id: str, comment_id: int, text: str, points: float, grader: str) -> list[str]:
        """Change a comment's text or points; every student it was applied to is marked again. Their keys."""
        with self._transaction() as db:
            if db.execute("UPDATE review_comments SET text = ?, points = ? WHERE rubric_id = ? AND item_id = ? AND "
                          "comment_id = ?", (text.strip()[:2000], float(points), self.rubric_id, item_id,
                                             comment_id)).rowcount != 1:
                raise ReviewError(f"no comment {comment_id} on '{item_id}'")
            self._log(db, item_id, None, f"comment {comment_id} edited: {float(points):+g} {text.strip()}", grader)
            keys = [key for key, ids in db.execute("SELECT student_key, comment_ids FROM review_marks WHERE "
                                                   "rubric_id = ? AND item_id = ?", (self.rubric_id, item_id))
                    if comment_id in json.loads(ids)]
            for key in keys:
                self._carry(db, item_id, key, grader)
        self._write_gradebook()
        return keys

    def confirm(self, item_id: str, student_keys: list[str], grader: str = "TA") -> list[str]:
        """Accept the machine's proposals for these students (answers read from their documents): each
        gets the points proposed, recorded as this TA's mark."""
        self._check_item(item_id)
        reports = self.reports()
        marked = []
        for key in student_keys:
            report = reports.get(key)
            item = next((i for i in (report or {}).get("items", []) if i["id"] == item_id), None)
            proposal = (item or {}).get("details", {}).get("proposal")
            if not isinstance(proposal, dict):
                raise ReviewError(f"{key} has no proposal on '{item_id}' to confirm")
            self.mark(item_id, [key], [], float(proposal["score"]), grader,
                      f"confirmed: {proposal['status']}, {proposal['feedback']}"[:1000])
            marked.append(key)
        return marked

    def assign_pages(self, item_id: str, student_key: str, pages: list[int], grader: str = "TA") -> list[int]:
        """The pages of the student's documents that answer this item, as a TA placed them."""
        self._check_item(item_id)
        report = self.reports().get(student_key)
        if report is None:
            raise ReviewError(f"no result of '{student_key}' in {self.rubric_id}")
        known = {d["first_page"] + offset for d in report.get("documents", []) for offset in range(d.get("pages") or 0)}
        pages = sorted({int(page) for page in pages})
        if not pages or not set(pages) <= known:
            raise ReviewError(f"{student_key} has no page {', '.join(str(p) for p in pages if p not in known)}")
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO review_pages VALUES (?, ?, ?, ?, ?, ?)",
                       (self.rubric_id, item_id, student_key, json.dumps(pages), grader, _now()))
            self._log(db, item_id, student_key, f"pages {pages} assigned", grader)
        return pages

    def mark(self, item_id: str, student_keys: list[str], comment_ids: list[int], adjustment: float = 0.0,
             grader: str = "TA", reason: str = "") -> list[str]:
        """Apply comments (and an adjustment) to one student or a whole group, in one transaction."""
        item = self._check_item(item_id)
        if item["kind"] != "manual" and not reason.strip() and self._decided(item_id, student_keys):
            raise ReviewError(f"'{item_id}' is graded automatically: an override needs a reason, which is kept")
        with self._transaction() as db:
            known = {row[0] for row in db.execute("SELECT comment_id FROM review_comments WHERE rubric_id = ? AND "
                                                  "item_id = ?", (self.rubric_id, item_id))}
            unknown = [c for c in comment_ids if c not in known]
            if unknown:
                raise ReviewError(f"no comment {unknown[0]} on '{item_id}'")
            for key in student_keys:
                db.execute("INSERT OR REPLACE INTO review_marks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           (self.rubric_id, item_id, key, json.dumps(sorted(set(comment_ids))), float(adjustment),
                            reason.strip()[:1000], grader, _now()))
                self._log(db, item_id, key, f"marked: comments {sorted(set(comment_ids))}, adjustment "
                                            f"{float(adjustment):+g}" + (f", reason: {reason.strip()}" if reason else ""),
                          grader)
                self._carry(db, item_id, key, grader)
        self._write_gradebook()
        return student_keys

    # --- inside -----------------------------------------------------------------------------------------

    def _decided(self, item_id: str, student_keys: list[str]) -> bool:
        """Whether any of these students' automatic verdicts stands (an override, which needs a reason),
        rather than waiting for a TA (an answer not found in a document, or a proposal)."""
        reports = self.reports()
        return any(next((i["status"] for i in reports.get(key, {}).get("items", []) if i["id"] == item_id), "manual")
                   != "manual" for key in student_keys)

    def _check_item(self, item_id: str) -> dict:
        for item in self.items():
            if item["id"] == item_id:
                return item
        raise ReviewError(f"no item '{item_id}' in {self.rubric_id}")

    @contextlib.contextmanager
    def _transaction(self):
        """BEGIN IMMEDIATE: the write lock from the first read, so what is re-read is what is written over."""
        connection = self.book.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _log(self, db: sqlite3.Connection, item_id: str, student_key: str | None, what: str, grader: str) -> None:
        db.execute("INSERT INTO review_history VALUES (?, ?, ?, ?, ?, ?)",
                   (self.rubric_id, item_id, student_key, what, grader, _now()))

    def _carry(self, db: sqlite3.Connection, item_id: str, student_key: str, grader: str) -> None:
        """The student's mark into their report: read inside the transaction, so nobody's change is lost."""
        ids, adjustment, reason = db.execute(
            "SELECT comment_ids, adjustment, reason FROM review_marks WHERE rubric_id = ? AND item_id = ? AND "
            "student_key = ?", (self.rubric_id, item_id, student_key)).fetchone()
        comments = {c.id: c for c in self.comments(item_id)}
        chosen = [comments[i] for i in json.loads(ids) if i in comments]
        row = db.execute("SELECT report FROM results WHERE rubric_id = ? AND student_key = ?",
                         (self.rubric_id, student_key)).fetchone()
        if row is None:
            raise ReviewError(f"no result of '{student_key}' in {self.rubric_id}")
        report = json.loads(row[0])
        item = next(i for i in report["items"] if i["id"] == item_id)
        points = min(max(sum(c.points for c in chosen) + adjustment, 0.0), item["points"])
        feedback = "; ".join(c.text for c in chosen if c.text) + (f" ({reason})" if reason and chosen else reason)
        manual.apply(report, item_id, round(points, 6), feedback or f"graded by {grader}", override=bool(reason))
        item["details"]["review"] = {"comments": [c.id for c in chosen], "adjustment": adjustment, "grader": grader}
        json_format.write_atomic(self.results / "reports" / f"{report_name(student_key)}.json",
                                 json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        self.book.update_report(self.rubric_id, student_key, report, f"review by {grader}", inside_transaction=True)

    def _write_gradebook(self) -> None:
        """gradebook.csv, and each platform export the TA has written before, at once."""
        platforms = tuple(p for p in PLATFORMS if (self.results / f"{p}-{self.rubric_id}.csv").is_file())
        records.write_tables(self.results, self.book, self.rubric_id, platforms)
