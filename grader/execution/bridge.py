"""Values across the trust boundary, over the Jupyter channel itself: no file is shared.

A request is JSON (structure, scalars, strings) with the arguments' arrays as base64 bytes; it is
embedded in the code the kernel executes.  The response comes back as display data of the MIME type
``MIME``: JSON again, arrays as base64 bytes of a numeric dtype the grader names in a closed pattern.
On the wire the arrays of one dtype travel as one flat member and a JSON ``layout`` says where each one
lies: a result of forty small arrays then costs one member to read, not forty.  Everything read
back is validated here: node kinds, array dtypes, sizes, nesting.  Nothing from the kernel is
imported, unpickled or evaluated.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import math
import re
import secrets
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIME = "application/x-dlgrade-response+json"
MAX_ARRAY_BYTES = 128 * 2**20  # below the zmq message cap of the kernel session
MAX_NODES = 100_000
MAX_DEPTH = 32
MAX_TRACED = 20_000  # names a traced call reports; the agent says so when it saw more
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
    traced: list[str] = field(default_factory=list)  # functions called, when the call was traced


def request_body(function: str | Handle, args: list, *, keep: str | None, tensors: bool, trace: bool = False,
                 kwargs: dict | None = None, op: str = "call", pick: tuple[int, ...] | None = None) -> str:
    """The JSON request for the agent's ``call`` but its nonce (``with_nonce`` adds one to each request
    made of it): the same for every student given the same call, so it is encoded once.  ``function`` is
    a name in the notebook or a ``Handle`` of a kept object; ``op`` is call, or one of the agent's
    operations on a kept module (eval, parameters, gradient_flow); ``pick`` sends back only those elements
    of a returned tuple (the others as None), so a cache nobody grades never crosses."""
    arrays: dict[str, np.ndarray] = {}
    nodes = [encode(arg, arrays) for arg in args]
    keyword_nodes = {key: encode(value, arrays) for key, value in (kwargs or {}).items()}
    if isinstance(function, Handle):
        function = {"id": function.id, "path": list(function.path)}
    request = {"function": function, "args": nodes, "kwargs": keyword_nodes, "op": op, "keep": keep,
               "tensors": tensors, "trace": trace, "pick": list(pick) if pick is not None else None,
               **packed_arrays(arrays)}
    return json.dumps(request)


def with_nonce(body: str) -> tuple[str, str]:
    """A request of ``body`` (a JSON object) carrying a fresh nonce, and the nonce."""
    nonce = secrets.token_hex(8)
    return f'{body[:-1]}, "nonce": "{nonce}"}}', nonce


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def packed_arrays(arrays: dict[str, np.ndarray]) -> dict:
    """``{"arrays": {member: [dtype, base64 of its bytes]}, "layout": {key: [member, offset, shape]}}``: one
    flat member per dtype, its raw bytes (an npz, zip and headers, cost ten times as much to write and read
    as the small arrays it carried)."""
    groups: dict[str, list[np.ndarray]] = {}
    names: dict[str, str] = {}
    filled: dict[str, int] = {}
    layout = {}
    for key, array in arrays.items():
        dtype = array.dtype.str
        name = names.setdefault(dtype, f"g{len(names)}")
        layout[key] = [name, filled.get(dtype, 0), list(array.shape)]
        filled[dtype] = filled.get(dtype, 0) + array.size
        groups.setdefault(dtype, []).append(array)
    members = {names[dtype]: [dtype, base64.b64encode(np.concatenate([m.ravel() for m in group]).tobytes()).decode("ascii")]
               for dtype, group in groups.items()}
    return {"arrays": members, "layout": layout}


def unpack_arrays(layout: Any, packed: Any) -> dict[str, np.ndarray]:
    """``packed_arrays`` undone and validated: only plain numeric dtypes, within the size limit, every
    slice within its member, every shape sane."""
    members = _members(packed)
    if not isinstance(layout, dict) or len(layout) > MAX_NODES:
        raise BridgeError("the result's array layout is malformed")
    arrays = {}
    for key, place in layout.items():
        if not (isinstance(place, list) and len(place) == 3 and place[0] in members
                and _is_count(place[1]) and isinstance(place[2], list) and len(place[2]) <= MAX_DEPTH
                and all(_is_count(n) for n in place[2])):
            raise BridgeError("the result's array layout is malformed")
        member, offset, shape = members[place[0]], place[1], place[2]
        size = math.prod(shape)
        if offset + size > member.size:
            raise BridgeError("the result's array layout points outside its data")
        arrays[key] = member[offset:offset + size].reshape(shape)
    return arrays


# a byte order, a numeric kind and a size: nothing else (objects, records, strings) parses from this
NUMERIC_DTYPE = re.compile(r"[<>|=][biufc](1|2|4|8|16|32)")


def _members(packed: Any) -> dict[str, np.ndarray]:
    if not isinstance(packed, dict) or len(packed) > 64:
        raise BridgeError("the result's arrays are missing or malformed")
    members, total = {}, 0
    for name, member in packed.items():
        if not (isinstance(member, list) and len(member) == 2 and isinstance(member[0], str)
                and NUMERIC_DTYPE.fullmatch(member[0]) and isinstance(member[1], str)):
            raise BridgeError("the result's arrays are missing or malformed (only numeric arrays are accepted)")
        total += len(member[1]) * 3 // 4
        if total > MAX_ARRAY_BYTES:
            raise BridgeError(f"the result holds more than {MAX_ARRAY_BYTES} bytes of arrays")
        try:
            dtype = np.dtype(member[0])
            raw = base64.b64decode(member[1], validate=True)
        except (TypeError, binascii.Error, ValueError):
            raise BridgeError("the result's arrays cannot be read (a malformed dtype or base64)") from None
        if dtype.kind not in NUMERIC_KINDS or len(raw) % dtype.itemsize:
            raise BridgeError("the result's arrays cannot be read (their bytes do not fit their dtype)")
        members[name] = np.frombuffer(bytearray(raw), dtype)  # writable, like any array a student returns
    return members


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ARRAY_BYTES


def encode(value: Any, arrays: dict) -> dict:
    """``value``'s structure as JSON nodes; its arrays are added to ``arrays`` under the keys named."""
    if isinstance(value, Handle):
        return {"t": "handle", "id": value.id, "path": list(value.path)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"t": "scalar", "v": value}
    if isinstance(value, (np.ndarray, np.generic)):
        key = f"a{len(arrays)}"
        arrays[key] = np.asarray(value)
        return {"t": "array", "k": key}
    if isinstance(value, (list, tuple)):
        return {"t": "tuple" if isinstance(value, tuple) else "list", "v": [encode(v, arrays) for v in value]}
    if isinstance(value, dict):
        return {"t": "dict", "keys": list(value), "v": [encode(v, arrays) for v in value.values()]}
    raise TypeError(f"cannot send a {type(value).__name__} to the kernel")


def _payload(outputs: list[dict], nonce: str) -> dict | None:
    """The last response among ``outputs`` that carries ``nonce``."""
    output = by_nonce(outputs).get(nonce)
    return output["data"][MIME] if output is not None else None


def by_nonce(outputs: list[dict]) -> dict[str, dict]:
    """The outputs that are responses, by their nonce (the last one, where several carry the same)."""
    found = {}
    for output in outputs:
        data = output.get("data") if output.get("output_type") == "display_data" else None
        candidate = data.get(MIME) if isinstance(data, dict) else None
        if isinstance(candidate, dict) and isinstance(candidate.get("nonce"), str):
            found[candidate["nonce"]] = output
    return found


def read_response(outputs: list[dict], nonce: str) -> Response:
    """Find and validate the agent's response among a call's outputs (the last one with ``nonce``)."""
    payload = _payload(outputs, nonce)
    if payload is None:
        raise BridgeError("no response from the kernel (did the function replace the grader's helper or "
                          "produce too much output?)")
    status = payload.get("status")
    traced = payload.get("traced")
    traced = [_text(t, 300) for t in traced[:MAX_TRACED] if isinstance(t, str)] if isinstance(traced, list) else []
    if status == "error":
        return Response(status, error_type=_text(payload.get("type")), message=_text(payload.get("message")),
                        traceback=_text(payload.get("traceback")), traced=traced)
    if status == "missing":
        candidates = payload.get("candidates")
        names = [c for c in candidates if isinstance(c, str)][:3] if isinstance(candidates, list) else []
        return Response(status, candidates=names)
    if status == "unencodable":
        return Response(status, message=_text(payload.get("message")))
    if status != "ok":
        raise BridgeError("the kernel's response has no valid status")
    arrays = unpack_arrays(payload.get("layout"), payload.get("arrays"))
    return Response(status, value=decode(payload.get("result"), arrays), traced=traced)


def _text(value: Any, limit: int = 4000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def load_arrays(raw: bytes) -> dict[str, np.ndarray]:
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


def decode(node: Any, arrays: dict, counter: list | None = None, depth: int = 0) -> Any:
    """A value from ``encode``'s nodes, validated: node kinds, nesting, size; raises ``BridgeError``."""
    counter = counter if counter is not None else [0]
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
        items = [decode(item, arrays, counter, depth + 1) for item in values]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict" and isinstance(values, list) and isinstance(node.get("keys"), list):
        keys = node["keys"]
        if len(keys) != len(values) or not all(isinstance(k, (str, int)) for k in keys):
            raise BridgeError("malformed dict in the result")
        return {k: decode(v, arrays, counter, depth + 1) for k, v in zip(keys, values)}
    raise BridgeError("malformed result")
