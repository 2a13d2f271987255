"""``grade validate`` runs every generator and reference once on the smallest sizes: what would have
been an "internal grader error" on every student is a rubric error naming the item and the field."""
import numpy as np
import pytest

from grader import rubric as rubric_module
from grader.checks.calling import PassedWithNote, judged
from grader.checks.compare import Tolerance, without_size1_axes
from grader.rehearsal import rehearse

from test_cli_e2e import run

RUBRIC = '''
[assignment]
id = "rehearsed"
[[notebooks]]
name = "nb"
match = ["*.ipynb"]
[generators.step]
function = "refs.py:step_inputs"
dims = { N = [2, 4], H = [2, 5] }

[[items]]
id = "forward"
kind = "function"
points = 1
notebook = "nb"
target = "step_forward"
reference = "refs.py:step_forward"
inputs = "step"
outputs = ["h", "cache"]
compare = ["h"]

[[items]]
id = "backward"
kind = "gradient"
points = 1
notebook = "nb"
target = "step_backward"
forward = "refs.py:step_forward"
inputs = "step"
upstream = [0]
cache = 1
grads = { dx = "x", dW = "W" }
'''
REFS = '''
import numpy as np
import torch

def step_inputs(rng, N, H):
    return {"x": rng.standard_normal((N, H)), "W": rng.standard_normal((H, H)), "idx": np.arange(N)}

def step_forward(x, W, idx):
    h = torch.tanh(x @ W)
    return h, (x, W)
'''


@pytest.mark.parametrize("old, new, where, field, words", [
    ("dims = { N = [2, 4], H = [2, 5] }", "dims = { N = [2, 4], D = [2, 5] }", "[generators.step]", "dims",
     "D: not a parameter of the generator (it takes: N, H)"),
    ('"x": rng.standard_normal((N, H))', '"x": rng.standard_normal((N, H, -1))', "[generators.step]", "function",
     "raised ValueError"),
    ('dW = "W"', 'dW = "Wx"', "items[1] (backward)", "grads", "dW = 'Wx' names no input of the generator (its inputs: x, W, idx)"),
    ('dW = "W"', 'dW = "idx"', "items[1] (backward)", "grads", "is not a floating-point array"),
    ("upstream = [0]", "upstream = [2]", "items[1] (backward)", "upstream", "index 2, but the forward returns 2 outputs"),
    ("h = torch.tanh(x @ W)", "h = torch.tanh(x @ W.T[:1])", "items[0] (forward)", "reference", "raised RuntimeError"),
    ("return h, (x, W)", "return h, x, W", "items[0] (forward)", "outputs", "returned 3 values, expected 2"),
])
def test_a_wrong_name_or_a_failing_reference_is_a_rubric_error_naming_the_field(write_rubric, old, new, where, field,
                                                                                  words):
    text, refs = RUBRIC.replace(old, new), REFS.replace(old, new)
    assert (text, refs) != (RUBRIC, REFS)
    problems = rehearse(rubric_module.load(write_rubric(text, {"refs.py": refs})))
    assert [(p.where, p.field) for p in problems][:1] == [(where, field)]
    assert words in problems[0].message


def test_a_right_rubric_rehearses_clean_and_validate_says_so(write_rubric):
    path = write_rubric(RUBRIC, {"refs.py": REFS})
    assert rehearse(rubric_module.load(path)) == []
    assert run("validate", path).returncode == 0


def test_validate_exits_2_and_names_every_problem(write_rubric):
    path = write_rubric(RUBRIC.replace('dW = "W"', 'dW = "Wx"').replace("H = [2, 5] }", "H = [2, 5], D = [1, 2] }"),
                        {"refs.py": REFS})
    done = run("validate", path)
    assert done.returncode == 2
    text = " ".join(done.stderr.split())
    assert "[generators.step], field 'dims': D: not a parameter" in text


def test_size1_axes_are_reshaped_only_where_the_rest_of_the_shape_agrees():
    expected = {"h": np.zeros(3), "c": np.zeros((2, 3))}
    actual, notes = without_size1_axes(expected, {"h": np.zeros((1, 3)), "c": np.zeros((3, 2))})
    assert actual["h"].shape == (3,) and actual["c"].shape == (3, 2)
    assert notes == ["h: shape (1, 3) accepted for (3,)"]


def test_judged_notes_a_pass_that_needed_a_size1_axis_ignored_and_fails_without_the_option():
    expected, actual = np.arange(3.0), np.arange(3.0)[None, :]
    assert judged(expected, actual, Tolerance(size1_axes=True)) == PassedWithNote("shape (1, 3) accepted for (3,)")
    assert "expected shape (3,), got (1, 3)" in judged(expected, actual, Tolerance())
    assert "values wrong" in judged(expected, actual + 1, Tolerance(size1_axes=True))
