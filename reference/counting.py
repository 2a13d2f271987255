"""Signal shapes and parameter counts of an encoder–decoder transformer, computed twice: by closed-form
formulas (``formula_counts``) and by building the torch model on the ``meta`` device and counting its
parameters and tracing its signals (``model_counts``, ``traced_shapes``).  The two must agree under
every convention, which the tests check.

Ambiguous questions are answered under every reasonable convention, each named (``Conventions``):
biases, LayerNorm parameters, how a token embedding of another width reaches d_model, a tied or
separate output layer, shared or separate encoder/decoder token tables, learned positions or none.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn


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


# --- the same model, built on the meta device -----------------------------------------------------

class _Attention(nn.Module):
    def __init__(self, d: int, heads: int, bias: bool):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d, bias=bias) for _ in range(4))

    def forward(self, x, memory, record, prefix):
        b, n, d = x.shape
        split = lambda t: t.reshape(b, t.shape[1], self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(memory)), split(self.v(memory))
        record(f"{prefix}_q_per_head", q)
        weights = torch.softmax(q @ k.transpose(-2, -1), dim=-1)
        record(f"{prefix}_attention_weights", weights)
        out = self.o((weights @ v).transpose(1, 2).reshape(b, n, d))
        record(f"{prefix}_attention_output", out)
        return out


def _norm(d: int, c: Conventions) -> nn.Module:
    return nn.LayerNorm(d, elementwise_affine=c.layer_norm)


class _Block(nn.Module):
    def __init__(self, spec: TransformerSpec, c: Conventions, cross: bool):
        super().__init__()
        d = spec.d_model
        self.self_attention = _Attention(d, spec.heads, c.bias)
        self.cross_attention = _Attention(d, spec.heads, c.bias) if cross else None
        self.ffn_in, self.ffn_out = nn.Linear(d, spec.d_ff, bias=c.bias), nn.Linear(spec.d_ff, d, bias=c.bias)
        self.norms = nn.ModuleList(_norm(d, c) for _ in range(3 if cross else 2))

    def forward(self, x, memory, record, side):
        x = self.norms[0](x + self.self_attention(x, x, record, side if side == "encoder" else "decoder_self"))
        if self.cross_attention is not None:
            x = self.norms[1](x + self.cross_attention(x, memory, record, "decoder_cross"))
        hidden = torch.relu(self.ffn_in(x))
        record(f"{side}_ffn_hidden", hidden)
        return self.norms[-1](x + self.ffn_out(hidden))


class _Side(nn.Module):
    def __init__(self, spec: TransformerSpec, c: Conventions, blocks: int, cross: bool, shared: "_Side | None"):
        super().__init__()
        width = spec.embedding_dim or spec.d_model
        # a shared token table is shared with the projection that brings it to d_model
        self.table = shared.table if shared is not None else nn.Embedding(spec.vocab, width)
        self.projection = shared.projection if shared is not None else (
            nn.Linear(width, spec.d_model, bias=c.bias) if width != spec.d_model and c.embedding_projection else None)
        self.positions = nn.Embedding(spec.max_len, spec.d_model) if c.learned_positions else None
        self.blocks = nn.ModuleList(_Block(spec, c, cross) for _ in range(blocks))


class MetaTransformer(nn.Module):
    """The model the formulas describe (post-norm blocks), for counting and tracing on ``meta``."""

    def __init__(self, spec: TransformerSpec, c: Conventions):
        super().__init__()
        self.spec = spec
        self.encoder = _Side(spec, c, spec.encoder_blocks, cross=False, shared=None)
        self.decoder = _Side(spec, c, spec.decoder_blocks, cross=True, shared=self.encoder if c.shared_embeddings else None)
        width = spec.embedding_dim or spec.d_model
        if c.tied_output:
            self.output_back = nn.Linear(spec.d_model, width, bias=False) if width != spec.d_model else None
            self.output_bias = nn.Parameter(torch.zeros(spec.vocab)) if c.bias else None
        else:
            self.output = nn.Linear(spec.d_model, spec.vocab, bias=c.bias)
        self.tied = c.tied_output

    def _embed(self, side: _Side, tokens, record, name):
        x = side.table(tokens)
        record(f"{name}_embeddings", x)
        if side.projection is not None:
            x = side.projection(x)
        if side.positions is not None:
            x = x + side.positions(torch.arange(tokens.shape[1], device=tokens.device))
        record("encoder_input" if name == "source" else "decoder_input", x)
        return x

    def forward(self, source, target, record):
        record("source_tokens", source)
        record("target_tokens", target)
        memory = self._embed(self.encoder, source, record, "source")
        for block in self.encoder.blocks:
            memory = block(memory, None, record, "encoder")
        record("encoder_output", memory)
        x = self._embed(self.decoder, target, record, "target")
        for block in self.decoder.blocks:
            x = block(x, memory, record, "decoder")
        record("decoder_output", x)
        if self.tied:
            back = self.output_back(x) if self.output_back is not None else x
            logits = back @ self.decoder.table.weight.T + (self.output_bias if self.output_bias is not None else 0)
        else:
            logits = self.output(x)
        record("logits", logits)
        return logits


def build_meta(spec: TransformerSpec, c: Conventions) -> MetaTransformer:
    with torch.device("meta"):
        return MetaTransformer(spec, c)


PART_OF_PARAMETER = (  # (substring of a parameter's name, part), first match wins
    ("table", "token_embeddings"), ("projection", "embedding_projection"), ("positions", "positional_embeddings"),
    ("encoder.blocks", None), ("decoder.blocks", None), ("output", "output_layer"),
)


def _part(name: str) -> str:
    side = "encoder" if name.startswith("encoder.blocks") else "decoder" if name.startswith("decoder.blocks") else None
    if side:
        if "self_attention" in name:
            return f"{side}_self_attention"
        if "cross_attention" in name:
            return "decoder_cross_attention"
        if "ffn" in name:
            return f"{side}_ffn"
        return f"{side}_layer_norms"
    for marker, part in PART_OF_PARAMETER:
        if marker in name:
            return part
    raise KeyError(name)


def model_counts(spec: TransformerSpec, c: Conventions) -> dict[str, int]:
    """Parameters per part of the meta model; shared tables are counted once (named_parameters dedups)."""
    counts = {part: 0 for part in formula_counts(spec, c)}
    for name, parameter in build_meta(spec, c).named_parameters():
        counts[_part(name)] += parameter.numel()
    counts["total"] = sum(v for k, v in counts.items() if k != "total")
    return counts


def traced_shapes(spec: TransformerSpec, c: Conventions = Conventions(), source_len: int | None = None,
                  target_len: int | None = None) -> dict[str, tuple]:
    """Run the meta model on meta token tensors and record the shape of every named signal."""
    model = build_meta(spec, c)
    shapes: dict[str, tuple] = {}

    def record(name, tensor):
        shapes.setdefault(name, tuple(tensor.shape))

    source = torch.zeros(spec.batch, source_len or spec.max_len, dtype=torch.long, device="meta")
    target = torch.zeros(spec.batch, target_len or spec.max_len, dtype=torch.long, device="meta")
    model(source, target, record)
    return shapes


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


class AdditiveMultiHead(nn.Module):
    def __init__(self, spec: AdditiveSpec, bias: bool):
        super().__init__()
        self.q = nn.ModuleList(nn.Linear(spec.d_q, spec.head_dim, bias=bias) for _ in range(spec.heads))
        self.k = nn.ModuleList(nn.Linear(spec.d_k, spec.head_dim, bias=bias) for _ in range(spec.heads))
        self.v = nn.ModuleList(nn.Linear(spec.d_v, spec.head_dim, bias=bias) for _ in range(spec.heads))
        self.w = nn.ModuleList(nn.Linear(spec.head_dim, 1, bias=False) for _ in range(spec.heads))
        self.out = nn.Linear(spec.heads * spec.head_dim, spec.d_out, bias=bias)

    def forward(self, queries, keys, values):
        heads = []
        for q, k, v, w in zip(self.q, self.k, self.v, self.w):
            scores = w(torch.tanh(q(queries)[:, :, None, :] + k(keys)[:, None, :, :]))[..., 0]
            heads.append(torch.softmax(scores, dim=-1) @ v(values))
        return self.out(torch.cat(heads, dim=-1))


def additive_model_count(spec: AdditiveSpec, bias: bool, seq_len: int = 64) -> tuple[int, tuple]:
    """Parameters of the meta model, and the output shape of a forward at ``seq_len`` (batch 1)."""
    with torch.device("meta"):
        model = AdditiveMultiHead(spec, bias)
        out = model(torch.empty(1, seq_len, spec.d_q), torch.empty(1, seq_len, spec.d_k),
                    torch.empty(1, seq_len, spec.d_v))
    return sum(p.numel() for p in model.parameters()), tuple(out.shape)


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
