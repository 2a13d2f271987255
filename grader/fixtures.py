"""Stored cases: the arguments of a few calls and, where the trusted side knew them, their expected
results.  A student bundle carries them instead of generators and references.

A set of cases is two files, ``STEM.json`` (structure, labels, sizes) and ``STEM.npz`` (the arrays),
read back with the bridge's own validation and ``allow_pickle=False``: a bundle is data, never code.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .execution.bridge import BridgeError, decode, encode, load_arrays, npz_bytes

FORMAT = "dlgrade-cases"
MAX_FILE_BYTES = 64 * 2**20


class FixtureError(Exception):
    """A stored case file is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class StoredCase:
    label: str
    dims: dict
    args: dict  # argument name -> value, in call order
    expected: Any = None  # None: only the inputs were stored


def write(stem: Path, cases: list[StoredCase]) -> None:
    arrays: dict = {}
    document = {"format": FORMAT, "version": 1, "cases": [
        {"label": case.label, "dims": case.dims, "args": encode(case.args, arrays),
         "expected": None if case.expected is None else encode(case.expected, arrays)} for case in cases]}
    stem.parent.mkdir(parents=True, exist_ok=True)
    json_file, npz_file = _files(stem)
    npz_file.write_bytes(npz_bytes(arrays))
    json_file.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")


def _files(stem: Path) -> tuple[Path, Path]:
    # not with_suffix: an item id such as "p1.rnn_forward" already holds a dot
    return stem.parent / f"{stem.name}.json", stem.parent / f"{stem.name}.npz"


def read(stem: Path) -> tuple[StoredCase, ...]:
    files = _files(stem)
    for file in files:
        if not file.is_file():
            raise FixtureError(f"{file}: no such file")
        if file.stat().st_size > MAX_FILE_BYTES:
            raise FixtureError(f"{file}: larger than {MAX_FILE_BYTES // 2**20} MiB")
    try:
        document = json.loads(files[0].read_text(encoding="utf-8"))
        if not isinstance(document, dict) or document.get("format") != FORMAT or not isinstance(document.get("cases"), list):
            raise ValueError(f"not a {FORMAT} file")
        arrays = load_arrays(files[1].read_bytes())
        cases = []
        for entry in document["cases"]:
            args = decode(entry["args"], arrays)
            if not isinstance(args, dict) or not isinstance(entry.get("label"), str) or not isinstance(entry.get("dims"), dict):
                raise ValueError("a case needs a label, its sizes and its arguments by name")
            expected = None if entry.get("expected") is None else decode(entry["expected"], arrays)
            cases.append(StoredCase(entry["label"], entry["dims"], args, expected))
    except (ValueError, KeyError, TypeError, BridgeError) as exc:
        raise FixtureError(f"{files[0]}: {exc}") from None
    if not cases:
        raise FixtureError(f"{files[0]}: holds no cases")
    return tuple(cases)
