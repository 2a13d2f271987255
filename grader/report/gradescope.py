"""Gradescope's autograder ``results.json``: one test per automatic item.

Manual items are not tests (Gradescope grades them in its own manual questions); the top-level
``output`` says how many points wait for a TA.  Hidden items are ``after_published`` or ``hidden``
as the rubric says (``[assignment] hidden_until``).  Text goes out as plain text: Gradescope shows it
inert.
"""
from __future__ import annotations

import json

from .model import Report
from .text import clean, points


def visibility(item_visibility: str, hidden_until: str) -> str:
    if item_visibility != "hidden":
        return "visible"
    return "after_published" if hidden_until == "published" else "hidden"


def results(report: Report) -> dict:
    if report.grader_error:
        return fault_results(report)
    hidden_until = report.assignment.get("hidden_until", "published")
    tests = [{"name": clean(f"{item.id} — {item.title}", 300), "number": str(number), "score": item.score,
              "max_score": item.points, "status": "passed" if item.score >= item.points else "failed",
              "output": clean(item.feedback, 8000), "visibility": visibility(item.visibility, hidden_until)}
             for number, item in enumerate((i for i in report.items if i.status != "manual"), start=1)]
    total = report.total
    lines = [f"{report.assignment.get('title', '')}: {points(total.score)} / {points(total.max - total.manual_pending)} "
             "automatic points"]
    if total.manual_pending:
        lines.append(f"{points(total.manual_pending)} more points are graded by a TA.")
    if report.error:
        lines.append(f"The submission could not be graded: {clean(report.error, 2000)}")
    lines += [f"warning: {clean(w, 500)}" for w in report.warnings]
    return {"score": total.score, "execution_time": round(report.duration_s), "output": "\n".join(lines),
            "output_format": "text", "test_output_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests}


def fault_results(report: Report) -> dict:
    """No score and no tests: Gradescope then records an autograder failure, which the instructor sees and
    can rerun, instead of a grade the student did not earn or lose."""
    fault = report.grader_error
    return {"execution_time": round(report.duration_s), "output_format": "text", "visibility": "visible",
            "output": f"Not graded: a fault of the grader, not of this submission.\n{clean(fault['cause'], 2000)}\n"
                      f"What the course staff should do: {clean(fault['fix'], 1000)}",
            "stdout_visibility": "hidden"}


def render(report: Report) -> str:
    return json.dumps(results(report), indent=2, ensure_ascii=False)
