"""Attention references against torch's own implementations, loops written from the definitions,
and the worked numbers printed in the seeds."""
import math

import numpy as np
import pytest
import sympy
import torch
import torch.nn.functional as F

from reference import attention as A

torch.manual_seed(0)
D = torch.float64


def rand(*shape):
    return torch.randn(*shape, dtype=D)


def test_scaled_dot_product_matches_torch_with_causal_and_padding_masks():
    q, k, v = rand(2, 3, 5, 4), rand(2, 3, 5, 4), rand(2, 3, 5, 6)
    torch.testing.assert_close(A.scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, v))
    torch.testing.assert_close(A.scaled_dot_product_attention(q, k, v, causal=True),
                               F.scaled_dot_product_attention(q, k, v, is_causal=True))
    padding = torch.tensor([[True, True, True, False, False], [True, True, True, True, True]])
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=padding[:, None, None, :])
    torch.testing.assert_close(A.scaled_dot_product_attention(q, k, v, key_padding_mask=padding[:, None, :]), expected)
    # padded keys get exactly zero weight
    weights = A.attention_weights(q, k, key_padding_mask=padding[:, None, :])
    assert torch.all(weights[0, :, :, 3:] == 0)


def test_causal_mask_shape_and_alignment():
    assert A.causal_mask(3).tolist() == [[True, False, False], [True, True, False], [True, True, True]]
    assert A.causal_mask(2, 4).tolist() == [[True, True, True, False], [True, True, True, True]]


def test_additive_attention_matches_a_loop_over_the_definition():
    q, k, v = rand(3, 4), rand(5, 6), rand(5, 2)
    W_q, W_k, w_v = rand(4, 7), rand(6, 7), rand(7)
    out = A.additive_attention(q, k, v, W_q, W_k, w_v)
    for i in range(3):
        scores = torch.stack([w_v @ torch.tanh(q[i] @ W_q + k[j] @ W_k) for j in range(5)])
        weights = torch.exp(scores) / torch.exp(scores).sum()
        torch.testing.assert_close(out[i], sum(weights[j] * v[j] for j in range(5)))


def test_argmax_attention_reproduces_the_seeds_worked_example():
    keys = torch.tensor([[1, 2, 3], [2, 2, 1], [0, 1, -1], [0, -2, -4]], dtype=D)
    values = torch.tensor([[6, 1, -2], [6, -1, 2], [6, 1, 0], [6, 1, 2]], dtype=D)
    q = torch.tensor([3, -1, -1], dtype=D)
    assert (keys @ q).tolist() == [-2, 3, 0, 6]  # the inner products printed in the hw5 answers
    assert A.argmax_attention(q, keys, values).tolist() == [6, 1, 2]


def test_hw5_rubric_answer_is_the_torch_reference_on_the_seeds_data():
    from reference import hw5_questions as H
    as_tensor = lambda rows: torch.tensor(rows, dtype=D)  # noqa: E731
    expected = A.argmax_attention(as_tensor(H.Q3_QUERY), as_tensor(H.Q3_KEYS), as_tensor(H.Q3_VALUES))
    assert H.q3_argmax_output() == expected.tolist() == [6, 1, 2]


def mha_params(d, bias=True):
    p = {f"W_{n}": rand(d, d) for n in "qkvo"}
    if bias:
        p.update({f"b_{n}": rand(d) for n in "qkvo"})
    return p


def load_into_torch(p, d, heads):
    layer = torch.nn.MultiheadAttention(d, heads, batch_first=True, dtype=D)
    with torch.no_grad():  # torch computes x @ Wᵀ: its weights are our W transposed
        layer.in_proj_weight.copy_(torch.cat([p["W_q"].T, p["W_k"].T, p["W_v"].T]))
        layer.in_proj_bias.copy_(torch.cat([p["b_q"], p["b_k"], p["b_v"]]))
        layer.out_proj.weight.copy_(p["W_o"].T)
        layer.out_proj.bias.copy_(p["b_o"])
    return layer.eval()


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_nn_multihead_attention(causal):
    d, heads = 12, 3
    p = mha_params(d)
    x, memory = rand(2, 5, d), rand(2, 7, d)
    layer = load_into_torch(p, d, heads)
    if causal:
        expected, _ = layer(x, x, x, attn_mask=~A.causal_mask(5))
        torch.testing.assert_close(A.multi_head_attention(x, x, p, heads, causal=True), expected)
    else:
        padding = torch.ones(2, 7, dtype=torch.bool)
        padding[0, 5:] = False
        expected, _ = layer(x, memory, memory, key_padding_mask=~padding)
        torch.testing.assert_close(A.multi_head_attention(x, memory, p, heads, key_padding_mask=padding), expected)


def test_head_mask_equals_removing_the_heads_rows_of_the_output_projection():
    d, heads = 8, 4
    p = mha_params(d, bias=False)
    x = rand(6, d)
    pruned = dict(p, W_o=p["W_o"].clone())
    pruned["W_o"][2 * 2: 3 * 2] = 0  # head 2's rows
    torch.testing.assert_close(A.multi_head_attention(x, x, p, heads, head_mask=torch.tensor([1.0, 1, 0, 1], dtype=D)),
                               A.multi_head_attention(x, x, pruned, heads))


def test_per_head_sum_form_equals_concatenated_heads():
    d, heads = 12, 4
    p = mha_params(d, bias=False)
    x = rand(6, d)
    torch.testing.assert_close(A.multi_head_as_head_sum(x, p, heads), A.multi_head_attention(x, x, p, heads))


def test_kernel_attention_both_orders_agree_with_the_explicit_kernel_definition():
    q, k, v = rand(2, 9, 4), rand(2, 9, 4), rand(2, 9, 3)
    linear = A.kernel_attention(q, k, v)
    torch.testing.assert_close(linear, A.kernel_attention_quadratic_order(q, k, v))
    phi = lambda x: torch.where(x > 0, x + 1, torch.exp(x))  # elu + 1, written out
    for i in range(9):
        sims = torch.stack([phi(q[0, i]) @ phi(k[0, j]) for j in range(9)])
        torch.testing.assert_close(linear[0, i], (sims[:, None] * v[0]).sum(0) / sims.sum())


def test_kernel_attention_orders_are_linear_and_quadratic_in_n():
    n = A.N
    linear, quadratic = A.KERNEL_ATTENTION_ORDERS["linear"], A.KERNEL_ATTENTION_ORDERS["quadratic"]
    assert sympy.degree(linear["time"], n) == 1 and sympy.degree(linear["memory"], n) == 1
    assert sympy.degree(quadratic["time"], n) == 2 and sympy.degree(A.KERNEL_ATTENTION_ORDERS["softmax"]["time"], n) == 2
    # with r ≪ N the linear order is asymptotically cheaper than the quadratic one
    ratio = (linear["time"] / quadratic["time"]).subs({A.d_k: 64, A.d_v: 64, A.r: 16})
    assert sympy.limit(ratio, n, sympy.oo) == 0


def test_self_attention_as_one_matrix_reproduces_the_layer_and_counts_n2d2():
    n, d = 4, 3
    x, W_q, W_k, W_v = rand(n, d), rand(d, d), rand(d, d), rand(d, d)
    M = A.self_attention_as_matrix(x, W_q, W_k, W_v)
    assert M.shape == (n * d, n * d)
    expected = A.scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v)
    torch.testing.assert_close((M @ x.reshape(-1)).reshape(n, d), expected)
    assert A.fully_connected_sequence_parameters(n, d) == M.numel() == n**2 * d**2
    N, D_ = sympy.symbols("N D", positive=True)
    assert sympy.expand(A.fully_connected_sequence_parameters(N, D_)) == N**2 * D_**2
