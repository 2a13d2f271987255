"""A rubric's reference values kept on disk between runs: each item's cases and what the references
computed for them (expected outputs, autograd's gradients).

Grading one submission after another (a TA's ``grade ZIP``, a CI job on an image where the grader ran
once) then neither imports the references (torch alone is a second and a half) nor computes them again.
The values are keyed by the rubric's ``values_version``, the digests of its file and of its references'
files, and by the grader's own code (which makes the cases and derives the expected values from the
references): an edit of any of them starts afresh.  They are written with the bridge's own encoding (JSON nodes,
arrays as raw bytes of a numeric dtype) and read back through its validation: a store that cannot be
read is ignored, never trusted, and nothing in it is unpickled or evaluated.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from .batch.cache import code_digest
from .checks.cases import Case
from .checks.gradient import ReferenceGradients
from .environment import cache_root
from .execution import bridge
from .report.json_format import write_atomic

FORMAT = 1
KINDS = {"Case": Case, "ReferenceGradients": ReferenceGradients}  # the records a value may hold, by name


def store_path(version: tuple[str, str]) -> Path:
    key = "/".join((*version, code_digest()))
    return cache_root() / "values" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.json"


def load(version: tuple[str, str]) -> dict:
    """The values kept for ``version``, keyed as the checks' ``expected_cache`` keys them; {} when there
    are none or they cannot be read."""
    path = store_path(version)
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if (stored.get("format") != FORMAT or stored.get("version") != list(version)
                or stored.get("grader") != code_digest()):
            return {}
        arrays = bridge.unpack_arrays(stored["layout"], stored["arrays"])
        return {(version, *_key(entry["key"])): _records(bridge.decode(entry["value"], arrays))
                for entry in stored["entries"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, bridge.BridgeError):
        return {}


def save(version: tuple[str, str], values: dict, loaded: int = 0) -> None:
    """Keep the values of ``version`` (written only when there are more than the ``loaded`` ones)."""
    mine = {key[1:]: value for key, value in values.items() if isinstance(key, tuple) and key and key[0] == version}
    if len(mine) <= loaded:
        return
    arrays: dict = {}
    entries = []
    for key, value in mine.items():
        try:
            bridge.encode(_plain(value), {})
        except TypeError:  # a value the encoding does not hold (the session's planned calls) is made again
            continue
        entries.append({"key": list(key), "value": bridge.encode(_plain(value), arrays)})
    if len(entries) <= loaded:
        return
    stored = {"format": FORMAT, "version": list(version), "grader": code_digest(), "entries": entries,
              **bridge.packed_arrays(arrays)}
    try:
        write_atomic(store_path(version), json.dumps(stored))
    except OSError:  # a read-only or full cache costs the next run its speed, never this grade
        pass


def _key(key: Any) -> tuple:
    if not isinstance(key, list) or not all(isinstance(part, (str, int)) for part in key):
        raise ValueError("malformed key")
    return tuple(key)


def _plain(value: Any) -> Any:
    """Records as tagged dicts, so the bridge's encoding holds them."""
    if isinstance(value, tuple(KINDS.values())):
        return {"__record__": type(value).__name__,
                **{field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _records(value: Any) -> Any:
    """``_plain`` undone: a tagged dict of a known record becomes the record (unknown tags are errors)."""
    if isinstance(value, dict):
        fields = {key: _records(item) for key, item in value.items()}
        if "__record__" not in fields:
            return fields
        kind = KINDS.get(fields.pop("__record__"))
        if kind is None or set(fields) != {field.name for field in dataclasses.fields(kind)}:
            raise ValueError("unknown record")
        return kind(**fields)
    if isinstance(value, list):
        return [_records(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_records(item) for item in value)
    return value
