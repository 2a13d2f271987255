"""Pure comparison of an expected value with a student's, for structures of arrays and scalars.

``first_difference`` walks both structures in step and describes the first place they differ, in
words a student can act on: which output, what shape was expected, how large the error is and where.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    rtol: float = 1e-5
    atol: float = 1e-8
    size1_axes: bool = False  # accept a shape that differs only by axes of size 1, and say so


@dataclass(frozen=True)
class Difference:
    path: str
    message: str
    max_abs_error: float | None = None
    max_rel_error: float | None = None

    def describe(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.ndarray, np.generic)) and not isinstance(value, bool)


def differences(expected: Any, actual: Any, tolerance: Tolerance, path: str = "") -> Iterator[Difference]:
    """Every place where ``actual`` differs from ``expected``, in order; a structural mismatch stops the
    walk below it."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(actual, (tuple, list)):
            yield Difference(path, f"expected a sequence of {len(expected)} values, got {_kind(actual)}")
        elif len(actual) != len(expected):
            yield Difference(path, f"expected {len(expected)} values, got {len(actual)}")
        else:
            for index, (e, a) in enumerate(zip(expected, actual)):
                yield from differences(e, a, tolerance, f"{path}[{index}]")
    elif isinstance(expected, dict):
        if not isinstance(actual, dict):
            yield Difference(path, f"expected a dict with keys {sorted(expected)}, got {_kind(actual)}")
            return
        missing = [key for key in expected if key not in actual]
        if missing:
            yield Difference(path, f"missing key{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))}")
        for key in expected:
            if key in actual:
                yield from differences(expected[key], actual[key], tolerance, f"{path}[{key!r}]" if path else str(key))
    elif _is_number(expected):
        difference = _array_difference(np.asarray(expected), actual, tolerance, path)
        if difference:
            yield difference
    elif expected != actual:
        yield Difference(path, f"expected {expected!r}, got {_short(actual)}")


def first_difference(expected: Any, actual: Any, tolerance: Tolerance) -> Difference | None:
    return next(differences(expected, actual, tolerance), None)


def summary(expected: Any, actual: Any, tolerance: Tolerance) -> str | None:
    """The first difference in full, followed by the names of the other wrong outputs; None if equal."""
    found = list(differences(expected, actual, tolerance))
    if not found:
        return None
    others = [d.path for d in found[1:] if d.path]
    also = f" (also wrong: {', '.join(others)})" if others else ""
    return found[0].describe() + also


def without_size1_axes(expected: Any, actual: Any, path: str = "") -> tuple[Any, list[str]]:
    """``actual`` with every array whose shape differs from the expected one only by axes of size 1
    reshaped to the expected shape (``(1, H)`` for ``(H,)``), and a note for each: a course may accept
    these shapes, and the student should still hear that theirs differs."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        pairs = [(key, without_size1_axes(expected[key], actual[key], f"{path}[{key!r}]" if path else str(key)))
                 if key in expected else (key, (actual[key], [])) for key in actual]
        return {key: value for key, (value, _) in pairs}, [note for _, (_, notes) in pairs for note in notes]
    if isinstance(expected, (tuple, list)) and isinstance(actual, (tuple, list)) and len(expected) == len(actual):
        pairs = [without_size1_axes(e, a, f"{path}[{i}]") for i, (e, a) in enumerate(zip(expected, actual))]
        return type(actual)(value for value, _ in pairs), [note for _, notes in pairs for note in notes]
    if _is_number(expected) and _is_number(actual):
        wanted, got = np.shape(expected), np.shape(actual)
        if wanted != got and [n for n in wanted if n != 1] == [n for n in got if n != 1]:
            where = f"{path}: " if path else ""
            return np.reshape(actual, wanted), [f"{where}shape {tuple(got)} accepted for {tuple(wanted)}"]
    return actual, []


def _array_difference(expected: np.ndarray, actual: Any, tolerance: Tolerance, path: str) -> Difference | None:
    if not _is_number(actual):
        return Difference(path, f"expected an array of shape {tuple(expected.shape)}, got {_kind(actual)}")
    actual = np.asarray(actual)
    if actual.shape != expected.shape:
        return Difference(path, f"expected shape {tuple(expected.shape)}, got {tuple(actual.shape)}")
    if actual.dtype.kind == "c" and expected.dtype.kind != "c":
        return Difference(path, f"expected real values, got dtype {actual.dtype}")
    if actual.dtype.kind == "b" and expected.dtype.kind in "fc":
        return Difference(path, f"expected floating-point values, got dtype {actual.dtype}")
    actual = actual.astype(np.result_type(actual.dtype, np.float64), copy=False)
    expected = expected.astype(np.float64, copy=False) if expected.dtype.kind != "c" else expected
    finite = np.isfinite(actual)
    expected_finite = bool(np.isfinite(expected).all())
    if expected_finite and not finite.all():
        where = tuple(int(i) for i in np.argwhere(~finite)[0])
        return Difference(path, f"contains {actual[where]} at index {list(where)} where a finite value is expected")
    if expected_finite:  # and so is actual: isclose's own test, without its care for infinities and NaN (most of its cost)
        close = np.abs(actual - expected) <= tolerance.atol + tolerance.rtol * np.abs(expected)
    else:
        close = np.isclose(actual, expected, rtol=tolerance.rtol, atol=tolerance.atol, equal_nan=True)
    if close.all():
        return None
    error = np.abs(actual - expected)
    error = np.where(np.isnan(error), np.inf, error)
    worst = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
    max_abs = float(error[worst]) if error.ndim else float(error)
    scale = np.abs(expected)
    rel = np.divide(error, scale, out=np.full(error.shape, np.inf), where=scale > 0)
    max_rel = float(np.max(rel)) if rel.size else 0.0
    wrong = int((~close).sum())
    at = f" at index {[int(i) for i in worst]}" if worst else ""
    message = (f"{wrong} of {close.size} values wrong; max abs error {max_abs:.3g}{at} "
               f"(expected {_format(expected[worst])}, got {_format(actual[worst])}), max rel error {max_rel:.3g}")
    return Difference(path, message, max_abs, max_rel)


def _format(value: Any) -> str:
    return f"{complex(value):.6g}" if np.iscomplexobj(value) else f"{float(value):.6g}"


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
