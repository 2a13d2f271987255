"""Reading a student bundle (written by ``grade export-student``): its rubric and what it leaves out."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..rubric import Rubric, RubricError, load
from .export import BUNDLE_FORMAT

ENVIRONMENT_VARIABLE = "DLGRADE_BUNDLE"


class BundleError(Exception):
    pass


@dataclass
class Bundle:
    folder: Path
    rubric: Rubric
    meta: dict

    def notice(self) -> str:
        """The line every self-check result carries: what was checked here, and what was not."""
        checked = self.meta.get("checked", [])
        scopes = [entry.get("scope", "full") for entry in checked]
        graded = [entry for entry in checked if entry.get("scope", "full") != "format"]
        unchecked = self.meta.get("upload_only", [])
        hidden = self.meta.get("hidden", {})
        parts = [f"{len(graded)} items checked here ({sum(entry['points'] for entry in graded):g} points)"] if graded else []
        if scopes.count("part"):
            parts.append(f"{scopes.count('part')} of them only in part (properties, not values)")
        if scopes.count("format"):
            parts.append(f"{scopes.count('format')} theory answers checked only for being readable")
        left = len(unchecked) + hidden.get("items", 0)
        if left:
            points = sum(entry["points"] for entry in unchecked) + hidden.get("points", 0)
            parts.append(f"{left} more items ({points:g} points) are graded only on upload"
                         + (f", {hidden['items']} of them hidden tests" if hidden.get("items") else ""))
        return (f"public self-check of {self.meta['assignment']['id']}: " + "; ".join(parts)
                + ". Passing every check here is not the same as full marks.")


def load_bundle(folder: Path | str) -> Bundle:
    folder = Path(folder)
    meta_file = folder / "bundle.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(f"{folder}: not a student bundle (no bundle.json); a TA writes one with "
                          "`grade export-student RUBRIC --out BUNDLE`") from None
    except (ValueError, OSError) as exc:
        raise BundleError(f"{meta_file}: cannot be read ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{meta_file}: not a {BUNDLE_FORMAT} file")
    try:
        rubric = load(folder)
    except RubricError as exc:
        raise BundleError(str(exc)) from None
    return Bundle(folder, rubric, meta)


def find_bundle(start: Path | None = None, files: list[str] | tuple[str, ...] = (), defined: set[str] = frozenset()) -> Path:
    return locate_bundle(start, files, defined)[0]


def locate_bundle(start: Path | None = None, files: list[str] | tuple[str, ...] = (),
                  defined: set[str] = frozenset()) -> tuple[Path, str]:
    """``$DLGRADE_BUNDLE``, else the nearest folder holding bundle.json: the working directory, one of its
    parents, or a folder directly inside one of them.  Several bundles side by side are told apart by the
    student's files (a notebook the bundle's rubric would grade) or, inside a notebook, by the functions it
    defines; returns the bundle and, when there was a choice, a line that says which and why."""
    if os.environ.get(ENVIRONMENT_VARIABLE):
        return Path(os.environ[ENVIRONMENT_VARIABLE]), ""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "bundle.json").is_file():
            return folder, ""
        inside = sorted(child.parent for child in folder.glob("*/bundle.json"))
        if len(inside) == 1:
            return inside[0], ""
        if inside:
            return _choose(inside, files, defined)
    raise BundleError(f"no student bundle found from {here}: pass bundle=PATH or set {ENVIRONMENT_VARIABLE}")


def _choose(folders: list[Path], files, defined: set[str]) -> tuple[Path, str]:
    from ..submission import find_file

    names = [Path(f).name for f in files]
    fits = []
    for folder in folders:
        try:
            rubric = load_bundle(folder).rubric
        except BundleError:
            continue
        patterns = [p for notebook in rubric.notebooks.values() for p in notebook.match] + list(rubric.answers_match)
        by_file = bool(names) and find_file(names, tuple(patterns))[0] is not None
        targets = {str(item.config.get("target") if isinstance(item.config, dict) else getattr(item.config, "target", ""))
                   for item in rubric.items}
        fits.append((folder, by_file, len(targets & defined)))
    listed = ", ".join(folder.name for folder in folders)
    for reason, chosen in (("matches " + ", ".join(names), [f for f, by_file, _ in fits if by_file]),
                           ("checks the most of the functions this notebook defines",
                            _most([(f, n) for f, _, n in fits if n]))):
        if len(chosen) == 1:
            return chosen[0], f"using the bundle {chosen[0].name} (of {listed}): it {reason}"
    raise BundleError(f"several student bundles here ({listed}) and none is clearly for "
                      f"{', '.join(names) or 'this notebook'}: pass bundle=PATH (or --bundle)")


def _most(scored: list[tuple[Path, int]]) -> list[Path]:
    best = max((n for _, n in scored), default=0)
    return [folder for folder, n in scored if n == best and best]
