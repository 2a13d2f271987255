"""The expression language: hostile text is a parse error, quickly; equivalent forms of real gradients
pass; the planted mistakes fail with feedback that names the sign, factor or term."""
import time

import pytest

from grader.theory.answers import after_equals
from grader.theory.expressions import ParseError, compare, parse, to_plain

LSTM = {"da": [4, 3], "dc_next": [4, 3], "c": [4, 3], "o": [4, 3], "v": [7, 3], "W_o": [4, 7]}
BPTT = {"y_hat_1": [2, 1], "y_1": [2, 1], "y_hat_2": [2, 1], "y_2": [2, 1], "s_1": [4, 1], "s_2": [4, 1],
        "W_yh": [2, 4], "W_hh": [4, 4], "y_hat_3": [2, 1], "y_3": [2, 1]}


def equivalent(answer, reference, symbols):
    return compare(parse(after_equals(answer), symbols), parse(reference, symbols), symbols)


@pytest.mark.parametrize("hostile", [
    "__import__('os').system('touch /tmp/owned')", "().__class__.__bases__[0].__subclasses__()",
    "s.__class__", "open('/etc/passwd')", "lambda: 1", "[x for x in (1,)]", "x if 1 else 2", "{'a': 1}",
    "da; import os", "exec('1')", "eval('1')", "o[0]", "f'{1}'", "1 < 2", "not o",
    "x" * (10 * 2**20), "(" * 200_000 + "da" + ")" * 200_000, "-" * 3000 + "da", "da" + " + da" * 1000,
])
def test_hostile_text_is_a_parse_error_within_a_second(hostile):
    started = time.monotonic()
    with pytest.raises(ParseError):
        parse(hostile, LSTM)
    assert time.monotonic() - started < 1


def test_huge_powers_are_refused_at_evaluation_not_computed():
    started = time.monotonic()
    result = equivalent("9**9**9**9 * da", "da", LSTM)
    assert not result.equivalent and "power" in result.message and time.monotonic() - started < 1


@pytest.mark.parametrize("answer", [
    "(da * tanh(c) * o * (1 - o)) @ v.T",
    "((1 - o) * o * tanh(c) * da) @ v.T",
    "(da * tanh(c) * (o - o**2)) @ v.T",
    r"(da \odot \tanh(c) \odot o \odot (1 - o)) v^\top",
    "transpose(v @ (da * tanh(c) * o * (1 - o)).T)",
    "dW_o = (da*tanh(c)*o*(1-o)) @ transpose(v)",
    "(da ⊙ tanh(c) ⊙ σ_o_placeholder)".replace("σ_o_placeholder", "o ⊙ (1 − o)") + " @ vᵀ",
])
def test_equivalent_forms_of_an_lstm_weight_gradient_pass(answer):
    assert equivalent(answer, "(da * tanh(c) * o * (1 - o)) @ v.T", LSTM).equivalent


@pytest.mark.parametrize("answer", [
    "dc_next + da * o * (1 - tanh(c)**2)",
    "da * o * (1 - tanh(c)**2) + dc_next",
    "dc_next + o * da - o * da * tanh(c) * tanh(c)",
    r"dc_{next} + da \odot o \odot (1 - \tanh^2(c))".replace(r"\tanh^2(c)", r"\tanh(c)^2"),
    "dc_next + da * o * (1 - tanh(c)) * (1 + tanh(c))",
])
def test_equivalent_forms_of_the_lstm_cell_gradient_pass(answer):
    assert equivalent(answer, "dc_next + da * o * (1 - tanh(c)**2)", LSTM).equivalent


@pytest.mark.parametrize("answer", [
    "(y_hat_1 - y_1) @ s_1.T + (y_hat_2 - y_2) @ s_2.T",
    "outer(y_hat_1 - y_1, s_1) + outer(y_hat_2 - y_2, s_2)",
    "(y_hat_2 - y_2) @ s_2.T + (y_hat_1 - y_1) @ s_1.T",
    "y_hat_1 @ s_1.T - y_1 @ s_1.T + y_hat_2 @ s_2.T - y_2 @ s_2.T",
    r"(\hat{y}_1 - y_1) s_1^T + (\hat{y}_2 - y_2) s_2^{\top}",
    "((s_1 @ (y_hat_1 - y_1).T) + (s_2 @ (y_hat_2 - y_2).T)).T",
])
def test_equivalent_forms_of_the_bptt_output_gradient_pass(answer):
    assert equivalent(answer, "(y_hat_1 - y_1) @ s_1.T + (y_hat_2 - y_2) @ s_2.T", BPTT).equivalent


@pytest.mark.parametrize("answer, reference, message", [
    ("(da * tanh(c) * o) @ v.T", "(da * tanh(c) * o * (1 - o)) @ v.T", "the factor 1 - o is missing"),
    ("dc_next + da * o * (1 - tanh(c))", "dc_next + da * o * (1 - tanh(c)**2)",
     "the factor tanh(c) ** 2 is missing or wrong; you have tanh(c) instead"),
    ("dc_next + da * (1 - tanh(c)**2)", "dc_next + da * o * (1 - tanh(c)**2)", "the factor o is missing"),
    ("softmax(W_o @ v)", "softmax(W_o @ v + c)", "inside softmax(...): the term c is missing"),
    ("(y_hat_1 - y_1) @ s_1 + (y_hat_2 - y_2) @ s_2", "(y_hat_1 - y_1) @ s_1.T + (y_hat_2 - y_2) @ s_2.T",
     "inner sizes differ"),
    ("sum((y_hat_1 - y_1) @ s_1.T)", "(y_hat_1 - y_1) @ s_1.T", "shape (), expected (2, 4)"),
    ("(y_1 - y_hat_1) @ s_1.T", "(y_hat_1 - y_1) @ s_1.T", "the sign is flipped"),
    ("W_hh**2 @ W_yh.T @ (y_hat_3 - y_3)", "(W_hh.T)**2 @ W_yh.T @ (y_hat_3 - y_3)",
     "W_hh ** 2 is transposed: W_hh.T ** 2 belongs there"),
    ("(y_hat_1 - y_1) * s_1.T", "(y_hat_1 - y_1) @ s_1.T", "did you mean @"),
    ("(y_hat_1 - y_1) @ s_1.T", "(y_hat_1 - y_1) @ s_1.T + (y_hat_2 - y_2) @ s_2.T",
     "the term (y_hat_2 - y_2) @ s_2.T is missing"),
])
def test_planted_mistakes_fail_with_feedback_naming_the_difference(answer, reference, message):
    symbols = {**LSTM, **BPTT}
    result = equivalent(answer, reference, symbols)
    assert not result.equivalent and message in result.message, result.message


def test_unknown_symbols_and_functions_are_named():
    with pytest.raises(ParseError, match="unknown symbol 'q'"):
        parse("q @ v", LSTM)
    with pytest.raises(ParseError, match="unknown symbol 'gelu'"):
        parse("gelu(c)", LSTM)
    with pytest.raises(ParseError, match="'.real' is not allowed"):
        parse("c.real", LSTM)


def test_latex_and_unicode_are_rewritten_to_the_plain_syntax():
    assert to_plain(r"\frac{1}{2} \hat{y}^\top") == "( ( 1 ) / ( 2 ) ) % y_hat.T"  # side by side: by the shapes
    assert to_plain("W_{hh} ⊙ x − 1") == "W_hh * x - 1"


@pytest.mark.parametrize("answer", [
    "outer(outer(W, W), outer(W, W))",                 # 656 billion numbers
    "diag(outer(W, W))",
    "sum(outer(W, W)) * sum(outer(W, W)) * " * 8 + "1",   # each part allowed, together too much work
    "(W**12 @ W**12 @ W**12) + (W**11 @ W**11) - " * 5 + "W",
])
def test_answers_too_large_or_too_slow_to_evaluate_fail_within_their_bounds(answer):
    import resource

    symbols = {"W": [60, 60], "x": [60, 1]}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.process_time()
    result = compare(parse(answer, symbols), parse("W @ x", symbols), symbols)
    assert not result.equivalent
    assert time.process_time() - started < 5
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 200 * 1024  # KiB: no GiB taken


def test_the_work_bound_leaves_every_ordinary_answer_alone():
    symbols = {"W": [8, 8], "U": [8, 4], "x": [4, 1], "h": [8, 1]}
    answer = "(1 - tanh(W @ h + U @ x)**2) * (W @ h) + diag(h) @ W @ h + outer(h, h) @ h"
    assert compare(parse(answer, symbols), parse(answer, symbols), symbols).equivalent


@pytest.mark.parametrize("answer", [r"\mathrm{softmax}(z)", r"\operatorname{softmax}(z)", r"\text{softmax}(z)",
                                    r"$\mathrm{softmax}\left(z\right)$", r"\textrm{softmax}(\mathbf{z})"])
def test_names_in_latex_font_commands_are_the_names(answer):
    symbols = {"z": [3, 1]}
    assert compare(parse(answer, symbols), parse("softmax(z)", symbols), symbols).equivalent


def test_a_function_name_used_as_a_value_is_feedback_not_a_crash():
    symbols = {"z": [3, 1]}
    result = compare(parse("(softmax)(z)", symbols), parse("softmax(z)", symbols), symbols)
    assert not result.equivalent and "'softmax' is a function: write softmax(...)" in result.message


NOTATION = {"z": [3, 1], "x": [3, 1], "h": [3, 1], "W": [3, 3], "y_hat": [3, 1], "y": [3, 1], "a": [], "b": [],
            "c_t": [3, 1], "Gamma_f": [3, 1]}


@pytest.mark.parametrize("answer, reference", [
    (r"\big( a + b \big)", "a + b"), (r"\Big[ a + b \Big] W", "(a + b) * W"), (r"\dfrac{a}{b}", "a / b"),
    (r"\tfrac{a}{b}", "a / b"), (r"\hat y - y", "y_hat - y"), (r"x \otimes h", "outer(x, h)"), ("x ⊗ h", "x @ h.T"),
    (r"\tanh^2(z)", "tanh(z)**2"), (r"1 - \tanh^2(c_t)", "1 - tanh(c_t)**2"), (r"a \quad + \qquad b", "a + b"),
    (r"$$a + b$$", "a + b"), (r"a + b \;", "a + b"), ("Γ_f ⊙ x", "Gamma_f * x"), ("a² + b³", "a**2 + b**3"),
    ("a³ − b", "a**3 - b"), ("√a", "sqrt(a)"), ("√(a + b)", "sqrt(a + b)"), (r"\sigma'(z)", "sigma(z)*(1-sigma(z))"),
    ("σ′(z)", "sigma(z) * (1 - sigma(z))"), (r"\tanh'(c_t)", "1 - tanh(c_t)**2"), (r"\left[ a + b \right]", "a + b"),
    (r"\exp(z) \oslash (W @ z)", "exp(z) / (W @ z)"), ("ŷ − y", "y_hat - y"), ("Wᵀ x", "W.T @ x"),
])
def test_latex_and_unicode_as_students_type_them(answer, reference):
    result = compare(parse(answer, NOTATION), parse(reference, NOTATION), NOTATION)
    assert result.equivalent, result.message


@pytest.mark.parametrize("answer, reference", [
    (r"\tanh^2(z)", "tanh(z)"), (r"\sigma'(z)", "sigma(z)"), (r"\hat y - y", "y - y_hat"), ("x ⊗ h", "x * h"),
    ("a² + b", "a + b"), (r"\tanh'(c_t)", "tanh(c_t)"),
])
def test_the_same_notation_does_not_make_a_wrong_answer_right(answer, reference):
    assert not compare(parse(answer, NOTATION), parse(reference, NOTATION), NOTATION).equivalent


def test_side_by_side_is_decided_by_the_shapes():
    """On paper ``W h`` is a matrix product and ``Γ_o(1 − Γ_o)`` of two vectors is elementwise."""
    symbols = {"G": [3, 1], "W": [3, 3], "h": [3, 1], "a": []}
    for answer, reference in [(r"\Gamma_o(1-\Gamma_o)".replace(r"\Gamma_o", "G"), "G * (1 - G)"), ("W h", "W @ h"),
                              ("2 a W h", "2 * a * (W @ h)"), ("G (1 - G) h^T", "(G * (1 - G)) @ h.T"),
                              ("h^T G", "h.T @ G")]:
        assert compare(parse(answer, symbols), parse(reference, symbols), symbols).equivalent, answer
    assert not compare(parse("G h", symbols), parse("G @ h.T", symbols), symbols).equivalent
    assert "side by side" in compare(parse("W (h h^T h)", {**symbols, "W": [3, 2]}),
                                     parse("h", symbols), {**symbols, "W": [3, 2]}).message


@pytest.mark.parametrize("written, plain", [
    ("c^{<t-1>}", "c_tm1"), ("c^{\\langle t-1 \\rangle}", "c_tm1"), ("c⟨t−1⟩", "c_tm1"), ("c_{t-1}", "c_tm1"),
    ("\\tilde{c}^{<t>}", "c_tilde_t"), ("c̃", "c_tilde"), ("a^{(t)}", "a_t"), ("h_{t+1}", "h_tp1"),
    ("gW_{hh,t}", "gW_hh_t"), ("\\Gamma_o^{<t>}", "Gamma_o_t"),
])
def test_time_steps_and_subscripts_become_names(written, plain):
    assert to_plain(written) == plain


def test_a_superscript_that_is_not_a_time_step_stays_a_power():
    assert to_plain("e^{(s)}").replace(" ", "") == "e**((s))" and to_plain("x^{2}").replace(" ", "") == "x**(2)"


def test_the_questions_own_names_are_aliases_of_the_rubrics_symbols():
    symbols = {"Gamma_f": [4, 1], "c_prev": [4, 1], "Gamma_u": [4, 1], "c_tilde": [4, 1]}
    aliases = {"Gamma_f_t": "Gamma_f", "c_tm1": "c_prev", "Gamma_u_t": "Gamma_u", "c_tilde_t": "c_tilde"}
    reference = parse("Gamma_f * c_prev + Gamma_u * c_tilde", symbols)
    for answer in ("\\Gamma_f^{<t>} \\odot c^{<t-1>} + \\Gamma_u^{<t>} \\odot \\tilde{c}^{<t>}",
                   "Γ_f⟨t⟩ ⊙ c⟨t−1⟩ + Γ_u⟨t⟩ ⊙ c̃⟨t⟩", "\\Gamma_f \\odot c_{t-1} + \\Gamma_u \\odot \\tilde{c}"):
        assert compare(parse(answer, symbols, aliases), reference, symbols).equivalent, answer
    wrong = parse("\\Gamma_f^{<t>} \\odot \\tilde{c}^{<t>} + \\Gamma_u^{<t>} \\odot c^{<t-1>}", symbols, aliases)
    assert not compare(wrong, reference, symbols).equivalent
    with pytest.raises(ParseError, match="unknown symbol 'c_tm1'"):
        parse("\\Gamma_f c^{<t-1>}", symbols)  # without the rubric's notation the name is unknown, not guessed


@pytest.mark.parametrize("answer, reference", [
    ("\\sum_{t=1}^{3} g_{t}", "g_1 + g_2 + g_3"),
    ("\\sum_{t=1}^{t=3} g_t", "g_1 + g_2 + g_3"),
    ("\\sum^{3}_{t=1} g_t", "g_1 + g_2 + g_3"),
    ("∑_{t=1}^{3} g_t", "g_1 + g_2 + g_3"),
    ("\\sum_{k=0}^{2} (W_{hh}^T)^{k} W_{yh}^T (\\hat{y}_3 - y_3) h_{2-k}^T",
     "W_yh.T @ (y_hat_3 - y_3) @ h_2.T + W_hh.T @ W_yh.T @ (y_hat_3 - y_3) @ h_1.T"
     " + (W_hh.T)**2 @ W_yh.T @ (y_hat_3 - y_3) @ h_0.T"),
    ("\\prod_{k=1}^{2} W_{hh}", "W_hh @ W_hh"),
    ("\\sum_{t=1}^{2} g_t + g_3", "g_1 + g_2 + g_3"),
])
def test_sums_and_products_with_number_bounds_are_written_out(answer, reference):
    symbols = {**{f"g_{t}": [4, 4] for t in (1, 2, 3)}, **{f"h_{t}": [4, 1] for t in (0, 1, 2)},
               "W_hh": [4, 4], "W_yh": [2, 4], "y_hat_3": [2, 1], "y_3": [2, 1]}
    assert compare(parse(answer, symbols), parse(reference, symbols), symbols).equivalent


def test_a_sum_whose_bounds_are_not_numbers_is_refused_with_how_to_write_it():
    with pytest.raises(ParseError, match="number bounds"):
        parse("\\sum_t g_t", {"g_t": [4, 4]})
    with pytest.raises(ParseError, match="too many"):
        parse("\\sum_{t=1}^{999} g", {"g": []})


@pytest.mark.parametrize("answer, reference", [
    ("\\tanh c", "tanh(c)"), ("1 - \\tanh^2 c", "1 - tanh(c)**2"), ("\\sum \\exp(c)", "sum(exp(c))"),
    ("\\sigma \\tanh c", "sigma(tanh(c))"), ("\\log \\hat y", "log(y_hat)"),
])
def test_a_function_written_without_parentheses_takes_what_follows(answer, reference):
    symbols = {"c": [4, 1], "y_hat": [4, 1]}
    assert compare(parse(answer, symbols), parse(reference, symbols), symbols).equivalent


def test_a_constraint_draws_the_symbol_from_its_set():
    symbols = {"y_hat": [3, 1], "y": [3, 1]}
    constraints = {"y": "one_hot", "y_hat": "probability"}
    through_softmax = parse("(diag(y_hat) - y_hat @ y_hat.T) @ (-y / y_hat)", symbols)
    reference = parse("y_hat - y", symbols)
    assert compare(through_softmax, reference, symbols, constraints=constraints).equivalent
    assert not compare(through_softmax, reference, symbols).equivalent  # true only because y sums to one
    assert not compare(parse("y - y_hat", symbols), reference, symbols, constraints=constraints).equivalent
    assert not compare(parse("y_hat", symbols), reference, symbols, constraints=constraints).equivalent


def test_a_column_of_blocks_is_one_vector_on_top_of_the_other():
    symbols = {"W": [4, 7], "a": [4, 1], "x": [3, 1]}
    reference = parse("W @ stack(a, x)", symbols)
    for answer in ("W [a; x]", "W \\begin{bmatrix} a \\\\ x \\end{bmatrix}", "W \\left[ a ; x \\right]"):
        assert compare(parse(answer, symbols), reference, symbols).equivalent, answer
    assert not compare(parse("W [x; a]", {**symbols, "W": [4, 7]}), reference, symbols).equivalent
    # the question's name for the block vector is an alias of the rubric's symbol
    ax = {"W": [4, 7], "ax": [7, 1]}
    aliases = {to_plain("[a^{<t-1>}; x^{<t>}]"): "ax"}
    assert parse("\\sigma(W [a^{<t-1>}; x^{<t>}])", ax, aliases).text == "sigma ( W ax )"
