"""hw7 Q5 — "make a sentence from these words": what is checked by machine, with its inputs.

* The splitter may keep or drop a sentence's final punctuation and may normalise spaces and Arabic
  letters; ``check_split`` compares sentences after that normalisation with ``text.split_sentences``.
* The dataset builder's output is random by design; ``check_pairs`` judges it by its properties: one
  pair per sentence of two or more words, in order, each target the sentence itself, each source the
  same multiset of words, and sources actually shuffled.
* The evaluation metric is word-position accuracy (``text.position_accuracy``), checked as a function.
"""
from __future__ import annotations

from collections import Counter

from .text import TERMINATORS, normalise_persian, split_sentences

SENTENCES = ("دانشگاه صنعتی امیرکبیر در تهران است.", "امروز هوا بسیار خوب بود!", "آیا شبکه عصبی یاد می‌گیرد؟",
             "عدد پی تقریباً ۳.۱۴ است.", "مدل ترنسفورمر توجه را به کار می‌برد.", "ما جمله‌ها را دوباره می‌سازیم…",
             "دانشجویان تمرین را به موقع تحویل دادند.", "این کتاب خیلی جالب است", "كتاب يك دوست خوب است.",
             "سلام!", "قیمت آن 2.5 میلیون تومان شد.", "او گفت «فردا می‌آیم.»")


def persian_text(rng, sentences: int) -> dict:
    """Sentences from a small corpus joined by spaces, newlines and blank lines."""
    chosen = [SENTENCES[i] for i in rng.integers(0, len(SENTENCES), size=sentences)]
    text = chosen[0]
    for sentence in chosen[1:]:
        separator = rng.choice([" ", "  ", "\n", "\n\n"])
        # a sentence without a terminator can only end at a blank line
        text += ("\n\n" if text[-1] not in TERMINATORS + "»" else separator) + sentence
    return {"text": text}


def _comparable(sentence) -> str:
    return " ".join(normalise_persian(str(sentence)).rstrip(TERMINATORS + "»\" ").split())


def check_split(args: dict, value) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(s, str) for s in value):
        return [f"expected a list of sentences (strings), got {type(value).__name__}"]
    expected = [_comparable(s) for s in split_sentences(args["text"])]
    actual = [_comparable(s) for s in value if s.strip()]
    if actual == expected:
        return []
    if len(actual) != len(expected):
        return [f"{len(actual)} sentences, expected {len(expected)}; first difference: " + _first(expected, actual)]
    return ["first difference: " + _first(expected, actual)]


def _first(expected: list[str], actual: list[str]) -> str:
    for index, (e, a) in enumerate(zip(expected, actual)):
        if e != a:
            return f"sentence {index + 1} should be «{e}», got «{a}»"
    longer, which = (expected, "missing") if len(expected) > len(actual) else (actual, "extra")
    return f"{which} sentence «{longer[min(len(expected), len(actual))]}»"


def sentence_list(rng, sentences: int) -> dict:
    words = "مدل داده توجه جمله کلمه شبکه یادگیری عمیق ترتیب ساختن امروز خوب".split()
    chosen = [" ".join(rng.choice(words, size=int(rng.integers(1, 9)))) for _ in range(sentences)]
    return {"sentences": chosen}


def check_pairs(args: dict, value) -> list[str]:
    """``value``: a list of (shuffled words, sentence) pairs."""
    expected = [s for s in args["sentences"] if len(s.split()) >= 2]
    if not isinstance(value, (list, tuple)):
        return [f"expected a list of (shuffled, sentence) pairs, got {type(value).__name__}"]
    pairs = []
    for pair in value:
        if not isinstance(pair, (list, tuple)) or len(pair) != 2 or not all(isinstance(p, str) for p in pair):
            return [f"every pair must be two strings (shuffled, sentence), got {str(pair)[:60]}"]
        pairs.append(pair)
    targets = [t for _, t in pairs]
    if [" ".join(t.split()) for t in targets] != [" ".join(s.split()) for s in expected]:
        return [f"the targets must be the sentences of two or more words, in order ({len(expected)} expected, "
                f"{len(targets)} given)"]
    problems = [f"pair {i + 1}: the shuffled words «{s}» are not the words of «{t}»"
                for i, (s, t) in enumerate(pairs) if Counter(s.split()) != Counter(t.split())]
    shuffled = sum(s.split() != t.split() for s, t in pairs if len(set(t.split())) > 1)
    can_differ = sum(len(set(t.split())) > 1 for t in targets)
    if can_differ >= 4 and shuffled < can_differ / 2:
        problems.append(f"only {shuffled} of {can_differ} sources differ from their sentence: the words are not shuffled")
    return problems


def predictions_and_references(rng, n: int) -> dict:
    words = "a b c d e f g h".split()
    references = [" ".join(rng.permutation(words)[: int(rng.integers(2, 8))]) for _ in range(n)]
    predictions = []
    for reference in references:
        tokens = reference.split()
        if rng.random() < 0.6:
            i, j = rng.choice(len(tokens), size=2, replace=False)
            tokens[i], tokens[j] = tokens[j], tokens[i]
        predictions.append(" ".join(tokens))
    return {"predictions": predictions, "references": references}
