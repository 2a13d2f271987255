"""``numeric``: a number (or a short vector), within tolerance of one of the accepted values; each
accepted value may name its convention and carry its own share of the points.  The student may write
the arithmetic (``4*768*768 + 4*768``): it is evaluated by the safe expression interpreter."""
from __future__ import annotations

import numpy as np

from ..rubric import FieldError, item_callable
from ..theory import expressions, numbers
from . import calling
from .answered import AnswerCheck, accepted_list, convention_note, symbols_field
from .base import CheckContext, Verdict

FIELDS = {"value", "accepted", "rtol", "atol", "symbols", "reference"}


class NumericCheck(AnswerCheck):
    kind = "numeric"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        if "reference" in table:  # the value(s) derived by reference code, not typed in
            derived = item_callable(table, "reference", rubric)()
            table = {k: v for k, v in table.items() if k != "reference"}
            if isinstance(derived, list) and derived and all(isinstance(d, dict) for d in derived):
                table["accepted"] = derived  # several conventions, each named
            else:
                table["value"] = derived
        accepted = accepted_list(table, "accepted", "value", ("value",))
        for entry in accepted:
            value = np.asarray(entry["value"], dtype=float) if _numbers(entry["value"]) else None
            if value is None:
                raise FieldError("accepted", "each value must be a number or a list of numbers")
            entry["value"] = value
        tolerance = calling.tolerance({"rtol": 1e-6, "atol": 0.0, **table})
        return {"accepted": accepted, "tolerance": tolerance, "symbols": symbols_field(table)}

    def judge(self, context: CheckContext, answer) -> Verdict:
        config = context.item.config
        try:
            lengths = {entry["value"].size for entry in config["accepted"] if entry["value"].ndim}
            value = read_number_answer("\n".join(answer.lines), config["symbols"], lengths)
        except (expressions.ParseError, expressions.ShapeError) as exc:
            return Verdict(0.0, "failed", f"cannot read a number: {exc}")
        for entry in sorted(config["accepted"], key=lambda e: -e["fraction"]):
            expected = entry["value"]
            if value.shape == expected.shape and np.allclose(value, expected, rtol=config["tolerance"].rtol,
                                                             atol=config["tolerance"].atol):
                fraction = entry["fraction"]
                status = "passed" if fraction == 1 else "partial"
                return Verdict(fraction, status, f"correct{convention_note(entry)}", {"answer": value.tolist()})
        shown = value.tolist()
        return Verdict(0.0, "failed", f"{shown} is not an accepted value", {"answer": shown})


def _numbers(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                          for v in value)


def read_number_answer(text: str, symbols: dict, vector_lengths: set[int] = frozenset()) -> np.ndarray:
    """The number (or vector) a written answer gives after its last '='; raises ``ParseError``."""
    return numbers.read(text, symbols, vector_lengths)
