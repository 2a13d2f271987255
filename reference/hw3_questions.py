"""hw3 theory: the accepted answers, derived by the references (nothing here is typed in).

Q2's counts are ambiguous, so every distinct value any convention gives is accepted and named by the
convention fields that matter for that part.  Q4's values are given under 0- and 1-based positions
with d = 4, the width the rubric fixes."""
from __future__ import annotations

from dataclasses import fields

from .counting import HW3_Q2, Conventions, all_conventions, formula_counts, formula_shapes
from .positional import alibi_bias, hw3_q4_phrase

Q4_WIDTH = 4
Q4_ALIBI_SLOPE = 0.5


def q2_accepted(part: str) -> list[dict]:
    """Every distinct count of ``part`` over all conventions, each named by the fields that decide it."""
    by_value: dict[int, list[Conventions]] = {}
    for conventions in all_conventions():
        by_value.setdefault(formula_counts(HW3_Q2, conventions)[part], []).append(conventions)
    accepted = []
    for value, group in sorted(by_value.items()):
        fixed = [f.name for f in fields(Conventions) if len({getattr(c, f.name) for c in group}) == 1
                 and len({getattr(c, f.name) for cs in by_value.values() for c in cs}) > 1]
        name = ", ".join(f"{field}={getattr(group[0], field)}" for field in fixed) or "any convention"
        accepted.append({"value": value, "convention": name})
    return accepted


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
def q2_encoder_self_attention(): return q2_accepted("encoder_self_attention")  # noqa: E704
def q2_encoder_ffn(): return q2_accepted("encoder_ffn")  # noqa: E704
def q2_decoder_cross_attention(): return q2_accepted("decoder_cross_attention")  # noqa: E704
def q2_embeddings(): return q2_accepted("token_embeddings")  # noqa: E704
def q2_total(): return q2_accepted("total")  # noqa: E704
def q4_sinusoidal(): return q4_values("sinusoidal")  # noqa: E704
def q4_rope_angles(): return q4_values("rope_angles")  # noqa: E704
