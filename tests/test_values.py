"""Reference values kept between runs: the same values come back, anything else is ignored, and a later
`grade` of the same rubric neither imports torch nor changes a verdict."""
import base64
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from grader import values
from grader.checks.cases import Case
from grader.checks.gradient import ReferenceGradients

REPO = Path(__file__).resolve().parents[1]
SARA = next((REPO / "submissions_example").glob("HW3_Sara_*.zip"))
ALI = next((REPO / "submissions_example").glob("HW3_Ali_*.zip"))
VERSION = ("rubric-digest", "references-digest")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DLGRADE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def some_values(version=VERSION):
    case = Case(0, "case 1 (n=2)", {"n": 2}, {"x": np.arange(6.0).reshape(2, 3), "params": {"w": np.ones((2, 1))}})
    gradients = ReferenceGradients({"dx": np.eye(2)}, [np.zeros((2, 3))], None, [np.ones(3, dtype=np.float32)])
    return {(version, "p1.f", "cases", 1): [case],
            (version, "p1.f", 0): {"y": np.array([[1.5, -2.0]]), "n": (3, True, None)},
            (version, "p1.g", 0): gradients,
            (("another", "version"), "p1.f", 0): np.zeros(2)}


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (Case, ReferenceGradients)):
        return type(a) is type(b) and all(same(x, y) for x, y in zip(vars(a).values(), vars(b).values()))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def test_values_come_back_as_they_were_kept_for_their_version_only(cache):
    kept = some_values()
    values.save(VERSION, kept)
    loaded = values.load(VERSION)
    assert loaded.keys() == {key for key in kept if key[0] == VERSION}
    assert all(same(kept[key], loaded[key]) for key in loaded)
    assert values.load(("edited", "references-digest")) == {}  # an edit of the rubric starts afresh


def test_values_kept_by_another_grader_are_not_used(cache, monkeypatch):
    values.save(VERSION, some_values())
    monkeypatch.setattr(values, "code_digest", lambda: "the digest of an updated grader's code")
    assert values.load(VERSION) == {}  # an update of the grader may derive other values: they are made again


def test_nothing_new_nothing_written(cache):
    values.save(VERSION, some_values(), loaded=3)
    assert not values.store_path(VERSION).exists()
    # what the encoding does not hold (a session's planned calls) is neither kept nor counted as new
    values.save(VERSION, {**some_values(), (VERSION, "p1.f", "calls", 1): {0: [object()]}}, loaded=3)
    assert not values.store_path(VERSION).exists()
    values.save(VERSION, {**some_values(), (VERSION, "p1.f", "calls", 1): {0: [object()]}})
    assert values.load(VERSION).keys() == {key for key in some_values() if key[0] == VERSION}


@pytest.mark.parametrize("forge", [
    lambda stored: "not json",
    lambda stored: json.dumps({**stored, "format": 99}),
    lambda stored: json.dumps({**stored, "version": ["other", "version"]}),
    lambda stored: json.dumps({**stored, "arrays": {"g0": ["|O", base64.b64encode(b"\x80\x04cos\nsystem\n").decode()]}}),
    lambda stored: json.dumps({**stored, "entries": [{"key": ["p1.f", 0],
                                                      "value": {"t": "dict", "keys": ["__record__"],
                                                                "v": [{"t": "scalar", "v": "Popen"}]}}]}),
    lambda stored: json.dumps({**stored, "entries": [{"key": [{"x": 1}], "value": {"t": "scalar", "v": 1}}]}),
])
def test_a_store_that_cannot_be_read_is_ignored(cache, forge):
    values.save(VERSION, some_values())
    path = values.store_path(VERSION)
    path.write_text(forge(json.loads(path.read_text())))
    assert values.load(VERSION) == {}


def grade(cache: Path, submission: Path, *python: str) -> dict:
    command = [sys.executable, *python] if python else [sys.executable, "-m", "grader"]
    done = subprocess.run([*command, str(submission), "--rubric", "hw3", "--format", "json"], capture_output=True,
                          text=True, env={**os.environ, "DLGRADE_CACHE": str(cache)}, timeout=300)
    return json.loads(done.stdout[done.stdout.index("{"):])


TORCH_AFTER = ("import sys, runpy\n"
               "try:\n    sys.argv = ['grade', *sys.argv[1:]]\n    runpy.run_module('grader', run_name='__main__')\n"
               "except SystemExit:\n    pass\n"
               "print('torch imported' if 'torch' in sys.modules else 'no torch')\n")


def test_a_later_grade_of_the_same_rubric_imports_no_torch_and_grades_alike(tmp_path):
    cache = tmp_path / "cache"
    first = {name: grade(cache, path) for name, path in (("sara", SARA), ("ali", ALI))}
    assert list((cache / "values").iterdir())
    done = subprocess.run([sys.executable, "-c", TORCH_AFTER, str(ALI), "--rubric", "hw3", "--format", "json"],
                          capture_output=True, text=True, env={**os.environ, "DLGRADE_CACHE": str(cache)}, timeout=300)
    assert done.stdout.rstrip().endswith("no torch")
    for name, path in (("sara", SARA), ("ali", ALI)):
        again = grade(cache, path)
        assert [(i["id"], i["status"], i["score"], i["feedback"]) for i in again["items"]] == \
            [(i["id"], i["status"], i["score"], i["feedback"]) for i in first[name]["items"]]
    assert first["sara"]["total"]["score"] == 20 and first["ali"]["total"]["score"] < 20


def test_a_students_kernel_cannot_read_the_kept_values(cache, tmp_path):
    from grader.execution import sandbox
    from grader.execution.kernel import KernelSession
    from grader.execution.limits import Limits

    values.save(VERSION, some_values())
    path = values.store_path(VERSION)
    assert path.stat().st_mode & 0o077 == 0  # the grader's user's alone
    protections = sandbox.protections_for("auto", Limits())
    if not (protections.isolation == "bubblewrap" or protections.unprivileged_user):
        pytest.skip("neither the sandbox nor a kernel uid of its own is in force on this machine")
    (tmp_path / "work").mkdir()
    with KernelSession(tmp_path / "work", Limits(), protections=protections) as kernel:
        outcome = kernel.execute(f"print(len(open({str(path)!r}).read()))", 20)
    assert outcome.status == "error" and outcome.ename in ("FileNotFoundError", "PermissionError")


def batch_scores(cache: Path, klass: Path, out: Path, jobs: int) -> dict:
    subprocess.run([sys.executable, "-m", "grader", "batch", str(klass), "--rubric", "hw3", "-o", str(out), "-j",
                    str(jobs), "-q"], check=True, capture_output=True, env={**os.environ, "DLGRADE_CACHE": str(cache)},
                   timeout=600)
    report = json.loads(next((out / "reports").glob("*.json")).read_text())
    return {item["id"]: item["score"] for item in report["items"]}


def shifted(value):
    """Every float array of ``value`` moved by one: values no correct answer matches."""
    if isinstance(value, np.ndarray):
        return value + 1.0 if value.dtype.kind == "f" else value
    if isinstance(value, (list, tuple)):
        return type(value)(shifted(item) for item in value)
    if isinstance(value, dict):
        return {key: shifted(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value):
        return type(value)(**{field.name: shifted(getattr(value, field.name)) for field in dataclasses.fields(value)})
    return value


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_batch_keeps_the_values_and_a_later_batch_grades_from_them(cache, tmp_path, jobs):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / SARA.name).write_bytes(SARA.read_bytes())
    assert set(batch_scores(cache, klass, tmp_path / "first", jobs).values()) != {0}
    [store] = (cache / "values").iterdir()  # written by the worker that computed them
    version = tuple(json.loads(store.read_text())["version"])
    kept = values.load(version)
    assert any(key[1] == "p1.rnn_cell_backward" for key in kept)
    # the later batch's verdict follows the kept values: they were read, not computed again
    doctored = {key: shifted(value) if key[1] == "p1.rnn_cell_backward" and key[2] != "cases" else value
                for key, value in kept.items()}
    store.unlink()
    values.save(version, doctored)
    again = batch_scores(cache, klass, tmp_path / "later", jobs)
    assert again.pop("p1.rnn_cell_backward") == 0
    assert all(score > 0 for score in again.values())
