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
PERSIAN = {"آ": "a", "ا": "a", "الف": "a", "ب": "b", "ج": "c", "د": "d", "ه": "e"}  # و is "and"
SCORINGS = ("all_or_nothing", "proportional")
# words that may stand beside the chosen letters without making the answer prose
CONNECTORS = {"and", "or", "only", "both", "option", "options", "answer", "answers", "the", "is", "are", "correct",
              "right", "choice", "choices", "گزینه", "گزینه‌های", "گزینه‌ی", "گزینهٔ", "گزینه‌", "های", "فقط", "هر",
              "دو", "پاسخ", "جواب", "صحیح", "درست", "است", "هستند", "موارد", "مورد", "و", "یا"}
# where an explanation starts: the choice is what comes before it
EXPLANATION = re.compile(r"\s[—–-]\s|[:;.؛]\s|\s(?:because|since|as|زیرا|چون|چرا که)\s|\(")
LABEL = re.compile(r"^\s*(?:answer|پاسخ|جواب)\s*[:：]\s*", re.I)
OPTION = re.compile(r"(?:option|choice|گزینه(?:\u200c?ی)?)\s*\(?\s*(الف|[a-eA-E]|[آابجده])\s*\)?(?![\w])", re.I)
NEGATION = re.compile(r"\b(?:not|no|wrong|incorrect|isn't|except)\b|\bنه\b|نیست|غلط|نادرست", re.I)
# a student who is not sure: the choice is left to a TA rather than read as whichever letters appear
HEDGES = re.compile(r"\b(?:maybe|perhaps|probably|not sure|i think|i guess|either)\b|شاید|احتمالا|احتمالاً|مطمئن نیستم|فکر می\s?\u200c?کنم",
                    re.I)


def read_choices(text: str) -> tuple[set[str], str]:
    """The options an answer chooses, and why it cannot be told (empty when it can): the letters of its
    first clause, before any explanation, where a Latin ``a`` that begins a phrase is the article."""
    text = LABEL.sub("", text.strip())
    text = re.sub(r"\(([A-Za-zآابجدهو]|الف)\)", r" \1 ", text)  # (b) and (c)
    clause = EXPLANATION.split(" " + text + " ", maxsplit=1)[0]
    words = re.findall(r"[^\W\d_]+(?:\u200c[^\W\d_]+)*", clause)
    chosen, prose = set(), []
    for index, word in enumerate(words):
        letter = PERSIAN.get(word, word.lower() if len(word) == 1 and word.isascii() else None)
        following = words[index + 1].lower() if index + 1 < len(words) else ""
        if letter and not (word == "a" and following and following not in CONNECTORS and len(following) > 1):
            chosen.add(letter)
        elif word.lower() not in CONNECTORS:
            prose.append(word)
    if chosen and len(prose) > 3:
        return chosen, (f"the answer reads as prose ('{clause.strip()[:60]}'): it is not clear which options it "
                        "chooses")
    hedge = HEDGES.search(clause)
    if chosen and hedge:
        return chosen, f"the answer hesitates ('{hedge.group(0)}'): it is not clear which options it chooses"
    alternatives = re.search(r"\b([A-Da-d]|[آابجد]|الف)\s+(?:or|یا)\s+(?:(?:option|choice|گزینه(?:\u200c?ی)?)\s+)?"
                             r"([A-Da-d]|[آابجد]|الف)\b", clause, re.I)
    if alternatives:
        return chosen, (f"'{alternatives.group(0)}' offers alternatives: it is not clear which option it chooses")
    if not chosen:
        return named_options(text), ""
    return chosen, ""


def named_options(text: str) -> set[str]:
    """"Unidirectional — option (c).": the option a sentence names as its answer, when it names one and
    says nothing against it (no "not", "نه"); otherwise none, for the check to refuse."""
    named = {PERSIAN.get(letter, letter.lower()) for letter in OPTION.findall(text)}
    return named if len(named) == 1 and not NEGATION.search(text) else set()


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
        chosen, unclear = read_choices(answer.text)
        chosen &= config["options"]
        if unclear:
            return Verdict(0.0, "manual", f"{unclear}; a TA will read it", {"chosen": sorted(chosen)})
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
