"""What every check kind shares: its configuration hook, its context and its verdict."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

if TYPE_CHECKING:
    from ..execution.runner import Call, CallResult, NotebookRunner
    from ..rubric import Item, Rubric
    from ..theory.answers import AnswersFile


@dataclass
class Verdict:
    """A check's result before points: ``fraction`` of the item's points, status and feedback."""

    fraction: float
    status: str  # passed | partial | failed | error | manual | skipped
    feedback: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class CheckContext:
    rubric: "Rubric"
    item: "Item"
    runner: "NotebookRunner | None"
    # expected results, keyed by (rubric sha, item id, case); they depend only on the rubric and the
    # seeds, so one grading session computes them once for every student
    expected_cache: dict = field(default_factory=dict)
    answers: "AnswersFile | None" = None  # the theory answers, when the submission has them
    answers_problem: str = ""            # why there are none
    workspace: Path | None = None        # the unpacked submission (read-only for checks)
    files: list[str] = field(default_factory=list)  # its files, relative POSIX paths
    data_dir: Path | None = None         # the TA's data (--data), e.g. held-out labels
    # the item's plan and the results of its calls, when the engine made them along with other items' calls
    planned: "tuple[Planned, list[CallResult]] | None" = None


@dataclass
class Planned:
    """An item's calls, known before any is made, and how its verdict follows from their results: the
    list of results ends early when a call hung or crashed the kernel (the calls after it were not made)."""

    calls: "list[Call]"
    judge: "Callable[[list[CallResult]], Verdict]"


class Check:
    kind: ClassVar[str] = ""
    needs_notebook: ClassVar[bool] = True

    @classmethod
    def configure(cls, table: dict, rubric: "Rubric") -> Any:
        """Validate the item's own fields; raise ``FieldError`` naming the field."""
        raise NotImplementedError

    @classmethod
    def rehearse(cls, config: Any, args: dict) -> None:
        """Run the item's references once on ``args`` (the smallest case of its generator) for ``grade
        validate``; raise ``FieldError`` naming the field at fault.  Kinds without references need not."""

    def plan(self, context: CheckContext) -> Planned | None:
        """The item's calls, when they are known before any is made: the engine then makes the planned calls
        of all a notebook's items in one request to the kernel.  None: ``run`` makes its own."""
        return None

    def run(self, context: CheckContext) -> Verdict:
        if context.planned is not None:
            planned, results = context.planned
            return planned.judge(results)
        planned = self.plan(context)
        if planned is None:
            raise NotImplementedError
        return planned.judge(context.runner.call_many(planned.calls))


def verdict_from_cases(passed: int, total: int, errored: int, first_problem: str, all_or_nothing: bool,
                       details: dict, note: str = "") -> Verdict:
    """Partial credit is the fraction of cases passed, unless the item is all-or-nothing; ``note`` says
    how some cases passed, when that is worth knowing."""
    fraction = passed / total if total else 0.0
    if all_or_nothing and passed < total:
        fraction = 0.0
    also = f" ({note})" if note else ""
    if passed == total:
        return Verdict(1.0, "passed", f"all {total} cases passed{also}", details)
    status = "partial" if fraction > 0 else ("error" if errored and passed == 0 else "failed")
    return Verdict(fraction, status, f"{passed}/{total} cases passed{also}; {first_problem}", details)
