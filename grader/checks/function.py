"""``function``: call the student's function on seeded cases and compare with the reference.

Fields: ``target`` (the student's function), ``reference`` (``module:function``, computed in float64
torch; left out when ``inputs`` are stored cases that carry their expected results, as in a student
bundle), ``inputs`` (a ``[generators]`` table) and ``cases``; ``outputs`` names the values the function
returns, ``compare`` the ones that are graded (a cache that only feeds a backward pass need not be);
``rtol``/``atol``; ``all_or_nothing``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..execution.runner import Call
from ..rubric import FieldError, Generator, item_callable
from . import calling
from .base import Check, CheckContext, Planned
from .cases import Case, configure_cases
from .compare import Tolerance
from .conventions import canonical, with_aliases
from .tensors import to_numpy, to_torch

FIELDS = {"target", "reference", "inputs", "cases", "outputs", "compare", "rtol", "atol", "ignore_size1_axes",
          "all_or_nothing"}


@dataclass(frozen=True)
class FunctionConfig:
    target: str
    reference: Callable | None  # None: the stored cases carry the expected results
    generator: Generator
    cases: int
    outputs: tuple[str, ...] | None
    compare: tuple[str, ...] | None
    tolerance: Tolerance
    all_or_nothing: bool


class FunctionCheck(Check):
    kind = "function"

    @classmethod
    def configure(cls, table: dict, rubric) -> FunctionConfig:
        calling.reject_unknown(table, FIELDS)
        generator, count = configure_cases(table, rubric)
        outputs = calling.names(table, "outputs")
        compare = calling.names(table, "compare")
        if compare and not outputs:
            raise FieldError("compare", "needs 'outputs' to name the returned values")
        if compare and not set(compare) <= set(outputs):
            raise FieldError("compare", f"must be a subset of outputs ({', '.join(outputs)})")
        stored = generator.stored
        if "reference" in table or stored is None or any(case.expected is None for case in stored):
            reference = item_callable(table, "reference", rubric)
        else:
            reference = None
        return FunctionConfig(calling.identifier(table, "target"), reference, generator, count, outputs, compare,
                              calling.tolerance(table), calling.flag(table, "all_or_nothing"))

    @classmethod
    def rehearse(cls, config: FunctionConfig, args: dict) -> None:
        if config.reference is None:
            return
        try:
            value = to_numpy(config.reference(*to_torch(list(args.values()))))
        except Exception as exc:  # a course's code
            raise FieldError("reference", f"raised {type(exc).__name__}: {exc} on the smallest case") from None
        try:
            calling.reference_outputs(value, config.outputs, config.compare)
        except ValueError as exc:
            raise FieldError("outputs", f"the reference {exc}") from None

    def plan(self, context: CheckContext) -> Planned:
        config: FunctionConfig = context.item.config
        aliases = context.rubric.aliases
        # a cache that only feeds a backward need not cross the bridge (it may hold anything)
        pick = tuple(config.outputs.index(name) for name in config.compare) if config.compare and len(config.outputs) > 1 else None
        return calling.planned_cases(context, config.generator, config.cases, config.all_or_nothing,
                                  lambda case: Call(config.target, list(with_aliases(case.args, aliases).values()),
                                                    pick=pick),
                                  lambda case, value: self._judge(context, case, value))

    def _judge(self, context: CheckContext, case: Case, value: Any) -> str | calling.PassedWithNote | None:
        config: FunctionConfig = context.item.config
        try:
            actual = calling.graded_outputs(canonical(value, context.rubric.aliases), config.outputs, config.compare)
        except ValueError as exc:
            return str(exc)
        return calling.judged(self._expected(context, case), actual, config.tolerance)

    @staticmethod
    def _expected(context: CheckContext, case: Case) -> Any:
        config: FunctionConfig = context.item.config
        if config.reference is None:
            return config.generator.stored[case.index].expected
        key = (context.rubric.values_version, context.item.id, case.index)
        if key not in context.expected_cache:
            value = to_numpy(config.reference(*to_torch(list(case.args.values()))))
            context.expected_cache[key] = calling.reference_outputs(value, config.outputs, config.compare)
        return context.expected_cache[key]
