"""Metrics against independent definitions (Pearson correlation, covariances of one-hot labels);
the text pieces against the examples printed in the seeds and their invariants."""
from collections import Counter

import numpy as np
import pytest

from grader.checks import scores as M
from reference import text as T


def test_binary_mcc_is_the_pearson_correlation_of_the_labels():
    rng = np.random.default_rng(0)
    for _ in range(5):
        y_true = rng.integers(2, size=200)
        y_pred = np.where(rng.random(200) < 0.7, y_true, 1 - y_true)
        assert M.matthews_corrcoef(list(y_true), list(y_pred)) == pytest.approx(np.corrcoef(y_true, y_pred)[0, 1])


def test_multiclass_mcc_is_gorodkins_covariance_of_one_hot_labels():
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(4, size=300), rng.integers(4, size=300)
    y_pred[:150] = y_true[:150]
    X, Y = np.eye(4)[y_pred], np.eye(4)[y_true]
    cov = lambda A, B: sum(np.cov(A[:, k], B[:, k], bias=True)[0, 1] for k in range(4))
    assert M.matthews_corrcoef(list(y_true), list(y_pred)) == pytest.approx(cov(X, Y) / np.sqrt(cov(X, X) * cov(Y, Y)))


def test_mcc_edge_cases():
    assert M.matthews_corrcoef([0, 1, 1, 0], [0, 1, 1, 0]) == 1.0
    assert M.matthews_corrcoef([0, 1, 1, 0], [1, 0, 0, 1]) == -1.0
    assert M.matthews_corrcoef([0, 1, 1, 0], [1, 1, 1, 1]) == 0.0  # a constant prediction carries no information
    with pytest.raises(ValueError, match="equal length"):
        M.matthews_corrcoef([0, 1], [0])


def test_accuracy_and_f1_from_counts():
    y_true, y_pred = [1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0]
    assert M.accuracy(y_true, y_pred) == 5 / 7
    tp, fp, fn = 2, 1, 1
    assert M.f1(y_true, y_pred) == pytest.approx(2 * (tp / (tp + fp)) * (tp / (tp + fn)) / ((tp / (tp + fp)) + (tp / (tp + fn))))
    assert M.macro_f1(y_true, y_pred) == pytest.approx((M.f1(y_true, y_pred, 1) + M.f1(y_true, y_pred, 0)) / 2)


@pytest.mark.parametrize("english, pig", [("team", "eamtay"), ("impress", "impressway"), ("shopping", "oppingshay"),
                                          ("well-mannered", "ellway-anneredmay"), ("a", "away"), ("the", "ethay")])
def test_pig_latin_reproduces_the_assignments_examples(english, pig):
    assert T.pig_latin_word(english) == pig


def test_pig_latin_sentence_and_the_letters_it_uses():
    assert T.pig_latin("Shopping Team") == "oppingshay eamtay"
    assert set(T.pig_latin_word("quick-brown")) <= set("abcdefghijklmnopqrstuvwxyz-")


def test_persian_sentences_are_split_at_terminators_not_at_decimals_or_abbreviations():
    text = ("دانشگاه صنعتی شریف در سال ۱۳۴۴ تأسیس شد. آیا می‌دانستید؟ عدد پی تقریباً ۳.۱۴ است! "
            "این رویداد در ۵۰۰ ق.م. رخ داد.\n\nپاراگراف دوم بدون نقطه")
    assert T.split_sentences(text) == [
        "دانشگاه صنعتی شریف در سال ۱۳۴۴ تأسیس شد.",
        "آیا می‌دانستید؟",
        "عدد پی تقریباً ۳.۱۴ است!",
        "این رویداد در ۵۰۰ ق.م. رخ داد.",
        "پاراگراف دوم بدون نقطه",
    ]
    assert "\u200c" in T.split_sentences(text)[1]  # the half-space survives
    assert T.split_sentences("علي كتاب خواند.") == ["علی کتاب خواند."]  # Arabic yeh and kaf normalised


def test_shuffled_pairs_keep_the_words_and_are_seeded():
    sentences = ["من به دانشگاه رفتم", "او کتاب را خواند", "سلام", "بله بله"]
    pairs = T.shuffled_pairs(sentences, seed=3)
    assert pairs == T.shuffled_pairs(sentences, seed=3)
    assert [original for _, original in pairs] == ["من به دانشگاه رفتم", "او کتاب را خواند", "بله بله"]
    for shuffled, original in pairs:
        assert Counter(shuffled.split()) == Counter(original.split())
        assert shuffled != original or len(set(original.split())) == 1


def test_reordering_metrics():
    references = ["a b c d", "e f"]
    assert T.exact_match(["a b c d", "f e"], references) == 0.5
    assert T.position_accuracy(["a c b d", "e f"], references) == 4 / 6
