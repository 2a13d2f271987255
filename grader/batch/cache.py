"""What a grade depends on, as one key; and re-scoring a cached report under a rubric whose points or
texts changed.

A report is reused when the submission's bytes, the parts of the rubric that decide what runs and
what is compared, the rubric's other files (references, templates, starter files) and the grader's own
code (``grader/`` and ``reference/``) are all unchanged.  Points, titles and descriptions, the late
policy and the assignment title are left out of the key: changing them re-scores from the cache in
milliseconds instead of running every notebook again.
"""
from __future__ import annotations

import copy
import hashlib
import json
from functools import lru_cache
from pathlib import Path

import grader

from ..report import manual
from ..rubric import Rubric, files_digest

SCORING_ONLY_ITEM_FIELDS = ("points", "title", "title_fa", "description")
SCORING_ONLY_SECTIONS = ("late",)


@lru_cache(maxsize=1)
def code_digest() -> str:
    """The grader's and the bundled references' source: a change to either may change any grade."""
    roots = [Path(grader.__file__).parent]
    try:
        import reference  # the course content (dlgrade-courses), when installed
    except ImportError:
        pass
    else:
        roots.append(Path(reference.__file__).parent)
    return hashlib.sha256("".join(files_digest(root.rglob("*.py"), root) for root in roots).encode()).hexdigest()


def rubric_digest(rubric: Rubric) -> str:
    """The rubric's executed parts and the files it runs: Python beside it (references, generators,
    validators), the templates and the starter files."""
    executed = copy.deepcopy(rubric.raw)
    for section in SCORING_ONLY_SECTIONS:
        executed.pop(section, None)
    executed.get("assignment", {}).pop("title", None)
    executed.get("assignment", {}).pop("title_fa", None)
    for item in executed.get("items", []):
        for field_name in SCORING_ONLY_ITEM_FIELDS:
            item.pop(field_name, None)
    text = json.dumps(executed, sort_keys=True, default=str)
    files = [p for p in rubric.folder.rglob("*.py") if "examples" not in p.relative_to(rubric.folder).parts]
    for notebook in rubric.notebooks.values():
        files += [p for p in (notebook.template, *notebook.starter_files) if p is not None and p.is_relative_to(rubric.folder)]
    return hashlib.sha256((text + files_digest(files, rubric.folder)).encode()).hexdigest()


def grade_key(submission_sha256: str, rubric: Rubric, options_digest: str) -> str:
    return hashlib.sha256("/".join((submission_sha256, rubric_digest(rubric), code_digest(), options_digest))
                          .encode()).hexdigest()


def earned_fraction(item: dict) -> float:
    """The share of its points an item earned (an item worth nothing counts as earned when passed)."""
    return item["score"] / item["points"] if item["points"] else float(item["status"] == "passed")


def rescore(report: dict, rubric: Rubric) -> dict:
    """The cached report with the rubric's current points and titles: each item keeps the fraction of
    its points it earned."""
    fresh = copy.deepcopy(report)
    cached = {item["id"]: item for item in fresh["items"]}
    items = []
    for rubric_item in rubric.items:
        item = cached[rubric_item.id]  # same executed parts, so the same items
        fraction = earned_fraction(item)
        item.update(points=rubric_item.points, score=round(rubric_item.points * fraction, 6), title=rubric_item.title)
        items.append(item)
    fresh["items"] = items
    fresh["assignment"]["title"] = rubric.title
    manual.retotal(fresh)
    return fresh


def carry_manual_points(previous: dict | None, report: dict) -> list[str]:
    """Put the points a TA entered by hand into the previous report back into the new one; returns
    warnings for entries that no longer fit."""
    if not previous:
        return []
    warnings = []
    current = {item["id"]: item for item in report["items"]}
    for item in previous.get("items", []):
        entry = item.get("details", {}).get("manual")
        if not entry or entry.get("pending", True):
            continue
        target = current.get(item["id"])
        if target is None:
            warnings.append(f"manual points for '{item['id']}' were dropped: the rubric no longer has that item")
            continue
        points = min(float(entry["points"]), target["points"])
        if points < entry["points"]:
            warnings.append(f"manual points for '{item['id']}' were capped at its new maximum {target['points']:g}")
        manual.apply(report, item["id"], points, entry.get("comment", ""), override=True)
        target["details"]["manual"]["at"] = entry.get("at", target["details"]["manual"]["at"])
    return warnings
