import base64
import io
import json

import numpy as np
import pytest

from grader.execution import bridge


def packed(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def outputs_with(payload, nonce="n1", arrays=None, extra=()):
    payload = dict(payload, nonce=nonce)
    payload.setdefault("arrays", packed(arrays or {}))
    return [*extra, {"output_type": "display_data", "data": {bridge.MIME: payload}, "metadata": {}}]


def test_request_code_embeds_structures_arrays_and_handles():
    args = [np.arange(3.0), {"W": np.eye(2), "n": 2, "name": "x"}, (1.5, None), bridge.Handle("h1")[3]]
    code, nonce = bridge.request_code("f", args, keep="h2", tensors=False)
    assert code.startswith("__dlgrade_agent__.call(") and len(nonce) == 16
    request = json.loads(eval(code[len("__dlgrade_agent__.call("):-1], {}))  # a test may eval its own literal
    assert request["function"] == "f" and request["keep"] == "h2" and request["nonce"] == nonce
    assert request["args"][3] == {"t": "handle", "id": "h1", "path": [3]}
    with np.load(io.BytesIO(base64.b64decode(request["arrays"])), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["a0", "a1"]


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


def test_object_arrays_and_pickles_are_refused_without_unpickling():
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    import zipfile
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a0.npy", buffer.getvalue())
    outputs = outputs_with({"status": "ok", "result": {"t": "array", "k": "a0"},
                            "arrays": base64.b64encode(archive.getvalue()).decode()})
    with pytest.raises(bridge.BridgeError, match="cannot be read"):
        bridge.read_response(outputs, "n1")
    pickled = base64.b64encode(b"\x80\x04\x95" + b"cos\nsystem\n").decode()
    with pytest.raises(bridge.BridgeError, match="cannot be read"):
        bridge.read_response(outputs_with({"status": "ok", "result": {"t": "scalar", "v": 1}, "arrays": pickled}), "n1")


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
