"""Answers written as code (issue 33, "code as math"): numpy and PyTorch calls for a gradient, and the
values numpy and PyTorch print, earn full marks when right; a close wrong one (a missing transpose, the
wrong axis) earns nothing; vocabulary outside the whitelist is refused with the reason, never guessed;
hostile code is still a parse error."""
import numpy as np
import pytest

from grader.checks.shape import read_shape
from grader.theory.answers import after_equals
from grader.theory.expressions import ParseError, compare, parse
from grader.theory.numbers import read

# an RNN output layer: y_hat = softmax(W_y a + b_y), dz = y_hat - y; a batch of m = 5 columns
SYMBOLS = {"W_y": [3, 4], "a": [4, 5], "dz": [3, 5], "W": [4, 4], "x": [4, 1], "h": [4, 1], "z": [3, 1]}


def equivalent(answer: str, reference: str) -> bool:
    return compare(parse(after_equals(answer), SYMBOLS), parse(reference, SYMBOLS), SYMBOLS).equivalent


@pytest.mark.parametrize("answer, reference", [
    ("dW_y = np.dot(dz, a.T)", "dz @ a.T"),
    ("dW_y = dz @ a.T", "dz @ a.T"),
    ("torch.matmul(dz, a.T)", "dz @ a.T"),
    ("dz.dot(a.T)", "dz @ a.T"),
    ("np.dot(W_y.T, dz)", "W_y.T @ dz"),
    ("W_y.T.dot(dz)", "W_y.T @ dz"),
    ("np.matmul(W_y.transpose(), dz)", "W_y.T @ dz"),
    ("db_y = np.sum(dz, axis=1, keepdims=True)", "rowsum(dz)"),
    ("dz.sum(axis=1, keepdims=True)", "rowsum(dz)"),
    ("torch.sum(dz, dim=1, keepdim=True)", "rowsum(dz)"),
    ("np.outer(x, h)", "x @ h.T"),
    ("torch.outer(x, h)", "x @ h.T"),
    ("np.einsum('i,j->ij', x, h)", "x @ h.T"),
    ("np.multiply(1 - np.tanh(x)**2, h)", "(1 - tanh(x)**2) * h"),
    ("np.square(np.tanh(x))", "tanh(x)**2"),
    ("np.linalg.matrix_power(W.T, 2) @ x", "W.T @ W.T @ x"),
    ("torch.sigmoid(x) * (1 - torch.sigmoid(x))", "dsigma(x)"),
    ("F.softmax(z, dim=0)", "softmax(z)"),
    ("np.exp(z) / np.sum(np.exp(z))", "softmax(z)"),
])
def test_code_for_the_right_math_earns_it(answer, reference):
    assert equivalent(answer, reference), answer


@pytest.mark.parametrize("answer, reference", [
    ("np.dot(dz, a)".replace("a)", "a.T).T"), "dz @ a.T"),           # transposed result
    ("np.dot(W_y, dz)".replace("W_y,", "W_y.T,").replace("dz)", "dz).T"), "W_y.T @ dz"),
    ("np.sum(dz, axis=0, keepdims=True)", "rowsum(dz)"),              # the wrong axis
    ("np.outer(h, x)", "x @ h.T"),                                    # the operands swapped
    ("np.multiply(np.tanh(x)**2, h)", "(1 - tanh(x)**2) * h"),        # the derivative's 1 - dropped
])
def test_close_wrong_code_earns_nothing(answer, reference):
    try:
        assert not equivalent(answer, reference), answer
    except ParseError:
        pass  # a shape that cannot be (a transposed result of the wrong size) is no credit either


@pytest.mark.parametrize("answer, reason", [
    ("np.random.randn(3, 5)", "is not allowed"),
    ("np.einsum('ijk->k', a)", "einsum"),
    ("np.sum(dz, axis=2)", "axis 2"),
    ("np.tensordot(W, x)", "not part of the answer syntax"),
    ("np.dot(W, x, out=x)", "keyword"),
    ("F.softmax(z, dim=1)", "another axis"),
    ("np.dot(W, x", "never closed"),
    ("__import__('os').system('id')", "not a number the answer may use"),
    ("np.dot(W, x).__class__", "is not allowed"),
])
def test_code_outside_the_vocabulary_is_refused_with_the_reason(answer, reason):
    with pytest.raises(ParseError, match=reason):
        parse(after_equals(answer), SYMBOLS)


@pytest.mark.parametrize("text, value", [
    ("array([6., 1., 2.])", [6, 1, 2]), ("tensor([6., 1., 2.])", [6, 1, 2]), ("np.array([6, 1, 2])", [6, 1, 2]),
    ("[6 1 2]", [6, 1, 2]), ("[6. 1. 2.]", [6, 1, 2]), ("[ 0.5 -1.   2. ]", [0.5, -1, 2]),
    ("[[6.]\n [1.]\n [2.]]", [6, 1, 2]), ("output = array([6, 1, 2])", [6, 1, 2]),
])
def test_printed_values_are_read_as_the_vector_printed(text, value):
    assert np.allclose(read(text, {}, {3}), value)


def test_a_printed_list_of_one_number_still_groups_thousands():
    assert float(read("[28 348 416]", {}, set())) == 28348416  # one number asked: no vector in it
    with pytest.raises(ParseError):
        read("[6 1 2]", {}, set())


def test_torch_size_is_a_shape():
    assert read_shape("torch.Size([32, 2048, 768])", {}) == (32, 2048, 768)
    assert read_shape("x.shape = torch.Size([32, 4, 2048, 2048])", {}) == (32, 4, 2048, 2048)
