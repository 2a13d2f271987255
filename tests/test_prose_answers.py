"""The answer inside a sentence (issue 33): the formula or number a Persian or English sentence answers
with is read, and the feedback says what was read; a reason after "because" is no part of the answer; a
sentence with several formulas and nothing saying which answers is refused, never guessed."""
import pytest

from grader.checks.base import CheckContext
from grader.checks.expression import ExpressionCheck
from grader.checks.numeric import NumericCheck
from grader.rubric import load
from grader.theory.answers import Answer
from grader.theory.prose import math_of

NAMES = {"y_hat", "y", "a_t", "W_y", "dz", "N", "d"}


@pytest.mark.parametrize("sentence, formula", [
    ("گرادیان نسبت به W_y برابر (ŷ − y) a_tᵀ است", "(ŷ − y) a_tᵀ"),
    ("The gradient is (ŷ − y) a_tᵀ.", "(ŷ − y) a_tᵀ"),
    ("So the answer equals dz a_t^T here", "dz a_t^T"),
    ("(ŷ − y) a_tᵀ, because dL/dz = ŷ − y", "(ŷ − y) a_tᵀ"),
    ("The whole model has 132,616,752 parameters", "132,616,752"),
    ("مدل ۱۳۲٬۶۱۶٬۷۵۲ پارامتر دارد", "۱۳۲٬۶۱۶٬۷۵۲"),
    ("it is 12 × 1024", "12 × 1024"),
])
def test_the_formula_a_sentence_answers_with(sentence, formula):
    assert math_of(sentence, NAMES) == formula


@pytest.mark.parametrize("sentence", ["W_y and a_t", "(ŷ − y) a_tᵀ", "nothing here", "O(Nd) ≪ O(N²d)"])
def test_no_formula_or_no_telling_which(sentence):
    assert math_of(sentence, NAMES) is None


def judged(rubric_id: str, item_id: str, text: str):
    rubric = load(rubric_id)
    item = next(i for i in rubric.items if i.id == item_id)
    check = {"expression": ExpressionCheck, "numeric": NumericCheck}[item.kind]()
    return check.judge(CheckContext(rubric, item, None), Answer(item_id, [text], 1))


@pytest.mark.parametrize("text", [
    "The gradient with respect to o_t is y_hat_t - y_t.",
    "گرادیان نسبت به o_t برابر ŷ_t − y_t است",
    "y_hat_t - y_t, because the softmax and the cross-entropy cancel: dJ/do = y_hat_t - y_t",
])
def test_a_right_formula_in_a_sentence_earns_its_points_and_says_what_was_read(text):
    verdict = judged("hw5", "q2.a", text)
    assert verdict.status == "passed", verdict.feedback


def test_a_wrong_formula_in_a_sentence_earns_nothing_and_says_what_was_read():
    verdict = judged("hw5", "q2.a", "The gradient is y_t - y_hat_t.")
    assert verdict.status == "failed" and "read 'y_t - y_hat_t' from the sentence" in verdict.feedback


def test_a_reasons_equals_sign_is_not_the_answer():
    # the reason's right-hand side is the right formula; the answer before "because" is wrong
    verdict = judged("hw5", "q2.a", "y_t - y_hat_t, because dJ/do = y_hat_t - y_t")
    assert verdict.status == "failed"


def test_a_count_in_a_sentence():
    verdict = judged("hw5", "q3.a", "The output of the attention is [6, 1, 2].")
    assert verdict.status == "passed" and "read '[6, 1, 2]' from the sentence" in verdict.feedback


@pytest.mark.parametrize("text, chosen", [
    ("Unidirectional — option (c).", {"c"}), ("Unidirectional, option c", {"c"}),
    ("یک‌طرفه؛ گزینه ج", {"c"}), ("Bidirectional is not needed: not option (a)", set()),
])
def test_a_choice_named_in_a_sentence(text, chosen):
    from grader.checks.choice import read_choices

    assert read_choices(text) == (chosen, "")


def test_two_options_offered_as_alternatives_are_left_to_a_ta():
    from grader.checks.choice import read_choices

    assert "offers alternatives" in read_choices("option (a) or option (c)")[1]


def judged_lines(rubric_id: str, item_id: str, lines: list[str]):
    rubric = load(rubric_id)
    item = next(i for i in rubric.items if i.id == item_id)
    return ExpressionCheck().judge(CheckContext(rubric, item, None), Answer(item_id, lines, 1))


def test_a_derivation_whose_answer_uses_the_students_own_names():
    lines = ["dz = ŷ_3 − y_3", "δ = W_yh^T dz", "dJ_3/dh_1 = W_hh^T W_hh^T δ"]
    assert judged_lines("hw5", "q2.b", lines).status == "passed"
    wrong = ["dz = ŷ_3 − y_3", "δ = W_yh dz".replace("W_yh dz", "W_yh^T dz"), "dJ_3/dh_1 = W_hh W_hh^T δ"]
    assert judged_lines("hw5", "q2.b", wrong).status == "failed"


def test_a_students_definition_never_replaces_a_name_of_the_question():
    lines = ["y_hat_3 = 0", "dJ_3/dh_1 = W_hh.T @ W_hh.T @ W_yh.T @ (y_hat_3 - y_3)"]
    assert judged_lines("hw5", "q2.b", lines).status == "passed"


def test_definitions_that_grow_without_end_are_refused():
    lines = ["a = (b + b + b + b)", "b = (a + a + a + a)", "W_hh.T @ a"]
    verdict = judged_lines("hw5", "q2.b", lines)
    assert verdict.status == "failed"


def test_hostile_sentences_and_printed_arrays_cost_little():
    import time

    from grader.theory.expressions import ParseError
    from grader.theory.numbers import read

    started = time.monotonic()
    assert math_of("the answer is " * 100_000 + "W_y", NAMES) is None
    for text in ("[" + "1 " * 5000 + "x]", "[" * 3000 + "1 2" + "]" * 3000, "0.5 * [" + "1, " * 4000 + "1]",
                 "1 ≈ " * 3000 + "1", "a = 1\n" * 3000):
        try:
            read(text, {}, {3})
        except ParseError:
            pass
    assert time.monotonic() - started < 5
