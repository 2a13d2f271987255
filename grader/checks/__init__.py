"""Check kinds, registered by name.  A course adds its own through the ``dlgrade.checks`` entry point
group: ``my_kind = "my_package.checks:MyCheck"`` (a subclass of ``grader.checks.base.Check``)."""
from __future__ import annotations

from importlib.metadata import entry_points

from .answer_format import AnswerFormatCheck
from .base import Check
from .choice import ChoiceCheck
from .complexity import ComplexityCheck
from .derivation import DerivationCheck
from .expression import ExpressionCheck
from .forbidden import ForbiddenCheck
from .function import FunctionCheck
from .gradient import GradientCheck
from .manual import ManualCheck
from .metric import MetricCheck
from .module import ModuleCheck
from .numeric import NumericCheck
from .property import PropertyCheck
from .shape import ShapeCheck

BUILTIN: dict[str, type[Check]] = {cls.kind: cls for cls in (FunctionCheck, GradientCheck, NumericCheck, ShapeCheck,
                                                             ChoiceCheck, ExpressionCheck, DerivationCheck,
                                                             ComplexityCheck, MetricCheck, ForbiddenCheck, ModuleCheck,
                                                             PropertyCheck, ManualCheck, AnswerFormatCheck)}


def registry() -> dict[str, type[Check]]:
    kinds = dict(BUILTIN)
    for entry in entry_points(group="dlgrade.checks"):
        kinds.setdefault(entry.name, entry.load())
    return kinds


def kind_class(kind: str) -> type[Check]:
    if kind in BUILTIN:  # a plugin cannot replace a built-in kind: no need to scan the installed packages
        return BUILTIN[kind]
    kinds = registry()
    if kind not in kinds:
        raise KeyError(f"unknown kind '{kind}' (known: {', '.join(sorted(kinds))})")
    return kinds[kind]
