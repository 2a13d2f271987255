"""Stanford CS231n, assignment 3, ``cs231n/rnn_layers.py``: references written from the assignment's
public description, for the worked example of adapting dlgrade to a course that is not ours.

The course's layout: rows are examples, ``x (N, D)`` for a step and ``(N, T, D)`` for a sequence; the
hidden state is ``(N, H)``; ``Wx (D, H)``, ``Wh (H, H)``, ``b (H,)``; an LSTM stacks its gates as
``i, f, o, g`` along the ``4H`` axis.  The forwards return what the student's do, without the cache (the
gradient items pass each student's own cache to their backward), a single output bare; every gradient is autograd of these
forwards, so no backward is written here.  ``tests/test_reference_cs231n.py`` proves each forward
against ``torch.nn`` with copied weights.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def rnn_step_forward(x: Tensor, prev_h: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor) -> Tensor:
    return torch.tanh(x @ Wx + prev_h @ Wh + b)


def rnn_forward(x: Tensor, h0: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor) -> Tensor:
    h, states = h0, []
    for t in range(x.shape[1]):
        h = rnn_step_forward(x[:, t], h, Wx, Wh, b)
        states.append(h)
    return torch.stack(states, dim=1)


def word_embedding_forward(x: Tensor, W: Tensor) -> Tensor:
    return W[x]


def temporal_affine_forward(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    return x @ w + b


def temporal_softmax_loss(x: Tensor, y: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """The loss summed over the unmasked steps and averaged over the N examples, and its gradient with
    respect to the scores ``x`` (autograd)."""
    scores = x.detach().requires_grad_(True)
    log_probs = torch.log_softmax(scores, dim=-1)
    picked = log_probs.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    loss = -(picked * mask.to(picked.dtype)).sum() / x.shape[0]
    (dx,) = torch.autograd.grad(loss, scores)
    return loss.detach(), dx


def lstm_step_forward(x: Tensor, prev_h: Tensor, prev_c: Tensor, Wx: Tensor, Wh: Tensor,
                      b: Tensor) -> tuple[Tensor, Tensor]:
    a = x @ Wx + prev_h @ Wh + b
    i, f, o, g = a.chunk(4, dim=1)
    next_c = torch.sigmoid(f) * prev_c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(next_c), next_c


def lstm_forward(x: Tensor, h0: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor) -> Tensor:
    h, c, states = h0, torch.zeros_like(h0), []
    for t in range(x.shape[1]):
        h, c = lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        states.append(h)
    return torch.stack(states, dim=1)


# --- generators: fn(rng, **dims) -> the arguments in call order ---------------------------------------

def _normal(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    return rng.standard_normal(shape) * scale


def _recurrent_weights(rng: np.random.Generator, D: int, H: int, gates: int) -> dict:
    """Weights scaled by 1/√fan_in, so tanh and the sigmoids work away from saturation."""
    return {"Wx": _normal(rng, D, gates * H, scale=D ** -0.5), "Wh": _normal(rng, H, gates * H, scale=H ** -0.5),
            "b": _normal(rng, gates * H, scale=0.1)}


def rnn_step_inputs(rng: np.random.Generator, N: int, D: int, H: int) -> dict:
    return {"x": _normal(rng, N, D), "prev_h": _normal(rng, N, H, scale=0.5), **_recurrent_weights(rng, D, H, 1)}


def rnn_inputs(rng: np.random.Generator, N: int, T: int, D: int, H: int) -> dict:
    return {"x": _normal(rng, N, T, D), "h0": _normal(rng, N, H, scale=0.5), **_recurrent_weights(rng, D, H, 1)}


def lstm_step_inputs(rng: np.random.Generator, N: int, D: int, H: int) -> dict:
    return {"x": _normal(rng, N, D), "prev_h": _normal(rng, N, H, scale=0.5), "prev_c": _normal(rng, N, H, scale=0.5),
            **_recurrent_weights(rng, D, H, 4)}


def lstm_inputs(rng: np.random.Generator, N: int, T: int, D: int, H: int) -> dict:
    return {"x": _normal(rng, N, T, D), "h0": _normal(rng, N, H, scale=0.5), **_recurrent_weights(rng, D, H, 4)}


def word_embedding_inputs(rng: np.random.Generator, N: int, T: int, V: int, D: int) -> dict:
    """Word indices (int64) that repeat, so a backward must accumulate, not assign."""
    x = rng.integers(0, V, size=(N, T))
    x.flat[-1] = x.flat[0]
    return {"x": x.astype(np.int64), "W": _normal(rng, V, D)}


def temporal_affine_inputs(rng: np.random.Generator, N: int, T: int, D: int, M: int) -> dict:
    return {"x": _normal(rng, N, T, D), "w": _normal(rng, D, M, scale=D ** -0.5), "b": _normal(rng, M)}


def temporal_softmax_inputs(rng: np.random.Generator, N: int, T: int, V: int) -> dict:
    """Scores, int64 labels and a boolean mask with at least one masked-out and one kept step."""
    mask = rng.random((N, T)) < 0.7
    mask.flat[0], mask.flat[-1] = True, N * T == 1
    return {"x": _normal(rng, N, T, V), "y": rng.integers(0, V, size=(N, T)).astype(np.int64), "mask": mask}
