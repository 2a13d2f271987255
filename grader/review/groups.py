"""Answer groups: the answers to one item that say the same thing, so a TA grades a group once.

Two answers are in one group when they are the same text after normalisation (case, spacing, Persian and
Arabic digits and letters, punctuation), or when they are near-duplicates: difflib's ratio of the
normalised texts at least ``NEAR``.  Groups come largest first.  The answers to an automatic item are
grouped by the engine's verdict instead (``decisions``): equivalent expressions, or numbers read under the
same convention, share it."""
from __future__ import annotations

import difflib
import re
import unicodedata

NEAR = 0.9
DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
LETTERS = str.maketrans({"ي": "ی", "ك": "ک", "\u200c": " ", "ـ": ""})  # Arabic forms, ZWNJ, tatweel


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(DIGITS).translate(LETTERS).casefold()
    text = re.sub(r"[^\w\s+\-*/=^()<>.]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def group_answers(answers: dict[str, str], near: bool = True) -> list[list[str]]:
    """Student keys grouped by what they answered (``near``: near-duplicates too); an empty answer is a
    group of its own."""
    exact: dict[str, list[str]] = {}
    for key in sorted(answers):
        exact.setdefault(normalise(answers[key]), []).append(key)
    texts = sorted(exact, key=lambda text: (-len(exact[text]), text))
    groups: list[tuple[str, list[str]]] = []
    for text in texts:
        home = None
        if text and near:
            for leader, members in groups:
                if leader and abs(len(leader) - len(text)) <= (1 - NEAR) * max(len(leader), len(text)) + 1 and \
                        difflib.SequenceMatcher(None, leader, text, autojunk=False).ratio() >= NEAR:
                    home = members
                    break
        if home is None:
            groups.append((text, list(exact[text])))
        else:
            home.extend(exact[text])
    return sorted((sorted(members) for _, members in groups), key=lambda members: (-len(members), members[0]))
