"""The math in a sentence: a student who writes «گرادیان نسبت به W_y برابر (ŷ − y) a_tᵀ است», "The whole
model has 45,213,184 parameters" or "(ŷ − y) a_tᵀ, because dL/dz = ŷ − y" has answered with the formula
or the number in it.  A stage before reading, used only when the answer as written cannot be read.

The formula is the math after the sentence's last "is", "=", "equals", "برابر" … (up to the next prose
word), or the only math in the sentence; an explanation after "because", "since", "زیرا", "چون" … is
cut first.  A sentence with several formulas and nothing saying which one answers gives None: it is
left to the reader's refusal, never guessed.
"""
from __future__ import annotations

import re

MAX_SENTENCE = 2000  # characters: a sentence longer than this is no answer to look inside
EXPLANATION = re.compile(r"[,،;]?\s+(?:because|since|as|where|so that|which|زیرا|چون|چرا\s*که|به\s*این\s*دلیل)\s",
                         re.I)
# what says "the answer is": the formula after the last of them answers
COPULA = {"=", ":", "is", "are", "equals", "gives", "becomes", "be", "has", "have", "برابر", "برابرست", "میشود",
          "می\u200cشود", "شود", "داریم", "دارد", "→"}
# short English words that are prose, never a symbol's name
SHORT_WORDS = {"is", "are", "be", "of", "to", "as", "by", "in", "it", "so", "at", "on", "an", "or", "we", "the",
               "and", "has", "its", "for", "with", "get", "our", "this", "that", "then", "thus", "hence"}
ARABIC_LETTERS = "\u0600-\u065f\u066e-\u06ef\u06fa-\u06ff\u200c"  # Arabic script without its digits and separators
TOKEN = re.compile(rf"[{ARABIC_LETTERS}]+|[A-Za-z]+(?![\w(])|[^\s{ARABIC_LETTERS}]+|\s+")


def without_explanation(sentence: str) -> str:
    """``(ŷ − y) a_tᵀ, because dL/dz = ŷ − y`` → ``(ŷ − y) a_tᵀ``: the reason is no part of the answer
    (its ``=`` once made its right side the answer)."""
    if len(sentence) > MAX_SENTENCE:
        return sentence
    return EXPLANATION.split(" " + sentence.strip() + " ", maxsplit=1)[0].strip()


def math_of(sentence: str, names: set[str]) -> str | None:
    """The formula or number ``sentence`` answers with; None when it cannot tell."""
    if len(sentence) > MAX_SENTENCE:
        return None
    whole = sentence.strip()
    text = EXPLANATION.split(" " + whole + " ", maxsplit=1)[0].strip().rstrip(".")
    explained = text != whole.rstrip(".")
    chunks: list[tuple[str, str]] = []  # ("math" | "prose" | "copula", text)
    for token in TOKEN.findall(text):
        kind = _kind(token, names)
        if chunks and chunks[-1][0] == kind == "math" or (token.isspace() and chunks and chunks[-1][0] == "math"):
            chunks[-1] = ("math", chunks[-1][1] + token)
        elif not token.isspace():
            chunks.append((kind, token))
    formulas = [(index, chunk.strip()) for index, (kind, chunk) in enumerate(chunks) if kind == "math" and chunk.strip()]
    formulas = [(index, chunk) for index, chunk in formulas if re.search(r"[\w)\]]", chunk)]
    if not formulas:
        return None
    copulas = [index for index, (kind, _) in enumerate(chunks) if kind == "copula"]
    if copulas:
        after = [chunk for index, chunk in formulas if index > copulas[-1]]
        if after:
            return after[0]
    if len(formulas) == 1 and (explained or any(kind == "prose" for kind, _ in chunks)):
        return formulas[0][1]
    return None


def _kind(token: str, names: set[str]) -> str:
    if token.strip() in ("=", ":", "→") or token.replace("\u200c", "") in COPULA or token.lower() in COPULA:
        return "copula"
    if re.fullmatch(rf"[{ARABIC_LETTERS}]+", token):
        return "prose"
    if re.fullmatch(r"[A-Za-z]+", token) and token not in names and (len(token) > 2 or token.lower() in SHORT_WORDS):
        return "prose"
    return "math"
