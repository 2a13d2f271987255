import json
import os

import numpy as np
import pytest

from grader.execution import bridge


def respond(folder, name, payload, arrays=None, raw_json=None):
    np.savez(folder / f"{name}.out.npz", **(arrays or {}))
    (folder / f"{name}.out.json").write_text(raw_json if raw_json is not None else json.dumps(payload))


def test_request_encodes_structures_arrays_and_handles(tmp_path):
    args = [np.arange(3.0), {"W": np.eye(2), "n": 2, "name": "x"}, (1.5, None), bridge.Handle("h1")[3]]
    path = bridge.write_request(tmp_path, "c0", "f", args, keep="h2", tensors=False)
    request = json.loads(path.read_text())
    assert request["function"] == "f" and request["keep"] == "h2"
    assert request["args"][3] == {"t": "handle", "id": "h1", "path": [3]}
    with np.load(tmp_path / "c0.npz", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["a0", "a1"]


def test_ok_response_round_trips_nested_values(tmp_path):
    payload = {"status": "ok", "result": {"t": "tuple", "v": [
        {"t": "array", "k": "a0"}, {"t": "dict", "keys": ["dW", 3], "v": [{"t": "array", "k": "a1"},
                                                                         {"t": "scalar", "v": 2.5}]}]}}
    respond(tmp_path, "c", payload, {"a0": np.ones(2), "a1": np.zeros((2, 2))})
    value = bridge.read_response(tmp_path, "c").value
    assert isinstance(value, tuple) and value[1][3] == 2.5 and value[1]["dW"].shape == (2, 2)


def test_error_and_missing_responses(tmp_path):
    respond(tmp_path, "e", {"status": "error", "type": "ValueError", "message": "bad shapes", "traceback": "tb"})
    response = bridge.read_response(tmp_path, "e")
    assert (response.status, response.error_type, response.message) == ("error", "ValueError", "bad shapes")
    respond(tmp_path, "m", {"status": "missing", "candidates": ["lstm_forward", 7]})
    assert bridge.read_response(tmp_path, "m").candidates == ["lstm_forward"]


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    import zipfile
    with zipfile.ZipFile(tmp_path / "c.out.npz", "w") as archive:
        archive.write(tmp_path / "obj.npy", "a0.npy")
    (tmp_path / "c.out.json").write_text(json.dumps({"status": "ok", "result": {"t": "array", "k": "a0"}}))
    with pytest.raises(bridge.BridgeError, match="cannot be read"):
        bridge.read_response(tmp_path, "c")


@pytest.mark.parametrize("raw", ["not json", '{"status": "owned"}', "[" * 100000 + "]" * 100000,
                                 '{"status": "ok", "result": {"t": "pickle", "v": "..."}}',
                                 '{"status": "ok", "result": {"t": "array", "k": "nope"}}',
                                 '{"status": "ok", "result": {"t": "scalar", "v": {"x": 1}}}'])
def test_malformed_responses_are_bridge_errors(tmp_path, raw):
    respond(tmp_path, "c", None, raw_json=raw)
    with pytest.raises(bridge.BridgeError):
        bridge.read_response(tmp_path, "c")


def test_deeply_nested_results_are_refused(tmp_path):
    node = {"t": "scalar", "v": 1}
    for _ in range(50):
        node = {"t": "list", "v": [node]}
    respond(tmp_path, "c", {"status": "ok", "result": node})
    with pytest.raises(bridge.BridgeError, match="too large or too deeply nested"):
        bridge.read_response(tmp_path, "c")


def test_a_symlinked_response_is_not_followed(tmp_path):
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"status": "error", "type": "Leak", "message": "the reference solution"}))
    os.symlink(secret, tmp_path / "c.out.json")
    with pytest.raises(bridge.BridgeError, match="no response"):
        bridge.read_response(tmp_path, "c")


def test_a_huge_response_is_refused_by_size(tmp_path, monkeypatch):
    monkeypatch.setattr(bridge, "MAX_JSON_BYTES", 100)
    respond(tmp_path, "c", {"status": "error", "type": "E", "message": "x" * 500})
    with pytest.raises(bridge.BridgeError, match="more than the limit"):
        bridge.read_response(tmp_path, "c")
