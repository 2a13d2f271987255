"""Points a TA enters by hand for manual items, written into an existing report.json.

The report stays the single source: the item's score, status and comment change, ``details.manual``
records who-knows-when (the time), and the totals are recomputed.  Automatic items cannot be
overridden here unless ``override`` is asked for, so a typo in an id cannot silently rewrite a grade.
"""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

from ..late import final_score


class ManualError(Exception):
    pass


def apply(report: dict, item_id: str, points: float, comment: str = "", override: bool = False) -> None:
    items = {item["id"]: item for item in report.get("items", [])}
    if item_id not in items:
        raise ManualError(f"no item '{item_id}' in this report (items: {', '.join(items)})")
    item = items[item_id]
    # an automatic item still pending (its answer was in a document: a proposal, or not found) is a TA's to mark
    if item["kind"] != "manual" and item["status"] != "manual" and not override:
        raise ManualError(f"'{item_id}' is graded automatically ({item['kind']}); use --override to change it")
    if not 0 <= points <= item["points"]:
        raise ManualError(f"'{item_id}' is worth {item['points']:g} points; {points:g} is out of range")
    item["score"] = float(points)
    item["status"] = "passed" if points == item["points"] else "partial" if points > 0 else "failed"
    if comment:
        item["feedback"] = comment
    item.setdefault("details", {})["manual"] = {"pending": False, "points": points, "comment": comment,
                                                "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    retotal(report)


def apply_csv(report: dict, path: Path, override: bool = False) -> int:
    """Rows of ``id,points[,comment]`` (a header row is allowed); returns how many were applied."""
    applied = 0
    with open(path, newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip() in ("", "id") or row[0].startswith("#"):
                continue
            try:
                points = float(row[1])
            except (IndexError, ValueError):
                raise ManualError(f"{path.name}, line {number}: expected 'id,points[,comment]'") from None
            apply(report, row[0].strip(), points, row[2].strip() if len(row) > 2 else "", override)
            applied += 1
    return applied


def retotal(report: dict) -> None:
    """The totals from the items, and the late policy's final score from the new total."""
    items = report["items"]
    report["total"] = {"score": round(sum(i["score"] for i in items), 6), "max": sum(i["points"] for i in items),
                       "manual_pending": sum(i["points"] for i in items if i["status"] == "manual")}
    late = report.get("late")
    if late and "final" in late:
        score = report["total"]["score"]
        late["final"] = (final_score(score, late.get("penalty_percent", 0), bool(late.get("refused")))
                         if late.get("assessed", True) else score)
