"""Signal shapes and parameter counts of an encoder–decoder transformer by closed-form formulas.  The
same counts are computed a second way in ``counting_meta`` (the torch model built on the ``meta``
device), and the tests check that both agree under every convention.  The formulas need no torch, so a
theory rubric loads in milliseconds.

Ambiguous questions are answered under every reasonable convention, each named (``Conventions``):
biases, LayerNorm parameters, how a token embedding of another width reaches d_model, a tied or
separate output layer, shared or separate encoder/decoder token tables, learned positions or none.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, fields



@dataclass(frozen=True)
class TransformerSpec:
    vocab: int
    max_len: int
    d_model: int
    encoder_blocks: int
    decoder_blocks: int
    heads: int
    d_ff: int
    batch: int
    embedding_dim: int | None = None  # token embedding width when it differs from d_model


HW3_Q2 = TransformerSpec(vocab=30000, max_len=2048, d_model=768, encoder_blocks=12, decoder_blocks=8, heads=4,
                         d_ff=384, batch=32, embedding_dim=1024)


@dataclass(frozen=True)
class Conventions:
    bias: bool = True                 # every Linear has a bias
    layer_norm: bool = True           # LayerNorm γ, β counted (2·d_model each)
    embedding_projection: bool = True  # an embedding of another width reaches d_model through a Linear
    tied_output: bool = False         # the output layer reuses the (decoder's) token table
    shared_embeddings: bool = False   # one token table for the encoder and the decoder
    learned_positions: bool = False   # a learned (max_len × d_model) table per side; False: none/sinusoidal

    @property
    def name(self) -> str:
        return ",".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


def all_conventions() -> list[Conventions]:
    names = [f.name for f in fields(Conventions)]
    return [Conventions(**dict(zip(names, values))) for values in itertools.product([False, True], repeat=len(names))]


# --- formulas -------------------------------------------------------------------------------------

def attention_parameters(d: int, c: Conventions) -> int:
    """Q, K, V and output projections, each d × d (+ d)."""
    return 4 * (d * d + (d if c.bias else 0))


def ffn_parameters(d: int, f: int, c: Conventions) -> int:
    return d * f + f * d + ((f + d) if c.bias else 0)


def formula_counts(spec: TransformerSpec, c: Conventions) -> dict[str, int]:
    """Parameters per part of the model (all blocks of a kind together)."""
    d, width = spec.d_model, spec.embedding_dim or spec.d_model
    norm = 2 * d if c.layer_norm else 0
    tables = 1 if c.shared_embeddings else 2
    parts = {
        "token_embeddings": tables * spec.vocab * width,
        "embedding_projection": (tables * (width * d + (d if c.bias else 0))
                                 if width != d and c.embedding_projection else 0),
        "positional_embeddings": 2 * spec.max_len * d if c.learned_positions else 0,
        "encoder_self_attention": spec.encoder_blocks * attention_parameters(d, c),
        "encoder_ffn": spec.encoder_blocks * ffn_parameters(d, spec.d_ff, c),
        "encoder_layer_norms": spec.encoder_blocks * 2 * norm,
        "decoder_self_attention": spec.decoder_blocks * attention_parameters(d, c),
        "decoder_cross_attention": spec.decoder_blocks * attention_parameters(d, c),
        "decoder_ffn": spec.decoder_blocks * ffn_parameters(d, spec.d_ff, c),
        "decoder_layer_norms": spec.decoder_blocks * 3 * norm,
        # a tied output layer maps d_model back to the table's width (if they differ) and reuses the table
        "output_layer": ((d * width if width != d else 0) + (spec.vocab if c.bias else 0) if c.tied_output
                         else d * spec.vocab + (spec.vocab if c.bias else 0)),
    }
    parts["total"] = sum(parts.values())
    return parts


def formula_shapes(spec: TransformerSpec, source_len: int | None = None, target_len: int | None = None) -> dict:
    """The shape of every signal, batch first; ``…_per_head`` splits d_model into heads."""
    b, n_s, n_t = spec.batch, source_len or spec.max_len, target_len or spec.max_len
    d, h, width = spec.d_model, spec.heads, spec.embedding_dim or spec.d_model
    return {
        "source_tokens": (b, n_s), "source_embeddings": (b, n_s, width), "encoder_input": (b, n_s, d),
        "encoder_q_per_head": (b, h, n_s, d // h), "encoder_attention_weights": (b, h, n_s, n_s),
        "encoder_attention_output": (b, n_s, d), "encoder_ffn_hidden": (b, n_s, spec.d_ff),
        "encoder_output": (b, n_s, d),
        "target_tokens": (b, n_t), "target_embeddings": (b, n_t, width), "decoder_input": (b, n_t, d),
        "decoder_self_q_per_head": (b, h, n_t, d // h), "decoder_self_attention_weights": (b, h, n_t, n_t),
        "decoder_self_attention_output": (b, n_t, d), "decoder_cross_q_per_head": (b, h, n_t, d // h),
        "decoder_cross_attention_weights": (b, h, n_t, n_s), "decoder_cross_attention_output": (b, n_t, d),
        "decoder_ffn_hidden": (b, n_t, spec.d_ff), "decoder_output": (b, n_t, d),
        "logits": (b, n_t, spec.vocab),
    }


# --- hw4: multi-head additive attention -----------------------------------------------------------

@dataclass(frozen=True)
class AdditiveSpec:
    d_q: int = 10
    d_k: int = 20
    d_v: int = 30
    heads: int = 3
    head_dim: int = 100
    d_out: int = 50


def additive_formula(spec: AdditiveSpec, bias: bool) -> int:
    """Per head: W_q, W_k, W_v to head_dim (+ biases) and the score vector w (head_dim); then the
    concatenated heads to d_out (+ bias).  No term depends on the sequence length."""
    per_head = (spec.d_q + spec.d_k + spec.d_v) * spec.head_dim + spec.head_dim + (3 * spec.head_dim if bias else 0)
    return spec.heads * per_head + spec.heads * spec.head_dim * spec.d_out + (spec.d_out if bias else 0)


def hw3_q2_answers() -> dict[str, dict]:
    """Every convention's per-part counts for hw3 Q2, keyed by convention name."""
    return {c.name: formula_counts(HW3_Q2, c) for c in all_conventions()}


def conventions_dict(c: Conventions) -> dict:
    return asdict(c)


def hw4_additive_accepted() -> list[dict]:
    """hw4 Q3(c): every convention's count for the seed's additive multi-head attention."""
    spec = AdditiveSpec()
    return [{"value": additive_formula(spec, bias), "convention": "with biases" if bias else "without biases"}
            for bias in (True, False)]
