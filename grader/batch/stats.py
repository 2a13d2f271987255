"""Class statistics from the gradebook: per-item pass rates, the score distribution, the slowest
submissions — and the items nobody passes, which are more often a rubric bug than a hard question."""
from __future__ import annotations

from dataclasses import dataclass, field

from .cache import earned_fraction


@dataclass
class ItemStats:
    id: str
    kind: str
    points: float
    passed: int
    partial: int
    errors: int
    mean_fraction: float


@dataclass
class ClassStats:
    rubric_id: str
    students: int
    failed_submissions: int
    items: list[ItemStats]
    histogram: list[int]                       # students per tenth of the automatic points, 0–10 % … 90–100 %
    slowest: list[tuple[str, float]]           # (file, seconds)
    mean_percent: float
    suspicious: list[str] = field(default_factory=list)  # automatic items nobody passed


def class_stats(rubric_id: str, reports: list[dict], slowest: int = 5) -> ClassStats:
    graded = [r for r in reports if not r.get("error")]
    items: list[ItemStats] = []
    for position, first in enumerate(reports[0]["items"] if reports else []):
        column = [r["items"][position] for r in graded if position < len(r["items"])]
        fractions = [earned_fraction(i) for i in column]
        items.append(ItemStats(first["id"], first["kind"], first["points"], sum(i["status"] == "passed" for i in column),
                               sum(i["status"] == "partial" for i in column), sum(i["status"] == "error" for i in column),
                               sum(fractions) / len(fractions) if fractions else 0.0))
    histogram = [0] * 10
    percents = []
    for report in graded:
        automatic = report["total"]["max"] - report["total"]["manual_pending"]
        percent = 100 * report["total"]["score"] / automatic if automatic else 0.0
        percents.append(percent)
        histogram[min(int(percent // 10), 9)] += 1
    times = sorted(((r["submission"]["file"], float(r.get("duration_s", 0.0))) for r in reports), key=lambda t: -t[1])
    suspicious = [i.id for i in items if i.kind != "manual" and graded and i.passed == 0]
    return ClassStats(rubric_id, len(reports), len(reports) - len(graded), items, histogram, times[:slowest],
                      sum(percents) / len(percents) if percents else 0.0, suspicious)
