"""Transformer blocks against torch.nn layers with copied weights, and the other pieces against
loops written from their definitions."""
import numpy as np
import pytest
import torch
from torch import nn

from reference import attention as A
from reference import transformer as T

D = torch.float64
torch.manual_seed(1)


def rand(*shape):
    return torch.randn(*shape, dtype=D)


def attn_params(d):
    return {**{f"W_{n}": rand(d, d) / d ** 0.5 for n in "qkvo"}, **{f"b_{n}": rand(d) * 0.1 for n in "qkvo"}}


def norm_params(d):
    return {"g": 1 + 0.1 * rand(d), "b": 0.1 * rand(d)}


def ffn_params(d, f):
    return {"W_1": rand(d, f) / d ** 0.5, "b_1": rand(f) * 0.1, "W_2": rand(f, d) / f ** 0.5, "b_2": rand(d) * 0.1}


def copy_attention(module: nn.MultiheadAttention, p):
    module.in_proj_weight.copy_(torch.cat([p["W_q"].T, p["W_k"].T, p["W_v"].T]))
    module.in_proj_bias.copy_(torch.cat([p["b_q"], p["b_k"], p["b_v"]]))
    module.out_proj.weight.copy_(p["W_o"].T)
    module.out_proj.bias.copy_(p["b_o"])


def copy_norm(module, p):
    module.weight.copy_(p["g"])
    module.bias.copy_(p["b"])


def copy_ffn(layer, p):
    layer.linear1.weight.copy_(p["W_1"].T)
    layer.linear1.bias.copy_(p["b_1"])
    layer.linear2.weight.copy_(p["W_2"].T)
    layer.linear2.bias.copy_(p["b_2"])


def test_encoder_block_matches_transformer_encoder_layer():
    d, heads, f = 8, 2, 12
    p = {"attn": attn_params(d), "norm1": norm_params(d), "ffn": ffn_params(d, f), "norm2": norm_params(d)}
    layer = nn.TransformerEncoderLayer(d, heads, f, dropout=0.0, batch_first=True, dtype=D).eval()
    with torch.no_grad():
        copy_attention(layer.self_attn, p["attn"]); copy_ffn(layer, p["ffn"])
        copy_norm(layer.norm1, p["norm1"]); copy_norm(layer.norm2, p["norm2"])
    x = rand(3, 5, d)
    padding = torch.ones(3, 5, dtype=torch.bool)
    padding[1, 3:] = False
    expected = layer(x, src_key_padding_mask=~padding)
    got = T.encoder_block(x, p, heads, key_padding_mask=padding)
    torch.testing.assert_close(got[0], expected[0])
    torch.testing.assert_close(got[1, :3], expected[1, :3])  # torch's fast path zeroes padded rows


def test_decoder_block_matches_transformer_decoder_layer():
    d, heads, f = 8, 4, 10
    p = {"self_attn": attn_params(d), "norm1": norm_params(d), "cross_attn": attn_params(d),
         "norm2": norm_params(d), "ffn": ffn_params(d, f), "norm3": norm_params(d)}
    layer = nn.TransformerDecoderLayer(d, heads, f, dropout=0.0, batch_first=True, dtype=D).eval()
    with torch.no_grad():
        copy_attention(layer.self_attn, p["self_attn"]); copy_attention(layer.multihead_attn, p["cross_attn"])
        copy_ffn(layer, p["ffn"])
        for i in (1, 2, 3):
            copy_norm(getattr(layer, f"norm{i}"), p[f"norm{i}"])
    x, memory = rand(2, 4, d), rand(2, 6, d)
    expected = layer(x, memory, tgt_mask=~A.causal_mask(4), tgt_is_causal=True)
    torch.testing.assert_close(T.decoder_block(x, memory, p, heads), expected)


def gpt_params(vocab, max_len, d, f, blocks):
    return {"wte": rand(vocab, d) * 0.5, "wpe": rand(max_len, d) * 0.1, "norm": norm_params(d),
            "blocks": [{"norm1": norm_params(d), "attn": attn_params(d), "norm2": norm_params(d),
                        "ffn": ffn_params(d, f)} for _ in range(blocks)]}


def torch_gpt_layer(d, heads, f, p):
    layer = nn.TransformerEncoderLayer(d, heads, f, dropout=0.0, activation="gelu", norm_first=True,
                                       batch_first=True, dtype=D).eval()
    with torch.no_grad():
        copy_attention(layer.self_attn, p["attn"]); copy_ffn(layer, p["ffn"])
        copy_norm(layer.norm1, p["norm1"]); copy_norm(layer.norm2, p["norm2"])
    return layer


def test_gpt_block_and_small_gpt_match_pre_norm_torch_layers():
    vocab, max_len, d, heads, f = 11, 7, 8, 2, 16
    p = gpt_params(vocab, max_len, d, f, blocks=2)
    tokens = torch.randint(vocab, (3, 6))
    layers = [torch_gpt_layer(d, heads, f, block) for block in p["blocks"]]
    x = p["wte"][tokens] + p["wpe"][:6]
    torch.testing.assert_close(T.gpt_block(x, p["blocks"][0], heads), layers[0](x, src_mask=~A.causal_mask(6), is_causal=True))
    for layer in layers:
        x = layer(x, src_mask=~A.causal_mask(6), is_causal=True)
    final = nn.LayerNorm(d, dtype=D)
    with torch.no_grad():
        copy_norm(final, p["norm"])
    torch.testing.assert_close(T.gpt(tokens, p, heads), final(x) @ p["wte"].T)


def test_gpt_is_causal():
    p = gpt_params(13, 8, 8, 16, 2)
    tokens = torch.randint(13, (1, 8))
    changed = tokens.clone()
    changed[0, 5] = (changed[0, 5] + 1) % 13
    before, after = T.gpt(tokens, p, 2), T.gpt(changed, p, 2)
    torch.testing.assert_close(before[:, :5], after[:, :5])
    assert not torch.allclose(before[:, 5:], after[:, 5:])


def test_mlm_masking_proportions_specials_and_seed():
    tokens = torch.randint(5, 1000, (200, 128))
    special = torch.zeros_like(tokens, dtype=torch.bool)
    special[:, 0] = special[:, -1] = True
    inputs, labels = T.mlm_mask(tokens, torch.Generator().manual_seed(0), mask_id=3, vocab=1000, special=special)
    again, _ = T.mlm_mask(tokens, torch.Generator().manual_seed(0), mask_id=3, vocab=1000, special=special)
    assert torch.equal(inputs, again)
    selected = labels != -100
    assert not selected[special].any()
    assert torch.equal(labels[selected], tokens[selected])
    assert torch.equal(inputs[~selected], tokens[~selected])
    n = int(selected.sum())
    rate = n / int((~special).sum())
    masked = float((inputs[selected] == 3).sum()) / n
    kept = float((inputs[selected] == tokens[selected]).sum()) / n
    assert abs(rate - 0.15) < 0.01 and abs(masked - 0.8) < 0.02 and abs(kept - 0.1) < 0.02  # ~5 sigma bounds


def test_vit_patch_embedding_matches_a_strided_convolution():
    batch, channels, size, patch, d = 2, 3, 8, 4, 5
    images = rand(batch, channels, size, size)
    conv = nn.Conv2d(channels, d, patch, stride=patch, dtype=D)
    W = conv.weight.detach().reshape(d, -1).T
    got = T.vit_patch_embedding(images, W, conv.bias.detach(), patch)
    expected = conv(images).flatten(2).transpose(1, 2)
    torch.testing.assert_close(got, expected)
    assert got.shape == (batch, (size // patch) ** 2, d)


def test_attention_rollout_matches_a_numpy_loop_over_the_definition():
    layers = [torch.softmax(rand(1, 3, 5, 5), dim=-1) for _ in range(4)]
    rolled = T.attention_rollout(layers)[0].numpy()
    expected = np.eye(5)
    for layer in layers:
        a = layer[0].numpy().mean(axis=0)
        a = (a + np.eye(5)) / 2
        a = a / a.sum(axis=-1, keepdims=True)
        expected = a @ expected
    np.testing.assert_allclose(rolled, expected, rtol=1e-12)
    np.testing.assert_allclose(rolled.sum(-1), 1.0)


def test_top_k_classes_are_sorted_by_probability():
    logits = rand(3, 20)
    indices, values = T.top_k_classes(logits, 5)
    for row in range(3):
        order = np.argsort(-logits[row].numpy())[:5]
        assert indices[row].tolist() == order.tolist()
    torch.testing.assert_close(values, torch.softmax(logits, -1).gather(1, indices))


def test_inverted_embedding_makes_one_token_per_variate():
    series = rand(2, 24, 8)  # 24 time steps of 8 exchange-rate series
    linear = nn.Linear(24, 16, dtype=D)
    tokens = T.inverted_embedding(series, linear.weight.detach().T, linear.bias.detach())
    assert tokens.shape == (2, 8, 16)
    for variate in range(8):
        torch.testing.assert_close(tokens[:, variate], linear(series[:, :, variate]))


def test_generate_appends_the_argmax_of_each_step_and_keeps_the_prompt():
    p = gpt_params(9, 6, 8, 16, 1)
    prompt = torch.tensor([[1, 2, 3]])
    out = T.generate(prompt, p, 2, steps=5)
    assert out.shape == (1, 8) and out[0, :3].tolist() == [1, 2, 3]
    for position in range(3, 8):  # each new token is the argmax given the (at most max_len) tokens before it
        context = out[:, max(0, position - 6):position]
        assert out[0, position] == T.gpt(context, p, 2)[0, -1].argmax()


def test_itransformer_attends_across_variates_and_is_permutation_equivariant_in_them():
    B, steps, variates, d, horizon = 2, 12, 5, 8, 3
    p = {"embed": {"W": rand(steps, d) / steps ** 0.5, "b": rand(d) * 0.1},
         "blocks": [{"attn": attn_params(d), "norm1": norm_params(d), "ffn": ffn_params(d, 16), "norm2": norm_params(d)}],
         "head": {"W": rand(d, horizon), "b": rand(horizon)}}
    series = rand(B, steps, variates)
    forecast = T.itransformer_forecast(series, p, heads=2)
    assert forecast.shape == (B, horizon, variates)
    order = torch.randperm(variates)
    torch.testing.assert_close(T.itransformer_forecast(series[:, :, order], p, heads=2), forecast[:, :, order])
