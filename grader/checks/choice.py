"""``choice``: one or several options.  Students write ``b, c``, ``(b) and (c)`` or the Persian letters
``ب، ج``.  Scoring: ``all_or_nothing`` (default) or ``proportional`` (each right option +1/k, each
wrong one −1/k, never below zero)."""
from __future__ import annotations

import re

from ..rubric import FieldError
from . import calling
from .answered import AnswerCheck
from .base import CheckContext, Verdict

FIELDS = {"correct", "options", "scoring"}
PERSIAN = {"آ": "a", "ا": "a", "الف": "a", "ب": "b", "ج": "c", "د": "d", "ه": "e", "و": "f"}
SCORINGS = ("all_or_nothing", "proportional")


def read_choices(text: str) -> set[str]:
    chosen = set()
    for token in re.findall(r"[A-Za-z]+|[آابجدهو]+|الف", text):
        token = PERSIAN.get(token, token).lower()
        if len(token) == 1:
            chosen.add(token)
    return chosen


class ChoiceCheck(AnswerCheck):
    kind = "choice"

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        correct = table.get("correct")
        if isinstance(correct, str):
            correct = [correct]
        if not isinstance(correct, list) or not correct or not all(isinstance(c, str) and len(c) == 1 for c in correct):
            raise FieldError("correct", "must list the correct option letters, e.g. [\"b\", \"c\"]")
        options = table.get("options", ["a", "b", "c", "d"])
        scoring = table.get("scoring", "all_or_nothing")
        if scoring not in SCORINGS:
            raise FieldError("scoring", f"must be one of {', '.join(SCORINGS)}")
        return {"correct": {c.lower() for c in correct}, "options": {o.lower() for o in options}, "scoring": scoring}

    def judge(self, context: CheckContext, answer) -> Verdict:
        config = context.item.config
        chosen = read_choices(answer.text) & config["options"]
        if not chosen:
            return Verdict(0.0, "failed", f"no option ({', '.join(sorted(config['options']))}) found in the answer")
        right, wrong = chosen & config["correct"], chosen - config["correct"]
        missed = config["correct"] - chosen
        details = {"chosen": sorted(chosen)}
        if not wrong and not missed:
            return Verdict(1.0, "passed", "correct", details)
        if config["scoring"] == "proportional":
            fraction = max(0.0, (len(right) - len(wrong)) / len(config["correct"]))
        else:
            fraction = 0.0
        parts = ([f"{len(missed)} correct option{'s' if len(missed) > 1 else ''} missing"] if missed else []) + \
                ([f"{', '.join(sorted(wrong))} {'is' if len(wrong) == 1 else 'are'} not correct"] if wrong else [])
        return Verdict(fraction, "partial" if fraction > 0 else "failed", "; ".join(parts), details)
