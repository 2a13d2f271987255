"""A Markdown feedback page: to paste to a student or to post as a CI job summary.

Everything that came from a student or from a student's code is escaped: HTML special characters
become entities and Markdown's own characters are backslash-escaped, so nothing a student wrote can
become a link, an image, a heading or raw HTML on the page; escape sequences are removed.
"""
from __future__ import annotations

import html
import re

from .i18n import is_rtl, labels
from .model import Report
from .text import clean, item_points, points

MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~!#])")
# what GitHub's Markdown turns into a link by itself: a scheme, www., an e-mail's @; a word joiner
# (U+2060, invisible) inside each keeps the text as written and unlinked
AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|xmpp)(?=:)|\b(www)(?=\.)|(?<=[\w.+-])(@)(?=[\w-])")
ICON = {"passed": "✅", "partial": "🟡", "failed": "❌", "error": "⛔", "manual": "📝", "skipped": "⏭️",
        "grader_error": "🛠️"}


def escape(text: str | None, limit: int = 4000) -> str:
    """Inline-safe: one line, no HTML, no Markdown syntax."""
    value = MARKDOWN_SPECIAL.sub(r"\\\1", clean(text, limit).replace("\n", " "))
    value = AUTOLINK.sub(lambda match: (match.group(1) or match.group(2) or "") + "\u2060" + (match.group(3) or ""),
                         value)
    return html.escape(value, quote=False)  # after the backslashes, so no entity is cut by one


def render(report: Report) -> str:
    words = labels(report.language)
    # numbers stay left to right on a right-to-left page ("14.5 / 20", not "20 / 14.5"): an isolate around each
    ltr = (lambda text: f"\u2066{text}\u2069") if is_rtl(report.language) else (lambda text: text)  # noqa: E731
    student = report.student
    name = " ".join(p for p in (student.first, student.last) if p) or words["unknown_student"]
    total = report.total
    lines = [f"## {escape(report.assignment.get('title', report.assignment.get('id')))}", "",
             f"**{escape(name)}** {escape(student.student_id or '')} · {escape(report.submission.file)}", "",
             f"**{words['total']}: {ltr(f'{points(total.score)} / {points(total.max)}')}** ({ltr(f'{total.percent:.1f} %')})"
             + (" — " + words["pending"].format(points=points(total.manual_pending)) if total.manual_pending else "")
             if not report.grader_error else f"**{words['total']}: {words['grader_error']}**", ""]
    if report.grader_error:
        lines += [f"> 🛠️ {words['grader_fault']}: {escape(report.grader_error['cause'])}", ">",
                  f"> {words['fix']}: {escape(report.grader_error['fix'])}", ""]
    if report.error:
        lines += [f"> ⛔ {words['unreadable']}: {escape(report.error)}", ""]
    lines += [f"> ⚠️ {escape(w)}" for w in report.warnings]
    if report.warnings:
        lines.append("")
    lines += [f"| {words['item']} | {words['points']} | {words['status']} | {words['feedback']} |",
              "| --- | ---: | --- | --- |"]
    for item in report.items:
        label = escape(item.id) + (f" *({words['hidden']})*" if item.visibility == "hidden" else "")
        lines.append(f"| {label} | {ltr(item_points(item))} | {ICON.get(item.status, '')} "
                     f"{escape(words.get(item.status, item.status))} | {escape(item.feedback, 300)} |")
    failing = [i for i in report.items if i.status not in ("passed", "manual")]
    if failing:
        lines += ["", f"### {words['what_to_fix']}", ""]
        for item in failing:
            lines += [f"<details><summary>{escape(item.id)} — {escape(item.title)}</summary>", "",
                      escape(item.feedback), "", "</details>", ""]
    public = [i for i in report.items if i.visibility == "public"]
    if len(public) < len(report.items):
        lines += ["", "*" + words["hidden_note"].format(count=len(report.items) - len(public)) + "*"]
    page = "\n".join(lines).rstrip() + "\n"
    # a right-to-left page: GitHub and most viewers honour dir on a block around the Markdown
    return f'<div dir="rtl">\n\n{page}\n</div>\n' if is_rtl(report.language) else page
