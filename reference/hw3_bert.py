"""hw3 P3 — the pieces of a reduced BERT that are checked by machine.

* Masking for the masked-language model (Devlin et al. 2019): 15 % of the non-special tokens are
  chosen; of those 80 % become [MASK], 10 % a random token and 10 % stay as they are; labels are the
  original token where a prediction is asked and −100 (cross-entropy's ignore index) elsewhere.  The
  result is random by design, so ``check_mlm_masking`` judges it by these proportions on a batch large
  enough that a right implementation passes with overwhelming probability (every bound is ≥ 5σ).
* The MLM head (Hugging Face's ``BertLMPredictionHead``: dense, GELU, LayerNorm, decoder) and the
  sequence-classification head (``BertPooler`` — tanh of a dense layer on the [CLS] token — then a
  linear classifier), as functions of the student's parameters by the template's names:
  ``dense``, ``layer_norm``, ``decoder``; ``pooler``, ``classifier``.  ``nn.Linear`` stores (out, in).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

Tensor = torch.Tensor
IGNORE = -100
SPECIAL_IDS = (0, 1, 2, 3, 4)  # [PAD] [UNK] [CLS] [SEP] [MASK], as in bert-base's vocabulary order
MASK_ID = 4
RATE, MASKED, RANDOM = 0.15, 0.8, 0.1


# --- masking ------------------------------------------------------------------------------------------

def masking_batch(rng, B: int, N: int, vocab: int = 1000) -> dict:
    """Token ids with [CLS] first, [SEP] last, and [PAD] after it in some rows; the special-tokens mask
    marks all three."""
    ids = rng.integers(len(SPECIAL_IDS), vocab, size=(B, N))
    lengths = rng.integers(N // 2, N + 1, size=B)
    special = np.zeros((B, N), dtype=bool)
    for row, length in enumerate(lengths):
        ids[row, 0], ids[row, length - 1] = 2, 3
        ids[row, length:] = 0
        special[row, 0] = special[row, length - 1:] = True
    return {"input_ids": ids.astype(np.int64), "special_tokens_mask": special, "mask_token_id": MASK_ID,
            "vocab_size": vocab}


def _bounds(share: float, count: int) -> float:
    """Five standard deviations of a binomial share, and never under 0.01."""
    return max(5 * (share * (1 - share) / max(count, 1)) ** 0.5, 0.01)


def check_mlm_masking(args: dict, value) -> list[str]:
    """Problems with ``(inputs, labels)`` returned for ``args`` (empty when none)."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return ["expected (masked inputs, labels)"]
    original, special = np.asarray(args["input_ids"]), np.asarray(args["special_tokens_mask"])
    inputs, labels = (np.asarray(v) for v in value)
    for name, array in (("inputs", inputs), ("labels", labels)):
        if array.shape != original.shape or array.dtype.kind not in "iu":
            return [f"{name} must be integer ids of shape {original.shape}, got {array.dtype} {array.shape}"]
    problems = []
    chosen = labels != IGNORE
    if (chosen & special).any():
        problems.append("special tokens ([CLS], [SEP], [PAD]) were chosen for prediction")
    if (labels[chosen] != original[chosen]).any():
        problems.append("labels must hold the original token where a prediction is asked")
    if (inputs[~chosen] != original[~chosen]).any():
        problems.append("tokens that were not chosen changed (labels must be -100 exactly where nothing is asked)")
    candidates, picked = int((~special).sum()), int((chosen & ~special).sum())
    rate = picked / max(candidates, 1)
    if abs(rate - RATE) > _bounds(RATE, candidates):
        problems.append(f"{rate:.1%} of the tokens were chosen, expected {RATE:.0%}")
    if picked:
        masked = float((inputs[chosen] == args["mask_token_id"]).mean())
        kept = float((inputs[chosen] == original[chosen]).mean())
        randomised = 1 - masked - kept
        for what, share, expected in (("[MASK]", masked, MASKED), ("a random token", randomised, RANDOM),
                                      ("unchanged", kept, 1 - MASKED - RANDOM)):
            if abs(share - expected) > _bounds(expected, picked):
                problems.append(f"{share:.1%} of the chosen tokens became {what}, expected {expected:.0%}")
        if ((inputs < 0) | (inputs >= args["vocab_size"])).any():
            problems.append("random tokens must be ids below vocab_size")
    return problems


# --- heads --------------------------------------------------------------------------------------------

def _linear(p: dict, name: str, x: Tensor) -> Tensor:
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def mlm_head(p: dict, hidden: Tensor) -> Tensor:
    """hidden (B, N, h) → vocabulary logits (B, N, V): decoder(LayerNorm(gelu(dense(hidden))))."""
    x = F.gelu(_linear(p, "dense", hidden))
    x = F.layer_norm(x, x.shape[-1:], p["layer_norm.weight"], p["layer_norm.bias"], 1e-12)
    return _linear(p, "decoder", x)


def mlm_head_parameters(hidden_size: int, vocab_size: int) -> dict:
    return {"dense.weight": (hidden_size, hidden_size), "dense.bias": (hidden_size,),
            "layer_norm.weight": (hidden_size,), "layer_norm.bias": (hidden_size,),
            "decoder.weight": (vocab_size, hidden_size), "decoder.bias": (vocab_size,)}


def classification_head(p: dict, hidden: Tensor) -> Tensor:
    """hidden (B, N, h) → class logits (B, C) from the [CLS] token (position 0)."""
    pooled = torch.tanh(_linear(p, "pooler", hidden[:, 0]))
    return _linear(p, "classifier", pooled)


def classification_head_parameters(hidden_size: int, num_labels: int, dropout: float = 0.1) -> dict:
    return {"pooler.weight": (hidden_size, hidden_size), "pooler.bias": (hidden_size,),
            "classifier.weight": (num_labels, hidden_size), "classifier.bias": (num_labels,)}


def hidden_states(rng, B: int, N: int, hidden_size: int = 16) -> dict:
    return {"hidden_states": rng.standard_normal((B, N, hidden_size))}
