"""``derivation``: a chain of steps, one per line (``a = b = c`` on one line is three steps).  The first
step must equal the rubric's ``start``, each step must equal the one before it, and the last must reach
the ``reference`` *form* (the same terms, in any order: restating the start proves nothing); the report
points at the first step that does not follow — the way a TA reads a proof.  Steps are compared by
randomized evaluation of the declared symbols."""
from __future__ import annotations

import ast

from ..theory import expressions
from ..theory.answers import LABEL, split_equals
from . import calling
from .answered import AnswerCheck, constraints_field, notation_of, symbols_field
from .base import CheckContext, Verdict
from .cases import seeded_rng

FIELDS = {"start", "reference", "symbols", "trials", "step_credit", "constraints"}


class DerivationCheck(AnswerCheck):
    kind = "derivation"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        from ..rubric import FieldError

        calling.reject_unknown(table, FIELDS)
        symbols = symbols_field(table)
        parsed = {}
        for key in ("start", "reference"):
            if not isinstance(table.get(key), str):
                raise FieldError(key, "must be an expression in the declared symbols")
            try:
                parsed[key] = expressions.parse(table[key], symbols)
            except expressions.ParseError as exc:
                raise FieldError(key, f"the rubric's own expression is invalid: {exc}") from None
        step_credit = table.get("step_credit", 0.0)
        if not isinstance(step_credit, (int, float)) or not 0 <= step_credit < 1:
            raise FieldError("step_credit", "must be a share in [0, 1): the credit for a correct chain that stops short")
        return {"symbols": symbols, "trials": table.get("trials", 5), "step_credit": float(step_credit),
                "aliases": notation_of(rubric, symbols), "constraints": constraints_field(table, symbols), **parsed}

    def judge(self, context: CheckContext, answer) -> Verdict:
        config = context.item.config
        steps = [LABEL.sub("", part.strip(), count=1) for line in answer.lines for part in split_equals(line)
                 if part.strip()]
        seed = int.from_bytes(seeded_rng(context.rubric.id, context.item.id).bytes(4), "little")
        previous, previous_label = config["start"], "the expression to derive"
        for number, text in enumerate(steps, start=1):
            try:
                step = expressions.parse(text, config["symbols"], config.get("aliases"))
            except expressions.ParseError as exc:
                return Verdict(0.0, "failed", f"step {number} cannot be read: {exc}", {"steps": len(steps)})
            comparison = expressions.compare(step, previous, config["symbols"], config["trials"], seed,
                                             constraints=config.get("constraints"))
            if not comparison.equivalent:
                return Verdict(0.0, "failed", f"step {number} ({_short(text)}) does not follow from "
                                              f"{previous_label}: {comparison.message}", {"first_wrong_step": number})
            previous, previous_label = step, f"step {number}"
        if _same_terms(previous, config["reference"]):
            return Verdict(1.0, "passed", f"all {len(steps)} steps follow", {"steps": len(steps)})
        fraction = config["step_credit"]
        return Verdict(fraction, "partial" if fraction else "failed",
                       f"every step follows, but the chain stops before the expected form "
                       f"{_short(config['reference'].text)}", {"steps": len(steps)})


def _same_terms(step, reference) -> bool:
    """The same top-level terms (signs included), in any order, written alike once parsed."""
    as_text = lambda parsed: sorted(f"{sign:+.0f} {ast.unparse(node)}" for sign, node in expressions.terms(parsed.tree))  # noqa: E731
    return as_text(step) == as_text(reference)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."
