"""Symbolic facts the theory questions rest on, established with sympy (not with examples).

Each function returns sympy objects so a checker can compare a student's expression with them.
"""
from __future__ import annotations

import itertools

import sympy
from sympy import KroneckerDelta, Sum, symbols


def expected_squared_inner_product() -> dict:
    """hw3 Q3.2: for independent a, b ∈ R^D with i.i.d. standard normal entries, E[(aᵀb)²] = D.

    (aᵀb)² = Σ_i Σ_j a_i b_i a_j b_j; independence gives E[a_i a_j] E[b_i b_j] = δ_ij δ_ij, so the
    double sum keeps the D diagonal terms.  Returned as the chain of steps and the result."""
    D = symbols("D", positive=True, integer=True)
    i, j = symbols("i j", integer=True)
    steps = [
        Sum(KroneckerDelta(i, j) * KroneckerDelta(i, j), (i, 1, D), (j, 1, D)),
        Sum(KroneckerDelta(i, j), (i, 1, D), (j, 1, D)),
        Sum(1, (i, 1, D)),
    ]
    return {"D": D, "steps": steps, "result": sympy.simplify(steps[-1].doit())}


def multi_head_block_identity(heads: int = 3):
    """hw3 Q3.3 in block form: [H_1 … H_h] [W_o^1; …; W_o^h] = Σ_h H_h W_o^h, with H_h = A_h X W_v^h.
    Returns (concatenated form, per-head sum) as sympy matrix expressions."""
    n, d, width = symbols("N d D", positive=True, integer=True)
    head_outputs = [sympy.MatrixSymbol(f"H_{h}", n, d) for h in range(1, heads + 1)]
    projections = [sympy.MatrixSymbol(f"Wo_{h}", d, width) for h in range(1, heads + 1)]
    concatenated = sympy.BlockMatrix([head_outputs]) * sympy.BlockMatrix([[p] for p in projections])
    return sympy.block_collapse(concatenated), sympy.MatAdd(*[h * p for h, p in zip(head_outputs, projections)])


def _row_softmax(matrix: sympy.Matrix) -> sympy.Matrix:
    rows = []
    for r in range(matrix.rows):
        exps = [sympy.exp(matrix[r, c]) for c in range(matrix.cols)]
        rows.append([e / sum(exps) for e in exps])
    return sympy.Matrix(rows)


def permutation_equivariance(n: int = 3, d: int = 2) -> bool:
    """hw3 Q5: self-attention without positional encoding is permutation equivariant, Y(PX) = P Y(X),
    checked symbolically (every entry of X and of the weights a symbol) for every permutation of n."""
    X = sympy.Matrix(n, d, lambda r, c: symbols(f"x_{r}{c}"))
    W = {name: sympy.Matrix(d, d, lambda r, c: symbols(f"{name}_{r}{c}")) for name in ("q", "k", "v")}

    def attention(inputs):
        return _row_softmax(inputs * W["q"] * (inputs * W["k"]).T) * inputs * W["v"]

    reference = attention(X)
    for order in itertools.permutations(range(n)):
        P = sympy.Matrix(n, n, lambda r, c: 1 if order[r] == c else 0)
        if sympy.simplify(attention(P * X) - P * reference) != sympy.zeros(n, d):
            return False
    return True


def orthogonal_inputs_output() -> dict:
    """hw3 Q3.1 claims that orthogonal inputs give y_n = x_n.  It is *not* exactly true.

    With x_nᵀx_m = 0 for n ≠ m and s_n = ‖x_n‖², a_nn = e^{s_n} / (e^{s_n} + N − 1) and
    a_nm = 1 / (e^{s_n} + N − 1), so y_n = (e^{s_n} x_n + Σ_{m≠n} x_m) / (e^{s_n} + N − 1).
    y_n = x_n holds only for N = 1; otherwise it holds in the limit s_n → ∞ (inputs of large norm),
    which is the approximate statement a correct answer can make."""
    s, N = symbols("s N", positive=True)
    own = sympy.exp(s) / (sympy.exp(s) + N - 1)
    other = 1 / (sympy.exp(s) + N - 1)
    return {"own_weight": own, "other_weight": other, "symbols": (s, N),
            "exact": sympy.simplify(own - 1) == 0,
            "limit_own_weight": sympy.limit(own, s, sympy.oo),
            "limit_other_weight": sympy.limit(other, s, sympy.oo)}
