"""Code normalised to tokens, and its fingerprints by k-gram winnowing (Schleimer, Wilkerson and
Aiken, 2003: the method behind MOSS).

Normalising makes a copy look like its original: comments, docstrings, blank lines and layout are
dropped; every identifier becomes ``V`` (so renaming variables changes nothing) except an attribute
after a dot, which keeps its name (``np.tanh`` and ``np.exp`` stay different); numbers become ``N`` and
strings ``S``.  Winnowing keeps the smallest hash of every window of ``window`` consecutive k-gram
hashes, so any run of at least ``window + k - 1`` shared tokens is guaranteed a shared fingerprint,
and a fingerprint's position says which line it came from.  The student's text is only tokenized,
never parsed into anything that runs.
"""
from __future__ import annotations

import hashlib
import io
import keyword
import re
import tokenize
from dataclasses import dataclass

K = 12       # tokens per k-gram: shorter runs (a for loop header, a return) are common to everyone
WINDOW = 8   # k-grams per winnowing window
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER,
           tokenize.ENCODING}
FALLBACK = re.compile(r"[A-Za-z_]\w*|\d[\w.]*|\"[^\"\n]*\"|'[^'\n]*'|#[^\n]*|\S")


@dataclass(frozen=True)
class Token:
    text: str
    line: int  # 1-based, in the unit's own source


def normalise(source: str) -> list[Token]:
    """The normalised tokens of one cell or file; text that does not tokenize is split by a regex."""
    try:
        raw = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return _fallback(source)
    tokens: list[Token] = []
    previous = None  # the last significant raw token
    statement_start = True
    for token in raw:
        if token.type in SKIPPED:
            if token.type in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
                statement_start = True
            continue
        if token.type == tokenize.STRING and statement_start:  # a docstring or a bare string statement
            previous = token
            continue
        tokens.append(Token(_canonical(token.type, token.string, previous), token.start[0]))
        previous, statement_start = token, False
    return tokens


def _canonical(kind: int, text: str, previous) -> str:
    if kind == tokenize.NAME:
        if keyword.iskeyword(text) or (previous is not None and previous.string == "."):
            return text
        return "V"
    if kind == tokenize.NUMBER:
        return "N"
    if kind in (tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)):
        return "S"
    return text


def _fallback(source: str) -> list[Token]:
    tokens = []
    for number, line in enumerate(source.split("\n"), start=1):
        for match in FALLBACK.finditer(line):
            text = match.group()
            if text.startswith("#"):
                continue
            if text[0].isalpha() or text[0] == "_":
                text = text if keyword.iskeyword(text) else "V"
            elif text[0].isdigit():
                text = "N"
            elif text[0] in "'\"":
                text = "S"
            tokens.append(Token(text, number))
    return tokens


def kgram_hash(texts: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(texts).encode(), digest_size=8).digest(), "little")


def fingerprints(tokens: list[Token], k: int = K, window: int = WINDOW) -> list[tuple[int, int, int]]:
    """(hash, first line, last line of its k-gram) for every fingerprint winnowing selects."""
    if len(tokens) < k:
        return []
    texts = [token.text for token in tokens]
    hashes = [kgram_hash(texts[i:i + k]) for i in range(len(tokens) - k + 1)]
    chosen: dict[int, tuple[int, int, int]] = {}  # position -> (hash, first line, last line)
    for start in range(max(len(hashes) - window + 1, 1)):
        span = hashes[start:start + window]
        low = min(span)
        position = start + max(i for i, h in enumerate(span) if h == low)  # rightmost minimum, as in the paper
        chosen[position] = (low, tokens[position].line, tokens[position + k - 1].line)
    return [chosen[position] for position in sorted(chosen)]
