"""``expression``: a symbolic answer, equivalent to the reference when both agree on several random
assignments of the declared symbols (scalars, or matrices of the declared shapes).  Fields:
``reference`` (in the plain syntax), ``symbols`` ({name = shape}), ``accepted`` (other forms, each with
its convention and share of the points), ``trials``."""
from __future__ import annotations

import ast
import dataclasses
import re

import numpy as np

from ..rubric import FieldError
from ..theory import expressions, prose
from ..theory.answers import after_equals, split_equals
from . import calling
from .answered import (AnswerCheck, accepted_list, constraints_field, convention_note, definitions_of, notation_of,
                       symbols_field)
from .base import CheckContext, Verdict
from .cases import seeded_rng

FIELDS = {"reference", "accepted", "symbols", "constraints", "trials"}


class ExpressionCheck(AnswerCheck):
    kind = "expression"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        symbols = symbols_field(table)
        accepted = accepted_list(table, "accepted", "reference", ("reference",))
        for entry in accepted:
            try:
                entry["parsed"] = expressions.parse(entry["reference"], symbols)
                expressions.evaluate(entry["parsed"], expressions.random_values(symbols, seeded_rng("validate")))
            except (expressions.ParseError, expressions.ShapeError) as exc:
                raise FieldError("reference", f"the rubric's own expression is invalid: {exc}") from None
        trials = table.get("trials", 5)
        if not isinstance(trials, int) or not 1 <= trials <= 50:
            raise FieldError("trials", "must be an integer from 1 to 50")
        extended, definitions = definitions_of(rubric, symbols)
        _check_definitions(extended, definitions)
        return {"accepted": accepted, "symbols": extended, "trials": trials, "aliases": notation_of(rubric, extended),
                "constraints": constraints_field(table, symbols), "definitions": definitions}

    def judge(self, context: CheckContext, answer) -> Verdict:
        config = context.item.config
        try:
            student = read_expression(answer, config["symbols"], config.get("aliases"))
        except expressions.ParseError as exc:
            return Verdict(0.0, "failed", f"cannot read the answer: {exc}")
        seed = int.from_bytes(seeded_rng(context.rubric.id, context.item.id).bytes(4), "little")
        problems = []
        for entry in sorted(config["accepted"], key=lambda e: -e["fraction"]):
            comparison = expressions.compare(student, entry["parsed"], config["symbols"], config["trials"], seed,
                                             constraints=config.get("constraints"), definitions=config.get("definitions"))
            if comparison.equivalent:
                status = "passed" if entry["fraction"] == 1 else "partial"
                return Verdict(entry["fraction"], status, f"correct{convention_note(entry)}{read_note(student)}",
                               {"answer": student.text})
            problems.append((_shared_names(student, entry["parsed"]), comparison.message))
        # explain against the accepted form that is closest to what the student wrote
        closest = max(problems, key=lambda pair: pair[0])[1]
        return Verdict(0.0, "failed", f"not equivalent to the expected expression: {closest}{read_note(student)}",
                       {"answer": student.text})


def _check_definitions(symbols: dict, definitions: dict) -> None:
    values = expressions.random_values(symbols, seeded_rng("validate"))
    for name, parsed in definitions.items():
        try:
            shape = expressions.evaluate(parsed, values).shape
        except expressions.ShapeError as exc:
            raise FieldError("symbols", f"the definition of {name} cannot be evaluated: {exc}") from None
        if shape != np.shape(values[name]):
            raise FieldError("symbols", f"the definition of {name} has shape {shape}, the symbol {np.shape(values[name])}")


def read_expression(answer, symbols: dict, aliases: dict | None = None) -> expressions.Parsed:
    """The expression on the answer's last line, after its last '=' (a reason after "because" cut off);
    in a sentence, the formula it answers with (``prose.math_of``, named in ``Parsed.located``).  Raises
    ``ParseError``."""
    line = prose.without_explanation(answer.lines[-1])
    defined = student_definitions(answer.lines[:-1])
    try:
        return expressions.parse(after_equals(line), symbols, aliases, defined)
    except expressions.ParseError:
        located = prose.math_of(line, set(symbols) | set(aliases or {}) | set(expressions.FUNCTIONS))
        if not located:
            raise
    return dataclasses.replace(expressions.parse(after_equals(located), symbols, aliases, defined), located=located)


def student_definitions(lines: list[str]) -> dict[str, str]:
    """``dz = ŷ − y`` on a line before the answer: the name the student defined, and its value (the
    last side of the line's chain); a later definition of the same name wins."""
    defined = {}
    for line in lines:
        sides = split_equals(prose.without_explanation(line))
        if len(sides) > 1 and re.fullmatch(r"\s*\\?[A-Za-z\u0370-\u03ff][\w{}^<>⟨⟩\\,+\-]{0,30}\s*", sides[0]):
            defined[sides[0].strip()] = sides[-1].strip()
    return defined


def read_note(parsed: expressions.Parsed) -> str:
    """What was read, when it was found inside a sentence: the student sees the reading."""
    return f" (read '{parsed.located}' from the sentence)" if parsed.located else ""


def _shared_names(a, b) -> int:
    names = lambda parsed: {n.id for n in ast.walk(parsed.tree) if isinstance(n, ast.Name)}  # noqa: E731
    return len(names(a) & names(b))
