"""Recurrent cells and sequences in plain-tensor form, in torch's own layout, so they can be proven
against ``nn.RNN``, ``nn.LSTM`` and ``nn.GRU`` with the very same weights.

Layout: ``x (B, X)`` per step, ``(T, B, X)`` per sequence; ``h, c (B, H)``; ``W_ih (G·H, X)``,
``W_hh (G·H, H)``, ``b_ih, b_hh (G·H,)`` with the gates stacked in torch's order — LSTM: input,
forget, cell (g), output; GRU: reset, update, new.  The backward of any of them is ``vjp`` (autograd).
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def rnn_cell(x: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
             nonlinearity: str = "tanh") -> Tensor:
    z = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    return torch.tanh(z) if nonlinearity == "tanh" else torch.relu(z)


def lstm_cell(x: Tensor, state: tuple[Tensor, Tensor], W_ih: Tensor, W_hh: Tensor, b_ih: Tensor,
              b_hh: Tensor) -> tuple[Tensor, Tensor]:
    h, c = state
    i, f, g, o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).chunk(4, dim=-1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next


def gru_cell(x: Tensor, h: Tensor, W_ih: Tensor, W_hh: Tensor, b_ih: Tensor, b_hh: Tensor,
             reset_after: bool = True) -> Tensor:
    """``reset_after=True``: n = tanh(W_in x + b_in + r ∘ (W_hn h + b_hn)) as torch and cuDNN do;
    ``False``: n = tanh(W_in x + b_in + W_hn (r ∘ h) + b_hn) as in Cho et al. (2014)."""
    x_r, x_z, x_n = (x @ W_ih.T + b_ih).chunk(3, dim=-1)
    W_hr, W_hz, W_hn = W_hh.chunk(3, dim=0)
    b_hr, b_hz, b_hn = b_hh.chunk(3)
    r = torch.sigmoid(x_r + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x_z + h @ W_hz.T + b_hz)
    recurrent = r * (h @ W_hn.T + b_hn) if reset_after else (r * h) @ W_hn.T + b_hn
    n = torch.tanh(x_n + recurrent)
    return (1 - z) * n + z * h


def run_sequence(cell, x: Tensor, state, *weights, **options):
    """Apply ``cell`` over the first axis of ``x (T, B, X)``: returns (outputs (T, B, H), final state)."""
    outputs = []
    for step in x:
        state = cell(step, state, *weights, **options)
        outputs.append(state[0] if isinstance(state, tuple) else state)
    return torch.stack(outputs), state


def vjp(function, inputs: tuple[Tensor, ...], upstream) -> tuple[Tensor, ...]:
    """The backward pass of ``function`` at ``inputs``: gradients of ⟨function(inputs), upstream⟩."""
    inputs = tuple(t.detach().requires_grad_(True) for t in inputs)
    outputs = function(*inputs)
    outputs, upstream = (outputs, upstream) if isinstance(outputs, tuple) else ((outputs,), (upstream,))
    loss = sum((o * u).sum() for o, u in zip(outputs, upstream))
    return torch.autograd.grad(loss, inputs, allow_unused=True)
