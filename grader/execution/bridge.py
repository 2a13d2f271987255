"""Values across the trust boundary: the grader writes a call request, the kernel writes a response.

Arrays travel in ``.npz`` files loaded with ``allow_pickle=False``; structure (tuples, lists, dicts,
scalars, strings) travels as JSON.  Everything read back is validated here: node kinds, array dtypes,
sizes, nesting.  Nothing from the kernel is imported, unpickled or evaluated.
"""
from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MAX_JSON_BYTES = 16 * 2**20
MAX_ARRAY_BYTES = 1 * 2**30
MAX_NODES = 100_000
MAX_DEPTH = 32
NUMERIC_KINDS = "biufc"


class BridgeError(Exception):
    """What came back from the kernel cannot be accepted (message is shown to the student)."""


@dataclass(frozen=True)
class Handle:
    """A value kept inside the kernel; ``handle[3]`` refers to an element of it."""

    id: str
    path: tuple = ()

    def __getitem__(self, step: int | str) -> "Handle":
        return Handle(self.id, self.path + (step,))


@dataclass
class Response:
    status: str  # ok | error | missing | unencodable
    value: Any = None
    error_type: str = ""
    message: str = ""
    traceback: str = ""
    candidates: list[str] = field(default_factory=list)


def write_request(directory: Path, name: str, function: str, args: list, *, keep: str | None,
                  tensors: bool) -> Path:
    """Write ``name.json`` + ``name.npz`` for one call; return the JSON path the kernel reads."""
    arrays: dict[str, np.ndarray] = {}
    request = {
        "function": function,
        "args": [_encode(arg, arrays) for arg in args],
        "keep": keep,
        "tensors": tensors,
        "out": str(directory / f"{name}.out"),
    }
    np.savez(directory / f"{name}.npz", **arrays)
    path = directory / f"{name}.json"
    path.write_text(json.dumps(request))
    return path


def _encode(value: Any, arrays: dict) -> dict:
    if isinstance(value, Handle):
        return {"t": "handle", "id": value.id, "path": list(value.path)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"t": "scalar", "v": value}
    if isinstance(value, (np.ndarray, np.generic)):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"t": "array", "k": key}
    if isinstance(value, (list, tuple)):
        return {"t": "tuple" if isinstance(value, tuple) else "list", "v": [_encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "keys": list(value), "v": [_encode(v, arrays) for v in value.values()]}
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


def read_response(directory: Path, name: str) -> Response:
    """Read and validate ``name.out.json`` / ``name.out.npz`` written by the kernel."""
    base = f"{name}.out"
    raw = _read_regular_file(directory, base + ".json", MAX_JSON_BYTES)
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BridgeError(f"the kernel's response is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("status") not in {"ok", "error", "missing", "unencodable"}:
        raise BridgeError("the kernel's response has no valid status")
    status = payload["status"]
    if status == "error":
        return Response(status, error_type=_text(payload.get("type")), message=_text(payload.get("message")),
                        traceback=_text(payload.get("traceback")))
    if status == "missing":
        candidates = payload.get("candidates")
        names = [c for c in candidates if isinstance(c, str)][:3] if isinstance(candidates, list) else []
        return Response(status, candidates=names)
    if status == "unencodable":
        return Response(status, message=_text(payload.get("message")))
    arrays = _load_arrays(_read_regular_file(directory, base + ".npz", MAX_ARRAY_BYTES))
    counter = [0]
    return Response(status, value=_decode(payload.get("result"), arrays, counter, 0))


def _text(value: Any, limit: int = 4000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _read_regular_file(directory: Path, name: str, limit: int) -> bytes:
    """Read a file the kernel wrote, refusing links and anything but a regular file of bounded size."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise BridgeError(f"the bridge folder is gone ({exc.strerror})") from None
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        raise BridgeError(f"no response from the kernel ({name}: {exc.strerror})") from None
    finally:
        os.close(dir_fd)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BridgeError(f"{name} is not a regular file")
        if info.st_size > limit:
            raise BridgeError(f"{name} is {info.st_size} bytes, more than the limit of {limit}")
        return handle.read(limit + 1)


def _load_arrays(raw: bytes) -> dict[str, np.ndarray]:
    buffer = io.BytesIO(raw)
    try:
        with zipfile.ZipFile(buffer) as archive:
            declared = sum(info.file_size for info in archive.infolist())
        if declared > MAX_ARRAY_BYTES:
            raise BridgeError(f"the result holds {declared} bytes of arrays, more than {MAX_ARRAY_BYTES}")
        buffer.seek(0)
        with np.load(buffer, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except BridgeError:
        raise
    except Exception as exc:  # a malformed npz is the student's problem, reported, never raised
        raise BridgeError(f"the result's arrays cannot be read ({type(exc).__name__}: {exc})"[:300]) from None
    for key, array in arrays.items():
        if array.dtype.kind not in NUMERIC_KINDS:
            raise BridgeError(f"array of dtype {array.dtype} in the result (only numeric arrays are accepted)")
    return arrays


def _decode(node: Any, arrays: dict, counter: list, depth: int) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES or depth > MAX_DEPTH:
        raise BridgeError("the result is too large or too deeply nested")
    if not isinstance(node, dict):
        raise BridgeError("malformed result")
    kind = node.get("t")
    if kind == "scalar":
        value = node.get("v")
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise BridgeError("malformed scalar in the result")
        return value
    if kind == "array":
        key = node.get("k")
        if not isinstance(key, str) or key not in arrays:
            raise BridgeError("the result refers to an array that was not sent")
        return arrays[key]
    values = node.get("v")
    if kind in {"tuple", "list"} and isinstance(values, list):
        items = [_decode(item, arrays, counter, depth + 1) for item in values]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(values, list) and isinstance(node.get("keys"), list):
        keys = node["keys"]
        if len(keys) != len(values) or not all(isinstance(k, (str, int)) for k in keys):
            raise BridgeError("malformed dict in the result")
        return {k: _decode(v, arrays, counter, depth + 1) for k, v in zip(keys, values)}
    raise BridgeError("malformed result")
