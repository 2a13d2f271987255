"""The hw3 P1 references, proven by independent routes: torch.nn cells with copied weights, and the
softmax/sigmoid definitions; the gradients the checks expect are autograd of these forwards."""
import numpy as np
import pytest
import torch

from reference import hw3_rnn as ref
from reference.hw3_rnn import lstm_cell_inputs, lstm_inputs, rnn_cell_inputs, rnn_inputs


def tensors(args):
    from grader.checks.tensors import to_torch
    return to_torch(args)


@pytest.mark.parametrize("seed", range(3))
def test_rnn_cell_matches_torch_rnn_cell(seed):
    args = tensors(rnn_cell_inputs(np.random.default_rng(seed), n_x=3, n_a=4, n_y=2, m=5))
    p = args["parameters"]
    cell = torch.nn.RNNCell(3, 4, nonlinearity="tanh").double()
    with torch.no_grad():
        cell.weight_ih.copy_(p["Wax"]); cell.weight_hh.copy_(p["Waa"])
        cell.bias_ih.copy_(p["ba"][:, 0]); cell.bias_hh.zero_()
    a_next, yt_pred, cache = ref.rnn_cell_forward(args["xt"], args["a_prev"], p)
    torch.testing.assert_close(a_next.T, cell(args["xt"].T, args["a_prev"].T))
    logits = p["Wya"] @ a_next + p["by"]
    torch.testing.assert_close(yt_pred, torch.exp(logits) / torch.exp(logits).sum(0))
    assert cache[1] is args["a_prev"] and cache[3] is p


@pytest.mark.parametrize("seed", range(3))
def test_lstm_cell_matches_torch_lstm_cell(seed):
    n_x, n_a = 3, 4
    args = tensors(lstm_cell_inputs(np.random.default_rng(seed), n_x=n_x, n_a=n_a, n_y=2, m=5))
    p = args["parameters"]
    cell = torch.nn.LSTMCell(n_x, n_a).double()
    order = ("i", "f", "c", "o")  # torch's gate order: input, forget, cell (g), output
    with torch.no_grad():
        cell.weight_ih.copy_(torch.cat([p["W" + g][:, n_a:] for g in order]))
        cell.weight_hh.copy_(torch.cat([p["W" + g][:, :n_a] for g in order]))
        cell.bias_ih.copy_(torch.cat([p["b" + g][:, 0] for g in order])); cell.bias_hh.zero_()
    a_next, c_next, yt_pred, cache = ref.lstm_cell_forward(args["xt"], args["a_prev"], args["c_prev"], p)
    h, c = cell(args["xt"].T, (args["a_prev"].T, args["c_prev"].T))
    torch.testing.assert_close(a_next.T, h)
    torch.testing.assert_close(c_next.T, c)
    torch.testing.assert_close(yt_pred.sum(0), torch.ones(5, dtype=torch.float64))
    assert len(cache) == 10 and cache[-1] is p


def test_sequences_match_torch_rnn_and_lstm_and_start_lstm_from_zero_cell():
    rng = np.random.default_rng(7)
    args = tensors(rnn_inputs(rng, n_x=3, n_a=4, n_y=2, m=2, T_x=5))
    p = args["parameters"]
    rnn = torch.nn.RNN(3, 4).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(p["Wax"]); rnn.weight_hh_l0.copy_(p["Waa"])
        rnn.bias_ih_l0.copy_(p["ba"][:, 0]); rnn.bias_hh_l0.zero_()
    a, y_pred, (caches, x) = ref.rnn_forward(args["x"], args["a0"], p)
    out, _ = rnn(args["x"].permute(2, 1, 0), args["a0"].T[None])
    torch.testing.assert_close(a, out.permute(2, 1, 0))
    assert y_pred.shape == (2, 2, 5) and len(caches) == 5 and x is args["x"]

    args = tensors(lstm_inputs(rng, n_x=3, n_a=4, n_y=2, m=2, T_x=5))
    p = args["parameters"]
    lstm = torch.nn.LSTM(3, 4).double()
    order = ("i", "f", "c", "o")
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.cat([p["W" + g][:, 4:] for g in order]))
        lstm.weight_hh_l0.copy_(torch.cat([p["W" + g][:, :4] for g in order]))
        lstm.bias_ih_l0.copy_(torch.cat([p["b" + g][:, 0] for g in order])); lstm.bias_hh_l0.zero_()
    a, y, c, (caches, x) = ref.lstm_forward(args["x"], args["a0"], p)
    out, (h_n, c_n) = lstm(args["x"].permute(2, 1, 0), (args["a0"].T[None], torch.zeros(1, 2, 4, dtype=torch.float64)))
    torch.testing.assert_close(a, out.permute(2, 1, 0))
    torch.testing.assert_close(c[:, :, -1], c_n[0].T)


def test_generators_are_seeded_and_scaled():
    first = rnn_cell_inputs(np.random.default_rng(3), n_x=30, n_a=40, n_y=2, m=50)
    again = rnn_cell_inputs(np.random.default_rng(3), n_x=30, n_a=40, n_y=2, m=50)
    np.testing.assert_array_equal(first["parameters"]["Waa"], again["parameters"]["Waa"])
    # 1/sqrt(fan_in) scaling keeps tanh away from saturation, so gradients carry information
    a_next = ref.rnn_cell_forward(*tensors(list(first.values())))[0]
    assert float((a_next.abs() > 0.99).double().mean()) < 0.1
