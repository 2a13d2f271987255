"""The late policy: whole days rounded up, the free budget drawn down, penalties and refusal."""
from datetime import datetime

import pytest

from grader.late import LateError, charge, days_late, parse

POLICY = parse({"deadline": "2025-11-21T23:59:00+03:30", "budget": "practical", "free_days": 3,
                "penalty_per_day": 10, "refuse_after_days": 7})


def at(text):
    return datetime.fromisoformat(text)


def test_days_are_whole_and_rounded_up_in_the_deadlines_zone():
    assert days_late(POLICY, at("2025-11-21T23:59:00+03:30")) == 0
    assert days_late(POLICY, at("2025-11-22T00:00:00+03:30")) == 1          # one minute late is a day
    assert days_late(POLICY, at("2025-11-21T20:30:00+00:00")) == 1          # 00:00 in Tehran
    assert days_late(POLICY, datetime(2025, 11, 23, 23, 0)) == 2            # a zip's naive time: the deadline's zone


def test_the_budget_is_drawn_down_before_any_penalty():
    late = at("2025-11-26T12:00:00+03:30")  # 5 days late
    assert charge(POLICY, late, used_before=0) == charge(POLICY, late, 0)
    fresh, spent = charge(POLICY, late, 0), charge(POLICY, late, 2)
    assert (fresh.free_days_used, fresh.penalty_percent) == (3, 20.0)
    assert (spent.free_days_used, spent.penalty_percent) == (1, 40.0)
    assert fresh.final(18) == pytest.approx(14.4)
    assert charge(POLICY, at("2025-11-30T12:00:00+03:30"), 0).refused
    assert charge(POLICY, at("2025-11-30T12:00:00+03:30"), 0).final(20) == 0
    assert charge(POLICY, None, 0).days_late == 0


@pytest.mark.parametrize("table, field", [({"deadline": "tomorrow"}, "deadline"), ({"deadline": "2025-11-21T23:59"}, "deadline"),
                                          ({"deadline": "2025-11-21T23:59+00:00", "free_days": -1}, "free_days"),
                                          ({"deadline": "2025-11-21T23:59+00:00", "grace": 1}, "grace")])
def test_bad_tables_name_the_field(table, field):
    with pytest.raises(LateError) as error:
        parse(table)
    assert error.value.field == field


def test_points_a_ta_adds_by_hand_reach_the_late_final():
    from grader.report import manual

    report = {"items": [{"id": "essay", "kind": "manual", "points": 10.0, "score": 0.0, "status": "manual",
                         "feedback": "", "details": {}}],
              "total": {"score": 0.0, "max": 10.0, "manual_pending": 10.0},
              "late": {"assessed": True, "penalty_percent": 20.0, "refused": False, "final": 0.0}}
    manual.apply(report, "essay", 10.0, "", False)
    assert report["total"]["score"] == 10 and report["late"]["final"] == 8.0
    report["late"] = {"assessed": False, "final": 0.0}
    manual.retotal(report)
    assert report["late"]["final"] == 10.0
