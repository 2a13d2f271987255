"""Positional encodings against sympy's exact trigonometry and their defining properties; the sympy
proofs against exact expectations, numbers and the attention code."""
import math

import numpy as np
import pytest
import sympy
import torch
from sympy.stats import E, Normal

from reference import positional as P
from reference import proofs
from reference.attention import attention_weights

D = torch.float64


def test_sinusoidal_encoding_matches_the_definition_evaluated_by_sympy():
    d = 6
    encoding = P.sinusoidal_encoding([0, 1, 2, 7], d)
    for row, pos in enumerate([0, 1, 2, 7]):
        for j in range(d // 2):
            angle = sympy.Integer(pos) / sympy.Integer(10000) ** sympy.Rational(2 * j, d)
            assert encoding[row, 2 * j].item() == pytest.approx(float(sympy.sin(angle)), abs=1e-15)
            assert encoding[row, 2 * j + 1].item() == pytest.approx(float(sympy.cos(angle)), abs=1e-15)


def test_sinusoidal_shift_is_a_rotation_of_each_pair():
    d, k = 8, 5
    encoding = P.sinusoidal_encoding(range(20), d)
    for j, theta in enumerate(P.frequencies(d)):
        c, s = math.cos(k * theta), math.sin(k * theta)
        rotation = np.array([[c, s], [-s, c]])  # (sin, cos)(p+k) = R (sin, cos)(p)
        np.testing.assert_allclose(encoding[k:, 2 * j: 2 * j + 2], encoding[:-k, 2 * j: 2 * j + 2] @ rotation.T,
                                   atol=1e-12)


@pytest.mark.parametrize("pairing", ["interleaved", "half"])
def test_rope_equals_complex_multiplication_and_keeps_norms(pairing):
    d, positions = 8, [0, 1, 2, 5]
    x = np.random.default_rng(0).standard_normal((4, d))
    rotated = P.rope(x, positions, pairing=pairing)
    if pairing == "interleaved":
        z = x[:, 0::2] + 1j * x[:, 1::2]
    else:
        z = x[:, : d // 2] + 1j * x[:, d // 2:]
    turned = z * np.exp(1j * np.array(positions)[:, None] * P.frequencies(d))
    expected = np.stack([turned.real, turned.imag], axis=-1).reshape(4, d) if pairing == "interleaved" \
        else np.concatenate([turned.real, turned.imag], axis=-1)
    np.testing.assert_allclose(rotated, expected, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(rotated, axis=-1), np.linalg.norm(x, axis=-1))


def test_rope_is_the_seeds_block_matrix_and_scores_depend_only_on_the_offset():
    d = 6
    q, k = np.random.default_rng(1).standard_normal((2, d))
    for m in (0, 1, 4):
        np.testing.assert_allclose(P.rope(q[None], [m])[0], P.rope_matrix(m, d) @ q, atol=1e-12)
    score = lambda m, n: P.rope(q[None], [m])[0] @ P.rope(k[None], [n])[0]
    assert score(3, 1) == pytest.approx(score(10, 8)) and score(0, 5) == pytest.approx(score(4, 9))


def test_alibi_slopes_follow_the_papers_geometric_sequence():
    assert P.alibi_slopes(8).tolist() == [2.0 ** -k for k in range(1, 9)]  # 1/2 … 1/256
    # 6 heads: the 4-head slopes, then every other 8-head slope
    assert P.alibi_slopes(6).tolist() == [2.0 ** -2, 2.0 ** -4, 2.0 ** -6, 2.0 ** -8, 2.0 ** -1, 2.0 ** -3]


def test_alibi_bias_rows_are_the_seeds_formula():
    m, n = 0.25, 4
    bias = P.alibi_bias(n, m)
    for i in range(1, n + 1):  # the seed's 1-based row i: m · [−(i−1), …, −2, −1, 0]
        assert bias[i - 1, :i].tolist() == [m * v for v in range(-(i - 1), 1)]
        assert all(v == float("-inf") for v in bias[i - 1, i:].tolist())
    assert P.alibi_bias(3, m, causal=False).tolist()[0] == [0.0, -0.25, -0.5]


def test_hw3_q4_phrase_under_both_position_conventions():
    zero, one = P.hw3_q4_phrase(4, start=0), P.hw3_q4_phrase(4, start=1)
    assert zero["positions"] == [0, 1, 2] and one["positions"] == [1, 2, 3]
    assert zero["sinusoidal"][0].tolist() == [0.0, 1.0, 0.0, 1.0]  # position 0: sin 0, cos 0
    np.testing.assert_array_equal(zero["sinusoidal"][1:], one["sinusoidal"][:2])
    assert zero["rope_angles"][1].tolist() == pytest.approx([1.0, 0.01])  # θ = 10000^(−2j/4)


def test_expected_squared_inner_product_is_d_symbolically_and_exactly():
    proof = proofs.expected_squared_inner_product()
    assert proof["result"] == proof["D"]
    for step in proof["steps"]:  # every step equals D; sympy cannot drop "j ≤ D" inside a symbolic sum,
        for dim in range(1, 7):  # so the intermediate steps are evaluated exactly for D = 1 … 6
            assert step.subs(proof["D"], dim).doit() == dim
    for dim in (1, 2, 3):  # exact expectations of normal random variables, an independent route
        a = [Normal(f"a{i}", 0, 1) for i in range(dim)]
        b = [Normal(f"b{i}", 0, 1) for i in range(dim)]
        assert sympy.simplify(E(sympy.expand(sum(x * y for x, y in zip(a, b)) ** 2))) == dim


def test_multi_head_block_identity():
    concatenated, head_sum = proofs.multi_head_block_identity(3)
    assert sympy.simplify(concatenated - head_sum) == sympy.ZeroMatrix(*head_sum.shape)


def test_permutation_equivariance_holds_symbolically():
    assert proofs.permutation_equivariance(3, 2)


def test_orthogonal_inputs_do_not_give_y_equal_x_except_in_the_limit():
    fact = proofs.orthogonal_inputs_output()
    assert fact["exact"] is False
    assert fact["limit_own_weight"] == 1 and fact["limit_other_weight"] == 0
    # the closed form agrees with actual softmax attention on orthogonal inputs
    n = 4
    x = torch.linalg.qr(torch.randn(n, n, dtype=D))[0] * torch.tensor([1.0, 2.0, 0.5, 3.0], dtype=D)[:, None]
    y = attention_weights(x, x, scale=1.0) @ x
    s, N = fact["symbols"]
    for row in range(n):
        values = {s: float(x[row] @ x[row]), N: n}
        own, other = float(fact["own_weight"].subs(values)), float(fact["other_weight"].subs(values))
        expected = own * x[row] + other * (x.sum(0) - x[row])
        torch.testing.assert_close(y[row], expected)
        assert not torch.allclose(y[row], x[row])
