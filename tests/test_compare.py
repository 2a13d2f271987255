import numpy as np
import pytest

from grader.checks.compare import Tolerance, first_difference, summary

TOL = Tolerance(rtol=1e-6, atol=1e-9)


def test_equal_structures_have_no_difference():
    value = (np.ones((2, 3)), {"dW": np.zeros(4), "n": 3}, [1.5, np.float64(2.0)])
    assert first_difference(value, value, TOL) is None


def test_values_within_tolerance_pass_and_outside_fail_with_location_and_size():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert first_difference(expected, expected * (1 + 1e-8), TOL) is None
    wrong = expected.copy()
    wrong[1, 0] = 3.5
    difference = first_difference(expected, wrong, TOL)
    assert difference.max_abs_error == 0.5
    assert "1 of 4 values wrong" in difference.message and "[1, 0]" in difference.message
    assert "expected 3" in difference.message and "got 3.5" in difference.message


def test_shape_mismatch_names_both_shapes():
    difference = first_difference(np.zeros((5, 1)), np.zeros(5), TOL)
    assert difference.message == "expected shape (5, 1), got (5,)"


def test_missing_and_wrong_keys_are_named_with_the_path():
    expected = {"dxt": np.ones(2), "dWf": np.ones((2, 2))}
    assert "missing key 'dWf'" in first_difference(expected, {"dxt": np.ones(2)}, TOL).message
    difference = first_difference(expected, {"dxt": np.ones(2), "dWf": np.zeros((2, 2))}, TOL)
    assert difference.path == "dWf"


def test_summary_lists_every_wrong_output():
    expected = {"a": np.ones(2), "b": np.ones(2), "c": np.ones(2)}
    text = summary(expected, {"a": np.zeros(2), "b": np.ones(2), "c": np.zeros(2)}, TOL)
    assert text.startswith("a: ") and text.endswith("(also wrong: c)")


def test_nan_and_wrong_types_are_reported_not_raised():
    assert "nan" in first_difference(np.ones(3), np.array([1.0, np.nan, 1.0]), TOL).message
    assert "got None" in first_difference(np.ones(3), None, TOL).message
    assert "got a str" in first_difference(np.ones(3), "ones", TOL).message
    assert "expected 2 values, got 3" in first_difference((1, 2), (1, 2, 3), TOL).message
    assert "got a dict" in first_difference((np.ones(1),), {"a": 1}, TOL).message


def test_integer_results_compare_by_value():
    assert first_difference(np.array([1.0, 2.0]), np.array([1, 2]), TOL) is None
    assert first_difference(np.float64(3.0), 3, TOL) is None


def test_booleans_are_not_accepted_for_floats():
    assert "got dtype bool" in first_difference(np.ones(2), np.array([True, True]), TOL).message


@pytest.mark.parametrize("seed", range(20))
def test_the_verdict_on_each_value_is_numpys_isclose(seed):
    rng = np.random.default_rng(seed)
    expected = rng.normal(size=(4, 5)) * 10.0 ** rng.integers(-9, 9, size=(4, 5))
    expected[0, 0] = 0.0
    tolerance = Tolerance(rtol=10.0 ** -rng.integers(2, 8), atol=10.0 ** -rng.integers(4, 12))
    # errors at and around the tolerance's edge, of both signs, as complex values too
    edge = tolerance.atol + tolerance.rtol * np.abs(expected)
    actual = expected + edge * rng.choice([-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5], size=expected.shape)
    for wanted, got in ((expected, actual), (expected * (1 + 1j), actual * (1 + 1j))):
        close = np.isclose(got, wanted, rtol=tolerance.rtol, atol=tolerance.atol)
        found = first_difference(wanted, got, tolerance)
        if close.all():
            assert found is None
        else:
            assert found.message.startswith(f"{int((~close).sum())} of 20 values wrong")
