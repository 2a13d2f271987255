"""``shape``: a tensor shape such as ``(16, 128, 512)``, ``16 x 128 x 512`` or ``(B, N, d)``.  Entries
may be numbers or the rubric's symbols (``B = 32``); they are compared by value.  Several accepted
shapes may name their conventions."""
from __future__ import annotations

import re

from ..rubric import FieldError
from ..theory import expressions
from ..theory.answers import after_equals
from ..theory.code import from_code
from ..theory.numbers import DIGITS
from . import calling
from .answered import AnswerCheck, accepted_list, convention_note
from .base import CheckContext, Verdict

FIELDS = {"shape", "accepted", "symbols"}
SEPARATORS = re.compile(r"\s*(?:[,،;]|×|\bx\b|(?<=\d)[xX](?=\s*\d)|\*|\\times)\s*")


def read_shape(text: str, symbols: dict) -> tuple[int, ...]:
    inner = after_equals(from_code(text.translate(DIGITS))).strip().strip("$").strip().strip("()[]{} ")
    if ", " in inner or "، " in inner:  # separators are followed by a space: (32, 2048, 30,000) groups thousands
        inner = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", inner)
    if not inner:
        raise expressions.ParseError("no sizes found in the answer")
    power = re.search(r"\S*(?:\^|\*\*|[²³⁴])\S*", inner)
    if power:  # 2048^2 is two sizes or one: the reader cannot tell which
        raise expressions.ParseError(f"'{power.group(0)}' is a power, not one size: write each dimension "
                                     "(… × 2048 × 2048)")
    entries = [e for e in SEPARATORS.split(inner) if e.strip()]
    values = []
    for entry in entries:
        value = expressions.evaluate(expressions.parse(entry, symbols), symbols)
        if value.ndim or not float(value).is_integer():
            raise expressions.ParseError(f"'{entry}' is not a whole size")
        values.append(int(value))
    return tuple(values)


class ShapeCheck(AnswerCheck):
    kind = "shape"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        symbols = table.get("symbols", {})
        if not isinstance(symbols, dict) or not all(isinstance(v, int) for v in symbols.values()):
            raise FieldError("symbols", "must map each size name to a whole number, e.g. { B = 32 }")
        accepted = accepted_list(table, "accepted", "shape", ("shape",))
        for entry in accepted:
            shape = entry["shape"]
            if not isinstance(shape, list) or not all(isinstance(s, (int, str)) for s in shape):
                raise FieldError("accepted", "a shape is a list of sizes or size names, e.g. [32, \"N\", 768]")
            try:
                entry["shape"] = tuple(s if isinstance(s, int) else read_shape(s, symbols)[0] for s in shape)
            except (expressions.ParseError, expressions.ShapeError, IndexError) as exc:
                raise FieldError("accepted", f"cannot read {shape}: {exc}") from None
        return {"accepted": accepted, "symbols": symbols}

    def judge(self, context: CheckContext, answer) -> Verdict:
        config = context.item.config
        try:
            shape = read_shape(answer.text, config["symbols"])
        except (expressions.ParseError, expressions.ShapeError) as exc:
            return Verdict(0.0, "failed", f"cannot read a shape: {exc}")
        for entry in sorted(config["accepted"], key=lambda e: -e["fraction"]):
            if shape == entry["shape"]:
                status = "passed" if entry["fraction"] == 1 else "partial"
                return Verdict(entry["fraction"], status, f"correct{convention_note(entry)}", {"answer": list(shape)})
        best = config["accepted"][0]["shape"]
        hint = (f"{len(shape)} dimensions, expected {len(best)}" if len(shape) != len(best)
                else f"dimension {next(i for i, (a, b) in enumerate(zip(shape, best)) if a != b)} differs")
        return Verdict(0.0, "failed", f"{shape} is not the expected shape ({hint})", {"answer": list(shape)})
