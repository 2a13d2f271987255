"""hw5 Q2: backpropagation through time in a linear RNN with softmax outputs.

z_t = W_hh h_{t−1} + W_hx x_t, h_t = z_t (the activation ψ is ignored, as the question says),
o_t = W_yh h_t, ŷ_t = softmax(o_t), J_t = −Σ_i y_{t,i} log ŷ_{t,i}, J = Σ_{t=1..3} J_t.
Shapes: x_t ∈ R³, h_t ∈ R⁴, y_t ∈ R² (one-hot), W_hx 4×3, W_hh 4×4, W_yh 2×4.  Vectors are columns.

Closed forms (gradients as column vectors / matrices of the shape of the variable):
  ∂J_t/∂o_t  = ŷ_t − y_t
  ∂J_t/∂h_i  = (W_hhᵀ)^{t−i} W_yhᵀ (ŷ_t − y_t)          for i ≤ t (0 for i > t)
  ∂J_t/∂W_hh = Σ_{i=1..t} (∂J_t/∂h_i) h_{i−1}ᵀ
  ∂J/∂W_hh   = Σ_{t=1..3} ∂J_t/∂W_hh
The printed solution writes ∂J_t/∂h_i = g_{o_t} W_yh W_hh^{t−i}: that is the same quantity as a row
vector (the Jacobian), i.e. the transpose of the column form above; its ∂J_t/∂W_hh must be read as
the outer product (∂J_t/∂h_i) h_{i−1}ᵀ.  The tests check both readings against autograd.
"""
from __future__ import annotations

import sympy
import torch

Tensor = torch.Tensor
SIZES = {"x": 3, "h": 4, "y": 2, "T": 3}


def forward(xs: Tensor, h0: Tensor, W_hx: Tensor, W_hh: Tensor, W_yh: Tensor, ys: Tensor) -> dict:
    """``xs (T, 3)``, ``h0 (4,)``, ``ys (T, 2)``: every h_t (h[0] = h0), o_t, ŷ_t and J_t."""
    hs, os, yhats, losses = [h0], [], [], []
    for x, y in zip(xs, ys):
        h = W_hh @ hs[-1] + W_hx @ x
        o = W_yh @ h
        yhat = torch.softmax(o, dim=0)
        hs.append(h)
        os.append(o)
        yhats.append(yhat)
        losses.append(-(y * torch.log(yhat)).sum())
    return {"h": hs, "o": os, "yhat": yhats, "J_t": losses, "J": sum(losses)}


def dJt_dot(yhat_t: Tensor, y_t: Tensor) -> Tensor:
    return yhat_t - y_t


def dJt_dhi(t: int, i: int, run: dict, W_hh: Tensor, W_yh: Tensor, ys: Tensor) -> Tensor:
    """1-based t and i as in the question."""
    if i > t:
        return torch.zeros_like(run["h"][0])
    return torch.linalg.matrix_power(W_hh.T, t - i) @ W_yh.T @ dJt_dot(run["yhat"][t - 1], ys[t - 1])


def dJt_dWhh(t: int, run: dict, W_hh: Tensor, W_yh: Tensor, ys: Tensor) -> Tensor:
    return sum(torch.outer(dJt_dhi(t, i, run, W_hh, W_yh, ys), run["h"][i - 1]) for i in range(1, t + 1))


def dJ_dWhh(run: dict, W_hh: Tensor, W_yh: Tensor, ys: Tensor) -> Tensor:
    return sum(dJt_dWhh(t, run, W_hh, W_yh, ys) for t in range(1, len(ys) + 1))


def symbolic_forms(t: int = 3) -> dict:
    """The closed forms as sympy matrix expressions with declared shapes, for expression checks."""
    W_hh = sympy.MatrixSymbol("W_hh", 4, 4)
    W_yh = sympy.MatrixSymbol("W_yh", 2, 4)
    yhat = [sympy.MatrixSymbol(f"yhat_{k}", 2, 1) for k in range(1, t + 1)]
    y = [sympy.MatrixSymbol(f"y_{k}", 2, 1) for k in range(1, t + 1)]
    h = [sympy.MatrixSymbol(f"h_{k}", 4, 1) for k in range(0, t + 1)]
    g_o = {k: yhat[k - 1] - y[k - 1] for k in range(1, t + 1)}
    g_h = {(k, i): (W_hh.T ** (k - i)) * W_yh.T * g_o[k] for k in range(1, t + 1) for i in range(1, k + 1)}
    dW = {k: sympy.MatAdd(*[g_h[(k, i)] * h[i - 1].T for i in range(1, k + 1)]) for k in range(1, t + 1)}
    return {"symbols": {"W_hh": W_hh, "W_yh": W_yh, "yhat": yhat, "y": y, "h": h},
            "dJt_dot": g_o, "dJt_dhi": g_h, "dJt_dWhh": dW, "dJ_dWhh": sympy.MatAdd(*dW.values())}
