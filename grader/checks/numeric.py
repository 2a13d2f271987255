"""``numeric``: a number (or a short vector), within tolerance of one of the accepted values; each
accepted value may name its convention and carry its own share of the points.  The student may write
the arithmetic (``4*768*768 + 4*768``): it is evaluated by the safe expression interpreter.

``rejected`` values are the numbers of conventions the question rules out (a learned positional table
when it says there is none, one block where it asks for all twelve), each with the reason: such an
answer earns nothing and is told why.  No rejected value may lie within tolerance of an accepted one,
or a wrong reading could earn the points of a right one; the rubric is refused if one does."""
from __future__ import annotations

import numpy as np

from ..rubric import FieldError, item_callable
from ..theory import expressions, numbers, prose
from . import calling
from .answered import AnswerCheck, accepted_list, convention_note, symbols_field
from .base import CheckContext, Verdict

FIELDS = {"value", "accepted", "rejected", "rtol", "atol", "symbols", "reference"}


class NumericCheck(AnswerCheck):
    kind = "numeric"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        if "reference" in table:  # the value(s) derived by reference code, not typed in
            derived = item_callable(table, "reference", rubric)()
            table = {k: v for k, v in table.items() if k != "reference"}
            if isinstance(derived, dict) and "accepted" in derived:  # accepted and rejected conventions
                table.update(derived)
            elif isinstance(derived, list) and derived and all(isinstance(d, dict) for d in derived):
                table["accepted"] = derived  # several conventions, each named
            else:
                table["value"] = derived
        accepted = accepted_list(table, "accepted", "value", ("value",))
        for entry in accepted:
            entry["value"] = _array("accepted", entry["value"])
        tolerance = calling.tolerance({"rtol": 1e-6, "atol": 0.0, **table})
        rejected = _rejected(table.get("rejected", []), accepted, tolerance)
        return {"accepted": accepted, "rejected": rejected, "tolerance": tolerance, "symbols": symbols_field(table)}

    def judge(self, context: CheckContext, answer) -> Verdict:
        config = context.item.config
        lengths = {entry["value"].size for entry in config["accepted"] if entry["value"].ndim}
        note = ""
        try:
            value = read_number_answer("\n".join(answer.lines), config["symbols"], lengths)
        except (expressions.ParseError, expressions.ShapeError) as exc:
            located = prose.math_of(answer.lines[-1], set(config["symbols"]) | set(expressions.FUNCTIONS))
            try:
                value = read_number_answer(located, config["symbols"], lengths) if located else None
            except (expressions.ParseError, expressions.ShapeError):
                value = None
            if value is None:
                return Verdict(0.0, "failed", f"cannot read a number: {exc}")
            note = f" (read '{located}' from the sentence)"
        for entry in sorted(config["accepted"], key=lambda e: -e["fraction"]):
            if _close(value, entry["value"], config["tolerance"]):
                fraction = entry["fraction"]
                status = "passed" if fraction == 1 else "partial"
                return Verdict(fraction, status, f"correct{convention_note(entry)}{note}", {"answer": value.tolist()})
        for entry in config.get("rejected", []):
            if _close(value, entry["value"], config["tolerance"]):
                return Verdict(0.0, "failed", f"{shown(value)} is the count {entry['reason']}{note}",
                               {"answer": value.tolist()})
        return Verdict(0.0, "failed", f"{shown(value)} is not an accepted value{note}", {"answer": value.tolist()})


def shown(value: np.ndarray) -> str:
    """A number as a person reads it: whole numbers with thousands separators (12,345,678), not 12345678.0."""
    def one(x: float) -> str:
        return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:.6g}"
    return one(float(value)) if value.ndim == 0 else "[" + ", ".join(one(float(x)) for x in value.ravel()) + "]"


def _close(value: np.ndarray, expected: np.ndarray, tolerance) -> bool:
    return value.shape == expected.shape and bool(np.allclose(value, expected, rtol=tolerance.rtol, atol=tolerance.atol))


def _array(key: str, value) -> np.ndarray:
    if not _numbers(value):
        raise FieldError(key, "each value must be a number or a list of numbers")
    return np.asarray(value, dtype=float)


def _rejected(entries, accepted: list[dict], tolerance) -> list[dict]:
    """``rejected = [{value = …, reason = "with learned positional tables, which the question excludes"}]``."""
    if not isinstance(entries, list):
        raise FieldError("rejected", "must be a list of tables with 'value' and 'reason'")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or "value" not in entry or not isinstance(entry.get("reason"), str):
            raise FieldError("rejected", "each entry is a table with 'value' and 'reason'")
        value = _array("rejected", entry["value"])
        clash = next((a for a in accepted if _close(value, a["value"], tolerance)), None)
        if clash is not None:
            raise FieldError("rejected", f"{shown(value)} ({entry['reason']}) is within tolerance of the accepted "
                                         f"{shown(clash['value'])}{convention_note(clash)}: a student could not be "
                                         "told which one they meant")
        out.append({"value": value, "reason": entry["reason"]})
    return out


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
