"""``property``: call the student's function on seeded cases and judge each result by the properties
it must have, not by one expected value.  For functions that are random by design (BERT's masking, a
shuffled dataset) or that have several right forms (a sentence splitter that may keep or drop the
final punctuation).

Fields: ``target`` (the student's function), ``inputs``/``cases`` (a generator of its arguments),
``validate`` (``module:function(args, value) -> list of problems``, run in the grader on the decoded
result, never on student code), ``tensors`` (pass arrays as torch tensors), ``all_or_nothing``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..execution.runner import Call
from ..rubric import Generator, item_callable
from . import calling
from .base import Check, CheckContext, Planned
from .cases import configure_cases
from .conventions import with_aliases

FIELDS = {"target", "inputs", "cases", "validate", "tensors", "all_or_nothing"}


@dataclass(frozen=True)
class PropertyConfig:
    target: str
    validate: Callable
    generator: Generator
    cases: int
    tensors: bool
    all_or_nothing: bool


def judge(validate: Callable, args: dict, value) -> str | None:
    """The validator's problems as one line; a result the validator cannot even read is a problem too."""
    try:
        problems = list(validate(args, value) or [])
    except Exception as exc:  # the value is whatever the student returned: judge it, do not crash on it
        problems = [f"the result cannot be read ({type(exc).__name__}: {exc})"]
    if not problems:
        return None
    return "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)" if len(problems) > 3 else "")


class PropertyCheck(Check):
    kind = "property"

    @classmethod
    def configure(cls, table: dict, rubric) -> PropertyConfig:
        calling.reject_unknown(table, FIELDS)
        generator, count = configure_cases({"cases": 3, **table}, rubric)
        return PropertyConfig(calling.identifier(table, "target"), item_callable(table, "validate", rubric),
                              generator, count, calling.flag(table, "tensors"), calling.flag(table, "all_or_nothing"))

    def plan(self, context: CheckContext) -> Planned:
        config: PropertyConfig = context.item.config
        aliases = context.rubric.aliases
        return calling.planned_cases(
            context, config.generator, config.cases, config.all_or_nothing,
            lambda case: Call(config.target, list(with_aliases(case.args, aliases).values()), tensors=config.tensors),
            lambda case, value: judge(config.validate, case.args, value))
