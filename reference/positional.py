"""Positional information: sinusoidal encodings, RoPE and ALiBi (hw3 Q4).

Positions are integers (0-based unless the caller passes others: hw3 Q4's 3-token phrase is graded
under both the 0-based and the 1-based convention).  ``d`` is even.  float64 numpy: a theory rubric
takes its accepted values from here, and grading written answers must not wait for torch to import.
"""
from __future__ import annotations

import math

import numpy as np

Tensor = np.ndarray
D = np.float64


def frequencies(d: int, base: float = 10000.0) -> Tensor:
    """θ_j = base^(−2j/d), j = 0 … d/2 − 1: the angle per position of pair j (shared by both methods)."""
    return base ** (-np.arange(0, d, 2, dtype=D) / d)


def sinusoidal_encoding(positions, d: int, base: float = 10000.0) -> Tensor:
    """PE[p, 2j] = sin(p θ_j), PE[p, 2j+1] = cos(p θ_j) (Vaswani et al.), shape (len(positions), d)."""
    angles = np.asarray(list(positions), dtype=D)[:, None] * frequencies(d, base)
    encoding = np.empty((len(angles), d), dtype=D)
    encoding[:, 0::2], encoding[:, 1::2] = np.sin(angles), np.cos(angles)
    return encoding


def rope_angles(positions, d: int, base: float = 10000.0) -> Tensor:
    """m θ_j for every position m and pair j, shape (len(positions), d/2)."""
    return np.asarray(list(positions), dtype=D)[:, None] * frequencies(d, base)


def rope(x: Tensor, positions, base: float = 10000.0, pairing: str = "interleaved") -> Tensor:
    """Rotate each pair of features of token m by m θ_j (Su et al., the seed's f(q, m)).
    ``pairing="interleaved"`` pairs (x_1, x_2), (x_3, x_4), … as the seed and the paper write it;
    ``"half"`` pairs (x_j, x_{j+d/2}) as several libraries implement it.  ``x (…, N, d)``."""
    d = x.shape[-1]
    angles = rope_angles(positions, d, base)
    cos, sin = np.cos(angles), np.sin(angles)
    if pairing == "interleaved":
        first, second = x[..., 0::2], x[..., 1::2]
    elif pairing == "half":
        first, second = x[..., : d // 2], x[..., d // 2:]
    else:
        raise ValueError(f"unknown pairing {pairing!r}")
    rotated_first = first * cos - second * sin
    rotated_second = first * sin + second * cos
    out = np.empty_like(x)
    if pairing == "interleaved":
        out[..., 0::2], out[..., 1::2] = rotated_first, rotated_second
    else:
        out[..., : d // 2], out[..., d // 2:] = rotated_first, rotated_second
    return out


def rope_matrix(m: int, d: int, base: float = 10000.0) -> Tensor:
    """The block-diagonal matrix diag(M_1, …, M_{d/2}) of the seed, M_j the 2×2 rotation by m θ_j."""
    matrix = np.zeros((d, d), dtype=D)
    for j, angle in enumerate(rope_angles([m], d, base)[0]):
        c, s = math.cos(angle), math.sin(angle)
        matrix[2 * j: 2 * j + 2, 2 * j: 2 * j + 2] = [[c, -s], [s, c]]
    return matrix


def alibi_slopes(heads: int) -> Tensor:
    """ALiBi head slopes (Press et al.): for a power of two H, the geometric sequence 2^(−8i/H),
    i = 1 … H; otherwise the slopes of the closest lower power of two, then every other slope of the
    next power of two, as the paper's code does."""
    def power_of_two(n):
        return [2 ** (-8 * i / n) for i in range(1, n + 1)]
    closest = 2 ** int(math.floor(math.log2(heads)))
    slopes = power_of_two(closest)
    if closest != heads:
        slopes += power_of_two(2 * closest)[0::2][: heads - closest]
    return np.array(slopes, dtype=D)


def alibi_bias(n: int, slope: float, causal: bool = True) -> Tensor:
    """The bias added to q_i Kᵀ: row i (1-based) is m·[−(i−1), …, −1, 0] over keys 1 … i.  Keys after
    i are −∞ when ``causal`` (the decoder setting of the paper) and −m·|i−j| otherwise."""
    i = np.arange(n, dtype=D)[:, None]
    j = np.arange(n, dtype=D)[None, :]
    bias = -slope * np.abs(i - j)
    return np.where(j > i, -np.inf, bias) if causal else bias


def hw3_q4_phrase(d: int, start: int = 0, base: float = 10000.0) -> dict:
    """The values hw3 Q4 asks for on the 3-token phrase «دانشگاه صنعتی شریف» (one token per word):
    the sinusoidal encodings, and RoPE's angles, cosines and sines, at positions start … start+2."""
    positions = list(range(start, start + 3))
    angles = rope_angles(positions, d, base)
    return {"positions": positions, "sinusoidal": sinusoidal_encoding(positions, d, base),
            "rope_angles": angles, "rope_cos": np.cos(angles), "rope_sin": np.sin(angles)}
