"""The function and gradient kinds on a small course rubric: right answers pass, wrong answers fail
with feedback that names the wrong output, broken answers are errors that cost only their item."""
import pytest

from grader import rubric as rubric_module
from grader.execution.limits import Limits
from grader.grading import GradingOptions, grade

from helpers import notebook_text, write_zip

RUBRIC = '''
[assignment]
id = "toy"
[limits]
call_timeout_s = 3
[[notebooks]]
name = "nb"
match = ["*.ipynb"]
mode = "definitions"
[generators.vec]
function = "refs.py:vec_inputs"
dims = { n = [2, 5], m = [2, 4] }
edge = [{ n = 1 }]

[[items]]
id = "double"
kind = "function"
points = 2
notebook = "nb"
target = "double"
reference = "refs.py:double"
inputs = "vec"
cases = 4

[[items]]
id = "forward"
kind = "function"
points = 3
notebook = "nb"
target = "tanh_forward"
reference = "refs.py:tanh_forward"
inputs = "vec"
cases = 4
outputs = ["y", "cache"]
compare = ["y"]

[[items]]
id = "backward"
kind = "gradient"
points = 4
notebook = "nb"
target = "tanh_backward"
forward = "refs.py:tanh_forward"
inputs = "vec"
cases = 4
upstream = [0]
cache = 1
grads = { dx = "x", dw = "params.w" }

[[items]]
id = "backward_fd"
kind = "gradient"
method = "finite-differences"
visibility = "public"
points = 1
notebook = "nb"
target = "tanh_backward"
student_forward = "tanh_forward"
inputs = "vec"
cases = 2
upstream = [0]
cache = 1
grads = { dx = "x", dw = "params.w" }
'''
REFS = '''
import torch

def vec_inputs(rng, n, m):
    return {"x": rng.standard_normal((n, m)), "params": {"w": rng.standard_normal((n, 1))}}

def double(x, params):
    return 2 * x

def tanh_forward(x, params):
    y = params["w"] * torch.tanh(x)
    return y, (x, params)
'''
RIGHT = ["import numpy as np",
         "def double(x, params):\n    return 2 * x",
         "def tanh_forward(x, params):\n    return params['w'] * np.tanh(x), (x, params)",
         "def tanh_backward(dy, cache):\n    x, params = cache\n    t = np.tanh(x)\n"
         "    return {'dx': dy * params['w'] * (1 - t ** 2), 'dw': np.sum(dy * t, axis=1, keepdims=True)}"]


@pytest.fixture
def toy(tmp_path):
    (tmp_path / "refs.py").write_text(REFS)
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    return rubric_module.load(tmp_path / "rubric.toml")


def grade_cells(tmp_path, rubric, *cells):
    zip_path = write_zip(tmp_path / "student.zip", {"hw/work.ipynb": notebook_text(*cells)})
    report = grade(zip_path, rubric, GradingOptions(limit_overrides={"call_timeout_s": 3}))
    return {item.id: item for item in report.items}, report


def test_right_answers_pass_every_item(tmp_path, toy):
    items, report = grade_cells(tmp_path, toy, *RIGHT)
    assert {i: (r.status, r.score) for i, r in items.items()} == {
        "double": ("passed", 2), "forward": ("passed", 3), "backward": ("passed", 4), "backward_fd": ("passed", 1)}
    assert report.total.score == report.total.max == 10
    assert items["backward"].details["method"] == "reference"
    assert len(items["double"].details["cases"]) == 4


def test_wrong_answers_fail_with_feedback_naming_the_wrong_output(tmp_path, toy):
    wrong = list(RIGHT)
    wrong[1] = "def double(x, params):\n    return 2 * x + (x.shape[0] == 1)"  # wrong on the edge case only
    wrong[3] = RIGHT[3].replace(" * (1 - t ** 2)", "")  # forgets tanh′
    items, _ = grade_cells(tmp_path, toy, *wrong)
    assert (items["double"].status, items["double"].score) == ("partial", 1.5)
    assert "case 4 (edge n=1" in items["double"].feedback
    assert items["forward"].status == "passed"
    assert items["backward"].status == "failed" and items["backward"].feedback.startswith("0/4 cases passed")
    assert "dx: " in items["backward"].feedback and "dw" not in items["backward"].feedback.split("dx: ")[1]
    assert items["backward_fd"].status == "failed"
    assert "dx[" in items["backward_fd"].feedback and "finite differences of your forward" in items["backward_fd"].feedback


def test_finite_differences_need_no_reference_and_follow_the_students_own_forward(tmp_path, toy):
    # A forward that differs from the reference, with a backward consistent with it: the reference
    # method fails it, the finite-difference method (self-consistency) passes it.
    cells = list(RIGHT)
    cells[2] = "def tanh_forward(x, params):\n    return params['w'] * np.tanh(2 * x), (x, params)"
    cells[3] = ("def tanh_backward(dy, cache):\n    x, params = cache\n    t = np.tanh(2 * x)\n"
                "    return {'dx': dy * params['w'] * 2 * (1 - t ** 2), 'dw': np.sum(dy * t, axis=1, keepdims=True)}")
    items, _ = grade_cells(tmp_path, toy, *cells)
    assert items["forward"].status == "failed"
    assert items["backward"].status == "failed"
    assert items["backward_fd"].status == "passed"


def test_broken_answers_are_errors_of_their_own_item_only(tmp_path, toy):
    cells = ["import numpy as np",
             "def double(x, params):\n    raise ValueError('not yet')",
             "def tanh_forward(x, params):\n    return params['w'] * np.tanh(x)",  # forgets the cache
             "import missing_helper\ndef tanh_backward(dy, cache):\n    return {}"]
    items, report = grade_cells(tmp_path, toy, *cells)
    assert items["double"].status == "error" and "raised ValueError: not yet" in items["double"].feedback
    assert items["forward"].status == "failed" and "returned 1 value, expected 2: (y, cache)" in items["forward"].feedback
    # the helper it cannot import costs only that import: the function is defined, and wrong
    assert items["backward"].status == "failed"
    assert report.total.score == 0 and report.notebooks[0].errors[0].cell == 4
    assert "No module named 'missing_helper'" in report.notebooks[0].errors[0].error


def test_a_function_right_on_the_first_call_and_wrong_afterwards_gets_partial_credit(tmp_path, toy):
    cells = list(RIGHT)
    cells[1] = ("calls = []\ndef double(x, params):\n    calls.append(1)\n"
                "    return 2 * x if len(calls) == 1 else x")
    items, _ = grade_cells(tmp_path, toy, *cells)
    assert (items["double"].status, items["double"].score) == ("partial", 0.5)


def test_all_or_nothing_and_hanging_functions(tmp_path, toy, write_rubric):
    text = RUBRIC.replace('cases = 4\n\n[[items]]\nid = "forward"', 'cases = 4\nall_or_nothing = true\n\n[[items]]\nid = "forward"')
    strict = rubric_module.load(write_rubric(text, {"refs.py": REFS}, name="strict.toml"))
    cells = list(RIGHT)
    cells[1] = "def double(x, params):\n    return 2 * x + (x.shape[0] == 1)"
    cells[2] = "def tanh_forward(x, params):\n    while True:\n        pass"
    items, _ = grade_cells(tmp_path, strict, *cells)
    assert (items["double"].status, items["double"].score) == ("failed", 0)
    assert items["forward"].status == "error" and "did not return within 3 s" in items["forward"].feedback
    assert "remaining cases were not run" in items["forward"].feedback
    assert items["backward"].status == "passed"  # graded after the kernel was restarted


def test_the_calls_of_every_item_that_plans_them_go_in_one_request(tmp_path, toy, monkeypatch):
    from grader.execution.runner import NotebookRunner

    requests = []
    call_many = NotebookRunner.call_many
    monkeypatch.setattr(NotebookRunner, "call_many", lambda self, calls: requests.append(
        sorted({call.label for call in calls})) or call_many(self, calls))
    items, _ = grade_cells(tmp_path, toy, *RIGHT)
    assert all(item.status == "passed" for item in items.values())
    # double, forward and backward in one request; the finite differences ask as they go
    assert requests[0] == ["double", "tanh_backward", "tanh_forward"]
    assert all("double" not in labels for labels in requests[1:])


def test_missing_notebook_names_the_expected_and_found_files(tmp_path, toy):
    zip_path = write_zip(tmp_path / "student.zip", {"answers.pdf": b"%PDF", "notes.txt": "hi"})
    report = grade(zip_path, toy)
    assert {i.status for i in report.items} == {"error"}
    assert "no notebook matching *.ipynb" in report.items[0].feedback and "answers.pdf" in report.items[0].feedback


def test_a_kernel_that_cannot_start_is_a_grader_fault_never_a_score(tmp_path, toy, monkeypatch):
    from grader.execution import kernel

    def refuse(self):
        raise RuntimeError("no kernel for you")
    monkeypatch.setattr(kernel.KernelSession, "start", refuse)
    zip_path = write_zip(tmp_path / "student.zip", {"work.ipynb": notebook_text(*RIGHT)})
    report = grade(zip_path, toy)
    notebook_items = {i.status for i in report.items if i.notebook == "nb"}
    assert notebook_items == {"grader_error"} and all(i.score == 0 for i in report.items)
    # the lazy preflight found the machine at fault: the report says so, and how to fix it
    assert report.grader_error["cause"].startswith("this machine cannot grade (kernel)")
    assert "no kernel for you" in report.grader_error["cause"] and "grade doctor" in report.grader_error["fix"]
    assert "no kernel for you" in report.notebooks[0].problem


def test_a_kernel_that_fails_only_for_this_submission_is_left_to_a_ta(tmp_path, toy, monkeypatch):
    from grader.execution import kernel

    start = kernel.KernelSession.start

    def refuse_the_student(self):
        if "preflight" not in str(self.cwd):
            raise RuntimeError("this workspace stops the kernel")
        start(self)
    monkeypatch.setattr(kernel.KernelSession, "start", refuse_the_student)
    zip_path = write_zip(tmp_path / "student.zip", {"work.ipynb": notebook_text(*RIGHT)})
    report = grade(zip_path, toy)
    assert {i.status for i in report.items if i.notebook == "nb"} == {"grader_error"}
    assert "although a known-good notebook starts" in report.grader_error["cause"]
    assert "look at the submission's files" in report.grader_error["fix"]


def test_a_reference_that_raises_is_a_grader_fault_on_its_item_only(tmp_path, write_rubric):
    broken = rubric_module.load(write_rubric(RUBRIC, {"refs.py": REFS.replace(
        "def double(x, params):", "def double(x, params):\n    raise ValueError('the reference is broken')\n\ndef _unused(x, params):")}))
    zip_path = write_zip(tmp_path / "student.zip", {"work.ipynb": notebook_text(*RIGHT)})
    report = grade(zip_path, broken)
    items = {i.id: i for i in report.items}
    assert items["double"].status == "grader_error" and items["double"].score == 0
    assert "ValueError in the function check of double" in items["double"].feedback
    assert "the reference is broken" in report.grader_error["cause"]
    assert "reference" in report.grader_error["fix"]
    assert items["forward"].status == "passed"  # the other items were graded as usual


OWN_CACHE_ITEM = '''
[[items]]
id = "backward_own"
kind = "gradient"
points = 2
notebook = "nb"
target = "tanh_backward_t"
forward = "refs.py:tanh_forward"
student_forward = "tanh_forward"
inputs = "vec"
cases = 3
upstream = [0]
cache = 1
returns = ["dw", "dx"]
grads = { dx = "x", dw = "params.w" }
'''
# a cache of the student's own design (a dict holding tanh(x)), and gradients returned as a tuple
OWN_FORWARD = "def tanh_forward(x, params):\n    t = np.tanh(x)\n    return params['w'] * t, {'t': t, 'w': params['w']}"
OWN_BACKWARD = ("def tanh_backward_t(dy, cache):\n    t, w = cache['t'], cache['w']\n"
                "    return np.sum(dy * t, axis=1, keepdims=True), dy * w * (1 - t ** 2)")


@pytest.fixture
def own_cache(write_rubric):
    return rubric_module.load(write_rubric(RUBRIC + OWN_CACHE_ITEM, {"refs.py": REFS}, name="own.toml"))


@pytest.mark.parametrize("forward, backward, status, feedback", [
    (OWN_FORWARD, OWN_BACKWARD, "passed", "all 3 cases passed"),
    (OWN_FORWARD, OWN_BACKWARD.replace("return np.sum(dy * t, axis=1, keepdims=True), ", "return "), "failed",
     "tanh_backward_t() returned 1 value, expected 2: (dw, dx)"),
    (OWN_FORWARD, OWN_BACKWARD.replace("(1 - t ** 2)", "(1 - t)"), "failed", "dx: "),
    (OWN_FORWARD.replace("return", "raise ValueError('no')\n    return"), OWN_BACKWARD, "error",
     "tanh_forward() raised ValueError: no, so tanh_backward_t() could not be called with its result"),
    (OWN_FORWARD.replace("def tanh_forward", "def tanh_fwd"), OWN_BACKWARD, "error", "tanh_forward is not defined"),
    # a forward that ignores its input and a zero backward agree, and earn nothing by agreeing
    ("def tanh_forward(x, params):\n    return np.zeros_like(x), {}",
     "def tanh_backward_t(dy, cache):\n    return np.zeros((dy.shape[0], 1)), np.zeros_like(dy)", "failed",
     "dx: 10 of 10 values wrong"),
])
def test_a_backward_receives_the_cache_its_own_forward_built_and_returns_a_named_tuple(
        tmp_path, own_cache, forward, backward, status, feedback):
    items, _ = grade_cells(tmp_path, own_cache, "import numpy as np", forward, backward)
    assert items["backward_own"].status == status
    assert feedback in items["backward_own"].feedback


def test_gradient_names_that_returns_does_not_list_are_a_rubric_error(write_rubric):
    text = RUBRIC + OWN_CACHE_ITEM.replace('returns = ["dw", "dx"]', 'returns = ["dw"]')
    with pytest.raises(rubric_module.RubricError) as error:
        rubric_module.load(write_rubric(text, {"refs.py": REFS}, name="bad.toml"))
    assert "backward_own" in str(error.value) and "grads" in str(error.value) and "names dx" in str(error.value)


def test_a_shape_that_differs_by_size1_axes_passes_only_where_the_rubric_accepts_it_and_is_named(
        tmp_path, toy, write_rubric):
    tolerant = rubric_module.load(write_rubric(
        RUBRIC.replace('target = "double"', 'target = "double"\nignore_size1_axes = true'), {"refs.py": REFS},
        name="tolerant.toml"))
    cells = ["import numpy as np", "def double(x, params):\n    return (2 * x)[None]"]
    items, _ = grade_cells(tmp_path, tolerant, *cells)
    assert items["double"].status == "passed"
    assert "accepted for (" in items["double"].feedback and "shape (1, " in items["double"].feedback
    items, _ = grade_cells(tmp_path, toy, *cells)
    assert items["double"].status == "failed" and "expected shape (" in items["double"].feedback
