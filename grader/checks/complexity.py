"""``complexity``: a big-O answer such as ``O(N d_k r + N r d_v)``, compared with the reference by how
fast each grows.  Every symbol becomes a power of one large t, with exponents chosen at random but
consistent with the stated ``assumptions`` (``["r << N"]``: r grows slower than N); two answers are the
same order when their growth exponents agree for every draw.  Constants and lower-order terms do not
matter, as in big-O."""
from __future__ import annotations

import math
import re

import numpy as np

from ..rubric import FieldError
from ..theory import expressions
from ..theory.answers import after_equals
from . import calling
from .answered import AnswerCheck, notation_of
from .base import CheckContext, Verdict
from .cases import seeded_rng

FIELDS = {"reference", "symbols", "assumptions", "trials"}
BIG_O = re.compile(r"^\s*(?:\\mathcal\{O\}|O|Θ|\\Theta|o)\s*\((.*)\)\s*$", re.S)
ASSUMPTION = re.compile(r"^\s*([A-Za-z_]\w*)\s*(<<|≪|>>|≫)\s*([A-Za-z_]\w*)\s*$")


def strip_big_o(text: str) -> str:
    text = text.strip().strip("$").replace("\\left", "").replace("\\right", "")
    match = BIG_O.match(text)
    return match.group(1) if match else text


def read_order(answer, symbols: dict, aliases: dict | None = None) -> expressions.Parsed:
    """The big-O on the answer's last line, after its last '='; raises ``ParseError``."""
    return expressions.parse(strip_big_o(after_equals(answer.lines[-1])), symbols, aliases)


def growth(parsed, exponents: dict[str, float]) -> float:
    """The exponent k with f ~ t^k, measured between t = 1e3 and 1e6."""
    logs = []
    for t in (1e3, 1e6):
        value = float(expressions.evaluate(parsed, {name: t ** e for name, e in exponents.items()}))
        if not value > 0 or not math.isfinite(value):
            raise expressions.ShapeError("the expression is not a positive cost")
        logs.append(math.log(value))
    return (logs[1] - logs[0]) / (math.log(1e6) - math.log(1e3))


class ComplexityCheck(AnswerCheck):
    kind = "complexity"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        names = table.get("symbols")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.isidentifier() for n in names):
            raise FieldError("symbols", "must list the size names, e.g. [\"N\", \"d\", \"r\"]")
        symbols = {name: [] for name in names}
        orders = []
        for text in table.get("assumptions", []):
            match = ASSUMPTION.match(text) if isinstance(text, str) else None
            if not match or match.group(1) not in symbols or match.group(3) not in symbols:
                raise FieldError("assumptions", f"'{text}' is not 'a << b' over the declared symbols")
            small, big = (match.group(1), match.group(3)) if match.group(2) in ("<<", "≪") else (match.group(3), match.group(1))
            orders.append((small, big))
        try:
            reference = expressions.parse(strip_big_o(str(table.get("reference", ""))), symbols)
        except expressions.ParseError as exc:
            raise FieldError("reference", f"the rubric's own answer is invalid: {exc}") from None
        return {"symbols": symbols, "orders": orders, "reference": reference, "trials": table.get("trials", 6),
                "aliases": notation_of(rubric, symbols)}

    def judge(self, context: CheckContext, answer) -> Verdict:
        config = context.item.config
        try:
            student = read_order(answer, config["symbols"], config.get("aliases"))
        except expressions.ParseError as exc:
            return Verdict(0.0, "failed", f"cannot read the answer: {exc}")
        rng = seeded_rng(context.rubric.id, context.item.id)
        for _ in range(config["trials"]):
            exponents = _draw(config["symbols"], config["orders"], rng)
            try:
                mine, expected = growth(student, exponents), growth(config["reference"], exponents)
            except expressions.ShapeError as exc:
                return Verdict(0.0, "failed", f"cannot compare: {exc}")
            if abs(mine - expected) > 0.05:
                faster = "faster" if mine > expected else "slower"
                sizes = ", ".join(f"{k}~t^{v:.1f}" for k, v in exponents.items())
                return Verdict(0.0, "failed", f"grows {faster} than the expected order (t^{mine:.2f} against "
                                              f"t^{expected:.2f} when {sizes})")
        return Verdict(1.0, "passed", "the same order", {"answer": student.text})


def _draw(symbols: dict, orders: list[tuple[str, str]], rng: np.random.Generator) -> dict[str, float]:
    """Random growth exponents in [0.5, 3] with every assumed 'small ≪ big' at least 1 apart."""
    for _ in range(1000):
        exponents = {name: float(rng.uniform(0.5, 3.0)) for name in symbols}
        if all(exponents[big] - exponents[small] >= 1.0 for small, big in orders):
            return exponents
    raise ValueError("the assumptions cannot be satisfied together")
