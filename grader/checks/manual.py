"""``manual``: prose a person grades.  The item is reported as pending with the student's answer; a TA
records the points later with ``grade manual REPORT.json --set ID=POINTS``."""
from __future__ import annotations

from . import calling
from .base import Check, CheckContext, Verdict

FIELDS = {"guidance"}


class ManualCheck(Check):
    kind = "manual"
    needs_notebook = False

    @classmethod
    def configure(cls, table: dict, rubric) -> dict:
        calling.reject_unknown(table, FIELDS)
        return {"guidance": str(table.get("guidance", ""))}

    def run(self, context: CheckContext) -> Verdict:
        answer, source = None, None
        if context.answers is not None and context.item.id in context.answers.answers:
            written = context.answers.answers[context.item.id]
            answer, source = "\n".join(written.lines)[:4000], written.source
        details = {"pending": True, "answer": answer, "guidance": context.item.config["guidance"]}
        if source is not None:  # read from a document: the TA sees where
            details["source"] = source
        return Verdict(0.0, "manual", "to be graded by a TA" + ("" if answer else " (no written answer found)"), details)
