"""``grade export-student``: what a student may have, and nothing more.

A bundle is a folder: ``rubric.toml`` (a rubric of the public self-checks), ``fixtures/`` (stored
cases: inputs, and for the items compared with a reference, the expected results computed here from
the reference), ``starter/`` (the course's starter files) and ``bundle.json`` (what is checked here and
what is left to grading on upload).  It holds no reference code and names none, no hidden item, no
accepted theory answer, and no expected value of a graded case: the stored cases are drawn from their
own seeds, so copying them earns nothing on upload.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import tomli_w

from .. import fixtures
from ..checks.cases import make_cases, seeded_rng
from ..checks.calling import reference_outputs
from ..checks.gradient import reference_gradients
from ..checks.tensors import to_numpy, to_torch
from ..rubric import Item, Rubric, load

BUNDLE_FORMAT = "dlgrade-student-bundle"
THEORY_KINDS = {"numeric": "numeric", "shape": "shape", "expression": "expression", "complexity": "complexity",
                "choice": "choice", "derivation": "text"}
# a module's properties that need the reference (its parameter shapes) are left to grading on upload
REFERENCE_PROPERTIES = {"parameter_count"}
COPIED_FIELDS = ("rtol", "atol", "all_or_nothing")


class ExportError(Exception):
    pass


@dataclass
class Export:
    """What one bundle holds: the items checked in it and those left to grading on upload."""

    folder: Path
    checked: list[dict] = field(default_factory=list)      # id, title, points, check, scope (full|part|format)
    upload_only: list[dict] = field(default_factory=list)  # id, title, points, why
    hidden_items: int = 0
    hidden_points: float = 0.0


def case_namespace(rubric: Rubric) -> str:
    """The seed namespace of a bundle's cases: never the one graded cases are drawn from."""
    return f"{rubric.id}/student-bundle"


def export_bundle(rubric: Rubric, out: Path, cases: int = 3) -> Export:
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / "bundle.json").is_file():
        raise ExportError(f"{out} exists and is not a student bundle: choose an empty or new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out.parent))
    try:
        export = _write(rubric, staging, cases)
        load(staging)  # the bundle must load as a rubric of its own, or it is not written
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    export.folder = out
    return export


def _write(rubric: Rubric, folder: Path, count: int) -> Export:
    export = Export(folder)
    raw_items = {table["id"]: table for table in rubric.raw.get("items", [])}
    generators: dict[str, dict] = {}
    items = []
    for item in rubric.items:
        if item.visibility == "hidden":
            export.hidden_items += 1
            export.hidden_points += item.points
            continue
        table, check, scope = _public_item(rubric, item, raw_items[item.id], folder, count, generators)
        if table is not None:
            items.append(table)  # a manual item too: the student's answer to it is expected, not a stray
        if scope in ("upload", "manual"):
            export.upload_only.append({"id": item.id, "title": item.title, "points": item.points, "why": check})
        else:
            export.checked.append({"id": item.id, "title": item.title, "points": table["points"], "check": check,
                                   "scope": scope})
    if not export.checked:
        raise ExportError(f"{rubric.id} has no public item a student can check offline")
    document = {"assignment": {"id": rubric.id, "title": rubric.title, "detect": False,
                               "hidden_until": rubric.hidden_until,
                               **{f"title_{k}": v for k, v in rubric.titles.items()}},
                "limits": dict(rubric.raw.get("limits", {})), "aliases": dict(rubric.aliases),
                "notebooks": [_notebook(notebook, folder) for notebook in rubric.notebooks.values()],
                "generators": generators, "items": items}
    if rubric.answers_match:
        document["answers"] = {"match": list(rubric.answers_match)}
        notation = rubric.raw.get("answers", {}).get("notation")
        if notation:  # the question's own names read as the graded kind reads them: names, not answers
            document["answers"]["notation"] = notation
    if rubric.environment is not None:  # the TA's wheel folders stay with the TA: a student's machine has an index
        document["environment"] = {"requirements": list(rubric.environment.requirements)}
    (folder / "rubric.toml").write_text(f"# Public self-checks of {rubric.id}, written by grade export-student.\n"
                                        + tomli_w.dumps(_without_empty(document)), encoding="utf-8")
    meta = {"format": BUNDLE_FORMAT, "version": 1, "assignment": {"id": rubric.id, "title": rubric.title},
            "rubric_sha256": rubric.sha256, "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "checked": export.checked, "upload_only": export.upload_only,
            "hidden": {"items": export.hidden_items, "points": export.hidden_points}}
    (folder / "bundle.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return export


def _without_empty(document: dict) -> dict:
    return {key: value for key, value in document.items() if value not in ({}, [], None)}


def _notebook(notebook, folder: Path) -> dict:
    starters = []
    for source in notebook.starter_files:
        target = folder / "starter" / source.name
        target.parent.mkdir(exist_ok=True)
        shutil.copyfile(source, target)
        starters.append(f"starter/{source.name}")
    return _without_empty({"name": notebook.name, "match": list(notebook.match), "mode": notebook.mode,
                           "starter_files": starters})


def _store(folder: Path, generators: dict, item: Item, cases: list[fixtures.StoredCase]) -> str:
    """Write ``cases`` as the stored inputs named after the item; returns that name."""
    stem = f"fixtures/{item.id}"
    fixtures.write(folder / stem, cases)
    generators[item.id] = {"stored": stem}
    return item.id


def _public_cases(rubric: Rubric, item: Item, generator, count: int):
    return make_cases(case_namespace(rubric), item.id, generator, count)


def _public_item(rubric: Rubric, item: Item, raw: dict, folder: Path, count: int,
                 generators: dict) -> tuple[dict | None, str, str]:
    """The bundle's table for one public item, a line saying what it checks, and how much of the item
    that is: full, part, format (readable, not right), manual (pending) or upload (not in the bundle)."""
    base = {"id": item.id, "title": item.title, **{f"title_{k}": v for k, v in item.titles.items()}, "points": item.points}
    if item.notebook:
        base["notebook"] = item.notebook
    config, kind = item.config, item.kind
    copied = {key: raw[key] for key in COPIED_FIELDS if key in raw}
    if kind == "function":
        stored = [fixtures.StoredCase(case.label, case.dims, case.args, reference_outputs(
                      to_numpy(config.reference(*to_torch(list(case.args.values())))), config.outputs, config.compare))
                  for case in _public_cases(rubric, item, config.generator, count)]
        table = {**base, "kind": "function", "target": config.target, "inputs": _store(folder, generators, item, stored),
                 "cases": len(stored), **copied}
        for key in ("outputs", "compare"):
            if getattr(config, key):
                table[key] = list(getattr(config, key))
        return table, f"{len(stored)} fixed cases, expected results computed from the reference", "full"
    if kind == "gradient" and config.student_forward is None:
        stored = []
        for case in _public_cases(rubric, item, config.generator, count):
            rng = seeded_rng(case_namespace(rubric), item.id, str(case.index), "upstream")
            reference = reference_gradients(config, case.args, rng)
            names = [f"upstream{i}" for i in range(len(reference.upstream))] + ["cache"]
            stored.append(fixtures.StoredCase(case.label, case.dims, dict(zip(names, [*reference.upstream, reference.cache])),
                                              reference.expected))
        named = {"outputs": list(config.returns), "compare": list(config.grads)} if config.returns else {}
        return ({**base, **named, "kind": "function", "target": config.target, "cases": len(stored),
                 "inputs": _store(folder, generators, item, stored), "rtol": config.tolerance.rtol,
                 "atol": config.tolerance.atol, "all_or_nothing": config.all_or_nothing},
                f"{len(stored)} fixed cases, gradients computed by autograd of the reference", "full")
    if kind == "gradient":  # the student's forward builds the cache: differences of it need no reference
        stored = [fixtures.StoredCase(c.label, c.dims, c.args) for c in _public_cases(rubric, item, config.generator, count)]
        returns = {"returns": list(config.returns)} if config.returns else {}
        return ({**base, **returns, "kind": "gradient", "method": "finite-differences", "target": config.target,
                 "student_forward": config.student_forward, "inputs": _store(folder, generators, item, stored),
                 "cases": len(stored), "upstream": list(config.upstream), "cache": config.cache,
                 "grads": {name: ".".join(path) for name, path in config.grads.items()}, "probes": config.probes,
                 "epsilon": config.epsilon, "rtol": config.tolerance.rtol, "atol": config.tolerance.atol,
                 "all_or_nothing": config.all_or_nothing},
                "finite differences of your own forward (needs no reference)", "full")
    if kind == "module":
        properties = [p for p in config["properties"] if p not in REFERENCE_PROPERTIES] or ["output_shape"]
        stored = [fixtures.StoredCase(c.label, c.dims, c.args)
                  for c in _public_cases(rubric, item, config["generator"], config["cases"])]
        left = (["values against the reference"] if config["reference"] else []) + \
               [p.replace("_", " ") for p in config["properties"] if p in REFERENCE_PROPERTIES]
        if left:  # the self-check's score for this item is not the item's grade: say so where it shows
            base["title"] = f"{item.title} (self-check: properties only)"
        table = {**base, "kind": "module", "target": config["target"], "init": config["init"],
                 "inputs": _store(folder, generators, item, stored), "cases": len(stored), "properties": properties,
                 "token_axis": config["token_axis"]}
        return (_without_empty(table), "properties only: " + ", ".join(p.replace("_", " ") for p in properties)
                + (f" (on upload also: {', '.join(left)})" if left else ""), "part" if left else "full")
    if kind == "forbidden":
        table = {**base, "kind": "forbidden", **{k: raw[k] for k in ("forbidden", "allowed", "target", "init", "tensors")
                                                 if k in raw}}
        if config.get("generator") is not None:
            stored = [fixtures.StoredCase(c.label, c.dims, c.args)
                      for c in _public_cases(rubric, item, config["generator"], config["cases"])]
            table.update(inputs=_store(folder, generators, item, stored), cases=len(stored))
        return table, "ready-made APIs the item forbids, in the code and at run time", "full"
    if kind in THEORY_KINDS:
        table = {**base, "points": 0, "kind": "answer_format", "reads": THEORY_KINDS[kind]}
        if kind == "choice":
            table["options"] = raw.get("options", ["a", "b", "c", "d"])
        elif kind != "derivation" and raw.get("symbols"):
            table["symbols"] = raw["symbols"]
        return table, "whether an answer is there and readable (no points: its correctness is graded on upload)", \
            "format"
    if kind == "manual":  # the TA's guidance stays with the TA
        return {**base, "kind": "manual"}, "graded by a TA", "manual"
    reasons = {"metric": "scored against labels only the TA holds",
               "property": "its validator is part of the grader's reference code"}
    return None, reasons.get(kind, f"the {kind} check needs the grader's reference material"), "upload"
