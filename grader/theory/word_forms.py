"""Math pasted from Word's or Google Docs' equation editor, as plain text: the first stage of reading an
expression, before LaTeX and the plain syntax.

    𝑊ℎℎ𝑎                     mathematical italic letters           →  Whha
    tanh⁡(𝑥)                  the invisible function application    →  tanh (x)
    𝑎〈𝑡〉  a⟨t⟩                 angle brackets of a time step          →  a⟨t⟩
    ŷₜ  ∑ₜ₌₁³  x⁽ᵗ⁾  a²         Unicode sub- and superscripts          →  ŷ_{t}  ∑_{t=1}^{3}  x^{(t)}  a^{2}

A subscript flattened into the name (``Whh``, ``ŷt``, ``y3``) is read later, against the question's
symbols (``expressions._juxtaposed``).  Pure text work, linear in the answer's length.
"""
from __future__ import annotations

import re
import unicodedata

SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢᵣᵤᵥⱼ", "0123456789+-=()aeoxhklmnpstiruvj"))
SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱᵗ", "0123456789+-=()nit"))
INVISIBLE = {"\u2061": " ", "\u2062": " ", "\u2063": ",", "\u2064": "+", "\u200b": "", "\u2060": ""}
ANGLES = str.maketrans({"〈": "⟨", "〉": "⟩", "\u2329": "⟨", "\u232a": "⟩"})
SUBSCRIPT_RUN = re.compile("[" + "".join(SUBSCRIPTS) + "]+")
SUPERSCRIPT_RUN = re.compile("[" + "".join(SUPERSCRIPTS) + "]+")


def plain_letters(text: str) -> str:
    """Mathematical alphanumeric symbols (U+1D400–U+1D7FF, and ℎ, Planck's italic h) as the letters and
    digits they are; nothing else is folded (² and ᵀ keep their meaning)."""
    return "".join(unicodedata.normalize("NFKC", char) if "\U0001d400" <= char <= "\U0001d7ff" or char == "ℎ"
                   else char for char in text)


def from_word(text: str) -> str:
    for invisible, replacement in INVISIBLE.items():
        text = text.replace(invisible, replacement)
    text = plain_letters(text).translate(ANGLES)
    text = SUBSCRIPT_RUN.sub(lambda m: "_{" + "".join(SUBSCRIPTS[c] for c in m.group(0)) + "}", text)
    return SUPERSCRIPT_RUN.sub(lambda m: _superscript("".join(SUPERSCRIPTS[c] for c in m.group(0))), text)


def _superscript(written: str) -> str:
    """x⁽ᵗ⁾ is the time step (t), as ``x^{(t)}`` says it; a²  is a power."""
    return "^{" + written + "}"
