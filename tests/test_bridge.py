import ast
import base64
import json

import numpy as np
import pytest

from grader.execution import bridge, integrity
from grader.execution.runner import Call


def outputs_with(payload, nonce="n1", arrays=None, extra=()):
    payload = {**bridge.packed_arrays(arrays or {}), **payload, "nonce": nonce}
    return [*extra, {"output_type": "display_data", "data": {bridge.MIME: payload}, "metadata": {}}]


def test_a_batch_embeds_structures_arrays_and_handles():
    args = [np.arange(3.0), {"W": np.eye(2), "n": 2, "name": "x"}, (1.5, None), bridge.Handle("h1")[3]]
    call = Call("f", args, keep="h2")
    text, nonce = call.request()
    other, other_nonce = Call("g", [], tensors=True).request()
    again, again_nonce = call.request()  # the same call for the next student: a nonce of its own
    assert again_nonce not in (nonce, other_nonce) and json.loads(again) == {**json.loads(text), "nonce": again_nonce}
    cell = integrity.guarded_batch("__dlgrade_agent_x__", "123", [text, other])
    code = next(node.value for node in ast.walk(ast.parse(cell)) if isinstance(node, ast.Constant)
                and isinstance(node.value, str) and "__dlgrade_request__" in node.value)  # the one literal run
    assert f"for __dlgrade_request__ in {[text, other]!r}:" in code and len(nonce) == 16 and nonce != other_nonce
    request = json.loads(text)
    assert request["function"] == "f" and request["keep"] == "h2" and request["nonce"] == nonce
    assert request["args"][3] == {"t": "handle", "id": "h1", "path": [3]}
    (member,) = request["arrays"].items()  # both float64 arrays, flat, as raw bytes
    assert member[0] == "g0" and member[1][0] == "<f8"
    assert np.frombuffer(base64.b64decode(member[1][1]), "<f8").tolist() == [0, 1, 2, 1, 0, 0, 1]
    assert request["layout"] == {"a0": ["g0", 0, [3]], "a1": ["g0", 3, [2, 2]]}


def test_packed_arrays_round_trip_every_dtype_and_shape():
    arrays = {"a0": np.arange(6, dtype=np.float32).reshape(2, 3), "a1": np.float64(2.5), "a2": np.zeros((0, 4)),
              "a3": np.array([[True, False]]), "a4": np.arange(12).reshape(2, 3, 2)[:, ::2], "a5": np.ones(3) * 1j,
              "a6": np.array([7.0, 8.0])}
    packed = bridge.packed_arrays(arrays)
    back = bridge.unpack_arrays(packed["layout"], packed["arrays"])
    assert back.keys() == arrays.keys()
    for key, array in arrays.items():
        assert back[key].dtype == np.asarray(array).dtype and np.array_equal(back[key], array), key


@pytest.mark.parametrize("layout", [
    {"a0": ["g0", 2, [2]]},            # runs past the end of its member
    {"a0": ["g0", -1, [1]]},           # negative offset
    {"a0": ["g0", True, [1]]},         # a bool is not a count
    {"a0": ["g9", 0, [1]]},            # no such member
    {"a0": ["g0", 0, [2**40, 2**40]]},  # a shape whose size overflows int64
    {"a0": ["g0", 0, [1] * 40]},       # too many dimensions
    {"a0": ["g0", 0]},
    ["g0", 0, [3]],
])
def test_a_forged_layout_is_refused(layout):
    packed = bridge.packed_arrays({"a0": np.arange(3.0)})
    with pytest.raises(bridge.BridgeError, match="layout"):
        bridge.unpack_arrays(layout, packed["arrays"])


def test_ok_response_round_trips_nested_values():
    result = {"t": "tuple", "v": [{"t": "array", "k": "a0"}, {"t": "dict", "keys": ["dW", 3], "v": [
        {"t": "array", "k": "a1"}, {"t": "scalar", "v": 2.5}]}]}
    outputs = outputs_with({"status": "ok", "result": result}, arrays={"a0": np.ones(2), "a1": np.zeros((2, 2))})
    value = bridge.read_response(outputs, "n1").value
    assert isinstance(value, tuple) and value[1][3] == 2.5 and value[1]["dW"].shape == (2, 2)


def test_the_last_response_with_the_calls_nonce_counts():
    forged = outputs_with({"status": "ok", "result": {"t": "scalar", "v": "forged"}}, nonce="other")
    real = outputs_with({"status": "ok", "result": {"t": "scalar", "v": "real"}}, extra=forged)
    assert bridge.read_response(real, "n1").value == "real"
    with pytest.raises(bridge.BridgeError, match="no response"):
        bridge.read_response(forged + [{"output_type": "stream", "text": "hi"}], "n1")


def test_error_and_missing_responses():
    response = bridge.read_response(outputs_with({"status": "error", "type": "ValueError", "message": "bad",
                                                  "traceback": "tb"}), "n1")
    assert (response.status, response.error_type, response.message) == ("error", "ValueError", "bad")
    response = bridge.read_response(outputs_with({"status": "missing", "candidates": ["lstm_forward", 7]}), "n1")
    assert response.candidates == ["lstm_forward"]


@pytest.mark.parametrize("member", [
    ["|O", base64.b64encode(b"\x80\x04\x95" + b"cos\nsystem\n").decode()],  # an object array: a pickle
    ["i4,O", base64.b64encode(bytes(16)).decode()],                             # a record with an object field
    ["<U8", base64.b64encode(bytes(32)).decode()],                              # strings
    ["V8", base64.b64encode(bytes(8)).decode()],                                # raw void
    ["<i16", base64.b64encode(bytes(16)).decode()],                             # a size no kind has
    ["<f8", base64.b64encode(bytes(12)).decode()],                              # bytes that do not fit the dtype
    ["<f8", "!!not base64!!"],
    ["<f8"],
])
def test_object_arrays_pickles_and_malformed_members_are_refused_without_unpickling(member):
    outputs = outputs_with({"status": "ok", "result": {"t": "array", "k": "a0"}, "arrays": {"g0": member},
                            "layout": {"a0": ["g0", 0, [1]]}})
    with pytest.raises(bridge.BridgeError, match="arrays"):
        bridge.read_response(outputs, "n1")


def test_arrays_read_back_are_writable_like_any_a_student_returns():
    value = bridge.read_response(outputs_with({"status": "ok", "result": {"t": "array", "k": "a0"}},
                                              arrays={"a0": np.arange(4.0)}), "n1").value
    value[0] = 7.0
    assert value.tolist() == [7.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize("payload", [
    {"status": "owned"},
    {"status": "ok", "result": {"t": "pickle", "v": "..."}},
    {"status": "ok", "result": {"t": "array", "k": "nope"}},
    {"status": "ok", "result": {"t": "scalar", "v": {"x": 1}}},
    {"status": "ok", "result": {"t": "scalar", "v": 1}, "arrays": "!!not base64!!"},
    {"status": "ok", "result": {"t": "scalar", "v": 1}, "arrays": 12},
])
def test_malformed_responses_are_bridge_errors(payload):
    with pytest.raises(bridge.BridgeError):
        bridge.read_response(outputs_with(payload), "n1")


def test_deeply_nested_and_huge_results_are_refused():
    node = {"t": "scalar", "v": 1}
    for _ in range(50):
        node = {"t": "list", "v": [node]}
    with pytest.raises(bridge.BridgeError, match="too large or too deeply nested"):
        bridge.read_response(outputs_with({"status": "ok", "result": node}), "n1")
    wide = {"t": "list", "v": [{"t": "scalar", "v": 1}] * (bridge.MAX_NODES + 1)}
    with pytest.raises(bridge.BridgeError, match="too large"):
        bridge.read_response(outputs_with({"status": "ok", "result": wide}), "n1")


def test_arrays_declaring_more_bytes_than_the_limit_are_refused(monkeypatch):
    monkeypatch.setattr(bridge, "MAX_ARRAY_BYTES", 1000)
    outputs = outputs_with({"status": "ok", "result": {"t": "array", "k": "a0"}}, arrays={"a0": np.zeros(1000)})
    with pytest.raises(bridge.BridgeError, match="larger than the limit|more than"):
        bridge.read_response(outputs, "n1")
