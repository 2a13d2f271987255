"""Transformer building blocks, written as functions of explicit parameter dicts (float64 torch).

Conventions: batch first, tokens as rows, weights act on the right (``x @ W``).  Attention parameters
use the names of ``reference.attention.multi_head_attention`` (W_q, W_k, W_v, W_o and b_*); a feed-
forward is ``W_1 (d, f), b_1, W_2 (f, d), b_2``; a LayerNorm is ``g, b`` with eps 1e-5.  Encoder and
decoder blocks are post-norm (Vaswani et al., torch's default); the GPT block is pre-norm with GELU
(GPT-2).  Dropout is absent: references are deterministic.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .attention import multi_head_attention

Tensor = torch.Tensor
EPS = 1e-5


def layer_norm(x: Tensor, p: dict) -> Tensor:
    mean = x.mean(-1, keepdim=True)
    variance = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(variance + EPS) * p["g"] + p["b"]


def feed_forward(x: Tensor, p: dict, activation=torch.relu) -> Tensor:
    return activation(x @ p["W_1"] + p["b_1"]) @ p["W_2"] + p["b_2"]


def encoder_block(x: Tensor, p: dict, heads: int, key_padding_mask: Tensor | None = None) -> Tensor:
    """x + self-attention, LayerNorm; x + FFN, LayerNorm.  ``p``: attn, norm1, ffn, norm2."""
    x = layer_norm(x + multi_head_attention(x, x, p["attn"], heads, key_padding_mask=key_padding_mask), p["norm1"])
    return layer_norm(x + feed_forward(x, p["ffn"]), p["norm2"])


def decoder_block(x: Tensor, memory: Tensor, p: dict, heads: int,
                  memory_padding_mask: Tensor | None = None) -> Tensor:
    """Masked (causal) self-attention, cross-attention to the encoder's ``memory``, FFN; post-norm.
    ``p``: self_attn, norm1, cross_attn, norm2, ffn, norm3."""
    x = layer_norm(x + multi_head_attention(x, x, p["self_attn"], heads, causal=True), p["norm1"])
    x = layer_norm(x + multi_head_attention(x, memory, p["cross_attn"], heads, key_padding_mask=memory_padding_mask),
                   p["norm2"])
    return layer_norm(x + feed_forward(x, p["ffn"]), p["norm3"])


def gelu(x: Tensor) -> Tensor:
    return F.gelu(x)


def gpt_block(x: Tensor, p: dict, heads: int) -> Tensor:
    """Pre-norm: x + causal self-attention(LN(x)); x + FFN_gelu(LN(x)).  ``p``: norm1, attn, norm2, ffn."""
    x = x + multi_head_attention(layer_norm(x, p["norm1"]), layer_norm(x, p["norm1"]), p["attn"], heads, causal=True)
    return x + feed_forward(layer_norm(x, p["norm2"]), p["ffn"], activation=gelu)


def gpt(tokens: Tensor, p: dict, heads: int) -> Tensor:
    """A small GPT: token + learned position embeddings, pre-norm blocks, final LayerNorm, output
    layer tied to the token table.  ``tokens (B, N)`` → logits ``(B, N, vocab)``.
    ``p``: wte (vocab, d), wpe (max_len, d), blocks [..], norm."""
    x = p["wte"][tokens] + p["wpe"][: tokens.shape[1]]
    for block in p["blocks"]:
        x = gpt_block(x, block, heads)
    return layer_norm(x, p["norm"]) @ p["wte"].T


def mlm_mask(tokens: Tensor, generator: torch.Generator, mask_id: int, vocab: int,
             special: Tensor | None = None, rate: float = 0.15) -> tuple[Tensor, Tensor]:
    """BERT's masked-LM corruption: each non-special token is selected with probability ``rate``; of
    the selected, 80 % become [MASK], 10 % a random token, 10 % stay.  Returns (inputs, labels) with
    labels −100 where no prediction is asked (the ignore index of cross-entropy)."""
    special = torch.zeros_like(tokens, dtype=torch.bool) if special is None else special
    selected = (torch.rand(tokens.shape, generator=generator) < rate) & ~special
    labels = torch.where(selected, tokens, torch.full_like(tokens, -100))
    choice = torch.rand(tokens.shape, generator=generator)
    to_mask = selected & (choice < 0.8)
    to_random = selected & (choice >= 0.8) & (choice < 0.9)
    inputs = tokens.clone()
    inputs[to_mask] = mask_id
    inputs[to_random] = torch.randint(vocab, tokens.shape, generator=generator)[to_random]
    return inputs, labels


def vit_patch_embedding(images: Tensor, W: Tensor, b: Tensor, patch: int) -> Tensor:
    """Cut ``images (B, C, H, W)`` into non-overlapping patch × patch squares, flatten each in (C, h, w)
    order and project: ``W (C·patch·patch, d)``.  Returns ``(B, (H/patch)·(W/patch), d)``, patches in
    row-major order."""
    batch, channels, height, width = images.shape
    patches = images.unfold(2, patch, patch).unfold(3, patch, patch)      # B, C, H/p, W/p, p, p
    patches = patches.permute(0, 2, 3, 1, 4, 5).reshape(batch, -1, channels * patch * patch)
    return patches @ W + b


def attention_rollout(attentions: list[Tensor], residual: float = 0.5) -> Tensor:
    """Abnar & Zuidema (2020): average each layer's attention ``(B, heads, N, N)`` over heads, add the
    residual connection (A ← residual·I + (1 − residual)·A), renormalise the rows, and multiply from
    the first layer up.  Row 0 of the result is the [CLS] token's attention to every input token."""
    result = None
    for layer in attentions:
        averaged = layer.mean(dim=1)
        identity = torch.eye(averaged.shape[-1], dtype=averaged.dtype)
        mixed = residual * identity + (1 - residual) * averaged
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        result = mixed if result is None else mixed @ result
    return result


def top_k_classes(logits: Tensor, k: int = 5) -> tuple[Tensor, Tensor]:
    """The k most probable classes and their softmax probabilities, most probable first."""
    probabilities = torch.softmax(logits, dim=-1)
    values, indices = probabilities.topk(k, dim=-1)
    return indices, values


def inverted_embedding(series: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """iTransformer: each variate's whole history is one token.  ``series (B, T, V)`` →
    ``(B, V, d)`` through ``W (T, d)``: attention then runs across variates, not time steps."""
    return series.transpose(1, 2) @ W + b


def generate(tokens: Tensor, p: dict, heads: int, steps: int) -> Tensor:
    """Greedy decoding with ``gpt``: append the most probable next token ``steps`` times, feeding at
    most the last ``max_len`` tokens (the size of the position table)."""
    max_len = p["wpe"].shape[0]
    for _ in range(steps):
        logits = gpt(tokens[:, -max_len:], p, heads)
        tokens = torch.cat([tokens, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    return tokens


def itransformer_forecast(series: Tensor, p: dict, heads: int) -> Tensor:
    """iTransformer (Liu et al. 2024): invert ``series (B, T, V)`` into one token per variate, run
    encoder blocks across variates, project each token to the horizon: ``(B, H, V)``.
    ``p``: embed {W (T, d), b}, blocks [encoder_block params], head {W (d, H), b}."""
    tokens = inverted_embedding(series, p["embed"]["W"], p["embed"]["b"])
    for block in p["blocks"]:
        tokens = encoder_block(tokens, block, heads)
    return (tokens @ p["head"]["W"] + p["head"]["b"]).transpose(1, 2)
