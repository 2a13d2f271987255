"""``property``: a random or many-formed result judged by what it must satisfy."""
import pytest

from grader import rubric as rubric_module
from grader.checks.property import judge
from grader.grading import grade
from grader.rubric import RubricError

from helpers import notebook_text, write_zip

RUBRIC = '''
[assignment]
id = "shuffle"
[[notebooks]]
name = "nb"
match = ["*.ipynb"]
[generators.items]
function = "refs.py:items"
dims = { n = [4, 9] }

[[items]]
id = "shuffle"
kind = "property"
points = 3
notebook = "nb"
target = "shuffled"
inputs = "items"
cases = 3
validate = "refs.py:is_a_shuffle"
'''
REFS = '''
from collections import Counter

def items(rng, n):
    return {"values": [int(v) for v in rng.permutation(n * 3)[:n]]}

def is_a_shuffle(args, value):
    if not isinstance(value, list):
        return [f"expected a list, got {type(value).__name__}"]
    problems = []
    if Counter(value) != Counter(args["values"]):
        problems.append("not the same values")
    if value == args["values"]:
        problems.append("the order did not change")
    return problems
'''


@pytest.fixture
def shuffle_rubric(write_rubric):
    return rubric_module.load(write_rubric(RUBRIC, {"refs.py": REFS}))


def graded(tmp_path, rubric, cell):
    report = grade(write_zip(tmp_path / "s.zip", {"nb.ipynb": notebook_text(cell)}), rubric)
    return report.items[0]


def test_any_right_shuffle_passes(tmp_path, shuffle_rubric):
    item = graded(tmp_path, shuffle_rubric, "import random\ndef shuffled(values):\n    return values[1:] + values[:1]")
    assert (item.status, item.score) == ("passed", 3), item.feedback


def test_a_wrong_result_fails_with_the_validators_words(tmp_path, shuffle_rubric):
    item = graded(tmp_path, shuffle_rubric, "def shuffled(values):\n    return list(values)")
    assert item.status == "failed" and "the order did not change" in item.feedback
    item = graded(tmp_path, shuffle_rubric, "def shuffled(values):\n    return values[1:]")
    assert "not the same values" in item.feedback


def test_broken_functions_and_unreadable_results(tmp_path, shuffle_rubric):
    item = graded(tmp_path, shuffle_rubric, "def other():\n    pass")
    assert item.status == "error" and "shuffled" in item.feedback
    item = graded(tmp_path, shuffle_rubric, "def shuffled(values):\n    raise ValueError('nope')")
    assert item.status == "error" and "nope" in item.feedback
    item = graded(tmp_path, shuffle_rubric, "def shuffled(values):\n    return {'a': 1}")
    assert item.status == "failed" and "expected a list, got dict" in item.feedback


def test_a_validator_that_cannot_read_the_result_is_a_problem_not_a_crash():
    def fragile(args, value):
        return ["too short"] if len(value) < 3 else []
    assert "cannot be read (TypeError" in judge(fragile, {}, 5)
    assert judge(fragile, {}, [1, 2, 3]) is None
    assert judge(lambda a, v: [f"p{i}" for i in range(5)], {}, 0) == "p0; p1; p2 (and 2 more)"


def test_the_validator_is_required(write_rubric):
    with pytest.raises(RubricError, match="validate"):
        rubric_module.load(write_rubric(RUBRIC.replace('validate = "refs.py:is_a_shuffle"\n', ""), {"refs.py": REFS}))
