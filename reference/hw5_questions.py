"""hw5's question data (as printed in the seed) and the answers derived from it.  numpy, not torch: a
theory rubric takes its accepted values from here, and grading written answers must not wait for torch
to import.  tests/test_reference_attention.py proves the answer equals ``attention.argmax_attention``."""
from __future__ import annotations

import numpy as np

Q3_KEYS = [[1, 2, 3], [2, 2, 1], [0, 1, -1], [0, -2, -4]]
Q3_QUERY = [3, -1, -1]
Q3_VALUES = [[6, 1, -2], [6, -1, 2], [6, 1, 0], [6, 1, 2]]


def q3_argmax_output() -> list[float]:
    """hw5 Q3(a): the value of the key with the largest dot product with the query (ties: the first)."""
    scores = np.asarray(Q3_KEYS, dtype=np.float64) @ np.asarray(Q3_QUERY, dtype=np.float64)
    return np.asarray(Q3_VALUES, dtype=np.float64)[int(np.argmax(scores))].tolist()
