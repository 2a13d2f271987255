"""One self-contained HTML page: totals, a table of items, each lost point expanded with its
feedback and details.  No script, no external resource; readable on a phone; every text node gets
``dir="auto"`` so Persian names and feedback run right to left while numbers and code stay left to
right.  Everything is escaped with ``html.escape``."""
from __future__ import annotations

import html
import json
import re

from .i18n import is_rtl, labels
from .model import Report
from .text import clean, item_points, points

STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI","Vazirmatn",Tahoma,sans-serif;margin:0;padding:1rem;
  color:#1d2330;background:#f6f7f9}
main{max-width:60rem;margin:auto}
h1{font-size:1.3rem;margin:.2rem 0}
.total{font-size:1.6rem;font-weight:700;margin:.5rem 0}
.bar{height:.6rem;background:#dde2ea;border-radius:.3rem;overflow:hidden}
.bar span{display:block;height:100%;background:#2f9e58}
table{border-collapse:collapse;width:100%;background:#fff;margin:1rem 0}
th,td{padding:.45rem .6rem;border-bottom:1px solid #e3e6eb;text-align:start;vertical-align:top}
td.points{white-space:nowrap;font-variant-numeric:tabular-nums}
.passed{color:#1f7a43}.partial{color:#9a6700}.failed,.error{color:#b42318}.manual{color:#175cd3}.grader_error{color:#7a2e8e}
details{background:#fff;border:1px solid #e3e6eb;border-radius:.4rem;padding:.5rem .8rem;margin:.5rem 0}
summary{font-weight:600;cursor:pointer}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f1f3f6;padding:.5rem;border-radius:.3rem;direction:ltr;
  text-align:left}
table.cases{margin:.4rem 0;font-size:.92rem}.value{font-family:ui-monospace,Menlo,Consolas,monospace;
  overflow-wrap:anywhere;text-align:left}
dl{margin:.4rem 0}dt{font-weight:600}dd{margin:0 0 .4rem 0}
.warning{background:#fff8e6;border-left:4px solid #f0b429;padding:.4rem .7rem;margin:.4rem 0}
@media (max-width:40rem){th.feedback,td.feedback{display:none}body{padding:.6rem}}
"""


def _text(value: str | None, limit: int = 4000) -> str:
    return html.escape(clean(value, limit), quote=True)


MAX_CASES = 8


def _case_label(case: dict, index: int, words: dict) -> str:
    return re.sub(r"^case (?=\d)", words["case"] + " ", str(case.get("case", index + 1)))


def _details(details: dict, words: dict) -> str:
    """What an item's details say, as a student reads them: each case with what differs, the answer as the
    grader read it, and any other fact as a line; values stay left to right."""
    parts = []
    cases = details.get("cases") if isinstance(details.get("cases"), list) else []
    if cases:
        rows = "".join(
            f'<tr><td dir="auto">{_text(_case_label(case, index, words), 200)}</td>'
            f'<td class="{"passed" if case.get("ok") else "failed"}">{"✓" if case.get("ok") else "✗"}</td>'
            f'<td dir="ltr" class="value">{_text(str(case.get("problem", "")), 600)}</td></tr>'
            for index, case in enumerate(cases[:MAX_CASES]) if isinstance(case, dict))
        more = (f'<p>{words["more_cases"].format(count=len(cases) - MAX_CASES)}</p>' if len(cases) > MAX_CASES else "")
        parts.append(f'<table class="cases"><thead><tr><th>{words["case"]}</th><th>{words["result"]}</th>'
                     f'<th>{words["what_differs"]}</th></tr></thead><tbody>{rows}</tbody></table>{more}')
    facts = []
    for key, value in details.items():
        if key == "cases":
            continue
        label = words["your_answer"] if key == "answer" else words.get(f"detail_{key}", key.replace("_", " "))
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) and all(
            not isinstance(v, (dict, list)) for v in value) else value
        text = shown if isinstance(shown, str) else json.dumps(shown, ensure_ascii=False, default=str)
        facts.append(f'<dt dir="auto">{_text(label, 80)}</dt><dd dir="ltr" class="value">{_text(text, 1500)}</dd>')
    if facts:
        parts.append(f'<dl>{"".join(facts)}</dl>')
    return "".join(parts)


def render(report: Report) -> str:
    words = labels(report.language)
    student, total = report.student, report.total
    name = " ".join(p for p in (student.first, student.last) if p) or words["unknown_student"]
    automatic = total.max - total.manual_pending
    share = 100 * total.score / automatic if automatic else 0.0
    rows, failures = [], []
    for item in report.items:
        hidden = f' <small>({words["hidden"]})</small>' if item.visibility == "hidden" else ""
        rows.append(f'<tr><td dir="auto"><code>{_text(item.id)}</code>{hidden}<br><span dir="auto">{_text(item.title)}</span></td>'
                    f'<td class="points" dir="ltr">{item_points(item, " / ")}</td>'
                    f'<td class="{_text(item.status)}">{_text(words.get(item.status, item.status))}</td>'
                    f'<td class="feedback" dir="auto">{_text(item.feedback, 400)}</td></tr>')
        if item.status not in ("passed", "manual"):
            failures.append(f'<details open><summary dir="auto">{_text(item.id)} — {_text(item.title)} '
                            f'(<span dir="ltr">{item_points(item, " / ")}</span>)</summary>'
                            f'<p dir="auto">{_text(item.feedback)}</p>{_details(item.details, words)}</details>')
    warnings = [f'<div class="warning" dir="auto">{_text(w)}</div>' for w in report.warnings]
    if report.error:
        warnings.insert(0, f'<div class="warning" dir="auto">{words["unreadable"]}: {_text(report.error)}</div>')
    if report.grader_error:
        warnings.insert(0, f'<div class="warning" id="grader-fault" dir="auto"><strong>{words["grader_fault"]}</strong>: '
                           f'{_text(report.grader_error["cause"], 1000)}<br>{words["fix"]}: '
                           f'{_text(report.grader_error["fix"], 1000)}</div>')
    pending = " · " + words["pending"].format(points=points(total.manual_pending)) if total.manual_pending else ""
    title = _text(report.assignment.get("title") or report.assignment.get("id"))
    return f"""<!doctype html>
<html lang="{_text(report.language)}" dir="{'rtl' if is_rtl(report.language) else 'ltr'}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title} — {_text(name)}</title><style>{STYLE}</style></head>
<body><main>
<h1 dir="auto">{title}</h1>
<p><span id="student" dir="auto">{_text(name)}</span> <span dir="ltr">{_text(student.student_id or "")}</span>
 · <code>{_text(report.submission.file)}</code></p>
<p class="total" id="total">{words["grader_error"] if report.grader_error else f'<span dir="ltr">{points(total.score)} / {points(total.max)}</span>'}</p>
<div class="bar" aria-label="share of the automatic points"><span style="width:{share:.1f}%"></span></div>
<p>{share:.1f} % {words["automatic_share"]}{pending}</p>
{''.join(warnings)}
<table><thead><tr><th>{words["item"]}</th><th>{words["points"]}</th><th>{words["status"]}</th><th class="feedback">{words["feedback"]}</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
{''.join(failures)}
</main></body></html>
"""
