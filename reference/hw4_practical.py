"""hw4 practicals Q5 (ViT) and Q6 (Pig-Latin NMT) — the pieces checked by machine, with the inputs
they are checked on.

Q6 follows the widely used Pig-Latin NMT template: ``ScaledDotAttention(hidden_size)`` has linear
layers ``Q``, ``K``, ``V``; ``forward(queries, keys, values)`` returns ``(context, attention_weights)``
with queries ``(B, k, h)``, keys and values ``(B, s, h)``, context ``(B, k, h)`` and the weights
``(B, s, k)`` — normalised over the keys, axis 1.  ``CausalScaledDotAttention`` also forbids key j
for query i whenever j > i.
Q5's head masking follows Hugging Face's ``head_mask``: one factor per head multiplying that head's
attention probabilities (0 removes the head); the template's ``ViTSelfAttention`` names its layers
``query``, ``key``, ``value`` and ``output``.  Rollout and top-k are ``reference.transformer``'s.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .attention import multi_head_attention
from .transformer import attention_rollout, top_k_classes

Tensor = torch.Tensor


def _linear(p: dict, name: str, x: Tensor) -> Tensor:
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def _shapes(names, width: int) -> dict:
    shapes = {}
    for name in names:
        shapes.update({name + ".weight": (width, width), name + ".bias": (width,)})
    return shapes


# --- Q6: scaled dot-product attention in the template's layout ------------------------------------------

def scaled_dot_attention(p: dict, queries: Tensor, keys: Tensor, values: Tensor, causal: bool = False):
    if queries.dim() == 2:
        queries = queries.unsqueeze(1)
    q, k, v = _linear(p, "Q", queries), _linear(p, "K", keys), _linear(p, "V", values)
    scores = k @ q.transpose(1, 2) / math.sqrt(q.shape[-1])        # (B, s, k): keys along axis 1
    if causal:
        future = torch.ones(scores.shape[1:], dtype=torch.bool).tril(diagonal=-1)   # key j > query i
        scores = scores.masked_fill(future, float("-inf"))
    weights = torch.softmax(scores, dim=1)
    return weights.transpose(1, 2) @ v, weights


def causal_scaled_dot_attention(p: dict, queries: Tensor, keys: Tensor, values: Tensor):
    return scaled_dot_attention(p, queries, keys, values, causal=True)


def attention_parameters(hidden_size: int) -> dict:
    return _shapes(("Q", "K", "V"), hidden_size)


def attention_inputs(rng, B: int, k: int, s: int, hidden_size: int = 8) -> dict:
    return {"queries": rng.standard_normal((B, k, hidden_size)), "keys": rng.standard_normal((B, s, hidden_size)),
            "values": rng.standard_normal((B, s, hidden_size))}


def self_attention_inputs(rng, B: int, T: int, hidden_size: int = 8) -> dict:
    """A decoder attending to itself: queries, keys and values are the same sequence."""
    x = rng.standard_normal((B, T, hidden_size))
    return {"queries": x, "keys": x, "values": x}


# --- Q5: ViT pieces ---------------------------------------------------------------------------------------

def vit_self_attention(p: dict, hidden_states: Tensor, head_mask: Tensor, num_heads: int) -> Tensor:
    params = {f"W_{short}": p[f"{name}.weight"].T for short, name in
              (("q", "query"), ("k", "key"), ("v", "value"), ("o", "output"))}
    params.update({f"b_{short}": p[f"{name}.bias"] for short, name in
                   (("q", "query"), ("k", "key"), ("v", "value"), ("o", "output"))})
    return multi_head_attention(hidden_states, hidden_states, params, num_heads, head_mask=head_mask)


def vit_self_attention_parameters(hidden_size: int, num_heads: int) -> dict:
    return _shapes(("query", "key", "value", "output"), hidden_size)


def vit_tokens_and_head_mask(rng, B: int, N: int, hidden_size: int = 16, num_heads: int = 4) -> dict:
    """[CLS] plus patch tokens and a head mask removing one or two heads (never all)."""
    head_mask = np.ones(num_heads)
    head_mask[rng.choice(num_heads, size=int(rng.integers(1, 3)), replace=False)] = 0.0
    return {"hidden_states": rng.standard_normal((B, N, hidden_size)), "head_mask": head_mask}


def rollout(attentions: Tensor) -> Tensor:
    return attention_rollout(list(attentions))


def layer_attentions(rng, L: int, B: int, H: int, N: int) -> dict:
    """``attentions (L, B, H, N, N)``: every row a probability distribution, as a ViT returns them."""
    scores = rng.standard_normal((L, B, H, N, N)) * 2
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return {"attentions": weights / weights.sum(axis=-1, keepdims=True)}


def top_k(logits: Tensor, k: int):
    return top_k_classes(logits, int(k))


def class_logits(rng, B: int, C: int) -> dict:
    return {"logits": rng.standard_normal((B, C)) * 3, "k": 5}


# --- Q6: sentences for the Pig-Latin rule --------------------------------------------------------------

# Words whose translation the stated rule decides alone: a vowel first, a single consonant before a
# vowel, or one of the listed pairs (no "str"/"sc" clusters, where courses' rules differ).
WORDS = ("team", "impress", "shopping", "the", "cat", "apple", "orange", "umbrella", "cheese", "thinking",
         "whale", "phone", "queen", "well-known", "idea", "dog", "eat", "is", "a", "quiet", "show", "child",
         "neural", "attention", "every", "data", "model", "word", "ship", "chair")


def sentences(rng, words: int) -> dict:
    return {"sentence": " ".join(rng.choice(WORDS, size=words))}
