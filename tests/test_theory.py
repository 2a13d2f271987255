"""Theory items end to end: the kinds on a small rubric (right, wrong, broken), the hw5 rubric's
correct and wrong answer files through the real CLI, manual points, the template and hidden feedback."""
import json
import subprocess
import zipfile

import pytest

from grader import rubric as rubric_module
from grader.grading import grade
from grader.theory.answers import parse_answers

from helpers import GRADE, REPO, write_zip

HW5 = REPO / "rubrics" / "hw5"
RUBRIC = '''
[assignment]
id = "theory"
[answers]
match = ["answers*.md"]

[[items]]
id = "count"
kind = "numeric"
points = 2
accepted = [{ value = 2362368, convention = "with biases" }, { value = 2359296, convention = "no biases", fraction = 0.5 }]
rejected = [{ value = 196864, reason = "of one block; the question asks for all 12" }]

[[items]]
id = "shape"
kind = "shape"
points = 1
symbols = { B = 32, N = 2048 }
shape = ["B", "N", 768]

[[items]]
id = "pick"
kind = "choice"
points = 2
correct = ["b", "c"]
scoring = "proportional"

[[items]]
id = "grad"
kind = "expression"
points = 3
reference = "(y_hat - y) @ s.T"
symbols = { y_hat = [2, 1], y = [2, 1], s = [4, 1] }

[[items]]
id = "secret"
kind = "expression"
points = 1
visibility = "hidden"
reference = "2 * s"
symbols = { s = [4, 1] }

[[items]]
id = "essay"
kind = "manual"
points = 4
'''


@pytest.fixture
def theory(write_rubric):
    return rubric_module.load(write_rubric(RUBRIC))


def grade_answers(tmp_path, rubric, text):
    report = grade(write_zip(tmp_path / "s.zip", {"answers.md": text}), rubric)
    return {item.id: item for item in report.items}, report


def test_right_answers_in_every_accepted_form(tmp_path, theory):
    items, report = grade_answers(tmp_path, theory, "## count\n4*768*768 + 4*768 + 2359296 - 4*768*768\n"
                                  "## shape\n32 x 2048 x 768\n## pick\nب، ج\n## grad\n$(\\hat{y} - y) s^\\top$\n"
                                  "## secret\ns + s\n## essay\nA long answer.\n")
    assert {i: (r.status, r.score) for i, r in items.items()} == {
        "count": ("passed", 2), "shape": ("passed", 1), "pick": ("passed", 2), "grad": ("passed", 3),
        "secret": ("passed", 1), "essay": ("manual", 0)}
    assert "with biases" in items["count"].feedback
    assert report.total.manual_pending == 4 and items["essay"].details["answer"] == "A long answer."


def test_conventions_partial_choices_and_wrong_answers(tmp_path, theory):
    items, _ = grade_answers(tmp_path, theory, "## count\n2,359,296\n## shape\n(32, 768, 2048)\n## pick\nb, d\n"
                             "## grad\n(y_hat - y) @ s\n## secret\n3 * s\n")
    assert (items["count"].status, items["count"].score) == ("partial", 1) and "no biases" in items["count"].feedback
    assert items["shape"].status == "failed" and "dimension 1 differs" in items["shape"].feedback
    assert items["pick"].score == 0 and "d is not correct" in items["pick"].feedback
    assert "inner sizes differ" in items["grad"].feedback
    # a hidden item says only that it is wrong
    assert (items["secret"].status, items["secret"].feedback, items["secret"].details) == ("failed", "incorrect", {})
    assert items["essay"].feedback.endswith("(no written answer found)")


def test_broken_and_hostile_answers_cost_only_their_item(tmp_path, theory):
    items, report = grade_answers(tmp_path, theory, "## count\n__import__('os').system('touch /tmp/x')\n"
                                  "## shape\n(((\n## grad\n" + "(" * 500 + "\n## nonsense.item\n1\n## pick\nb c\n")
    assert items["count"].status == "failed" and "cannot read a number" in items["count"].feedback
    assert items["shape"].status == "failed" and "cannot read a shape" in items["shape"].feedback
    assert items["grad"].status == "failed" and "nested" in items["grad"].feedback
    assert items["pick"].status == "passed"
    assert any("'nonsense.item' is not a question" in w for w in report.warnings)


def test_a_number_the_question_rules_out_is_told_why(tmp_path, theory):
    items, _ = grade_answers(tmp_path, theory, "## count\n196 864\n")
    assert items["count"].score == 0
    assert items["count"].feedback == "196,864 is the count of one block; the question asks for all 12"
    items, _ = grade_answers(tmp_path, theory, "## count\n2362400\n")
    assert items["count"].feedback == "2,362,400 is not an accepted value"


def test_a_rejected_value_an_accepted_one_could_be_read_as_is_a_rubric_error(write_rubric):
    clash = RUBRIC.replace('value = 196864, reason', 'value = 2362368.5, reason')
    with pytest.raises(rubric_module.RubricError, match="within tolerance of the accepted 2,362,368"):
        rubric_module.load(write_rubric(clash))


def test_missing_answers_file_names_what_was_expected(tmp_path, theory):
    report = grade(write_zip(tmp_path / "s.zip", {"notes.bin": "hi"}), theory)
    assert {i.status for i in report.items if i.kind != "manual"} == {"error"}
    assert "no answers file matching answers*.md" in report.items[0].feedback and "notes.bin" in report.items[0].feedback
    # a text file is a document the student handed in: what it does not answer waits for a TA, never a 0
    report = grade(write_zip(tmp_path / "t.zip", {"notes.txt": "hi"}), theory)
    assert {i.status for i in report.items} == {"manual"} and report.total.score == 0
    assert "no answers file matching answers*.md" in report.items[0].feedback
    assert "not found in notes.txt" in report.items[0].feedback


def test_answers_file_format():
    parsed = parse_answers("## a\n> the question\n  1 + 1  \n\n## b\nx\n## a\n۴۲\n## zzz\n9", {"a", "b"})
    assert parsed.answers["a"].lines == ["42"] and parsed.answers["b"].lines == ["x"]
    assert len(parsed.warnings) == 2


def run(*args, cwd=None):
    return subprocess.run([*GRADE, *map(str, args)], capture_output=True, text=True, timeout=300, cwd=cwd)


def answers_zip(tmp_path, name, source):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(source, "answers.md")
    return path


def test_hw5_correct_answers_earn_every_automatic_point_and_manual_points_flow_into_the_total(tmp_path):
    done = run(answers_zip(tmp_path, "HW5_Sara_Ahmadi_401234567.zip", HW5 / "examples" / "answers_correct.md"),
               "--format", "json", "--out", tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    auto = [i for i in report["items"] if i["kind"] != "manual"]
    assert all(i["status"] == "passed" for i in auto) and sum(i["points"] for i in auto) == 42
    assert report["total"] == {"score": 42, "max": 100, "manual_pending": 58}
    done = run("manual", tmp_path / "report.json", "--set", "q3.b=8", "--set", "q4.notebook=45", "--comment", "good")
    assert done.returncode == 0, done.stderr
    (tmp_path / "marks.csv").write_text("id,points,comment\nq1.a.reason,1,ok\nq1.b.reason,0.5,half\n")
    assert run("manual", tmp_path / "report.json", "--csv", tmp_path / "marks.csv").returncode == 0
    updated = json.loads((tmp_path / "report.json").read_text())
    items = {i["id"]: i for i in updated["items"]}
    assert items["q3.b"]["score"] == 8 and items["q3.b"]["status"] == "partial" and items["q3.b"]["feedback"] == "good"
    assert updated["total"] == {"score": 42 + 8 + 45 + 1.5, "max": 100, "manual_pending": 1}
    refused = run("manual", tmp_path / "report.json", "--set", "q2.a=0")
    assert refused.returncode == 2 and "graded automatically" in refused.stderr
    assert run("manual", tmp_path / "report.json", "--set", "q3.b=11").returncode == 2


def test_hw5_wrong_answers_are_caught_item_by_item(tmp_path):
    done = run(answers_zip(tmp_path, "HW5_Ali_Rezaei_401234568.zip", HW5 / "examples" / "answers_wrong.md"),
               "--format", "json")
    items = {i["id"]: i for i in json.loads(done.stdout)["items"]}
    assert items["q1.c"]["status"] == "passed"
    expected = {"q1.a": "a is not correct", "q1.b": "a is not correct", "q2.a": "the sign is flipped",
                "q2.b": "inner sizes differ", "q2.c": "shape (), expected (4, 4)",
                "q2.d": "the terms gW_1, gW_2 are missing", "q3.a": "[6, 1, -2] is not an accepted value"}
    for item_id, message in expected.items():
        assert items[item_id]["score"] == 0 and message in items[item_id]["feedback"], items[item_id]


def test_hw5_template_and_selftest():
    done = run("template", "hw5")
    assert done.returncode == 0 and "## q2.b" in done.stdout and "W_hh 4×4" in done.stdout
    done = run("selftest", "hw5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "42/42 automatic points" in done.stdout


PROOFS = '''
[assignment]
id = "proofs"
[answers]
match = ["answers*.md"]

[[items]]
id = "chain"
kind = "derivation"
points = 4
symbols = { A = [3, 3], B = [3, 3], x = [3, 1] }
start = "(A + B).T @ x"
reference = "A.T @ x + B.T @ x"
step_credit = 0.5

[[items]]
id = "linear"
kind = "complexity"
points = 2
symbols = ["N", "d", "r"]
assumptions = ["r << N", "d << N"]
reference = "O(N*d*r)"

[[items]]
id = "softmax"
kind = "complexity"
points = 2
symbols = ["N", "d"]
assumptions = ["d << N"]
reference = "O(N**2 * d)"
'''


@pytest.fixture
def proofs(write_rubric):
    return rubric_module.load(write_rubric(PROOFS, name="proofs.toml"))


def test_derivations_point_at_the_first_step_that_does_not_follow(tmp_path, proofs):
    good = "## chain\n(A + B).T @ x\n= (A.T + B.T) @ x\n= A.T @ x + B.T @ x\n"
    wrong = "## chain\n(A + B).T @ x = (A.T + B.T) @ x\n(A + B) @ x\nA @ x + B @ x\n"
    short = "## chain\n(A.T + B.T) @ x\n"
    items, _ = grade_answers(tmp_path, proofs, good)
    assert (items["chain"].status, items["chain"].feedback) == ("passed", "all 3 steps follow")
    items, _ = grade_answers(tmp_path, proofs, wrong)
    assert items["chain"].status == "failed"
    assert items["chain"].feedback.startswith("step 3 ((A + B) @ x) does not follow from step 2")
    assert items["chain"].details["first_wrong_step"] == 3
    items, _ = grade_answers(tmp_path, proofs, short)
    assert (items["chain"].status, items["chain"].score) == ("partial", 2)


def test_complexity_answers_compare_by_order_under_the_assumptions(tmp_path, proofs):
    right = "## linear\nO(N d r + N r + d r)\n## softmax\n$\\mathcal{O}(d N^2 + N d)$\n"
    items, _ = grade_answers(tmp_path, proofs, right)
    assert items["linear"].status == "passed" and items["softmax"].status == "passed"
    wrong = "## linear\nO(N**2 * r)\n## softmax\nO(N d)\n"
    items, _ = grade_answers(tmp_path, proofs, wrong)
    assert items["linear"].status == "failed" and "grows faster" in items["linear"].feedback
    assert items["softmax"].status == "failed" and "grows slower" in items["softmax"].feedback


def test_unknown_questions_are_counted_not_each_kept():
    """An answers file of endless unknown headers costs the grader a count, not a string per line."""
    parsed = parse_answers("".join(f"## q{i}\n1\n" for i in range(1000)), {"grad"})
    assert len(parsed.warnings) == 21 and "'q0' is not a question" in parsed.warnings[0]
    assert parsed.warnings[-1] == "answers: 980 more headers name no question of this assignment"


@pytest.mark.parametrize("answer, chosen", [
    ("b, c", {"b", "c"}), ("(b) and (c)", {"b", "c"}), ("ب، ج", {"b", "c"}), ("گزینه ج صحیح است", {"c"}),
    ("پاسخ: ج", {"c"}), ("گزینه‌های ب و ج", {"b", "c"}), ("الف", {"a"}), ("c — a unidirectional RNN is enough", {"c"}),
    ("b and c: both map a sequence to a single label", {"b", "c"}), ("a only (b and c are wrong)", {"a"}),
    ("the answer is a", {"a"}), ("Answer: a", {"a"}), ("b. since a needs labels", {"b"}), ("option b", {"b"}),
])
def test_the_chosen_options_are_found_not_every_letter_of_the_explanation(answer, chosen):
    from grader.checks.choice import read_choices

    assert read_choices(answer) == (chosen, "")


def test_an_answer_that_is_prose_is_left_to_a_ta(tmp_path, theory):
    items, report = grade_answers(tmp_path, theory, "## pick\nI would say that maybe b works in some cases and c in others\n")
    assert items["pick"].status == "manual" and "not clear which options" in items["pick"].feedback
    assert report.total.manual_pending >= items["pick"].points
