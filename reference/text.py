"""Text pieces of the practicals: the Pig-Latin rule (hw4 Q6) and the Persian sentence splitter,
shuffled-words dataset and its evaluation (hw7 Q5)."""
from __future__ import annotations

import random
import re

VOWELS = frozenset("aeiou")
# Consonant pairs that move to the end as one block ("shopping" → "oppingshay").  The assignment names
# "sh" as an example; the others are the English digraphs that behave the same way.
CONSONANT_PAIRS = ("sh", "ch", "th", "wh", "ph", "qu")


def pig_latin_word(word: str, pairs: tuple[str, ...] = CONSONANT_PAIRS) -> str:
    """team → eamtay, impress → impressway, shopping → oppingshay.  Hyphenated words are translated
    part by part (well-known → ellway-nownkay), as in the assignment's data."""
    if "-" in word:
        return "-".join(pig_latin_word(part, pairs) for part in word.split("-"))
    if not word:
        return word
    if word[0] in VOWELS:
        return word + "way"
    head = word[:2] if word[:2] in pairs else word[0]
    return word[len(head):] + head + "ay"


def pig_latin(sentence: str, pairs: tuple[str, ...] = CONSONANT_PAIRS) -> str:
    return " ".join(pig_latin_word(word, pairs) for word in sentence.lower().split())


# --- Persian sentences --------------------------------------------------------------------------

TERMINATORS = ".!?؟…"
DIGITS = "0-9۰-۹٠-٩"
# A boundary follows a run of terminators (and any closing quote or bracket) when whitespace or the
# end follows; a period between digits (۳.۱۴, 3.14) or inside a dotted abbreviation (ق.م) is not one.
_BOUNDARY = re.compile(rf"(?<![{DIGITS}]\.(?=[{DIGITS}]))([{re.escape(TERMINATORS)}]+[»\")\]]*)(\s+|$)")
_NEWLINES = re.compile(r"\n\s*\n|\r\n\s*\r\n")
_ARABIC_TO_PERSIAN = str.maketrans({"ي": "ی", "ك": "ک", "ى": "ی"})


def normalise_persian(text: str) -> str:
    """Arabic yeh/kaf to their Persian forms and runs of spaces to one; the ZWNJ (half-space) is kept."""
    return re.sub(r"[ \t\u00a0]+", " ", text.translate(_ARABIC_TO_PERSIAN)).strip()


def split_sentences(text: str) -> list[str]:
    """Split Persian (or mixed) text into sentences at . ! ? ؟ … and at blank lines."""
    sentences = []
    for paragraph in _NEWLINES.split(text):
        paragraph = normalise_persian(paragraph.replace("\n", " "))
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            if _is_abbreviation(paragraph, match.start()):
                continue
            sentence = paragraph[start:match.end(1)].strip()
            if sentence:
                sentences.append(sentence)
            start = match.end()
        rest = paragraph[start:].strip()
        if rest:
            sentences.append(rest)
    return sentences


def _is_abbreviation(text: str, dot: int) -> bool:
    """A period after a single letter that follows a space or another period: ق.م. or دکتر ع. رضایی."""
    return text[dot] == "." and dot >= 1 and text[dot - 1].isalpha() and (dot == 1 or text[dot - 2] in " .")


def shuffled_pairs(sentences: list[str], seed: int = 0) -> list[tuple[str, str]]:
    """(words in a random order, the sentence) for every sentence of two or more words; the shuffle is
    seeded, keeps the multiset of words, and differs from the sentence whenever its words are not all
    the same."""
    rng = random.Random(seed)
    pairs = []
    for sentence in sentences:
        words = sentence.split()
        if len(words) < 2:
            continue
        shuffled = words[:]
        for _ in range(100):
            rng.shuffle(shuffled)
            if shuffled != words or len(set(words)) == 1:
                break
        pairs.append((" ".join(shuffled), sentence))
    return pairs


def exact_match(predictions: list[str], references: list[str]) -> float:
    """The share of predicted sentences equal to the reference word for word."""
    return sum(p.split() == r.split() for p, r in zip(predictions, references, strict=True)) / len(references)


def position_accuracy(predictions: list[str], references: list[str]) -> float:
    """The share of reference words that the prediction puts in the same position."""
    hits = total = 0
    for prediction, reference in zip(predictions, references, strict=True):
        predicted, expected = prediction.split(), reference.split()
        hits += sum(p == e for p, e in zip(predicted, expected))
        total += len(expected)
    return hits / total
