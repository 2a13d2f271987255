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


PARTS = ("encoder_self_attention", "encoder_ffn", "decoder_cross_attention", "token_embeddings", "total")


@pytest.mark.parametrize("part", PARTS)
def test_hw3_q2_accepts_every_allowed_convention_and_no_excluded_model(part):
    from reference import hw3_questions as H
    answers = H.q2_answers(part)
    accepted = {entry["value"]: entry["convention"] for entry in answers["accepted"]}
    rejected = {entry["value"]: entry["reason"] for entry in answers["rejected"]}
    allowed = [c for c in C.all_conventions() if H.q2_allowed(c)]
    assert len(allowed) == 16 and not any(c.learned_positions or not c.embedding_projection for c in allowed)
    # every accepted number is re-derived from the convention table, and every allowed convention is accepted
    assert set(accepted) == {C.formula_counts(C.HW3_Q2, c)[part] for c in allowed}
    for reason, counts in H.q2_rejected_variants():
        for c in allowed:
            value = counts(c)[part]
            if value in accepted:  # only when the part does not depend on the excluded choice
                assert value == C.formula_counts(C.HW3_Q2, c)[part], (reason, c.name)
            else:
                assert value in rejected
            # and never within the rubric's tolerance of another convention's accepted number
            near = [a for a in accepted if a != value and abs(a - value) <= 1e-6 * abs(a)]
            assert not near, (reason, c.name, value, near)
    assert not set(rejected) & set(accepted)


def test_hw3_q2_total_of_every_excluded_model_is_rejected():
    from reference import hw3_questions as H
    answers = H.q2_answers("total")
    accepted = {entry["value"] for entry in answers["accepted"]}
    for c in C.all_conventions():
        if not H.q2_allowed(c):  # learned positions or no projection: the question rules out both
            assert C.formula_counts(C.HW3_Q2, c)["total"] not in accepted, c.name
    learned = C.formula_counts(C.HW3_Q2, C.Conventions(learned_positions=True))["total"]
    assert {e["value"]: e["reason"] for e in answers["rejected"]}[learned].startswith("with learned positional")
