"""Recurrent references: plain-tensor cells against nn.RNN/LSTM/GRU with their own weights, the
closed-form backward passes against autograd, hw5's BPTT closed forms (and the printed solution's
row-vector reading) against autograd."""
import numpy as np
import pytest
import sympy
import torch
from torch import nn

from grader.checks.tensors import to_torch
from reference import hw3_rnn as P1
from reference import hw5_bptt as H5
from reference import recurrent as R

D = torch.float64
torch.manual_seed(2)


def weights(module):
    return [getattr(module, f"{n}_l0").detach() for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_plain_cells_over_a_sequence_match_torch(kind):
    x = torch.randn(6, 3, 4, dtype=D)
    if kind == "rnn":
        module = nn.RNN(4, 5, dtype=D)
        h0 = torch.randn(3, 5, dtype=D)
        expected, h_n = module(x, h0[None])
        outputs, state = R.run_sequence(R.rnn_cell, x, h0, *weights(module))
    elif kind == "lstm":
        module = nn.LSTM(4, 5, dtype=D)
        h0, c0 = torch.randn(3, 5, dtype=D), torch.randn(3, 5, dtype=D)
        expected, (h_n, c_n) = module(x, (h0[None], c0[None]))
        outputs, state = R.run_sequence(R.lstm_cell, x, (h0, c0), *weights(module))
        torch.testing.assert_close(state[1], c_n[0])
    else:
        module = nn.GRU(4, 5, dtype=D)
        h0 = torch.randn(3, 5, dtype=D)
        expected, h_n = module(x, h0[None])
        outputs, state = R.run_sequence(R.gru_cell, x, h0, *weights(module))
    torch.testing.assert_close(outputs, expected)


def test_gru_without_reset_after_follows_chos_equations_scalar_by_scalar():
    cell = nn.GRUCell(2, 3, dtype=D)
    W_ih, W_hh, b_ih, b_hh = (p.detach() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
    x, h = torch.randn(1, 2, dtype=D), torch.randn(1, 3, dtype=D)
    got = R.gru_cell(x, h, W_ih, W_hh, b_ih, b_hh, reset_after=False)[0]
    sig = lambda v: 1 / (1 + np.exp(-v))
    xs, hs = x[0].tolist(), h[0].tolist()
    b_ih, b_hh = b_ih.tolist(), b_hh.tolist()
    row = lambda W, k: W[k].tolist()
    r = [sig(np.dot(row(W_ih, k), xs) + b_ih[k] + np.dot(row(W_hh, k), hs) + b_hh[k]) for k in range(3)]
    z = [sig(np.dot(row(W_ih, 3 + k), xs) + b_ih[3 + k] + np.dot(row(W_hh, 3 + k), hs) + b_hh[3 + k]) for k in range(3)]
    reset_h = [r[k] * hs[k] for k in range(3)]
    n = [np.tanh(np.dot(row(W_ih, 6 + k), xs) + b_ih[6 + k] + np.dot(row(W_hh, 6 + k), reset_h) + b_hh[6 + k])
         for k in range(3)]
    expected = [(1 - z[k]) * n[k] + z[k] * hs[k] for k in range(3)]
    np.testing.assert_allclose(got.numpy(), np.array(expected, dtype=float), rtol=1e-12)


def test_vjp_matches_central_differences():
    cell = nn.LSTMCell(3, 4, dtype=D)
    W = [p.detach() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    x, h, c = torch.randn(2, 3, dtype=D), torch.randn(2, 4, dtype=D), torch.randn(2, 4, dtype=D)
    upstream = (torch.randn(2, 4, dtype=D), torch.randn(2, 4, dtype=D))
    f = lambda x_, h_, c_: R.lstm_cell(x_, (h_, c_), *W)
    dx, dh, dc = R.vjp(f, (x, h, c), upstream)
    loss = lambda x_: sum((o * u).sum() for o, u in zip(f(x_, h, c), upstream)).item()
    eps = 1e-6
    for index in [(0, 0), (1, 2)]:
        plus, minus = x.clone(), x.clone()
        plus[index] += eps
        minus[index] -= eps
        assert dx[index].item() == pytest.approx((loss(plus) - loss(minus)) / (2 * eps), rel=1e-6)


def autograd_grads(forward, args, upstream_at, grads):
    inputs = to_torch(args, requires_grad=True)
    outputs = forward(*inputs.values())
    loss = sum((outputs[i] * u).sum() for i, u in upstream_at.items())
    leaves = []
    for path in grads.values():
        value = inputs
        for step in path.split("."):
            value = value[step]
        leaves.append(value)
    return outputs, dict(zip(grads, torch.autograd.grad(loss, leaves)))


RNN_GRADS = {"dWax": "parameters.Wax", "dWaa": "parameters.Waa", "dba": "parameters.ba"}
LSTM_GRADS = {f"d{w}{g}": f"parameters.{w}{g}" for g in "fico" for w in "Wb"}


def test_rnn_closed_form_backward_equals_autograd():
    rng = np.random.default_rng(0)
    args = P1.rnn_cell_inputs(rng, n_x=3, n_a=5, n_y=2, m=4)
    da = torch.randn(5, 4, dtype=D)
    outputs, expected = autograd_grads(P1.rnn_cell_forward, args, {0: da},
                                       {"dxt": "xt", "da_prev": "a_prev", **RNN_GRADS})
    got = P1.rnn_cell_backward(da, tuple(t.detach() if torch.is_tensor(t) else t for t in outputs[2]))
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, msg=key)
    args = P1.rnn_inputs(rng, n_x=3, n_a=5, n_y=2, m=4, T_x=6)
    da = torch.randn(5, 4, 6, dtype=D)
    outputs, expected = autograd_grads(P1.rnn_forward, args, {0: da}, {"dx": "x", "da0": "a0", **RNN_GRADS})
    got = P1.rnn_backward(da, outputs[2])
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, msg=key)


def test_lstm_closed_form_backward_equals_autograd():
    rng = np.random.default_rng(1)
    args = P1.lstm_cell_inputs(rng, n_x=3, n_a=5, n_y=2, m=4)
    da, dc = torch.randn(5, 4, dtype=D), torch.randn(5, 4, dtype=D)
    outputs, expected = autograd_grads(P1.lstm_cell_forward, args, {0: da, 1: dc},
                                       {"dxt": "xt", "da_prev": "a_prev", "dc_prev": "c_prev", **LSTM_GRADS})
    got = P1.lstm_cell_backward(da, dc, outputs[3])
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, msg=key)
    args = P1.lstm_inputs(rng, n_x=3, n_a=5, n_y=2, m=4, T_x=5)
    da = torch.randn(5, 4, 5, dtype=D)
    outputs, expected = autograd_grads(P1.lstm_forward, args, {0: da}, {"dx": "x", "da0": "a0", **LSTM_GRADS})
    got = P1.lstm_backward(da, outputs[3])
    for key, value in expected.items():
        torch.testing.assert_close(got[key], value, msg=key)


def test_hw3_q1_gradients_with_the_softmax_output_equal_autograd():
    rng = np.random.default_rng(3)
    args = to_torch(P1.lstm_cell_inputs(rng, n_x=3, n_a=4, n_y=3, m=5), requires_grad=True)
    y = torch.nn.functional.one_hot(torch.tensor(rng.integers(3, size=5)), 3).T.to(D)
    da, dc = torch.randn(4, 5, dtype=D), torch.randn(4, 5, dtype=D)
    a_next, c_next, yt_pred, cache = P1.lstm_cell_forward(*args.values())
    loss = -(y * torch.log(yt_pred)).sum() + (a_next * da).sum() + (c_next * dc).sum()
    names = [f"{w}{g}" for g in "ficoy" for w in "Wb"]
    expected = torch.autograd.grad(loss, [args["parameters"][n] for n in names])
    got = P1.lstm_cell_gradients_with_output(da, dc, y, cache, yt_pred)
    for name, value in zip(names, expected):
        torch.testing.assert_close(got["d" + name], value, msg=name)


def hw5_setting(seed=0):
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(3, 3, generator=g, dtype=D)
    h0 = torch.randn(4, generator=g, dtype=D)
    W = {"W_hx": torch.randn(4, 3, generator=g, dtype=D) * 0.5, "W_hh": torch.randn(4, 4, generator=g, dtype=D) * 0.5,
         "W_yh": torch.randn(2, 4, generator=g, dtype=D) * 0.5}
    ys = torch.nn.functional.one_hot(torch.tensor([0, 1, 1]), 2).to(D)
    return xs, h0, W, ys


def test_hw5_closed_forms_equal_autograd():
    xs, h0, W, ys = hw5_setting()
    params = {k: v.clone().requires_grad_() for k, v in W.items()}
    run = H5.forward(xs, h0, params["W_hx"], params["W_hh"], params["W_yh"], ys)
    for h in run["h"][1:]:
        h.retain_grad()
    for o in run["o"]:
        o.retain_grad()
    for t in range(1, 4):
        grads = torch.autograd.grad(run["J_t"][t - 1], [params["W_hh"], *run["o"], *run["h"][1:]],
                                    retain_graph=True, allow_unused=True)
        dW, do, dh = grads[0], grads[1:4], grads[4:]
        detached = {k: [v.detach() for v in vs] for k, vs in run.items() if isinstance(vs, list)}
        torch.testing.assert_close(H5.dJt_dot(detached["yhat"][t - 1], ys[t - 1]), do[t - 1])
        for i in range(1, 4):
            expected = dh[i - 1] if dh[i - 1] is not None else torch.zeros(4, dtype=D)
            torch.testing.assert_close(H5.dJt_dhi(t, i, detached, W["W_hh"], W["W_yh"], ys), expected)
        torch.testing.assert_close(H5.dJt_dWhh(t, detached, W["W_hh"], W["W_yh"], ys), dW)
    total = torch.autograd.grad(run["J"], params["W_hh"])[0]
    detached = {k: [v.detach() for v in vs] for k, vs in run.items() if isinstance(vs, list)}
    torch.testing.assert_close(H5.dJ_dWhh(detached, W["W_hh"], W["W_yh"], ys), total)


def test_hw5_printed_solution_is_the_row_vector_form():
    xs, h0, W, ys = hw5_setting(1)
    run = H5.forward(xs, h0, W["W_hx"], W["W_hh"], W["W_yh"], ys)
    t, i = 3, 1
    g_o = (run["yhat"][t - 1] - ys[t - 1])[None, :]        # a row vector, as printed
    printed = g_o @ W["W_yh"] @ torch.linalg.matrix_power(W["W_hh"], t - i)
    torch.testing.assert_close(printed[0], H5.dJt_dhi(t, i, run, W["W_hh"], W["W_yh"], ys))


def test_hw5_symbolic_forms_evaluate_to_the_numeric_closed_forms():
    xs, h0, W, ys = hw5_setting(2)
    run = H5.forward(xs, h0, W["W_hx"], W["W_hh"], W["W_yh"], ys)
    forms = H5.symbolic_forms()
    s = forms["symbols"]
    values = {s["W_hh"]: sympy.Matrix(W["W_hh"].numpy()), s["W_yh"]: sympy.Matrix(W["W_yh"].numpy())}
    for k in range(3):
        values[s["yhat"][k]] = sympy.Matrix(run["yhat"][k].numpy().reshape(2, 1))
        values[s["y"][k]] = sympy.Matrix(ys[k].numpy().reshape(2, 1))
    for k in range(4):
        values[s["h"][k]] = sympy.Matrix(run["h"][k].numpy().reshape(4, 1))
    evaluated = np.array(forms["dJ_dWhh"].subs(values).doit(), dtype=float)
    np.testing.assert_allclose(evaluated, H5.dJ_dWhh(run, W["W_hh"], W["W_yh"], ys).numpy(), rtol=1e-10)
