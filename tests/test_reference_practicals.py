"""The practicals' references proven by other routes: torch.nn's own layers, and validators that accept
every right answer form and refuse wrong ones."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference import hw3_bert, hw3_itransformer, hw4_practical, hw7_practical, text
from reference.transformer import mlm_mask


def named_parameters(module):
    return {name: p.detach().double() for name, p in module.named_parameters()}


@pytest.mark.parametrize("seed", range(5))
def test_masking_validator_accepts_the_reference_and_refuses_a_masking_without_80_10_10(seed):
    rng = np.random.default_rng(seed)
    args = hw3_bert.masking_batch(rng, 48, 128)
    generator = torch.Generator().manual_seed(seed)
    inputs, labels = mlm_mask(torch.from_numpy(args["input_ids"]), generator, hw3_bert.MASK_ID, args["vocab_size"],
                              torch.from_numpy(args["special_tokens_mask"]))
    assert hw3_bert.check_mlm_masking(args, (inputs.numpy(), labels.numpy())) == []
    chosen = labels.numpy() != -100
    all_masked = np.where(chosen, hw3_bert.MASK_ID, args["input_ids"])
    assert any("became [MASK], expected 80%" in p for p in hw3_bert.check_mlm_masking(args, (all_masked, labels.numpy())))


def test_bert_heads_equal_torch_layers():
    torch.manual_seed(0)
    dense, norm, decoder = torch.nn.Linear(8, 8), torch.nn.LayerNorm(8, eps=1e-12), torch.nn.Linear(8, 11)
    x = torch.randn(2, 5, 8)
    expected = decoder(norm(F.gelu(dense(x)))).double()
    p = {f"{name}.{k}": v.detach().double() for name, layer in (("dense", dense), ("layer_norm", norm), ("decoder", decoder))
         for k, v in layer.state_dict().items()}
    assert torch.allclose(hw3_bert.mlm_head(p, x.double()), expected, atol=1e-5)
    assert {k: tuple(v.shape) for k, v in p.items()} == hw3_bert.mlm_head_parameters(8, 11)


def test_itransformer_equals_torch_encoder_layers_across_variates():
    torch.manual_seed(1)
    seq_len, pred_len, d, heads, d_ff, layers = 12, 4, 8, 2, 16, 2
    embed, project = torch.nn.Linear(seq_len, d), torch.nn.Linear(d, pred_len)
    encoder = [torch.nn.TransformerEncoderLayer(d, heads, d_ff, dropout=0.0, batch_first=True) for _ in range(layers)]
    series = torch.randn(3, seq_len, 5)
    with torch.no_grad():
        tokens = embed(series.transpose(1, 2))
        for layer in encoder:
            layer.eval()
            tokens = layer(tokens)
        expected = project(tokens).transpose(1, 2).double()
    p = {f"embedding.value_embedding.{k}": v for k, v in named_parameters(embed).items()}
    p.update({f"projection.{k}": v for k, v in named_parameters(project).items()})
    for i, layer in enumerate(encoder):
        q, k, v = layer.self_attn.in_proj_weight.detach().double().chunk(3)
        bq, bk, bv = layer.self_attn.in_proj_bias.detach().double().chunk(3)
        prefix = f"layers.{i}."
        p.update({prefix + "attention.query.weight": q, prefix + "attention.query.bias": bq,
                  prefix + "attention.key.weight": k, prefix + "attention.key.bias": bk,
                  prefix + "attention.value.weight": v, prefix + "attention.value.bias": bv,
                  prefix + "attention.out.weight": layer.self_attn.out_proj.weight.detach().double(),
                  prefix + "attention.out.bias": layer.self_attn.out_proj.bias.detach().double()})
        for ours, theirs in (("ffn.0", layer.linear1), ("ffn.2", layer.linear2), ("norm1", layer.norm1), ("norm2", layer.norm2)):
            p.update({f"{prefix}{ours}.{k}": v for k, v in named_parameters(theirs).items()})
    assert {k: tuple(v.shape) for k, v in p.items()} == hw3_itransformer.forecaster_parameters(seq_len, pred_len, d, heads, d_ff, layers)
    assert torch.allclose(hw3_itransformer.forecaster(p, series.double(), heads), expected, atol=1e-5)


def test_template_layout_attention_equals_torch_sdpa_and_its_causal_form():
    torch.manual_seed(2)
    p = {name: torch.randn(shape, dtype=torch.float64) for name, shape in hw4_practical.attention_parameters(6).items()}
    x = torch.randn(2, 5, 6, dtype=torch.float64)
    lin = {n: x @ p[f"{n}.weight"].T + p[f"{n}.bias"] for n in "QKV"}
    for causal in (False, True):
        context, weights = hw4_practical.scaled_dot_attention(p, x, x, x, causal=causal)
        expected = F.scaled_dot_product_attention(lin["Q"], lin["K"], lin["V"], is_causal=causal)
        assert torch.allclose(context, expected) and weights.shape == (2, 5, 5)
        assert torch.allclose(weights.sum(dim=1), torch.ones(2, 5, dtype=torch.float64))  # over the keys


def test_head_mask_reference_equals_masking_the_probabilities():
    rng = np.random.default_rng(3)
    args = hw4_practical.vit_tokens_and_head_mask(rng, 2, 5)
    p = {n: torch.from_numpy(rng.standard_normal(s)) for n, s in hw4_practical.vit_self_attention_parameters(16, 4).items()}
    x, mask = torch.from_numpy(args["hidden_states"]), torch.from_numpy(args["head_mask"])
    split = lambda t: t.view(2, 5, 4, 4).transpose(1, 2)  # noqa: E731
    q, k, v = (split(x @ p[f"{n}.weight"].T + p[f"{n}.bias"]) for n in ("query", "key", "value"))
    probs = torch.softmax(q @ k.transpose(-2, -1) / 2, dim=-1) * mask.view(1, 4, 1, 1)
    expected = (probs @ v).transpose(1, 2).reshape(2, 5, 16) @ p["output.weight"].T + p["output.bias"]
    assert torch.allclose(hw4_practical.vit_self_attention(p, x, mask, 4), expected)
    assert 1 <= int((mask == 0).sum()) <= 2


def test_pig_latin_rule_on_the_assignments_examples():
    assert text.pig_latin("team impress shopping well-known") == "eamtay impressway oppingshay ellway-nownkay"


def test_split_validator_accepts_kept_or_dropped_punctuation_and_refuses_a_period_only_splitter():
    args = {"text": "آیا شبکه یاد می‌گیرد؟ عدد پی ۳.۱۴ است. سلام!"}
    right = text.split_sentences(args["text"])
    assert len(right) == 3
    assert hw7_practical.check_split(args, right) == []
    assert hw7_practical.check_split(args, [s.rstrip(".!؟") for s in right]) == []
    problems = hw7_practical.check_split(args, ["آیا شبکه یاد می‌گیرد؟ عدد پی ۳.۱۴ است.", "سلام!"])
    assert problems and "2 sentences, expected 3" in problems[0]


def test_pairs_validator_accepts_the_reference_and_refuses_unshuffled_or_lost_words():
    args = hw7_practical.sentence_list(np.random.default_rng(4), 12)
    assert hw7_practical.check_pairs(args, text.shuffled_pairs(args["sentences"])) == []
    unshuffled = [(s, s) for s in args["sentences"] if len(s.split()) >= 2]
    assert any("not shuffled" in p for p in hw7_practical.check_pairs(args, unshuffled))
    lossy = [(" ".join(s.split()[1:] + ["x"]), s) for s in args["sentences"] if len(s.split()) >= 2]
    assert any("are not the words of" in p for p in hw7_practical.check_pairs(args, lossy))
