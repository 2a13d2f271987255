"""The bundled theory rubrics are right: their symbolic answers equal the references (proven against
autograd), and their example answer files score as intended."""
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

from grader import rubric as rubric_module
from grader.checks.tensors import to_torch
from grader.theory import expressions
from reference import hw3_rnn

from helpers import GRADE, REPO

HW3_THEORY = REPO / "rubrics" / "hw3-theory"


def lstm_values(seed=0):
    """Every symbol of hw3 Q1 from a real forward pass (batch 1), and the reference gradients."""
    rng = np.random.default_rng(seed)
    args = to_torch(hw3_rnn.lstm_cell_inputs(rng, n_x=3, n_a=4, n_y=3, m=1))
    a_next, c_next, yt_pred, cache = hw3_rnn.lstm_cell_forward(*args.values())
    p = args["parameters"]
    y = torch.zeros(3, 1, dtype=torch.float64)
    y[1] = 1
    da, dc = torch.randn(4, 1, dtype=torch.float64), torch.randn(4, 1, dtype=torch.float64)
    grads = hw3_rnn.lstm_cell_gradients_with_output(da, dc, y, cache, yt_pred)
    _, _, a_prev, c_prev, ft, it, cct, ot, xt, _ = cache
    values = {"ax": torch.cat([a_prev, xt]), "c_prev": c_prev, "Gamma_f": ft, "Gamma_u": it, "c_tilde": cct,
              "Gamma_o": ot, "c_t": c_next, "a_t": a_next, "W_y": p["Wy"], "b_y": p["by"], "y_hat": yt_pred, "y": y,
              "da_next": da, "dc_next": dc, **{f"W_{g}": p[f"W{k}"] for g, k in zip("fuco", "fico")},
              **{f"b_{g}": p[f"b{k}"] for g, k in zip("fuco", "fico")}}
    return {k: v.numpy() for k, v in values.items()}, {k: v.numpy() for k, v in grads.items()}, yt_pred.numpy(), \
        a_next.numpy(), c_next.numpy()


@pytest.mark.parametrize("item_id, expected_key", [
    ("q1.4.dW_y", "dWy"), ("q1.4.db_y", "dby"), ("q1.4.dW_o", "dWo"), ("q1.4.dW_c", "dWc"), ("q1.4.dW_u", "dWi"),
    ("q1.4.dW_f", "dWf"), ("q1.4.db_f", "dbf")])
def test_hw3_q1_gradient_answers_equal_the_reference(item_id, expected_key):
    rubric = rubric_module.load("hw3-theory")
    item = next(i for i in rubric.items if i.id == item_id)
    values, grads, *_ = lstm_values()
    full_credit = next(e for e in item.config["accepted"] if e["fraction"] == 1)
    np.testing.assert_allclose(expressions.evaluate(full_credit["parsed"], values), grads[expected_key], rtol=1e-10)


def test_hw3_q1_forward_answers_equal_the_reference():
    rubric = rubric_module.load("hw3-theory")
    values, _, yt_pred, a_next, c_next = lstm_values(1)
    expected = {"q1.3.c": c_next, "q1.3.a": a_next, "q1.3.y": yt_pred}
    for item in rubric.items:
        if item.id in expected:
            for entry in item.config["accepted"]:
                np.testing.assert_allclose(expressions.evaluate(entry["parsed"], values), expected[item.id], rtol=1e-10)


def grade_answers(tmp_path, source, name):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(source, "answers.md")
    done = subprocess.run([*GRADE, str(path), "--format", "json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {i["id"]: i for i in json.loads(done.stdout)["items"]}


def test_hw3_theory_correct_answers_earn_every_automatic_point(tmp_path):
    items = grade_answers(tmp_path, HW3_THEORY / "examples" / "answers_correct.md", "HW3_Theory_Sara_Ahmadi_401234567.zip")
    auto = [i for i in items.values() if i["kind"] != "manual"]
    assert all(i["status"] == "passed" for i in auto), [i for i in auto if i["status"] != "passed"]
    assert sum(i["points"] for i in auto) == 20.5


def test_hw3_theory_wrong_answers_name_each_planted_mistake(tmp_path):
    items = grade_answers(tmp_path, HW3_THEORY / "examples" / "answers_wrong.md", "HW3_Theory_Ali_Rezaei_401234568.zip")
    expected = {
        "q1.3.c": "the factor c_tilde is missing or wrong; you have c_prev instead",
        "q1.3.a": "the factor tanh(c_t) is missing or wrong; you have c_t instead",
        "q1.3.y": "inside softmax(...): the term b_y is missing",
        "q1.4.dW_y": "inner sizes differ",                                 # a transpose dropped
        "q1.4.db_y": "shape (), expected (3, 1)",                          # a sum collapsed to a scalar
        "q1.4.dW_c": "the factor tanh(c_t) ** 2 is missing or wrong; you have tanh(c_t) instead",  # tanh′ wrong
        "q1.4.dW_u": "the factor 1 - Gamma_u is missing",
        "q1.4.dW_f": "inner sizes differ",
        "q2.shape.attention_weights": "3 dimensions, expected 4",
        "q2.count.encoder_self_attention": "2,362,368 is the count of one block; the question asks for all",
        "q5.params": "the factor N ** 2 is missing or wrong; you have N instead",
    }
    for item_id, message in expected.items():
        assert items[item_id]["score"] == 0 and message in items[item_id]["feedback"], items[item_id]
    # the forgotten output layer is a named convention worth half
    assert items["q1.4.dW_o"]["status"] == "partial" and "includes the output layer" in items["q1.4.dW_o"]["feedback"]


def test_theory_selftests_pass():
    for rubric_id in ("hw3-theory", "hw5"):
        done = subprocess.run([*GRADE, "selftest", rubric_id], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout


def answers_zip_grade(tmp_path, name, text, rubric_id):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("answers.md", text)
    done = subprocess.run([*GRADE, str(path), "--rubric", rubric_id, "--format", "json"], capture_output=True,
                          text=True, timeout=300)
    return {i["id"]: i for i in json.loads(done.stdout)["items"]}


def test_hw7_the_seeds_quadratic_order_does_not_pass(tmp_path):
    items = answers_zip_grade(tmp_path, "HW7_A_B_1.zip", "## q4.time\nO(N d r + N^2 r + N r d)\n"
                              "## q4.memory\nO(N^2)\n", "hw7")
    assert items["q4.time"]["score"] == 0 and "grows faster" in items["q4.time"]["feedback"]
    assert items["q4.memory"]["score"] == 0


@pytest.mark.parametrize("answer, score", [("34250", 4), ("33300", 4), ("34,250", 4), ("33350", 0)])
def test_hw4_additive_count_under_both_bias_conventions(tmp_path, answer, score):
    items = answers_zip_grade(tmp_path, "HW4_A_B_1.zip", f"## q3.c\n{answer}\n", "hw4")
    assert items["q3.c"]["score"] == score, items["q3.c"]


def test_a_hostile_answers_file_is_a_set_of_clean_parse_errors(tmp_path):
    import time
    hostile = ("## q2.a\n__import__('os').system('touch /tmp/dlgrade-pwned')\n"
               "## q2.b\n" + "(" * 100_000 + "\n"
               "## q2.c\n" + "W_hh @ " * 1_500_000 + "W_hh\n"
               "## q3.a\n" + "9" * 5000 + "\n"
               "## q2.d\n\x1b[2J\x1b]0;owned\x07 Total: 100 / 100\n")
    started = time.monotonic()
    items = answers_zip_grade(tmp_path, "HW5_Evil_Student_1.zip", hostile, "hw5")
    assert time.monotonic() - started < 30
    for item_id in ("q2.a", "q2.b", "q2.c", "q2.d", "q3.a"):
        assert items[item_id]["score"] == 0 and items[item_id]["status"] == "failed", items[item_id]
    assert "cannot read" in items["q2.a"]["feedback"] and "characters long" in items["q2.c"]["feedback"]
    assert not __import__("os").path.exists("/tmp/dlgrade-pwned")


@pytest.mark.parametrize("rubric_id", ["hw3-theory", "hw4", "hw5", "hw7"])
def test_grading_written_answers_imports_neither_torch_nor_a_kernel(tmp_path, rubric_id):
    """Theory grading is the student's fast path: torch alone takes over a second to import."""
    path = tmp_path / "HW_Sara_Ahmadi_401234567.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(REPO / "rubrics" / rubric_id / "examples" / "answers_correct.md", "answers.md")
    probe = ("import sys\nfrom grader.cli import main\n"
             f"try:\n    main([{str(path)!r}, '--rubric', {rubric_id!r}, '--out', {str(tmp_path / 'out')!r}])\n"
             "except SystemExit as exit:\n    assert exit.code in (0, None), exit.code\n"
             "heavy = ('torch', 'jupyter_client', 'nbclient', 'zmq', 'sympy')\n"
             "print(sorted(m for m in heavy if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert json.loads((tmp_path / "out" / "report.json").read_text())["total"]["score"] > 0
