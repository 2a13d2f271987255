"""Seeded inputs for the checks that call student code.

A case's seed is derived from the rubric id, the item id and the case number, so every student of an
assignment gets the same cases (their expected results are computed once) and a re-grade is exact.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..rubric import FieldError, Generator


@dataclass(frozen=True)
class Case:
    index: int
    label: str  # e.g. "case 3 (edge: m=1; n_x=4, n_a=2, n_y=3)"
    dims: dict
    args: dict  # argument name -> value, in call order


def seeded_rng(*parts: str) -> np.random.Generator:
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def make_cases(rubric_id: str, item_id: str, generator: Generator, count: int) -> list[Case]:
    """``count`` cases: random sizes first, then the generator's edge sizes (batch 1, one step, ...);
    a stored generator gives its first ``count`` cases as they were written."""
    if generator.stored is not None:
        return [Case(index, case.label, case.dims, case.args) for index, case in enumerate(generator.stored[:count])]
    edges = list(generator.edge)
    randoms = max(count - len(edges), 1)
    cases = []
    for index in range(randoms + len(edges)):
        rng = seeded_rng(rubric_id, item_id, str(index))
        dims = {name: int(rng.integers(low, high + 1)) for name, (low, high) in generator.dims.items()}
        edge = edges[index - randoms] if index >= randoms else {}
        dims.update(edge)
        sizes = ", ".join(f"{k}={v}" for k, v in dims.items())
        label = f"case {index + 1} ({'edge ' + ', '.join(f'{k}={v}' for k, v in edge.items()) + '; ' if edge else ''}{sizes})"
        cases.append(Case(index, label, dims, generator.function(rng, **dims)))
    return cases


def configure_cases(table: dict, rubric) -> tuple[Generator, int]:
    """The ``inputs`` and ``cases`` fields shared by the kinds that call student code."""
    name = table.get("inputs")
    if name not in rubric.generators:
        known = ", ".join(rubric.generators) or "none declared"
        raise FieldError("inputs", f"must name one of the [generators] tables ({known})")
    generator = rubric.generators[name]
    stored = len(generator.stored) if generator.stored is not None else None
    count = table.get("cases", stored or 6)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100:
        raise FieldError("cases", "must be an integer from 1 to 100")
    if stored is not None and count > stored:
        raise FieldError("cases", f"the stored inputs '{name}' hold only {stored} cases")
    return generator, count
