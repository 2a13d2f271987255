"""What the kinds that call student code share: reading rubric fields and turning a call into a
per-case outcome with feedback."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..execution.runner import Call, CallResult
from ..rubric import FieldError, Generator
from .base import CheckContext, Verdict, verdict_from_cases
from .cases import Case, make_cases
from .compare import Tolerance

IDENTIFIER_HELP = "must be the name of a function in the student's notebook"


def identifier(table: dict, key: str, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.isidentifier():
        raise FieldError(key, IDENTIFIER_HELP)
    return value


def tolerance(table: dict) -> Tolerance:
    values = {}
    for key, default in (("rtol", Tolerance.rtol), ("atol", Tolerance.atol)):
        value = table.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise FieldError(key, "must be a number ≥ 0")
        values[key] = float(value)
    return Tolerance(**values)


def flag(table: dict, key: str, default: bool = False) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise FieldError(key, "must be true or false")
    return value


def reject_unknown(table: dict, known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise FieldError(key, f"unknown field (this kind takes: {', '.join(sorted(known))})")


@dataclass
class CaseTally:
    """Counts cases and remembers the first problem, for the verdict."""

    total: int
    passed: int = 0
    errored: int = 0
    first_problem: str = ""
    stopped: bool = False  # a hang or a crash: the remaining cases are not run

    def __post_init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def record(self, label: str, problem: str | None, errored: bool = False) -> None:
        self.details.append({"case": label, "ok": problem is None, **({"problem": problem} if problem else {})})
        if problem is None:
            self.passed += 1
            return
        self.errored += errored
        if not self.first_problem:
            self.first_problem = f"{label}: {problem}"

    def record_call_failure(self, label: str, result: CallResult) -> None:
        self.record(label, result.message, errored=True)
        if result.status in ("timeout", "dead"):
            self.stopped = True
            if not self.first_problem.endswith("were not run)"):
                self.first_problem += " (the remaining cases were not run)"


def run_cases(context: CheckContext, generator: Generator, count: int, all_or_nothing: bool,
              run_case: Callable[[Case, CaseTally], Verdict | None], **details: Any) -> Verdict:
    """Run ``run_case`` on each seeded case; it records into the tally, or returns a Verdict that ends
    the item at once (the function is missing).  After a hang or a crash the other cases are not run."""
    return _tallied(make_cases(context.rubric.id, context.item.id, generator, count), all_or_nothing, run_case,
                    details)


def _tallied(cases: list[Case], all_or_nothing: bool, run_case: Callable[[Case, CaseTally], Verdict | None],
             details: dict) -> Verdict:
    tally = CaseTally(len(cases))
    for case in cases:
        if tally.stopped:
            tally.record(case.label, "not run", errored=True)
            continue
        early = run_case(case, tally)
        if early is not None:
            return early
    return verdict_from_cases(tally.passed, tally.total, tally.errored, tally.first_problem, all_or_nothing,
                              {"cases": tally.details, **details})


def call_cases(context: CheckContext, generator: Generator, count: int, all_or_nothing: bool,
               prepare: Callable[[Case], Call], judge: Callable[[Case, Any], str | None], **details: Any) -> Verdict:
    """``run_cases`` for an item whose cases are one call each, all known beforehand: the calls
    (``prepare``) go to the kernel in one request, each with its own deadline, and ``judge`` says what is
    wrong with the value a call returned (None: nothing).  A missing function ends the item; a hang or a
    crash ends the request, and the cases after it are not run."""
    cases = make_cases(context.rubric.id, context.item.id, generator, count)
    calls = {case.index: prepare(case) for case in cases}
    results = dict(zip(calls, context.runner.call_many(list(calls.values()))))

    def run_case(case: Case, tally: CaseTally) -> Verdict | None:
        result = results[case.index]
        if result.status == "missing":
            return missing_function(context, calls[case.index].label, result.message)
        if not result.ok:
            tally.record_call_failure(case.label, result)
        else:
            tally.record(case.label, judge(case, result.value))
        return None

    return _tallied(cases, all_or_nothing, run_case, details)


def missing_function(context: CheckContext, name: str, message: str) -> Verdict:
    cell_error = context.runner.cell_error_for(name)
    if cell_error is not None:
        message = f"{name} is not defined: cell {cell_error.cell}, which defines it, failed with {cell_error.error}"
    return Verdict(0.0, "error", message)
