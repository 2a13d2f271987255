"""hw3 theory: the accepted answers, derived by the references (nothing here is typed in).

Q2's counts are ambiguous, so every distinct value a convention the question allows gives is accepted
and named by the convention fields that matter for that part; the counts of models the question rules
out are rejected with the reason.  Q4's values are given under 0- and 1-based positions
with d = 4, the width the rubric fixes."""
from __future__ import annotations

from dataclasses import fields, replace
from typing import Callable

from .counting import HW3_Q2, Conventions, all_conventions, formula_counts, formula_shapes
from .positional import alibi_bias, hw3_q4_phrase

Q4_WIDTH = 4
Q4_ALIBI_SLOPE = 0.5


def q2_allowed(c: Conventions) -> bool:
    """The conventions the question's text allows: it assumes no positional embedding, and a 1024-wide
    token embedding reaches the 768-wide model only through a projection."""
    return c.embedding_projection and not c.learned_positions


def q2_rejected_variants() -> list[tuple[str, Callable[[Conventions], dict[str, int]]]]:
    """Models a student may count that the question rules out, each with the reason, as a function of the
    conventions that stay free."""
    spec = HW3_Q2
    one_block = replace(spec, encoder_blocks=1, decoder_blocks=1)
    return [
        ("with learned positional tables, which the question excludes (it assumes no positional embedding)",
         lambda c: formula_counts(spec, replace(c, learned_positions=True))),
        (f"with no projection from the {spec.embedding_dim}-wide token embedding to d_model = {spec.d_model}, "
         "which the model needs", lambda c: formula_counts(spec, replace(c, embedding_projection=False))),
        (f"of one block; the question asks for all of them ({spec.encoder_blocks} encoder, "
         f"{spec.decoder_blocks} decoder)", lambda c: formula_counts(one_block, c)),
        (f"with the usual 4·d_model = {4 * spec.d_model} hidden width; the question's feed-forward layer goes "
         f"to half the width, {spec.d_ff}", lambda c: formula_counts(replace(spec, d_ff=4 * spec.d_model), c)),
        (f"of tables {spec.d_model} wide; the question's token embedding is {spec.embedding_dim} wide",
         lambda c: formula_counts(replace(spec, embedding_dim=None), c)),
    ]


def q2_answers(part: str) -> dict[str, list[dict]]:
    """Every distinct count of ``part`` under the conventions the question allows, each named by the
    fields that decide it, and the counts of the models it rules out with the reason.  A rejected count
    that equals an accepted one is the same number for another reason (the part does not depend on the
    excluded choice) and is not listed; tests/test_theory_rubrics.py proves the total never meets one."""
    allowed = [c for c in all_conventions() if q2_allowed(c)]
    by_value: dict[int, list[Conventions]] = {}
    for conventions in allowed:
        by_value.setdefault(formula_counts(HW3_Q2, conventions)[part], []).append(conventions)
    accepted = []
    for value, group in sorted(by_value.items()):
        fixed = [f.name for f in fields(Conventions) if len({getattr(c, f.name) for c in group}) == 1
                 and len({getattr(c, f.name) for cs in by_value.values() for c in cs}) > 1]
        name = ", ".join(f"{field}={getattr(group[0], field)}" for field in fixed) or "any convention"
        accepted.append({"value": value, "convention": name})
    rejected: dict[int, str] = {}
    for reason, counts in q2_rejected_variants():
        for conventions in allowed:
            value = counts(conventions)[part]
            if value not in by_value:
                rejected.setdefault(value, reason)
    return {"accepted": accepted, "rejected": [{"value": v, "reason": r} for v, r in sorted(rejected.items())]}


def q2_shape(signal: str) -> list[int]:
    return list(formula_shapes(HW3_Q2)[signal])


def q4_values(kind: str) -> list[dict]:
    """Flattened values for both position conventions: kind is 'sinusoidal' or 'rope_angles'."""
    return [{"value": hw3_q4_phrase(Q4_WIDTH, start=start)[kind].flatten().tolist(),
             "convention": f"positions start at {start}"} for start in (0, 1)]


def q4_alibi_last_row() -> list[float]:
    """The ALiBi bias of the third token over the three keys, m = 0.5: m·[−2, −1, 0]."""
    return alibi_bias(3, Q4_ALIBI_SLOPE)[2].tolist()


# one callable per rubric item (a rubric names a function, not a call)
def q2_encoder_self_attention(): return q2_answers("encoder_self_attention")  # noqa: E704
def q2_encoder_ffn(): return q2_answers("encoder_ffn")  # noqa: E704
def q2_decoder_cross_attention(): return q2_answers("decoder_cross_attention")  # noqa: E704
def q2_embeddings(): return q2_answers("token_embeddings")  # noqa: E704
def q2_total(): return q2_answers("total")  # noqa: E704
def q4_sinusoidal(): return q4_values("sinusoidal")  # noqa: E704
def q4_rope_angles(): return q4_values("rope_angles")  # noqa: E704
