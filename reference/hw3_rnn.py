"""hw3 P1 — RNN and LSTM in the ``parameters``-dict convention.

Convention (the widely used "step by step" template that hw3 P1 follows):

* one time step's input ``xt`` is ``(n_x, m)``: features along rows, the batch of ``m`` along columns;
  a whole sequence ``x`` is ``(n_x, m, T_x)``; hidden states ``a`` are ``(n_a, m)`` / ``(n_a, m, T_x)``.
* RNN parameters: ``Wax (n_a, n_x)``, ``Waa (n_a, n_a)``, ``Wya (n_y, n_a)``, ``ba (n_a, 1)``,
  ``by (n_y, 1)``;  ``a⟨t⟩ = tanh(Wax x⟨t⟩ + Waa a⟨t−1⟩ + ba)``, ``ŷ⟨t⟩ = softmax(Wya a⟨t⟩ + by)``.
* LSTM parameters: ``Wf, Wi, Wc, Wo (n_a, n_a + n_x)`` acting on ``concat = [a_prev; xt]`` (hidden state
  on top), biases ``(n_a, 1)``, ``Wy (n_y, n_a)``, ``by (n_y, 1)``.  Some versions call the update gate
  ``Wu``/``bu``; the rubric declares that alias.
* softmax is taken over axis 0 (the classes), per column.
* caches are the template's: RNN cell ``(a_next, a_prev, xt, parameters)``; LSTM cell
  ``(a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)``; sequences ``(list_of_caches, x)``.

Everything here is written with torch operations on float64 tensors so that every gradient the
homework asks for is *derived* by autograd of these forwards (see ``grader.checks.gradient``), never
written by hand.  The backward functions of the homework have no reference here on purpose.
"""
from __future__ import annotations

import numpy as np
import torch

Tensor = torch.Tensor


def rnn_cell_forward(xt: Tensor, a_prev: Tensor, parameters: dict) -> tuple:
    """One RNN step: returns ``(a_next, yt_pred, cache)``."""
    p = parameters
    a_next = torch.tanh(p["Wax"] @ xt + p["Waa"] @ a_prev + p["ba"])
    yt_pred = torch.softmax(p["Wya"] @ a_next + p["by"], dim=0)
    return a_next, yt_pred, (a_next, a_prev, xt, parameters)


def rnn_forward(x: Tensor, a0: Tensor, parameters: dict) -> tuple:
    """The RNN over ``T_x`` steps: returns ``(a, y_pred, (caches, x))`` with ``a (n_a, m, T_x)``."""
    a_next, states, outputs, caches = a0, [], [], []
    for t in range(x.shape[2]):
        a_next, yt_pred, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        states.append(a_next)
        outputs.append(yt_pred)
        caches.append(cache)
    return torch.stack(states, dim=2), torch.stack(outputs, dim=2), (caches, x)


def lstm_cell_forward(xt: Tensor, a_prev: Tensor, c_prev: Tensor, parameters: dict) -> tuple:
    """One LSTM step: returns ``(a_next, c_next, yt_pred, cache)``."""
    p = parameters
    concat = torch.cat([a_prev, xt], dim=0)
    ft = torch.sigmoid(p["Wf"] @ concat + p["bf"])
    it = torch.sigmoid(p["Wi"] @ concat + p["bi"])
    cct = torch.tanh(p["Wc"] @ concat + p["bc"])
    c_next = ft * c_prev + it * cct
    ot = torch.sigmoid(p["Wo"] @ concat + p["bo"])
    a_next = ot * torch.tanh(c_next)
    yt_pred = torch.softmax(p["Wy"] @ a_next + p["by"], dim=0)
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, yt_pred, cache


def lstm_forward(x: Tensor, a0: Tensor, parameters: dict) -> tuple:
    """The LSTM over ``T_x`` steps from ``c⟨0⟩ = 0``: returns ``(a, y, c, (caches, x))``."""
    a_next, c_next = a0, torch.zeros_like(a0)
    states, cells, outputs, caches = [], [], [], []
    for t in range(x.shape[2]):
        a_next, c_next, yt_pred, cache = lstm_cell_forward(x[:, :, t], a_next, c_next, parameters)
        states.append(a_next)
        cells.append(c_next)
        outputs.append(yt_pred)
        caches.append(cache)
    stack = lambda seq: torch.stack(seq, dim=2)  # noqa: E731 - three identical stackings
    return stack(states), stack(outputs), stack(cells), (caches, x)


# --- inputs -----------------------------------------------------------------------------------
# Generators return the arguments of one call as float64 numpy arrays, keyed by parameter name in
# call order.  Weights are scaled by 1/sqrt(fan_in) so activations stay out of saturation and the
# gradients the checks compare are far from zero.

def _weights(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    return rng.standard_normal((rows, cols)) / np.sqrt(cols)


def rnn_parameters(rng: np.random.Generator, n_x: int, n_a: int, n_y: int) -> dict:
    return {
        "Wax": _weights(rng, n_a, n_x),
        "Waa": _weights(rng, n_a, n_a),
        "Wya": _weights(rng, n_y, n_a),
        "ba": rng.standard_normal((n_a, 1)) * 0.5,
        "by": rng.standard_normal((n_y, 1)) * 0.5,
    }


def lstm_parameters(rng: np.random.Generator, n_x: int, n_a: int, n_y: int) -> dict:
    parameters = {}
    for gate in ("f", "i", "c", "o"):
        parameters["W" + gate] = _weights(rng, n_a, n_a + n_x)
        parameters["b" + gate] = rng.standard_normal((n_a, 1)) * 0.5
    parameters["Wy"] = _weights(rng, n_y, n_a)
    parameters["by"] = rng.standard_normal((n_y, 1)) * 0.5
    return parameters


def rnn_cell_inputs(rng: np.random.Generator, n_x: int, n_a: int, n_y: int, m: int) -> dict:
    return {
        "xt": rng.standard_normal((n_x, m)),
        "a_prev": rng.standard_normal((n_a, m)),
        "parameters": rnn_parameters(rng, n_x, n_a, n_y),
    }


def rnn_inputs(rng: np.random.Generator, n_x: int, n_a: int, n_y: int, m: int, T_x: int) -> dict:
    return {
        "x": rng.standard_normal((n_x, m, T_x)),
        "a0": rng.standard_normal((n_a, m)),
        "parameters": rnn_parameters(rng, n_x, n_a, n_y),
    }


def lstm_cell_inputs(rng: np.random.Generator, n_x: int, n_a: int, n_y: int, m: int) -> dict:
    return {
        "xt": rng.standard_normal((n_x, m)),
        "a_prev": rng.standard_normal((n_a, m)),
        "c_prev": rng.standard_normal((n_a, m)),
        "parameters": lstm_parameters(rng, n_x, n_a, n_y),
    }


def lstm_inputs(rng: np.random.Generator, n_x: int, n_a: int, n_y: int, m: int, T_x: int) -> dict:
    return {
        "x": rng.standard_normal((n_x, m, T_x)),
        "a0": rng.standard_normal((n_a, m)),
        "parameters": lstm_parameters(rng, n_x, n_a, n_y),
    }


# --- backward, in closed form -----------------------------------------------------------------
# The formulas students derive, written once here and proven against autograd of the forwards above
# (tests/test_reference_recurrent.py).  The checks themselves use autograd, not these.

def rnn_cell_backward(da_next: Tensor, cache: tuple) -> dict:
    a_next, a_prev, xt, p = cache
    dz = (1 - a_next**2) * da_next
    return {"dxt": p["Wax"].T @ dz, "da_prev": p["Waa"].T @ dz, "dWax": dz @ xt.T, "dWaa": dz @ a_prev.T,
            "dba": dz.sum(dim=1, keepdim=True)}


def rnn_backward(da: Tensor, caches: tuple) -> dict:
    """``da (n_a, m, T_x)``: the upstream gradient reaching each hidden state from outside the recurrence."""
    steps, x = caches
    grads = {"dx": torch.zeros_like(x), "dWax": 0, "dWaa": 0, "dba": 0}
    da_prev = torch.zeros_like(da[:, :, 0])
    for t in reversed(range(x.shape[2])):
        step = rnn_cell_backward(da[:, :, t] + da_prev, steps[t])
        grads["dx"][:, :, t] = step["dxt"]
        da_prev = step["da_prev"]
        for key in ("dWax", "dWaa", "dba"):
            grads[key] = grads[key] + step[key]
    grads["da0"] = da_prev
    return grads


def lstm_cell_backward(da_next: Tensor, dc_next: Tensor, cache: tuple) -> dict:
    a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, p = cache
    n_a = a_next.shape[0]
    tanh_c = torch.tanh(c_next)
    dc = dc_next + da_next * ot * (1 - tanh_c**2)         # everything reaching c⟨t⟩
    gates = {"o": da_next * tanh_c * ot * (1 - ot),        # pre-activation gradients
             "c": dc * it * (1 - cct**2),
             "i": dc * cct * it * (1 - it),
             "f": dc * c_prev * ft * (1 - ft)}
    concat = torch.cat([a_prev, xt], dim=0)
    dconcat = sum(p["W" + g].T @ dgate for g, dgate in gates.items())
    grads = {"dxt": dconcat[n_a:], "da_prev": dconcat[:n_a], "dc_prev": dc * ft}
    for g, dgate in gates.items():
        grads["dW" + g] = dgate @ concat.T
        grads["db" + g] = dgate.sum(dim=1, keepdim=True)
    return grads


def lstm_backward(da: Tensor, caches: tuple) -> dict:
    steps, x = caches
    grads = {"dx": torch.zeros_like(x)}
    da_prev = torch.zeros_like(da[:, :, 0])
    dc_prev = torch.zeros_like(da_prev)
    for t in reversed(range(x.shape[2])):
        step = lstm_cell_backward(da[:, :, t] + da_prev, dc_prev, steps[t])
        grads["dx"][:, :, t] = step["dxt"]
        da_prev, dc_prev = step["da_prev"], step["dc_prev"]
        for key in ("dWf", "dbf", "dWi", "dbi", "dWc", "dbc", "dWo", "dbo"):
            grads[key] = grads.get(key, 0) + step[key]
    grads["da0"] = da_prev
    return grads


def lstm_cell_gradients_with_output(da_next: Tensor, dc_next: Tensor, y: Tensor, cache: tuple,
                                    yt_pred: Tensor) -> dict:
    """hw3 Q1.2: every weight's and bias's gradient for one cell with its softmax output, given the
    gradients da_next, dc_next arriving from the next step and ∂L/∂z = ŷ − y at the output
    (L = −Σ y log ŷ, summed over the batch).  The output layer adds W_yᵀ(ŷ − y) to da_next."""
    p = cache[-1]
    a_next = cache[0]
    dz = yt_pred - y
    grads = lstm_cell_backward(da_next + p["Wy"].T @ dz, dc_next, cache)
    grads["dWy"] = dz @ a_next.T
    grads["dby"] = dz.sum(dim=1, keepdim=True)
    return grads
