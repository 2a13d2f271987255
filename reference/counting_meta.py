"""The models that ``counting``'s formulas describe, built on torch's ``meta`` device: their parameters
are counted and their signals traced without allocating a weight, and the tests prove that every
formula equals its model under every convention."""
from __future__ import annotations

import torch
from torch import nn

from .counting import AdditiveSpec, Conventions, TransformerSpec, formula_counts


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
