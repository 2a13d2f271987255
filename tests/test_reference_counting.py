"""Parameter counts and shapes: the closed-form formulas against the model built on the meta device,
under every convention."""
import pytest

from reference import counting as C
from reference import counting_meta as M

SMALL = C.TransformerSpec(vocab=50, max_len=9, d_model=8, encoder_blocks=2, decoder_blocks=3, heads=2, d_ff=6,
                          batch=4, embedding_dim=12)


@pytest.mark.parametrize("conventions", C.all_conventions(), ids=lambda c: c.name)
def test_formulas_equal_the_meta_model_under_every_convention(conventions):
    assert C.formula_counts(SMALL, conventions) == M.model_counts(SMALL, conventions)


def test_hw3_q2_formulas_equal_the_meta_model():
    for conventions in (C.Conventions(), C.Conventions(bias=False, layer_norm=False, tied_output=True,
                                                       shared_embeddings=True, learned_positions=True)):
        assert C.formula_counts(C.HW3_Q2, conventions) == M.model_counts(C.HW3_Q2, conventions)


def test_traced_signal_shapes_equal_the_formulas():
    assert M.traced_shapes(SMALL, source_len=5, target_len=7) == C.formula_shapes(SMALL, 5, 7)
    traced = M.traced_shapes(C.HW3_Q2)  # meta tensors: the 32 × 4 × 2048 × 2048 weights are never allocated
    assert traced == C.formula_shapes(C.HW3_Q2)
    assert traced["encoder_attention_weights"] == (32, 4, 2048, 2048)
    assert traced["source_embeddings"] == (32, 2048, 1024) and traced["logits"] == (32, 2048, 30000)


def test_every_convention_of_hw3_q2_is_named_and_they_differ():
    answers = C.hw3_q2_answers()
    assert len(answers) == 2 ** 6
    assert len({parts["total"] for parts in answers.values()}) > 16  # the conventions matter
    default = C.formula_counts(C.HW3_Q2, C.Conventions())
    assert default["encoder_self_attention"] == 12 * 4 * (768 * 768 + 768)
    assert default["encoder_ffn"] == 12 * (768 * 384 + 384 + 384 * 768 + 768)


@pytest.mark.parametrize("bias", [False, True])
def test_additive_multi_head_count_does_not_depend_on_sequence_length(bias):
    spec = C.AdditiveSpec()
    counts = {n: M.additive_model_count(spec, bias, seq_len=n) for n in (1, 64, 500)}
    assert {count for count, _ in counts.values()} == {C.additive_formula(spec, bias)}
    assert counts[64][1] == (1, 64, 50)
