"""Attention, in the forms the homeworks ask for.

Conventions: tokens are rows.  ``q (…, N_q, d_k)``, ``k (…, N_k, d_k)``, ``v (…, N_k, d_v)``; leading
dimensions (batch, heads) broadcast.  Boolean masks are ``True`` where attention is *allowed*, as in
``torch.nn.functional.scaled_dot_product_attention``; a key padding mask ``(…, N_k)`` is ``True`` for
real tokens.  Weight matrices act on the right (``x @ W``), so ``W_q`` is ``(d_model, d_k)``.
Everything is float64 torch.
"""
from __future__ import annotations

import math

import sympy
import torch

Tensor = torch.Tensor


def causal_mask(n_q: int, n_k: int | None = None) -> Tensor:
    """``True`` on and below the diagonal: query i sees keys 0..i (aligned at the end when n_k > n_q)."""
    n_k = n_q if n_k is None else n_k
    return torch.ones(n_q, n_k, dtype=torch.bool).tril(diagonal=n_k - n_q)


def attention_weights(q: Tensor, k: Tensor, mask: Tensor | None = None, key_padding_mask: Tensor | None = None,
                      causal: bool = False, scale: float | None = None) -> Tensor:
    """softmax(q kᵀ / √d_k) with masked scores set to −∞ before the softmax."""
    scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    allowed = torch.ones(scores.shape[-2:], dtype=torch.bool)
    if causal:
        allowed = allowed & causal_mask(*scores.shape[-2:])
    if mask is not None:
        allowed = allowed & mask
    if key_padding_mask is not None:
        allowed = allowed & key_padding_mask[..., None, :]
    return torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None,
                                 key_padding_mask: Tensor | None = None, causal: bool = False) -> Tensor:
    """softmax(q kᵀ / √d_k) v."""
    return attention_weights(q, k, mask, key_padding_mask, causal) @ v


def additive_attention(q: Tensor, k: Tensor, v: Tensor, W_q: Tensor, W_k: Tensor, w_v: Tensor,
                       key_padding_mask: Tensor | None = None) -> Tensor:
    """Bahdanau attention: score(q_i, k_j) = w_vᵀ tanh(q_i W_q + k_j W_k); ``W_q (d_q, h)``,
    ``W_k (d_k, h)``, ``w_v (h,)``; output softmax(scores) v."""
    hidden = torch.tanh((q @ W_q)[..., :, None, :] + (k @ W_k)[..., None, :, :])  # (…, N_q, N_k, h)
    scores = hidden @ w_v
    if key_padding_mask is not None:
        scores = scores.masked_fill(~key_padding_mask[..., None, :], float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def argmax_attention(q: Tensor, keys: Tensor, values: Tensor) -> Tensor:
    """hw5 Q3: return the value of the key with the largest dot product with the query (ties: first).
    ``q (d,)``, ``keys (n, d)``, ``values (n, d_v)``."""
    return values[int(torch.argmax(keys @ q))]


def split_heads(x: Tensor, heads: int) -> Tensor:
    """(…, N, heads·d) → (…, heads, N, d)."""
    *lead, n, width = x.shape
    return x.reshape(*lead, n, heads, width // heads).transpose(-3, -2)


def merge_heads(x: Tensor) -> Tensor:
    """(…, heads, N, d) → (…, N, heads·d)."""
    *lead, heads, n, d = x.shape
    return x.transpose(-3, -2).reshape(*lead, n, heads * d)


def multi_head_attention(x_q: Tensor, x_kv: Tensor, p: dict, heads: int, mask: Tensor | None = None,
                         key_padding_mask: Tensor | None = None, causal: bool = False,
                         head_mask: Tensor | None = None) -> Tensor:
    """Concat(head_1..head_H) W_o with head_h = attention(x_q W_q^h, x_kv W_k^h, x_kv W_v^h).
    ``p``: W_q, W_k, W_v ``(d_model, d_model)``, W_o ``(d_model, d_model)``, optional b_q, b_k, b_v, b_o.
    ``head_mask (heads,)`` multiplies each head's output (0 removes a head, as in hw4 Q5)."""
    def project(x, name):
        return x @ p["W_" + name] + p.get("b_" + name, 0)
    q, k, v = (split_heads(project(x, n), heads) for x, n in ((x_q, "q"), (x_kv, "k"), (x_kv, "v")))
    out = scaled_dot_product_attention(q, k, v, mask, None if key_padding_mask is None else key_padding_mask[..., None, :],
                                       causal)
    if head_mask is not None:
        out = out * head_mask[:, None, None]
    return merge_heads(out) @ p["W_o"] + p.get("b_o", 0)


def multi_head_as_head_sum(x: Tensor, p: dict, heads: int) -> Tensor:
    """hw3 Q3.3: the same layer (no biases) written as Σ_h softmax(Q_h K_hᵀ/√d) X W_h with
    W_h = W_v^h W_o^h, where W_o^h is the h-th block of d rows of W_o."""
    d = p["W_q"].shape[1] // heads
    total = 0
    for h in range(heads):
        columns = slice(h * d, (h + 1) * d)
        weights = attention_weights(x @ p["W_q"][:, columns], x @ p["W_k"][:, columns])
        total = total + weights @ x @ (p["W_v"][:, columns] @ p["W_o"][columns, :])
    return total


# --- kernel (linear) attention, hw7 Q4 ------------------------------------------------------------

def elu_feature_map(x: Tensor) -> Tensor:
    """φ(x) = elu(x) + 1 (Katharopoulos et al. 2020): positive, so the normaliser never vanishes."""
    return torch.nn.functional.elu(x) + 1


def kernel_attention(q: Tensor, k: Tensor, v: Tensor, feature_map=elu_feature_map) -> Tensor:
    """φ(Q) (φ(K)ᵀ V) / (φ(Q) (φ(K)ᵀ 1)): multiplied right to left, linear in N."""
    phi_q, phi_k = feature_map(q), feature_map(k)
    kv = phi_k.transpose(-2, -1) @ v                       # (r, d_v): O(N r d_v)
    normaliser = phi_q @ phi_k.sum(dim=-2)[..., None]      # (N, 1):   O(N r)
    return (phi_q @ kv) / normaliser                        #           O(N r d_v)


def kernel_attention_quadratic_order(q: Tensor, k: Tensor, v: Tensor, feature_map=elu_feature_map) -> Tensor:
    """The same value multiplied left to right, (φ(Q) φ(K)ᵀ) V: the N × N matrix is formed, O(N² r)."""
    scores = feature_map(q) @ feature_map(k).transpose(-2, -1)
    return scores / scores.sum(dim=-1, keepdim=True) @ v


N, d_k, d_v, r = sympy.symbols("N d_k d_v r", positive=True, integer=True)
KERNEL_ATTENTION_ORDERS = {
    # φ on N rows of width d_k to width r, then φ(K)ᵀV (r × d_v) and φ(Q)(φ(K)ᵀV)
    "linear": {"time": N * d_k * r + N * r * d_v, "memory": N * r + r * d_v + N * d_v},
    # forming φ(Q)φ(K)ᵀ first costs N²r time and N² memory: the order the seed's printed answer uses
    "quadratic": {"time": N * d_k * r + N**2 * r + N**2 * d_v, "memory": N**2 + N * r + N * d_v},
    "softmax": {"time": N**2 * d_k + N**2 * d_v, "memory": N**2 + N * d_v},
}


# --- hw3 Q5: self-attention as one fully connected layer over the sequence ------------------------

def self_attention_as_matrix(x: Tensor, W_q: Tensor, W_k: Tensor, W_v: Tensor) -> Tensor:
    """The (N·D × N·D) matrix M with vec(Y) = M vec(X) for Y = softmax(QKᵀ/√d) X W_v, where vec stacks
    the rows of X (token 1's D features first).  M = A ⊗ W_vᵀ: block (n, m) is a_nm W_vᵀ — a fully
    connected layer whose weights depend on the input through A."""
    weights = attention_weights(x @ W_q, x @ W_k)
    return torch.kron(weights, W_v.T.contiguous())


def fully_connected_sequence_parameters(n_tokens, width):
    """A dense layer from all N·D inputs to all N·D outputs has (N·D)² = N²D² weights (biases aside);
    accepts ints or sympy symbols."""
    return (n_tokens * width) ** 2
