"""``grade validate``'s rehearsal: every generator and every reference runs once, on the smallest sizes,
so that a dimension the generator does not take, a gradient named after no input or a reference that
raises is a rubric error naming its field — not an "internal grader error" on every student later."""
from __future__ import annotations

import inspect
from typing import Any

from .checks import kind_class
from .checks.cases import seeded_rng
from .rubric import FieldError, Generator, Rubric, RubricError


def rehearse(rubric: Rubric) -> list[RubricError]:
    """Every problem found, in rubric order (generators first)."""
    problems, cases = [], {}
    for name, generator in rubric.generators.items():
        if generator.stored is not None:
            continue
        try:
            cases[name] = smallest_case(rubric, generator)
        except FieldError as exc:
            problems.append(RubricError(rubric.path, f"[generators.{name}]", exc.field, exc.message))
    for index, item in enumerate(rubric.items):
        generator = getattr(item.config, "generator", None)
        if generator is None and isinstance(item.config, dict):
            generator = item.config.get("generator")
        if not isinstance(generator, Generator) or generator.name not in cases:
            continue
        try:
            kind_class(item.kind).rehearse(item.config, cases[generator.name])
        except FieldError as exc:
            problems.append(RubricError(rubric.path, f"items[{index}] ({item.id})", exc.field, exc.message))
    return problems


def smallest_case(rubric: Rubric, generator: Generator) -> dict[str, Any]:
    """The generator's arguments at every dim's lower bound; ``FieldError`` for what would fail later."""
    try:
        function = generator.function.resolve() if hasattr(generator.function, "resolve") else generator.function
        parameters = inspect.signature(function).parameters
    except (ValueError, TypeError) as exc:
        raise FieldError("function", str(exc)) from None
    keywords = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    unknown = [dim for dim in generator.dims if dim not in parameters and not keywords]
    if unknown:
        takes = ", ".join(name for name in list(parameters)[1:]) or "no sizes"
        raise FieldError("dims", f"{', '.join(unknown)}: not a parameter of the generator (it takes: {takes})")
    dims = {name: low for name, (low, _) in generator.dims.items()}
    try:
        args = function(seeded_rng(rubric.id, "rehearsal", generator.name), **dims)
    except Exception as exc:  # a course's code: anything may go wrong, and the TA must hear what
        raise FieldError("function", f"raised {type(exc).__name__}: {exc} on the smallest sizes {dims}") from None
    if not isinstance(args, dict) or not all(isinstance(key, str) for key in args):
        raise FieldError("function", f"must return a dict of argument name -> value, got {type(args).__name__}")
    return args
