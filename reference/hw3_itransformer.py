"""hw3 bonus — iTransformer (Liu et al. 2024) as functions of the student's parameters.

The template names its parts ``value_embedding`` (the inverted embedding: ``nn.Linear(seq_len,
d_model)`` applied to each variate's whole history), ``query``/``key``/``value``/``out`` (hand-written
multi-head self-attention), ``layers.{i}.attention``, ``layers.{i}.norm1``, ``layers.{i}.ffn.0`` and
``.ffn.2`` (Linear, ReLU, Linear), ``layers.{i}.norm2`` (a post-norm encoder layer) and ``projection``
(``nn.Linear(d_model, pred_len)``).  These functions turn them into the parameter dicts of
``reference.transformer`` and run its ``itransformer_forecast``, so the bonus is graded by the same
code that is proven against ``torch.nn`` in tests/test_reference_transformer.py.
"""
from __future__ import annotations

import torch

from .attention import multi_head_attention
from .transformer import inverted_embedding, itransformer_forecast

Tensor = torch.Tensor


def _w(p: dict, name: str) -> Tensor:
    return p[name + ".weight"].T


def attention_params(p: dict, prefix: str = "") -> dict:
    names = {"q": "query", "k": "key", "v": "value", "o": "out"}
    return {**{f"W_{short}": _w(p, prefix + long) for short, long in names.items()},
            **{f"b_{short}": p[f"{prefix}{long}.bias"] for short, long in names.items()}}


def _layer_count(p: dict) -> int:
    return len({name.split(".")[1] for name in p if name.startswith("layers.")})


def model_params(p: dict) -> dict:
    blocks = []
    for i in range(_layer_count(p)):
        prefix = f"layers.{i}."
        blocks.append({"attn": attention_params(p, prefix + "attention."),
                       "norm1": {"g": p[prefix + "norm1.weight"], "b": p[prefix + "norm1.bias"]},
                       "ffn": {"W_1": _w(p, prefix + "ffn.0"), "b_1": p[prefix + "ffn.0.bias"],
                               "W_2": _w(p, prefix + "ffn.2"), "b_2": p[prefix + "ffn.2.bias"]},
                       "norm2": {"g": p[prefix + "norm2.weight"], "b": p[prefix + "norm2.bias"]}})
    return {"embed": {"W": _w(p, "embedding.value_embedding"), "b": p["embedding.value_embedding.bias"]},
            "blocks": blocks, "head": {"W": _w(p, "projection"), "b": p["projection.bias"]}}


# --- the three graded modules --------------------------------------------------------------------

def embedding(p: dict, series: Tensor) -> Tensor:
    """series (B, T, V) → one token per variate (B, V, d_model)."""
    return inverted_embedding(series, _w(p, "value_embedding"), p["value_embedding.bias"])


def self_attention(p: dict, x: Tensor, n_heads: int) -> Tensor:
    return multi_head_attention(x, x, attention_params(p), n_heads)


def forecaster(p: dict, series: Tensor, n_heads: int) -> Tensor:
    """series (B, T, V) → forecast (B, pred_len, V)."""
    return itransformer_forecast(series, model_params(p), n_heads)


# --- parameter shapes, by the template's names ---------------------------------------------------------

def _linear_shapes(name: str, fan_in: int, fan_out: int) -> dict:
    return {name + ".weight": (fan_out, fan_in), name + ".bias": (fan_out,)}


def embedding_parameters(seq_len: int, d_model: int) -> dict:
    return _linear_shapes("value_embedding", seq_len, d_model)


def self_attention_parameters(d_model: int, n_heads: int, prefix: str = "") -> dict:
    shapes = {}
    for name in ("query", "key", "value", "out"):
        shapes.update(_linear_shapes(prefix + name, d_model, d_model))
    return shapes


def forecaster_parameters(seq_len: int, pred_len: int, d_model: int, n_heads: int, d_ff: int, n_layers: int) -> dict:
    shapes = {**embedding_parameters(seq_len, d_model)}
    shapes = {"embedding." + name: shape for name, shape in shapes.items()}
    for i in range(n_layers):
        prefix = f"layers.{i}."
        shapes.update(self_attention_parameters(d_model, n_heads, prefix + "attention."))
        shapes.update(_linear_shapes(prefix + "ffn.0", d_model, d_ff))
        shapes.update(_linear_shapes(prefix + "ffn.2", d_ff, d_model))
        for norm in ("norm1", "norm2"):
            shapes.update({f"{prefix}{norm}.weight": (d_model,), f"{prefix}{norm}.bias": (d_model,)})
    shapes.update(_linear_shapes("projection", d_model, pred_len))
    return shapes


def series(rng, B: int, T: int = 24, V: int = 8) -> dict:
    """Exchange-rate-like series: B windows of T steps of V variates (a random walk per variate)."""
    return {"x": rng.standard_normal((B, T, V)).cumsum(axis=1) * 0.1 + 1.0}


def tokens(rng, B: int, L: int, d_model: int = 16) -> dict:
    return {"x": rng.standard_normal((B, L, d_model))}
