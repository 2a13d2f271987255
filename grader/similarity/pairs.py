"""Ranked pairs of submissions from an inverted index of fingerprints: only submissions that share a
fingerprint are ever compared, so a class of hundreds costs what its shared code costs, not n²
text diffs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations

from .corpus import Document

MIN_PRINTS = 20  # a score over fewer fingerprints than this is scaled down: a few shared lines are not a copy


@dataclass
class Pair:
    a: int  # document indices
    b: int
    shared: int
    score: float     # shared fingerprints over the smaller submission's (at least MIN_PRINTS)
    jaccard: float   # shared over the union
    # matched lines per unit: {unit name: [[first, last], ...]} on each side
    a_lines: dict[str, list[list[int]]] = field(default_factory=dict)
    b_lines: dict[str, list[list[int]]] = field(default_factory=dict)


def common_limit(count: int) -> int:
    """Fingerprints in more submissions than this are what everyone writes (an import, a training
    loop's idiom), not a copy: they are left out of every score."""
    return max(10, count // 2)


def rank(documents: list[Document], top: int | None = None, min_score: float = 0.0) -> list[Pair]:
    index: dict[int, list[int]] = {}
    for number, document in enumerate(documents):
        for value in document.prints:
            index.setdefault(value, []).append(number)
    limit = common_limit(len(documents))
    counts: Counter = Counter()
    for holders in index.values():
        if 2 <= len(holders) <= limit:
            counts.update(combinations(holders, 2))
    sizes = [sum(1 for value in document.prints if len(index[value]) <= limit) for document in documents]
    pairs = []
    for (a, b), shared in counts.items():
        size_a, size_b = sizes[a], sizes[b]
        score = shared / max(min(size_a, size_b), MIN_PRINTS)
        if score >= min_score:
            pairs.append(Pair(a, b, shared, round(score, 4), round(shared / (size_a + size_b - shared), 4)))
    pairs.sort(key=lambda p: (-p.score, -p.shared, documents[p.a].key, documents[p.b].key))
    pairs = pairs[:top] if top else pairs
    for pair in pairs:
        _regions(pair, documents[pair.a], documents[pair.b], index, limit)
    return pairs


def _regions(pair: Pair, a: Document, b: Document, index: dict, limit: int) -> None:
    shared = [value for value in a.prints if value in b.prints and len(index[value]) <= limit]
    pair.a_lines = _merged(a, shared)
    pair.b_lines = _merged(b, shared)


def _merged(document: Document, values: list[int]) -> dict[str, list[list[int]]]:
    """Matched line ranges per unit, units in the submission's order, overlapping ranges joined."""
    spans: dict[int, list[list[int]]] = {}
    for value in values:
        for unit, first, last in document.prints[value]:
            spans.setdefault(unit, []).append([first, last])
    merged = {}
    for unit in sorted(spans):
        ranges = sorted(spans[unit])
        out = [ranges[0]]
        for first, last in ranges[1:]:
            if first <= out[-1][1] + 1:
                out[-1][1] = max(out[-1][1], last)
            else:
                out.append([first, last])
        merged[document.units[unit].name] = out
    return merged
