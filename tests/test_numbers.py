"""Numbers as students write them: every ordinary way of writing a number is read exactly, and whatever
cannot be read exactly is refused with the reason, never read as another number."""
import numpy as np
import pytest

from grader.theory.expressions import ParseError
from grader.theory.numbers import read

SCALAR = set()        # the answer is one number
VECTOR3 = {3}         # the answer is a vector of three

WRITTEN = [
    # thousands, every separator
    ("28,348,416", 28348416), ("28 348 416", 28348416), ("28\u2009348\u2009416", 28348416),
    ("28\u202f348\u202f416", 28348416), ("28\u00a0348\u00a0416", 28348416), ("28٬348٬416", 28348416),
    ("28،348،416", 28348416), ("28{,}348{,}416", 28348416), ("$28{,}348{,}416$", 28348416),
    ("28'348'416", 28348416), ("2,362,368.5", 2362368.5),
    # Persian and Arabic digits, the Persian decimal sign
    ("۲۸٬۳۴۸٬۴۱۶", 28348416), ("٢٨٣٤٨٤١٦", 28348416), ("۱۲٫۵", 12.5), ("−۵", -5),
    # units, words, labels, approximations, scales
    ("28,348,416 parameters", 28348416), ("۲۸٬۳۴۸٬۴۱۶ پارامتر", 28348416), ("Answer: 7,091,712", 7091712),
    ("پاسخ: ۷۰۹۱۷۱۲", 7091712), ("≈ 132.6M", 132.6e6), ("\\approx 2.4 million", 2.4e6), ("۲٫۴ میلیون", 2.4e6),
    ("1.33e8", 1.33e8), ("12K", 12000), ("total = 2,359,296", 2359296), ("2,359,296.", 2359296),
    # arithmetic with separators and paper notation
    ("12 × 2,362,368", 28348416), ("12 \\times 2{,}362{,}368", 28348416), ("12 x 2,362,368", 28348416),
    ("4*768*768 + 4*768", 2362368), ("4 · 768²".replace("²", "**2"), 2359296), ("2^{10}", 1024),
    ("sin(1)", np.sin(1)), ("\\frac{1}{4}", 0.25),
]

VECTORS = [
    ("[6, 1, 2]", [6, 1, 2]), ("[6; 1; 2]", [6, 1, 2]), ("[6, 1, 2]^T", [6, 1, 2]), ("[6, 1, 2]^\\top", [6, 1, 2]),
    ("[6 , 1 , 2]ᵀ", [6, 1, 2]), ("6\n1\n2", [6, 1, 2]), ("[[6], [1], [2]]", [6, 1, 2]), ("(6, 1, 2)", [6, 1, 2]),
    ("6, 1, 2", [6, 1, 2]), ("[۶، ۱، ۲]", [6, 1, 2]), ("[sin(1), 0, -1]", [np.sin(1), 0, -1]),
    ("[100,200,300]", [100, 200, 300]),   # a vector is expected: the commas separate
    ("\\begin{bmatrix} 6 \\\\ 1 \\\\ 2 \\end{bmatrix}", [6, 1, 2]),
    ("$$\\begin{pmatrix} 6 & 1 & 2 \\end{pmatrix}^T$$", [6, 1, 2]),
    ("o = \\begin{bmatrix}\n6 \\\\\n1 \\\\\n2\n\\end{bmatrix}", [6, 1, 2]),
]

REFUSED = [
    ("2 3", "side by side"), ("28 348 41", "side by side"), ("1,5", "one is expected"), ("1,23,456", "thousands mark"),
    ("1.234.567", "cannot read"), ("12,34", "one is expected"), ("3 parameters and 2 biases", "cannot read"),
    ("", "no"),
]


@pytest.mark.parametrize("text, value", WRITTEN)
def test_a_number_written_any_ordinary_way_is_read_exactly(text, value):
    assert float(read(text, {}, SCALAR)) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text, value", VECTORS)
def test_a_vector_written_any_ordinary_way_is_read_exactly(text, value):
    assert read(text, {}, VECTOR3).tolist() == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text, reason", REFUSED)
def test_what_cannot_be_read_exactly_is_refused_with_the_reason(text, reason):
    with pytest.raises(ParseError) as refused:
        read(text, {}, SCALAR)
    assert reason in str(refused.value)


def test_a_number_is_never_read_as_another_number():
    """Every way of writing a number, with its separators misplaced or doubled, is read as that number or
    refused: the misread ``28 348 416`` → 28·348·416 of before cannot come back."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        value = int(rng.integers(1000, 10**9))
        digits = str(value)
        for separator in (",", " ", "\u2009", "٬", "،", "'"):
            grouped = f"{value:,}".replace(",", separator)
            assert float(read(grouped, {}, SCALAR)) == value
            for cut in range(1, len(digits)):        # a separator anywhere else
                broken = digits[:cut] + separator + digits[cut:]
                try:
                    read_back = float(read(broken, {}, SCALAR))
                except ParseError:
                    continue
                assert read_back == value, (broken, read_back)


def test_a_letter_is_a_scale_only_when_attached_and_no_symbol():
    assert float(read("132.6M", {}, SCALAR)) == 132.6e6 and float(read("2 million", {}, SCALAR)) == 2e6
    assert float(read("2 b", {"b": 3.0}, SCALAR)) == 6.0                 # the symbol b, not a billion
    assert float(read("2b", {"b": 3.0}, SCALAR)) == 6.0
    with pytest.raises(ParseError):
        read("2 M", {}, SCALAR)                                             # detached: not a scale, not a symbol


VECTOR6 = {6}


@pytest.mark.parametrize("text, lengths, value", [
    # a scalar times a list scales every entry (it once scaled the first and dropped the dot)
    ("0.5 \\cdot [-2, -1, 0]", VECTOR3, [-1, -0.5, 0]), ("0.5 · [-2, -1, 0]", VECTOR3, [-1, -0.5, 0]),
    ("[-2, -1, 0] * 0.5", VECTOR3, [-1, -0.5, 0]), ("[-2, -1, 0] / 2", VECTOR3, [-1, -0.5, 0]),
    ("2 [1, 0, 3]".replace(" [", " * ["), VECTOR3, [2, 0, 6]), ("-[1, 2, 3]", VECTOR3, [-1, -2, -3]),
    ("−[1, 2, 3]", VECTOR3, [-1, -2, -3]),
    # a value and its rounding: the precise side, never their product
    ("132,616,752 ≈ 132.6M", SCALAR, 132616752), ("132,616,752 \\approx 132.6M", SCALAR, 132616752),
    ("132.6M ≈ 132,616,752", SCALAR, 132616752), ("params = 132,616,752 ≈ 132.6 million", SCALAR, 132616752),
    # one assignment a line, together the vector asked for: no line is dropped
    ("PE(0) = [0, 1]\nPE(1) = [0.84, 0.54]\nPE(2) = [0.91, -0.42]", VECTOR6, [0, 1, 0.84, 0.54, 0.91, -0.42]),
    ("PE_0 = (0, 1)\nPE_1 = (0.84, 0.54)\nPE_2 = (0.91, -0.42)", VECTOR6, [0, 1, 0.84, 0.54, 0.91, -0.42]),
    # a derivation, one assignment a line: its last line answers
    ("per head = 768 * 64 = 49,152\ntotal = 4 * 49,152 = 196,608", SCALAR, 196608),
])
def test_what_was_once_misread_is_read_as_written(text, lengths, value):
    assert np.allclose(read(text, {}, lengths), value)


@pytest.mark.parametrize("text, lengths, reason", [
    ("132,616,752 ≈ 150M", SCALAR, "not one value rounded"),
    ("[1, 2, 3] + [3, 4, 5]", VECTOR3, "operation on a list"),
    ("2 * [1, 2, 3] + 1", VECTOR3, "operation on a list"),
])
def test_an_operation_the_reader_does_not_know_is_refused_not_guessed(text, lengths, reason):
    with pytest.raises(ParseError, match=reason):
        read(text, {}, lengths)


def test_a_shape_with_a_power_is_refused_not_read_as_one_size():
    from grader.checks.shape import read_shape

    for text in ("32 \\times 4 \\times 2048^2", "(32, 4, 2048**2)", "32 × 4 × 2048²"):
        with pytest.raises(ParseError, match="power"):
            read_shape(text, {})
    assert read_shape("32 \\times 4 \\times 2048 \\times 2048", {}) == (32, 4, 2048, 2048)


def written_forms(value: float, rng) -> list[str]:
    """Ordinary ways of writing ``value`` (a whole number or one with up to three decimals)."""
    plain = f"{value:.3f}".rstrip("0").rstrip(".")
    forms = [plain, f"${plain}$", f"Answer: {plain}", f"x = {plain}", f"{plain} parameters", f"≈ {plain}",
             f"{plain} ≈ {plain}", plain.translate(str.maketrans("0123456789.", "۰۱۲۳۴۵۶۷۸۹٫"))]
    if float(value).is_integer() and value >= 1000:
        forms += [f"{int(value):,}", f"{int(value):,}".replace(",", " "), f"{int(value):,}".replace(",", "{,}"),
                  f"{int(value):,} ≈ {value / 1e6:.1f}M"]
    factor = int(rng.integers(2, 9))
    if float(value).is_integer() and int(value) % factor == 0:
        forms += [f"{factor} × {int(value) // factor}", f"{factor} \\times {int(value) // factor:,}"]
    return forms


def test_random_values_in_every_notation_are_read_as_themselves_or_refused():
    """The reader's promise: whatever it accepts, it reads as the value written."""
    rng = np.random.default_rng(7)
    for _ in range(200):
        value = float(rng.integers(0, 10**8)) if rng.random() < 0.7 else round(float(rng.uniform(-50, 50)), 3)
        for text in written_forms(value, rng):
            try:
                read_back = read(text, {}, SCALAR)
            except ParseError:
                continue
            assert np.isclose(float(read_back), value, rtol=0, atol=1e-9), (text, float(read_back), value)
        vector = [round(float(x), 2) for x in rng.uniform(-5, 5, 3)]
        scale = int(rng.integers(2, 5))
        listed = ", ".join(f"{x:g}" for x in vector)
        for text, expected in ((f"[{listed}]", vector), (f"{scale} \\cdot [{listed}]", [scale * x for x in vector]),
                               (f"[{listed}] / {scale}", [x / scale for x in vector]),
                               ("\\begin{bmatrix} " + " \\\\ ".join(f"{x:g}" for x in vector) + " \\end{bmatrix}",
                                vector)):
            try:
                read_back = read(text, {}, VECTOR3)
            except ParseError:
                continue
            assert np.allclose(read_back, expected, rtol=0, atol=1e-9), (text, read_back, expected)
