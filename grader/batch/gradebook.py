"""The course's gradebook: one SQLite database that every batch of the course adds to.

Tables: ``students``; ``submissions`` (every file seen, counted or superseded); ``cache`` (the raw
report of each grade key, so a rerun or a points-only change grades nothing again); ``results`` (the
current report of each student per assignment); ``item_results``; ``history`` (every (re-)grade, with
its reason); ``late_days`` (free days each assignment drew from a student's budget).  Each submission
is recorded in one transaction, so a run killed at any moment leaves a consistent database.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS students (student_key TEXT PRIMARY KEY, student_id TEXT, first TEXT, last TEXT);
CREATE TABLE IF NOT EXISTS submissions (rubric_id TEXT, file TEXT, student_key TEXT, sha256 TEXT, submitted_at TEXT,
    time_source TEXT, counted INTEGER, PRIMARY KEY (rubric_id, file));
CREATE TABLE IF NOT EXISTS cache (grade_key TEXT PRIMARY KEY, report TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (rubric_id TEXT, student_key TEXT, file TEXT, grade_key TEXT, score REAL,
    max REAL, manual_pending REAL, final REAL, status TEXT, duration_s REAL, graded_at TEXT, report TEXT,
    PRIMARY KEY (rubric_id, student_key));
CREATE TABLE IF NOT EXISTS item_results (rubric_id TEXT, student_key TEXT, item_id TEXT, kind TEXT, points REAL,
    score REAL, status TEXT, PRIMARY KEY (rubric_id, student_key, item_id));
CREATE TABLE IF NOT EXISTS history (rubric_id TEXT, student_key TEXT, file TEXT, grade_key TEXT, score REAL,
    final REAL, reason TEXT, at TEXT);
CREATE TABLE IF NOT EXISTS late_days (student_key TEXT, rubric_id TEXT, budget TEXT, deadline TEXT,
    days_late INTEGER, free_days_used INTEGER, PRIMARY KEY (student_key, rubric_id));
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def final_of(report: dict) -> float:
    """The score that counts: the late policy's final score where one was charged, else the total."""
    return report.get("late", {}).get("final", report["total"]["score"])


def status_of(report: dict) -> str:
    """A student's row: error, refused (too late), identity to confirm, or graded."""
    if report.get("error"):
        return "error"
    if report.get("late", {}).get("refused"):
        return "refused"
    return "identity to confirm" if report.get("identity_conflicts") else "graded"


class Gradebook:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.connection = sqlite3.connect(path, timeout=60)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> "Gradebook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- cache -------------------------------------------------------------------------------------

    def cached(self, grade_key: str) -> dict | None:
        row = self.connection.execute("SELECT report FROM cache WHERE grade_key = ?", (grade_key,)).fetchone()
        return json.loads(row[0]) if row else None

    # --- writing -------------------------------------------------------------------------------------

    def record_submissions(self, rubric_id: str, entries) -> None:
        with self.connection:
            for entry in entries:
                for name, counted in [(entry.name, 1), *((n, 0) for n in entry.superseded)]:
                    self.connection.execute(
                        "INSERT INTO submissions VALUES (?, ?, ?, NULL, ?, ?, ?) ON CONFLICT (rubric_id, file) DO UPDATE "
                        "SET student_key = excluded.student_key, counted = excluded.counted",
                        (rubric_id, name, entry.student_key,
                         entry.submitted_at.isoformat() if entry.submitted_at and counted else None,
                         entry.time_source if counted else None, counted))

    def previous_report(self, rubric_id: str, student_key: str) -> dict | None:
        row = self.connection.execute("SELECT report FROM results WHERE rubric_id = ? AND student_key = ?",
                                      (rubric_id, student_key)).fetchone()
        return json.loads(row[0]) if row else None

    def late_days_used(self, student_key: str, budget: str, rubric_id: str, before: str) -> int:
        row = self.connection.execute(
            "SELECT COALESCE(SUM(free_days_used), 0) FROM late_days WHERE student_key = ? AND budget = ? "
            "AND rubric_id != ? AND deadline < ?", (student_key, budget, rubric_id, before)).fetchone()
        return int(row[0])

    def record(self, rubric_id: str, entry, grade_key: str, raw_report: dict, report: dict, reason: str,
               late_row: tuple | None) -> None:
        """One student's graded submission, in one transaction."""
        total = report["total"]
        with self.connection:
            self.connection.execute("INSERT OR IGNORE INTO cache VALUES (?, ?)", (grade_key, json.dumps(raw_report)))
            student = report["student"]
            self.connection.execute(
                "INSERT INTO students VALUES (?, ?, ?, ?) ON CONFLICT (student_key) DO UPDATE SET "
                "student_id = excluded.student_id, first = excluded.first, last = excluded.last",
                (entry.student_key, student.get("student_id"), student.get("first"), student.get("last")))
            self.connection.execute("UPDATE submissions SET sha256 = ? WHERE rubric_id = ? AND file = ?",
                                    (report["submission"].get("sha256"), rubric_id, entry.name))
            self.connection.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (rubric_id, entry.student_key, entry.name, grade_key, total["score"], total["max"],
                 total["manual_pending"], final_of(report), status_of(report), report.get("duration_s", 0.0), _now(),
                 json.dumps(report)))
            self._items_and_history(rubric_id, entry.student_key, entry.name, grade_key, report, reason)
            if late_row is not None:
                self.connection.execute("INSERT OR REPLACE INTO late_days VALUES (?, ?, ?, ?, ?, ?)",
                                        (entry.student_key, rubric_id, *late_row))

    def update_report(self, rubric_id: str, student_key: str, report: dict, reason: str,
                      inside_transaction: bool = False) -> bool:
        """A student's current report, edited since it was recorded (``grade manual``, ``grade review``):
        stored, with its items and a history entry, in one transaction (the caller's, when it holds one).
        False when the database holds no result for the student or already holds this report."""
        row = self.connection.execute("SELECT grade_key, report FROM results WHERE rubric_id = ? AND student_key = ?",
                                      (rubric_id, student_key)).fetchone()
        if row is None or json.loads(row[1]) == report:
            return False
        if inside_transaction:
            self._store_report(rubric_id, student_key, row[0], report, reason)
        else:
            with self.connection:
                self._store_report(rubric_id, student_key, row[0], report, reason)
        return True

    def _store_report(self, rubric_id: str, student_key: str, grade_key: str, report: dict, reason: str) -> None:
        total = report["total"]
        self.connection.execute(
            "UPDATE results SET score = ?, max = ?, manual_pending = ?, final = ?, status = ?, graded_at = ?, "
            "report = ? WHERE rubric_id = ? AND student_key = ?",
            (total["score"], total["max"], total["manual_pending"], final_of(report), status_of(report), _now(),
             json.dumps(report), rubric_id, student_key))
        self._items_and_history(rubric_id, student_key, report["submission"]["file"], grade_key, report, reason)

    def _items_and_history(self, rubric_id: str, student_key: str, file: str, grade_key: str, report: dict,
                           reason: str) -> None:
        """The report's items as rows, and the (re-)grade in the history: for a new grade and for an edit."""
        self.connection.execute("DELETE FROM item_results WHERE rubric_id = ? AND student_key = ?",
                                (rubric_id, student_key))
        self.connection.executemany(
            "INSERT INTO item_results VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(rubric_id, student_key, i["id"], i["kind"], i["points"], i["score"], i["status"])
             for i in report["items"]])
        self.connection.execute("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                (rubric_id, student_key, file, grade_key, report["total"]["score"], final_of(report),
                                 reason, _now()))

    # --- reading -------------------------------------------------------------------------------------

    def history(self, rubric_id: str | None, student_key: str) -> list[tuple]:
        """Every (re-)grade of a student: (rubric, file, score, final, reason, when), oldest first."""
        return self.connection.execute(
            "SELECT rubric_id, file, score, final, reason, at FROM history WHERE student_key = ? "
            "AND (? IS NULL OR rubric_id = ?) ORDER BY at, rowid", (student_key, rubric_id, rubric_id)).fetchall()


    def keyed_reports(self, rubric_id: str) -> list[tuple[str, dict]]:
        rows = self.connection.execute("SELECT student_key, report FROM results WHERE rubric_id = ? ORDER BY student_key",
                                       (rubric_id,)).fetchall()
        return [(key, json.loads(report)) for key, report in rows]

    def reports(self, rubric_id: str) -> list[dict]:
        return [report for _, report in self.keyed_reports(rubric_id)]

    def rubric_ids(self) -> list[str]:
        return [row[0] for row in self.connection.execute("SELECT DISTINCT rubric_id FROM results ORDER BY 1")]

    def superseded(self, rubric_id: str) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key, name in self.connection.execute(
                "SELECT student_key, file FROM submissions WHERE rubric_id = ? AND counted = 0 ORDER BY file", (rubric_id,)):
            found.setdefault(key, []).append(name)
        return found
