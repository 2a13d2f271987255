"""What the kinds that call student code share: reading rubric fields and turning a call into a
per-case outcome with feedback."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..execution.runner import Call, CallResult
from ..rubric import FieldError, Generator
from .base import CheckContext, Planned, Verdict, verdict_from_cases
from .cases import Case, make_cases
from .compare import Tolerance, summary, without_size1_axes

IDENTIFIER_HELP = "must be the name of a function in the student's notebook"


def identifier(table: dict, key: str, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.isidentifier():
        raise FieldError(key, IDENTIFIER_HELP)
    return value


def tolerance(table: dict) -> Tolerance:
    """``rtol``, ``atol`` and ``ignore_size1_axes`` (accept ``(1, H)`` for ``(H,)``, noted in the feedback)."""
    values = {}
    for key, default in (("rtol", Tolerance.rtol), ("atol", Tolerance.atol)):
        value = table.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise FieldError(key, "must be a number ≥ 0")
        values[key] = float(value)
    return Tolerance(**values, size1_axes=flag(table, "ignore_size1_axes"))


def judged(expected: Any, actual: Any, tolerance: Tolerance) -> "str | PassedWithNote | None":
    """What is wrong with ``actual`` (None: nothing); a pass that needed a size-1 axis ignored says so."""
    notes: list[str] = []
    if tolerance.size1_axes:
        actual, notes = without_size1_axes(expected, actual)
    problem = summary(expected, actual, tolerance)
    if problem is None and notes:
        return PassedWithNote("; ".join(notes[:3]) + (" and others" if len(notes) > 3 else ""))
    return problem


def flag(table: dict, key: str, default: bool = False) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise FieldError(key, "must be true or false")
    return value


def reject_unknown(table: dict, known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise FieldError(key, f"unknown field (this kind takes: {', '.join(sorted(known))})")


def names(table: dict, key: str) -> tuple[str, ...] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise FieldError(key, "must be a list of names")
    return tuple(value)


def graded_outputs(value: Any, outputs: tuple[str, ...] | None, compare: tuple[str, ...] | None) -> Any:
    """The part of a returned value that is graded, keyed by output name when the rubric names them."""
    if outputs is None:
        return value
    if len(outputs) == 1:
        value = (value,)
    if not isinstance(value, (tuple, list)) or len(value) != len(outputs):
        count = len(value) if isinstance(value, (tuple, list)) else 1
        raise ValueError(f"returned {count} value{'s' if count != 1 else ''}, expected {len(outputs)}: "
                         f"({', '.join(outputs)})")
    named = dict(zip(outputs, value))
    return {name: named[name] for name in (compare or outputs)}


def reference_outputs(value: Any, outputs: tuple[str, ...] | None, compare: tuple[str, ...] | None) -> Any:
    """``graded_outputs`` of a reference's result: a reference returns every output, or only the graded
    ones (it has no cache to build for a backward)."""
    if compare and outputs and len(compare) < len(outputs):
        count = len(value) if isinstance(value, (tuple, list)) else 1
        if count == len(compare):
            return graded_outputs(value, compare, None)
    return graded_outputs(value, outputs, compare)


@dataclass(frozen=True)
class PassedWithNote:
    """What a judge returns for a case that passed in a way worth a word in the feedback."""

    note: str


@dataclass
class CaseTally:
    """Counts cases and remembers the first problem, for the verdict."""

    total: int
    passed: int = 0
    errored: int = 0
    first_problem: str = ""
    stopped: bool = False  # a hang or a crash: the remaining cases are not run
    note: str = ""  # how some cases passed, when that is worth knowing

    def __post_init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def record(self, label: str, problem: str | None, errored: bool = False, note: str = "") -> None:
        self.details.append({"case": label, "ok": problem is None, **({"problem": problem} if problem else {}),
                             **({"note": note} if note else {})})
        if problem is None:
            self.passed += 1
            self.note = self.note or note
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
    return _tallied(item_cases(context, generator, count), all_or_nothing, run_case, details)


def item_cases(context: CheckContext, generator: Generator, count: int) -> list[Case]:
    """The item's cases, made once for every student of a session (and kept between runs with the
    reference values: ``grader.values``)."""
    key = (context.rubric.values_version, context.item.id, "cases", count)
    if key not in context.expected_cache:
        context.expected_cache[key] = make_cases(context.rubric.id, context.item.id, generator, count)
    return context.expected_cache[key]


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
                              {"cases": tally.details, **details}, tally.note)


def planned_cases(context: CheckContext, generator: Generator, count: int, all_or_nothing: bool,
                  prepare: Callable[[Case], Call | list[Call]],
                  judge: Callable[[Case, Any], str | PassedWithNote | None],
                  **details: Any) -> Planned:
    """``run_cases`` for an item whose cases are calls known beforehand: the calls (``prepare``) go to
    the kernel in one request, each with its own deadline, and ``judge`` says what is wrong with the value
    a case's last call returned (None: nothing).  A case may be a chain (a forward whose kept result the
    backward receives): a call that fails stops its chain, and the feedback names it.  A missing function
    ends the item; a hang or a crash ends the request, and the cases after it are not run."""
    cases = item_cases(context, generator, count)
    # the same calls for every student of a session (the grader chooses every input): made, and their
    # requests encoded, once
    key = (context.rubric.values_version, context.item.id, "calls", count)
    if key not in context.expected_cache:
        context.expected_cache[key] = {case.index: _chain(prepare(case)) for case in cases}
    chains = context.expected_cache[key]
    return Planned([call for chain in chains.values() for call in chain],
                   lambda results: _judged_cases(context, cases, chains, results, all_or_nothing, judge, details))


def _judged_cases(context: CheckContext, cases: list[Case], chains: dict[int, list[Call]], results: list[CallResult],
                  all_or_nothing: bool, judge: Callable[[Case, Any], str | PassedWithNote | None],
                  details: dict) -> Verdict:
    remaining = iter(results)
    chain_results = {index: [result for _, result in zip(chain, remaining)] for index, chain in chains.items()}

    def run_case(case: Case, tally: CaseTally) -> Verdict | None:
        calls, outcomes = chains[case.index], chain_results[case.index]
        for step, (call, result) in enumerate(zip(calls, outcomes)):
            if result.status == "missing":
                return missing_function(context, call.label, result.message)
            if step == len(calls) - 1:
                if result.ok:
                    problem = judge(case, result.value)
                    if isinstance(problem, PassedWithNote):
                        tally.record(case.label, None, note=problem.note)
                    else:
                        tally.record(case.label, problem)
                else:
                    tally.record_call_failure(case.label, result)
                return None
            # a kept result that cannot cross the bridge still serves the next call
            if not result.ok and not (call.keep and result.status == "invalid"):
                tally.record_call_failure(case.label, CallResult(
                    result.status, message=f"{result.message}, so {calls[-1].label}() could not be called with "
                                           f"its result"))
                return None
        tally.record_call_failure(case.label, CallResult("dead", message="the kernel stopped answering"))
        return None

    return _tallied(cases, all_or_nothing, run_case, details)


def _chain(calls: Call | list[Call]) -> list[Call]:
    return calls if isinstance(calls, list) else [calls]


def missing_function(context: CheckContext, name: str, message: str) -> Verdict:
    cell_error = context.runner.cell_error_for(name)
    if cell_error is not None:
        message = (f"{name} is not defined: {context.runner.place(cell_error.cell)}, which defines it, failed with "
                   f"{cell_error.error}")
    return Verdict(0.0, "error", message)
