"""Classification scores the ``metric`` kind computes (hw7 Q2: MCC on CoLA's out-of-domain dev set).
Part of the engine, not of a course: a course's own rubric scores predictions with them too."""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence


def accuracy(y_true: Sequence, y_pred: Sequence) -> float:
    _same_length(y_true, y_pred)
    return sum(t == p for t, p in zip(y_true, y_pred)) / len(y_true)


def confusion(y_true: Sequence, y_pred: Sequence) -> dict[tuple, int]:
    _same_length(y_true, y_pred)
    return Counter(zip(y_true, y_pred))


def matthews_corrcoef(y_true: Sequence, y_pred: Sequence) -> float:
    """Matthews correlation (Gorodkin's multiclass form, equal to the binary formula
    (TP·TN − FP·FN)/√((TP+FP)(TP+FN)(TN+FP)(TN+FN)) for two classes).  0 when a marginal is constant,
    as scikit-learn defines it."""
    _same_length(y_true, y_pred)
    n = len(y_true)
    correct = sum(t == p for t, p in zip(y_true, y_pred))
    true_counts, pred_counts = Counter(y_true), Counter(y_pred)
    classes = set(true_counts) | set(pred_counts)
    covariance = correct * n - sum(true_counts[k] * pred_counts[k] for k in classes)
    spread_pred = n * n - sum(pred_counts[k] ** 2 for k in classes)
    spread_true = n * n - sum(true_counts[k] ** 2 for k in classes)
    if spread_pred == 0 or spread_true == 0:
        return 0.0
    return covariance / math.sqrt(spread_pred * spread_true)


def f1(y_true: Sequence, y_pred: Sequence, positive=1) -> float:
    counts = confusion(y_true, y_pred)
    tp = counts[(positive, positive)]
    fp = sum(v for (t, p), v in counts.items() if p == positive and t != positive)
    fn = sum(v for (t, p), v in counts.items() if t == positive and p != positive)
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def macro_f1(y_true: Sequence, y_pred: Sequence) -> float:
    classes = sorted(set(y_true) | set(y_pred), key=str)
    return sum(f1(y_true, y_pred, k) for k in classes) / len(classes)


def _same_length(y_true: Sequence, y_pred: Sequence) -> None:
    if len(y_true) != len(y_pred) or not y_true:
        raise ValueError(f"labels and predictions must be non-empty and of equal length ({len(y_true)} vs {len(y_pred)})")
