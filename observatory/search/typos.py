"""Typo tolerance: the words of the index within one or two edits of a word a reader typed.

A query word of MIN_LENGTH letters or more also matches the words of the catalogue within one edit,
two from TWO_EDITS_FROM letters, transpositions counting as one edit (optimal string alignment,
the usual Damerau–Levenshtein of search engines). Candidates are found as SymSpell finds them: two
words within k edits share a string obtained by deleting at most k letters from each, so every
word of a segment's vocabulary (the ``spell`` field: every word of every process) is stored under
the hashes of its deletions, sorted in a numpy array, and a query word looks up its own deletions
with one binary search. The distance of each candidate is then checked with rapidfuzz.
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np
from rapidfuzz.distance import OSA

#: Words shorter than this are matched exactly (a typo there is a different word as often as not).
MIN_LENGTH = 5
#: Words this long or longer may have two typos.
TWO_EDITS_FROM = 9
#: The last word of a query, being typed, also matches the words it begins from this length.
PREFIX_FROM = 3
#: At most this many words complete it, the shortest first.
MOST_COMPLETIONS = 50


def allowed_edits(word: str) -> int:
    """How many typos a query word may have: 0, 1 or 2 by its length."""
    if len(word) < MIN_LENGTH or word.isdigit():
        return 0
    return 2 if len(word) >= TWO_EDITS_FROM else 1


def _deletions(word: str, depth: int) -> set[str]:
    """The word and every string made by deleting up to ``depth`` of its letters (never all)."""
    found = layer = {word}
    for _ in range(depth):
        layer = {w[:i] + w[i + 1 :] for w in layer if len(w) > 1 for i in range(len(w))}
        found = found | layer
    return found


class Deletions:
    """The deletion dictionary of one segment's vocabulary, as sorted hashes and word numbers."""

    def __init__(self, words: list[str]):
        self.words = words
        hashes: list[int] = []
        numbers: list[int] = []
        for number, word in enumerate(words):
            # a word can be within k edits of a query word of at least MIN_LENGTH (one edit) or
            # TWO_EDITS_FROM letters (two): store the deletions such a query may share with it
            depth = 2 if len(word) >= TWO_EDITS_FROM - 2 else 1 if len(word) >= MIN_LENGTH - 1 else 0
            if depth:
                keys = _deletions(word, depth)
                hashes.extend(map(hash, keys))
                numbers.extend([number] * len(keys))
        order = np.argsort(np.array(hashes, dtype=np.int64), kind="stable")
        self._hashes = np.array(hashes, dtype=np.int64)[order]
        self._numbers = np.array(numbers, dtype=np.int32)[order]

    @classmethod
    def of(cls, reader) -> Deletions:
        """The dictionary of a segment reader's ``spell`` words."""
        words = [term.decode("utf-8") for term, _ in reader.iter_field("spell")]
        return cls(words)

    def completions(self, prefix: str) -> list[str]:
        """The vocabulary's words that begin with ``prefix`` (not the prefix itself), the shortest
        first, at most MOST_COMPLETIONS of them."""
        if len(prefix) < PREFIX_FROM:
            return []
        found = []
        for word in self.words[bisect_left(self.words, prefix) :]:  # Whoosh lists terms sorted
            if not word.startswith(prefix):
                break
            if word != prefix:
                found.append(word)
        return sorted(found, key=lambda word: (len(word), word))[:MOST_COMPLETIONS]

    def close_words(self, word: str, edits: int) -> dict[str, int]:
        """The vocabulary's words within ``edits`` of ``word`` (not the word itself), with their
        distance."""
        if not edits or not self._hashes.size:
            return {}
        keys = np.array([hash(key) for key in _deletions(word, edits)], dtype=np.int64)
        starts = np.searchsorted(self._hashes, keys, side="left")
        ends = np.searchsorted(self._hashes, keys, side="right")
        numbers = {int(n) for start, end in zip(starts, ends, strict=True) for n in self._numbers[start:end]}
        found = {}
        for number in numbers:
            candidate = self.words[number]
            if candidate != word:
                distance = OSA.distance(word, candidate, score_cutoff=edits)
                if distance <= edits:
                    found[candidate] = distance
        return found
