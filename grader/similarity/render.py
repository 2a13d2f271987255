"""The ranked pairs for a person (rich), for tools (JSON) and side by side (one HTML page, no script)."""
from __future__ import annotations

import html

from rich.console import Console
from rich.table import Table

from ..report.text import clean
from .corpus import Document
from .pairs import Pair

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;padding:1rem;background:#f6f7f9;color:#1d2330}
main{max-width:90rem;margin:auto} table{border-collapse:collapse;background:#fff;margin:1rem 0}
th,td{padding:.35rem .6rem;border-bottom:1px solid #e3e6eb;text-align:start;vertical-align:top}
details{background:#fff;border:1px solid #e3e6eb;border-radius:.4rem;margin:.6rem 0;padding:.4rem .8rem}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}
pre{margin:.2rem 0 .8rem;background:#f1f3f6;padding:.4rem;overflow-x:auto;font-size:13px}
mark{background:#ffe08a} h3{font-size:.95rem;margin:.4rem 0}
@media (max-width:50rem){.sides{grid-template-columns:1fr}}
"""


def as_dict(documents: list[Document], pairs: list[Pair]) -> dict:
    def who(document: Document) -> dict:
        return {"key": document.key, "label": document.label, "file": document.file}
    return {"submissions": len(documents),
            "unreadable": [{"file": d.file, "problem": d.problem} for d in documents if d.problem],
            "not_compared": [{"file": d.file, "skipped": d.skipped} for d in documents if d.skipped],
            "pairs": [{"a": who(documents[p.a]), "b": who(documents[p.b]), "score": p.score, "jaccard": p.jaccard,
                       "shared_fingerprints": p.shared, "a_lines": p.a_lines, "b_lines": p.b_lines} for p in pairs]}


def _line_count(spans: dict[str, list[list[int]]]) -> int:
    return sum(last - first + 1 for ranges in spans.values() for first, last in ranges)


def terminal(documents: list[Document], pairs: list[Pair], console: Console | None = None) -> None:
    console = console or Console()
    table = Table("#", "submission A", "submission B", "score", "shared", "lines matched (A / B)", title_justify="left",
                  title=f"{len(documents)} submissions, {len(pairs)} pairs shown (template code not counted)")
    for rank, pair in enumerate(pairs, start=1):
        table.add_row(str(rank), clean(documents[pair.a].label, 80), clean(documents[pair.b].label, 80),
                      f"{100 * pair.score:.0f} %", str(pair.shared),
                      f"{_line_count(pair.a_lines)} / {_line_count(pair.b_lines)} in {len(pair.a_lines)} / "
                      f"{len(pair.b_lines)} cells")
    console.print(table)
    for document in documents:
        if document.problem:
            console.print(f"not compared: {clean(document.problem, 300)}", style="yellow", markup=False)
        for skipped in document.skipped[:20]:
            console.print(f"not compared, in {clean(document.file, 120)}: {clean(skipped, 300)}", style="yellow",
                          markup=False)


def _source(document: Document, spans: dict[str, list[list[int]]]) -> str:
    units = {unit.name: unit.source for unit in document.units}
    parts = []
    for name, ranges in spans.items():
        marked = {line for first, last in ranges for line in range(first, last + 1)}
        lines = units.get(name, "").split("\n")
        body = "\n".join(f"<mark>{html.escape(clean(line, 400))}</mark>" if number in marked
                         else html.escape(clean(line, 400)) for number, line in enumerate(lines, start=1))
        parts.append(f"<h3>{html.escape(clean(name, 200))}</h3><pre>{body}</pre>")
    return "".join(parts)


def _not_compared(documents: list[Document]) -> str:
    items = [f'<li dir="auto">{html.escape(clean(d.file, 120))}: {html.escape(clean(text, 300))}</li>'
             for d in documents for text in ([d.problem] if d.problem else []) + d.skipped[:20]]
    return f"<h2>Not compared</h2><ul>{''.join(items)}</ul>" if items else ""


def page(documents: list[Document], pairs: list[Pair]) -> str:
    rows, details = [], []
    for rank, pair in enumerate(pairs, start=1):
        a, b = documents[pair.a], documents[pair.b]
        names = f"{html.escape(clean(a.label, 120))} — {html.escape(clean(b.label, 120))}"
        rows.append(f'<tr><td>{rank}</td><td dir="auto">{html.escape(clean(a.label, 120))}</td>'
                    f'<td dir="auto">{html.escape(clean(b.label, 120))}</td><td>{100 * pair.score:.0f} %</td>'
                    f'<td>{pair.shared}</td></tr>')
        details.append(f'<details{" open" if rank <= 3 else ""}><summary dir="auto">#{rank} {names}: '
                       f'{100 * pair.score:.0f} %</summary><div class="sides"><div>{_source(a, pair.a_lines)}</div>'
                       f'<div>{_source(b, pair.b_lines)}</div></div></details>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Similar submissions</title><style>{STYLE}</style></head><body><main>
<h1>Similar submissions</h1>
<p>{len(documents)} submissions; code given in the template is not counted. Matched lines are highlighted.</p>
<table><thead><tr><th>#</th><th>submission A</th><th>submission B</th><th>score</th><th>shared fingerprints</th></tr></thead>
<tbody>{''.join(rows)}</tbody></table>
{''.join(details)}
{_not_compared(documents)}
</main></body></html>
"""
