"""hw3 P2 — SimpleGPT pieces, as functions of the student's own parameters.

The template (the widely used "GPT from scratch" one) names its parameters ``key.weight``,
``query.weight``, ``value.weight`` (a head, bias-free ``nn.Linear``), ``heads.{h}.*`` and
``proj.weight/bias`` (multi-head), ``net.0.*`` and ``net.2.*`` (feed-forward: Linear, ReLU, Linear),
``sa.*``, ``ffwd.*``, ``ln1.*``, ``ln2.*`` (a pre-norm block).  ``nn.Linear`` stores its weight as
(out, in), so a layer is ``x @ W.T + b``.  Attention is causal and scaled by head_size^−½.  Dropout
is absent (the check runs the student's module in eval mode).  Proven against the same classes built
from ``torch.nn`` in tests/test_reference_hw3_gpt.py.
"""
from __future__ import annotations

import torch

Tensor = torch.Tensor


def _linear(p: dict, prefix: str, x: Tensor) -> Tensor:
    out = x @ p[prefix + "weight"].T
    return out + p[prefix + "bias"] if prefix + "bias" in p else out


def head(p: dict, x: Tensor, prefix: str = "") -> Tensor:
    k, q, v = (_linear(p, f"{prefix}{name}.", x) for name in ("key", "query", "value"))
    scores = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
    length = x.shape[-2]
    scores = scores.masked_fill(~torch.ones(length, length, dtype=torch.bool).tril(), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def multi_head(p: dict, x: Tensor, prefix: str = "") -> Tensor:
    count = len({name[len(prefix):].split(".")[1] for name in p if name.startswith(prefix + "heads.")})
    heads = [head(p, x, f"{prefix}heads.{h}.") for h in range(count)]
    return _linear(p, prefix + "proj.", torch.cat(heads, dim=-1))


def feed_forward(p: dict, x: Tensor, prefix: str = "") -> Tensor:
    return _linear(p, prefix + "net.2.", torch.relu(_linear(p, prefix + "net.0.", x)))


def _layer_norm(p: dict, prefix: str, x: Tensor) -> Tensor:
    return torch.nn.functional.layer_norm(x, x.shape[-1:], p[prefix + "weight"], p[prefix + "bias"], 1e-5)


def block(p: dict, x: Tensor, prefix: str = "") -> Tensor:
    x = x + multi_head(p, _layer_norm(p, prefix + "ln1.", x), prefix + "sa.")
    return x + feed_forward(p, _layer_norm(p, prefix + "ln2.", x), prefix + "ffwd.")


def language_model(p: dict, idx: Tensor) -> Tensor:
    """Token ids (B, T) → logits (B, T, vocab): token + position embeddings, the blocks, ``ln_f``,
    ``lm_head``."""
    x = p["token_embedding_table.weight"][idx] + p["position_embedding_table.weight"][: idx.shape[1]]
    for i in range(len({name.split(".")[1] for name in p if name.startswith("blocks.")})):
        x = block(p, x, f"blocks.{i}.")
    return _linear(p, "lm_head.", _layer_norm(p, "ln_f.", x))


# --- parameter shapes, by the template's names ------------------------------------------------------

def head_parameters(n_embd: int, head_size: int, block_size: int = 0, prefix: str = "") -> dict:
    return {f"{prefix}{name}.weight": (head_size, n_embd) for name in ("key", "query", "value")}


def multi_head_parameters(n_embd: int, num_heads: int, head_size: int, block_size: int = 0, prefix: str = "") -> dict:
    shapes = {}
    for h in range(num_heads):
        shapes.update(head_parameters(n_embd, head_size, prefix=f"{prefix}heads.{h}."))
    shapes[prefix + "proj.weight"] = (n_embd, num_heads * head_size)
    shapes[prefix + "proj.bias"] = (n_embd,)
    return shapes


def feed_forward_parameters(n_embd: int, prefix: str = "") -> dict:
    return {prefix + "net.0.weight": (4 * n_embd, n_embd), prefix + "net.0.bias": (4 * n_embd,),
            prefix + "net.2.weight": (n_embd, 4 * n_embd), prefix + "net.2.bias": (n_embd,)}


def block_parameters(n_embd: int, n_head: int, block_size: int = 0, prefix: str = "") -> dict:
    return {**multi_head_parameters(n_embd, n_head, n_embd // n_head, prefix=prefix + "sa."),
            **feed_forward_parameters(n_embd, prefix=prefix + "ffwd."),
            **{f"{prefix}{norm}.{k}": (n_embd,) for norm in ("ln1", "ln2") for k in ("weight", "bias")}}


def language_model_parameters(vocab_size: int, n_embd: int, n_head: int, n_layer: int, block_size: int) -> dict:
    shapes = {"token_embedding_table.weight": (vocab_size, n_embd), "position_embedding_table.weight": (block_size, n_embd)}
    for i in range(n_layer):
        shapes.update(block_parameters(n_embd, n_head, prefix=f"blocks.{i}."))
    shapes.update({"ln_f.weight": (n_embd,), "ln_f.bias": (n_embd,), "lm_head.weight": (vocab_size, n_embd),
                   "lm_head.bias": (vocab_size,)})
    return shapes


def token_ids(rng, B: int, T: int, vocab_size: int = 20) -> dict:
    return {"idx": rng.integers(0, vocab_size, size=(B, T))}


def embedded_tokens(rng, B: int, T: int, n_embd: int = 16) -> dict:
    """A batch of already embedded tokens, ``x (B, T, n_embd)``."""
    return {"x": rng.standard_normal((B, T, n_embd))}
