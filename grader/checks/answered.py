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


def convention_note(entry: dict) -> str:
    return f" (convention: {entry['convention']})" if entry["convention"] else ""
