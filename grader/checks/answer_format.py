"""``answer_format``: a theory item's public self-check.  It says whether the answer is there and
readable the way the graded kind will read it — a number, a shape, an expression in the declared
symbols, a big-O, options — and never whether it is right, so a student bundle gives it no points.

Fields: ``reads`` (the graded kind: text, numeric, shape, expression, complexity or choice),
``symbols`` (as the graded kind declares them; a list of names for complexity), ``options`` (choice).
"""
from __future__ import annotations

from ..rubric import FieldError
from ..theory import expressions
from . import calling
from .answered import AnswerCheck, notation_of, symbols_field
from .base import CheckContext, Verdict
from .choice import read_choices
from .complexity import read_order
from .expression import read_expression
from .numeric import read_number_answer
from .shape import read_shape

FIELDS = {"reads", "symbols", "options"}
READERS = ("text", "numeric", "shape", "expression", "complexity", "choice")
LATER = "whether it is right is graded on upload"


class AnswerFormatCheck(AnswerCheck):
    kind = "answer_format"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        reads = table.get("reads", "text")
        if reads not in READERS:
            raise FieldError("reads", f"must be one of {', '.join(READERS)}")
        symbols = table.get("symbols", {})
        if reads == "complexity":
            if not isinstance(symbols, list) or not all(isinstance(n, str) and n.isidentifier() for n in symbols):
                raise FieldError("symbols", "must list the size names")
            symbols = {name: [] for name in symbols}
        else:
            symbols = symbols_field(table)
        options = table.get("options", ["a", "b", "c", "d"])
        if not isinstance(options, list) or not all(isinstance(o, str) and o for o in options):
            raise FieldError("options", "must list the option letters")
        return {"reads": reads, "symbols": symbols, "options": {o.lower() for o in options},
                "aliases": notation_of(rubric, symbols)}

    def judge(self, context: CheckContext, answer) -> Verdict:
        config = context.item.config
        reads, symbols = config["reads"], config["symbols"]
        try:
            if reads == "numeric":
                shown = str(read_number_answer(answer.text, symbols).tolist())
            elif reads == "shape":
                shown = str(read_shape(answer.text, symbols))
            elif reads == "expression":
                shown = read_expression(answer, symbols, config.get("aliases")).text
            elif reads == "complexity":
                shown = f"O({read_order(answer, symbols, config.get('aliases')).text})"
            elif reads == "choice":
                chosen, unclear = read_choices(answer.text)
                chosen &= config["options"]
                if unclear:
                    return Verdict(0.0, "failed", f"{unclear}: write the letters first, then any explanation")
                if not chosen:
                    return Verdict(0.0, "failed", f"no option ({', '.join(sorted(config['options']))}) found in the answer")
                shown = ", ".join(sorted(chosen))
            else:
                shown = ""
        except (expressions.ParseError, expressions.ShapeError) as exc:
            return Verdict(0.0, "failed", f"the grader cannot read this answer: {exc}")
        read_as = f"read as {shown if len(shown) <= 60 else shown[:59] + '…'}; " if shown else ""
        return Verdict(1.0, "passed", f"answered; {read_as}{LATER}", {"read_as": shown} if shown else {})
