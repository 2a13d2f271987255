"""Math pasted from Word's or Google Docs' equation editor as text (issue 33): mathematical italic
letters, the invisible function application, angle-bracket time steps, Unicode sub- and superscripts and
subscripts flattened into the name are read as the question's symbols; a flattened name that could be
read two ways is left unknown, never guessed."""
import pytest

from grader.theory.answers import after_equals
from grader.theory.expressions import ParseError, compare, parse
from grader.theory.word_forms import from_word

# hw3's LSTM and hw5's RNN names
SYMBOLS = {"W_hh": [4, 4], "W_yh": [2, 4], "h_t": [4, 1], "y_hat_t": [2, 1], "y_t": [2, 1], "y_hat_3": [2, 1],
           "y_3": [2, 1], "Gamma_o_t": [4, 1], "c_t": [4, 1], "x_t": [4, 1], "gW_1": [4, 4], "gW_2": [4, 4],
           "gW_3": [4, 4]}


def equivalent(answer: str, reference: str) -> bool:
    return compare(parse(after_equals(answer), SYMBOLS), parse(reference, SYMBOLS), SYMBOLS).equivalent


@pytest.mark.parametrize("answer, reference", [
    ("𝑦̂ₜ − 𝑦ₜ".replace("𝑦̂", "ŷ"), "y_hat_t - y_t"),                # italic letters, subscript t
    ("ŷt − yt", "y_hat_t - y_t"),                                       # the subscript flattened
    ("𝑊ℎℎᵀ ℎ〈𝑡〉", "W_hh.T @ h_t"),                                    # Word's italics, 〈t〉, ᵀ
    ("Whhᵀ h⟨t⟩", "W_hh.T @ h_t"),
    ("Γo⟨t⟩ ⊙ tanh\u2061(c⟨t⟩)", "Gamma_o_t * tanh(c_t)"),             # the function application mark
    ("Γₒ⁽ᵗ⁾ ∘ tanh(c⁽ᵗ⁾)".replace("Γₒ", "Γo"), "Gamma_o_t * tanh(c_t)"),  # x⁽ᵗ⁾: the time step
    ("∑ₜ₌₁³ gWₜ", "gW_1 + gW_2 + gW_3"),                                 # a sum in sub- and superscripts
    ("(Whhᵀ)² Wyhᵀ (ŷ3 − y3)", "W_hh.T @ W_hh.T @ W_yh.T @ (y_hat_3 - y_3)"),
    ("tanh²(c⟨t⟩)", "tanh(c_t)**2"),
])
def test_word_and_docs_equations_pasted_as_text_are_read(answer, reference):
    assert equivalent(answer, reference), (answer, parse(answer, SYMBOLS).text)


@pytest.mark.parametrize("answer, reference", [
    ("ŷt + yt", "y_hat_t - y_t"),                         # a sign
    ("Whh h⟨t⟩", "W_hh.T @ h_t"),                         # the transpose missing
    ("∑ₜ₌₁² gWₜ", "gW_1 + gW_2 + gW_3"),                  # one step short
])
def test_close_wrong_pasted_answers_earn_nothing(answer, reference):
    assert not equivalent(answer, reference)


def test_a_flattened_name_that_reads_two_ways_is_unknown_not_guessed():
    symbols = {"a_b": [2, 1], "a": [], "b": [2, 1]}      # ab: the symbol a_b, or a times b?
    with pytest.raises(ParseError, match="unknown symbol 'ab'"):
        parse("ab", symbols)
    assert parse("a b", symbols).text == "a b"   # written apart: the product, as on paper
    assert parse("a_b", symbols).text == "a_b"


def test_the_stage_itself():
    assert from_word("𝑊ℎℎ") == "Whh"
    assert from_word("tanh\u2061(x)") == "tanh (x)"
    assert from_word("a〈t〉") == "a⟨t⟩"
    assert from_word("∑ₜ₌₁³") == "∑_{t=1}^{3}"
    assert from_word("Wᵀ") == "Wᵀ"  # the transpose keeps its meaning
