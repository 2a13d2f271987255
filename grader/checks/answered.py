"""What the theory kinds share: finding the student's answer to an item, and reading small fields."""
from __future__ import annotations

from ..rubric import FieldError
from ..theory.answers import Answer
from .base import Check, CheckContext, Verdict


class AnswerCheck(Check):
    """A kind that grades the student's written answer to its item: ``judge`` sees only real answers."""

    needs_notebook = False

    def run(self, context: CheckContext) -> Verdict:
        answer = answer_of(context)
        return answer if isinstance(answer, Verdict) else self.judge(context, answer)

    def judge(self, context: CheckContext, answer: Answer) -> Verdict:
        raise NotImplementedError


def answer_of(context: CheckContext) -> Answer | Verdict:
    """The item's answer, or the verdict to give when there is none."""
    if context.answers is None:
        return Verdict(0.0, "error", context.answers_problem or "no answers file in the submission")
    answer = context.answers.answers.get(context.item.id)
    if answer is None or not answer.lines:
        return Verdict(0.0, "failed", f"no answer under '## {context.item.id}' in the answers file")
    return answer


def accepted_list(table: dict, key: str, single: str, fields: tuple[str, ...]) -> list[dict]:
    """``accepted = [{value = …, convention = "…", fraction = 0.5}, …]`` or the shorthand ``single = …``."""
    if single in table and key in table:
        raise FieldError(key, f"give either '{single}' or '{key}', not both")
    if single in table:
        return [{fields[0]: table[single], "convention": "", "fraction": 1.0}]
    entries = table.get(key)
    if not isinstance(entries, list) or not entries:
        raise FieldError(key, f"needs '{single}' or a non-empty list '{key}'")
    out = []
    for entry in entries:
        if not isinstance(entry, dict) or fields[0] not in entry:
            raise FieldError(key, f"each entry is a table with '{fields[0]}' (and optionally 'convention', 'fraction')")
        fraction = entry.get("fraction", 1.0)
        if not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
            raise FieldError(key, "'fraction' must be in (0, 1]")
        out.append({fields[0]: entry[fields[0]], "convention": str(entry.get("convention", "")), "fraction": float(fraction)})
    return out


def symbols_field(table: dict) -> dict:
    symbols = table.get("symbols", {})
    if not isinstance(symbols, dict):
        raise FieldError("symbols", "must map each name to [] (a scalar), a shape such as [4, 1], or a number")
    for name, declared in symbols.items():
        if not name.isidentifier() or not (isinstance(declared, (int, float, list))):
            raise FieldError(f"symbols.{name}", "must be [] (a scalar), a shape such as [4, 1], or a number")
    return symbols


def constraints_field(table: dict, symbols: dict) -> dict[str, str]:
    """``constraints = { y = "one_hot", y_hat = "probability" }``: the set a symbol is drawn from, for
    equivalences that hold only there (the targets sum to one)."""
    from ..theory.expressions import CONSTRAINTS

    constraints = table.get("constraints", {})
    if not isinstance(constraints, dict):
        raise FieldError("constraints", f"must map a symbol to one of {', '.join(CONSTRAINTS)}")
    for name, constraint in constraints.items():
        if name not in symbols or isinstance(symbols[name], (int, float)):
            raise FieldError(f"constraints.{name}", "must name a declared symbol that is not a fixed number")
        if constraint not in CONSTRAINTS:
            raise FieldError(f"constraints.{name}", f"must be one of {', '.join(CONSTRAINTS)}")
        shape = tuple(symbols[name])
        if constraint in ("probability", "one_hot") and not shape:
            raise FieldError(f"constraints.{name}", f"a {constraint} symbol is a vector: declare its shape")
        if constraint == "orthogonal" and (len(shape) != 2 or shape[0] != shape[1]):
            raise FieldError(f"constraints.{name}", "an orthogonal symbol is a square matrix")
    return dict(constraints)


def definitions_of(rubric, symbols: dict) -> tuple[dict, dict]:
    """The item's symbols with those its definitions add, and each applicable definition parsed: a
    definition applies when the item has its symbol and every name it uses is the item's or its own."""
    from ..theory import expressions

    extended, definitions = dict(symbols), {}
    for name, (text, extra) in rubric.answers_definitions.items():
        if name not in symbols:
            continue
        scope = {**symbols, **extra}
        try:
            definitions[name] = expressions.parse(text, scope)
        except expressions.ParseError:
            continue  # it uses a name this item does not have: it does not apply here
        extended.update(extra)
    return extended, definitions


def notation_of(rubric, symbols: dict) -> dict[str, str]:
    """The question's own names for this item's symbols (``[answers] notation``), as ``parse`` takes them."""
    return {name: symbol for name, symbol in rubric.answers_notation.items() if symbol in symbols and name != symbol}


def convention_note(entry: dict) -> str:
    return f" (convention: {entry['convention']})" if entry["convention"] else ""
