"""hw3 P2 references against the template's classes built from torch.nn, with the same weights."""
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from reference import hw3_gpt as G

torch.manual_seed(0)


class Head(nn.Module):
    def __init__(self, n_embd, head_size, block_size):
        super().__init__()
        self.key = nn.Linear(n_embd, head_size, bias=False)
        self.query = nn.Linear(n_embd, head_size, bias=False)
        self.value = nn.Linear(n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))

    def forward(self, x):
        T = x.shape[1]
        wei = self.query(x) @ self.key(x).transpose(-2, -1) * self.key.out_features ** -0.5
        return F.softmax(wei.masked_fill(self.tril[:T, :T] == 0, float("-inf")), dim=-1) @ self.value(x)


class MultiHeadAttention(nn.Module):
    def __init__(self, n_embd, num_heads, head_size, block_size):
        super().__init__()
        self.heads = nn.ModuleList([Head(n_embd, head_size, block_size) for _ in range(num_heads)])
        self.proj = nn.Linear(head_size * num_heads, n_embd)

    def forward(self, x):
        return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))


class FeedForward(nn.Module):
    def __init__(self, n_embd):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(), nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        return self.net(x)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.sa = MultiHeadAttention(n_embd, n_head, n_embd // n_head, block_size)
        self.ffwd = FeedForward(n_embd)
        self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)

    def forward(self, x):
        x = x + self.sa(self.ln1(x))
        return x + self.ffwd(self.ln2(x))


def params_of(module):
    return {name: value.detach().double() for name, value in module.named_parameters()}


def test_every_piece_equals_the_template_classes():
    x = torch.randn(2, 6, 16, dtype=torch.float64)
    pieces = [(Head(16, 4, 8), G.head, G.head_parameters(16, 4)),
              (MultiHeadAttention(16, 4, 4, 8), G.multi_head, G.multi_head_parameters(16, 4, 4)),
              (FeedForward(16), G.feed_forward, G.feed_forward_parameters(16)),
              (Block(16, 4, 8), G.block, G.block_parameters(16, 4))]
    for module, reference, shapes in pieces:
        module = module.double().eval()
        params = params_of(module)
        assert {k: tuple(v.shape) for k, v in params.items()} == shapes
        torch.testing.assert_close(reference(params, x), module(x))


def test_the_head_is_causal():
    module = Head(16, 4, 8).double()
    x = torch.randn(1, 6, 16, dtype=torch.float64)
    changed = x.clone()
    changed[0, 4] += 1
    out, out2 = G.head(params_of(module), x), G.head(params_of(module), changed)
    torch.testing.assert_close(out[:, :4], out2[:, :4])
    assert not torch.allclose(out[:, 4:], out2[:, 4:])


def test_embedded_tokens_are_seeded():
    a = G.embedded_tokens(np.random.default_rng(1), 2, 3)["x"]
    assert a.shape == (2, 3, 16) and np.array_equal(a, G.embedded_tokens(np.random.default_rng(1), 2, 3)["x"])


class GPTLanguageModel(nn.Module):
    def __init__(self, vocab_size, n_embd, n_head, n_layer, block_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
        self.position_embedding_table = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head, block_size) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab_size)

    def forward(self, idx):
        x = self.token_embedding_table(idx) + self.position_embedding_table(torch.arange(idx.shape[1]))
        return self.lm_head(self.ln_f(self.blocks(x)))


def test_the_language_model_equals_the_template_model():
    module = GPTLanguageModel(20, 16, 4, 2, 8).double().eval()
    params = params_of(module)
    assert {k: tuple(v.shape) for k, v in params.items()} == G.language_model_parameters(20, 16, 4, 2, 8)
    idx = torch.from_numpy(G.token_ids(np.random.default_rng(2), 3, 7)["idx"])
    torch.testing.assert_close(G.language_model(params, idx), module(idx))
