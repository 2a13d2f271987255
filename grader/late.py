"""The late policy of a rubric's ``[late]`` table, and what it charges one submission.

A course gives each student a budget of free late days per kind of work across the semester (hw3's
rules: 5 for theory, 10 for practicals).  Days beyond what is left of the budget cost
``penalty_per_day`` percent each; an upload more than ``refuse_after_days`` after the deadline earns
nothing.  Late days are whole days, rounded up: one minute late is one day.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

FIELDS = {"deadline", "budget", "free_days", "penalty_per_day", "refuse_after_days"}


class LateError(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class LatePolicy:
    deadline: datetime
    budget: str = "default"
    free_days: int = 0
    penalty_per_day: float = 0.0   # percent of the score
    refuse_after_days: int | None = None


@dataclass(frozen=True)
class LateCharge:
    days_late: int
    free_days_used: int      # from the student's budget, by this submission
    penalty_percent: float
    refused: bool

    def final(self, score: float) -> float:
        return final_score(score, self.penalty_percent, self.refused)


def final_score(score: float, penalty_percent: float, refused: bool) -> float:
    """The score a late submission keeps: nothing when refused, else less its penalty."""
    return 0.0 if refused else round(score * max(0.0, 1 - penalty_percent / 100), 6)


def parse(table: dict) -> LatePolicy:
    for key in table:
        if key not in FIELDS:
            raise LateError(key, f"unknown field (known: {', '.join(sorted(FIELDS))})")
    deadline = table.get("deadline")
    if isinstance(deadline, str):
        try:
            deadline = datetime.fromisoformat(deadline)
        except ValueError:
            raise LateError("deadline", "must be a date and time such as 2025-11-20T23:59:00+03:30") from None
    if not isinstance(deadline, datetime) or deadline.tzinfo is None:
        raise LateError("deadline", "must be a date and time with its time zone, such as 2025-11-20T23:59:00+03:30")
    numbers = {}
    for key, default in (("free_days", 0), ("penalty_per_day", 0), ("refuse_after_days", None)):
        value = table.get(key, default)
        if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
            raise LateError(key, "must be a number ≥ 0")
        numbers[key] = value
    budget = table.get("budget", "default")
    if not isinstance(budget, str) or not budget:
        raise LateError("budget", "must name the semester's budget of free days this work draws on")
    return LatePolicy(deadline, budget, int(numbers["free_days"]), float(numbers["penalty_per_day"]),
                      None if numbers["refuse_after_days"] is None else int(numbers["refuse_after_days"]))


def days_late(policy: LatePolicy, submitted: datetime) -> int:
    if submitted.tzinfo is None:  # zip entry times carry no zone: read them in the deadline's
        submitted = submitted.replace(tzinfo=policy.deadline.tzinfo)
    late = submitted - policy.deadline
    return max(0, math.ceil(late / timedelta(days=1)))


def charge(policy: LatePolicy, submitted: datetime | None, used_before: int) -> LateCharge:
    """What a submission at ``submitted`` costs a student who already used ``used_before`` free days of
    this budget on earlier assignments."""
    if submitted is None:
        return LateCharge(0, 0, 0.0, False)
    late = days_late(policy, submitted)
    free = min(late, max(0, policy.free_days - used_before))
    refused = policy.refuse_after_days is not None and late > policy.refuse_after_days
    return LateCharge(late, free, (late - free) * policy.penalty_per_day, refused)
