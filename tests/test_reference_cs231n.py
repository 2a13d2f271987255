"""The CS231n rnn_layers references against torch.nn with copied weights, and the softmax loss's
gradient against central differences: an independent route for every forward the rubric grades."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grader.checks.tensors import to_torch
from reference import cs231n_rnn as C

D = torch.float64


def inputs(generator, **dims):
    return to_torch(generator(np.random.default_rng(7), **dims))


def copy_rnn(module, args, gates):
    """The course's (D, gH) and (H, gH) weights into a torch module (which stores their transposes);
    the LSTM's i, f, o, g blocks into torch's i, f, g, o order."""
    H = args["Wh"].shape[0]
    order = [0, 1, 3, 2] if gates == 4 else [0]
    reorder = lambda w: torch.cat([w[..., k * H:(k + 1) * H] for k in order], dim=-1)
    suffix = "_l0" if isinstance(module, (nn.RNN, nn.LSTM)) else ""
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(reorder(args["Wx"]).T)
        getattr(module, "weight_hh" + suffix).copy_(reorder(args["Wh"]).T)
        getattr(module, "bias_ih" + suffix).copy_(reorder(args["b"]))
        getattr(module, "bias_hh" + suffix).zero_()
    return module


def test_rnn_step_matches_rnn_cell():
    args = inputs(C.rnn_step_inputs, N=3, D=4, H=5)
    cell = copy_rnn(nn.RNNCell(4, 5, dtype=D), args, 1)
    torch.testing.assert_close(C.rnn_step_forward(*args.values()), cell(args["x"], args["prev_h"]))


def test_rnn_over_a_sequence_matches_nn_rnn():
    args = inputs(C.rnn_inputs, N=3, T=4, D=2, H=5)
    module = copy_rnn(nn.RNN(2, 5, batch_first=True, dtype=D), args, 1)
    expected, _ = module(args["x"], args["h0"][None])
    torch.testing.assert_close(C.rnn_forward(*args.values()), expected)


def test_lstm_step_matches_lstm_cell_with_gates_reordered():
    args = inputs(C.lstm_step_inputs, N=3, D=4, H=5)
    cell = copy_rnn(nn.LSTMCell(4, 5, dtype=D), args, 4)
    h, c = cell(args["x"], (args["prev_h"], args["prev_c"]))
    next_h, next_c = C.lstm_step_forward(*args.values())
    torch.testing.assert_close(next_h, h)
    torch.testing.assert_close(next_c, c)


def test_lstm_over_a_sequence_matches_nn_lstm_from_a_zero_cell():
    args = inputs(C.lstm_inputs, N=2, T=5, D=3, H=4)
    module = copy_rnn(nn.LSTM(3, 4, batch_first=True, dtype=D), args, 4)
    expected, _ = module(args["x"], (args["h0"][None], torch.zeros(1, 2, 4, dtype=D)))
    torch.testing.assert_close(C.lstm_forward(*args.values()), expected)


def test_word_embedding_matches_f_embedding_and_keeps_integer_indices():
    args = inputs(C.word_embedding_inputs, N=3, T=4, V=6, D=2)
    assert args["x"].dtype == torch.int64
    assert args["x"].flatten()[0] == args["x"].flatten()[-1]  # a repeated word, so a backward must accumulate
    torch.testing.assert_close(C.word_embedding_forward(*args.values()), F.embedding(args["x"], args["W"]))


def test_temporal_affine_matches_nn_linear():
    args = inputs(C.temporal_affine_inputs, N=2, T=3, D=4, M=5)
    layer = nn.Linear(4, 5, dtype=D)
    with torch.no_grad():
        layer.weight.copy_(args["w"].T)
        layer.bias.copy_(args["b"])
    torch.testing.assert_close(C.temporal_affine_forward(*args.values()), layer(args["x"]))


@pytest.mark.parametrize("dims", [dict(N=3, T=4, V=5), dict(N=1, T=1, V=2)])
def test_temporal_softmax_loss_is_masked_cross_entropy_and_its_gradient_matches_differences(dims):
    args = inputs(C.temporal_softmax_inputs, **dims)
    assert args["y"].dtype == torch.int64 and args["mask"].dtype == torch.bool
    loss, dx = C.temporal_softmax_loss(*args.values())
    x, y, mask = args["x"], args["y"], args["mask"]
    per_step = F.cross_entropy(x.reshape(-1, dims["V"]), y.reshape(-1), reduction="none")
    torch.testing.assert_close(loss, (per_step * mask.reshape(-1)).sum() / dims["N"])
    numeric = torch.zeros_like(x)
    for index in np.ndindex(*x.shape):
        moved = [x.clone(), x.clone()]
        moved[0][index] += 1e-6
        moved[1][index] -= 1e-6
        numeric[index] = (C.temporal_softmax_loss(moved[0], y, mask)[0]
                          - C.temporal_softmax_loss(moved[1], y, mask)[0]) / 2e-6
    torch.testing.assert_close(dx, numeric, rtol=1e-5, atol=1e-8)
    assert torch.all(dx[~mask] == 0)


def test_generators_keep_tanh_and_sigmoids_away_from_saturation():
    args = inputs(C.lstm_step_inputs, N=6, D=6, H=6)
    a = args["x"] @ args["Wx"] + args["prev_h"] @ args["Wh"] + args["b"]
    assert a.abs().mean() < 2.0
