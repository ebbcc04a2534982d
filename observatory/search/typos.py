"""Typo tolerance: the words of the index within one or two edits of a word a reader typed.

A query word of MIN_LENGTH letters or more also matches the words of the catalogue within one edit,
two from TWO_EDITS_FROM letters, transpositions counting as one edit (optimal string alignment,
the usual Damerau–Levenshtein of search engines). Candidates are found as SymSpell finds them: two
words within k edits share a string obtained by deleting at most k letters from each, so every
word of a segment's vocabulary is stored under the hashes of its deletions, sorted in a numpy
array, and a query word looks up its own deletions with one binary search. The distance of each
candidate is then checked with rapidfuzz.

The vocabulary is every word of every process of the segment: the ``spell`` field (titles, names of
bodies and places, labels) and the words of the stored texts, gathered by :class:`WordCollector`
while the segment is written. Words keep their accents (``qualità`` is stemmed as ``qual``, not as
``qualita`` would be); accents are folded for comparing, so a word typed without them is a word
at distance 0.
"""

from __future__ import annotations

import re
import zlib
from bisect import bisect_left, bisect_right
from collections import Counter

import numpy as np
import rapidfuzz
from rapidfuzz.distance import OSA
from whoosh.support.charset import accent_map

from observatory.search.analysis import HYPHENS, STOP_WORDS
from observatory.search.segments import segment_file

#: Words shorter than this are matched exactly (a typo there is a different word as often as not).
MIN_LENGTH = 5
#: Words this long or longer may have two typos.
TWO_EDITS_FROM = 9
#: The last word of a query, being typed, also matches the words it begins from this length.
PREFIX_FROM = 3
#: At most this many words complete it, those in most documents first.
MOST_COMPLETIONS = 20
#: The extension of the segment file that keeps the dictionary.
EXTENSION = ".npd"
_HYPHEN = re.compile(f"[{HYPHENS}]")


def allowed_edits(word: str) -> int:
    """How many typos a query word may have: 0, 1 or 2 by its length; none in a word with a digit
    (a year, a CUP code: they find exactly their processes)."""
    if len(word) < MIN_LENGTH or not word.isalpha():
        return 0
    return 2 if len(word) >= TWO_EDITS_FROM else 1


def folded(word: str) -> str:
    """A lower-case word without accents, as words are compared."""
    return word.translate(accent_map)


def vocabulary_word(word: str) -> bool:
    """Whether a lower-case word belongs in the vocabulary: letters only, 3 or more, no stop word."""
    return len(word) >= 3 and word.isalpha() and word not in STOP_WORDS


class WordCollector:
    """The words of the texts stored in a segment and how many documents have each, gathered while
    it is written (documents added, and documents copied when segments are merged)."""

    _WORD = re.compile(r"\w+")
    _HYPHENATED = re.compile(rf"(\w+)[{HYPHENS}](?=(\w+))")

    def __init__(self):
        self._counts: Counter[str] = Counter()
        self._document: set[str] = set()

    def add(self, text: str) -> None:
        """Gather the words of one text of the document being written."""
        lower = text.lower()
        self._document.update(self._WORD.findall(lower))
        if _HYPHEN.search(lower):  # co-progettazione is also the word coprogettazione
            self._document.update(first + second for first, second in self._HYPHENATED.findall(lower))

    def end_document(self) -> None:
        """Count the words of the document whose texts were added."""
        self._counts.update(self._document)
        self._document = set()

    def words(self) -> dict[str, int]:
        """The vocabulary words gathered (see :func:`vocabulary_word`), each with its documents."""
        return {word: count for word, count in self._counts.items() if vocabulary_word(word)}


def _deletions(word: str, depth: int) -> set[str]:
    """The word and every string made by deleting up to ``depth`` of its letters (never all)."""
    found = layer = {word}
    for _ in range(depth):
        layer = {w[:i] + w[i + 1 :] for w in layer if len(w) > 1 for i in range(len(w))}
        found = found | layer
    return found


def _hash(key: str) -> int:
    """A hash of a deletion that is the same in every process (Python's hash() is not)."""
    data = key.encode("utf-8")
    return zlib.crc32(data) << 32 | zlib.adler32(data)


class Deletions:
    """The deletion dictionary of one segment's vocabulary, as sorted hashes and word numbers, with
    how many documents of the segment have each word.

    ``words`` are sorted by their folded form, so the words beginning with a prefix are together.
    Written beside the segment when it is written (:meth:`write`), read back mapped into memory.
    """

    def __init__(self, words: list[str], counts: np.ndarray, hashes: np.ndarray, numbers: np.ndarray):
        self.words = words
        self.folded = [folded(word) for word in words]
        self.counts = counts
        self._hashes = hashes
        self._numbers = numbers

    @classmethod
    def build(cls, counts: dict[str, int]) -> Deletions:
        """The dictionary of the words of ``counts`` (lower case, accents as written; word →
        documents)."""
        words = sorted(counts, key=lambda word: (folded(word), word))
        hashes: list[int] = []
        numbers: list[int] = []
        for number, word in enumerate(words):
            # a word can be within k edits of a query word of at least MIN_LENGTH (one edit) or
            # TWO_EDITS_FROM letters (two): store the deletions such a query may share with it
            depth = 2 if len(word) >= TWO_EDITS_FROM - 2 else 1 if len(word) >= MIN_LENGTH - 1 else 0
            if depth:
                keys = _deletions(folded(word), depth)
                hashes.extend(map(_hash, keys))
                numbers.extend([number] * len(keys))
        unsorted = np.array(hashes, dtype=np.uint64)
        order = np.argsort(unsorted, kind="stable")
        frequencies = np.array([counts[word] for word in words], dtype=np.uint32)
        return cls(words, frequencies, unsorted[order], np.array(numbers, dtype=np.int32)[order])

    @classmethod
    def of(cls, reader) -> Deletions:
        """The dictionary of a segment reader's vocabulary: the file written with the segment, or
        built from its ``spell`` terms for a segment without one."""
        data = segment_file(reader, EXTENSION)
        if data is not None:
            return cls.read(data)
        terms = ((term.decode("utf-8"), info.doc_frequency()) for term, info in reader.iter_field("spell"))
        return cls.build({word: count for word, count in terms if vocabulary_word(word)})

    def write(self, handle) -> None:
        """Write the dictionary to an open segment file."""
        words = "\n".join(self.words).encode("utf-8")
        words += b"\n" * (-len(words) % 8)
        handle.write(len(words).to_bytes(8, "little"))
        handle.write(self._hashes.size.to_bytes(8, "little"))
        handle.write(words)
        handle.write(self._hashes.astype("<u8").tobytes())
        handle.write(self._numbers.astype("<i4").tobytes())
        counts = self.counts.astype("<u4").tobytes()
        handle.write(counts + b"\0" * (-len(counts) % 8))

    @classmethod
    def read(cls, data: np.ndarray) -> Deletions:
        """The dictionary :meth:`write` wrote, from its bytes (mapped: nothing is copied)."""
        size, count = (
            int.from_bytes(data[:8].tobytes(), "little"),
            int.from_bytes(data[8:16].tobytes(), "little"),
        )
        text = data[16 : 16 + size].tobytes().decode("utf-8").rstrip("\n")
        words = text.split("\n") if text else []
        start = 16 + size
        hashes = data[start : start + 8 * count].view("<u8")
        numbers = data[start + 8 * count : start + 12 * count].view("<i4")
        start += 12 * count
        counts = data[start : start + 4 * len(words)].view("<u4")
        return cls(words, counts, hashes, numbers)

    def completions(self, prefix: str) -> dict[str, int]:
        """The vocabulary's words that begin with ``prefix`` (folded; not the prefix itself), with
        their documents."""
        if len(prefix) < PREFIX_FROM:
            return {}
        start = bisect_left(self.folded, prefix)
        end = bisect_right(self.folded, prefix + "\uffff", start)
        return {
            self.words[number]: int(self.counts[number])
            for number in range(start, end)
            if self.folded[number] != prefix
        }

    def same_words(self, word: str) -> list[str]:
        """The vocabulary's words that are ``word`` once folded (itself, or with accents)."""
        start = bisect_left(self.folded, word)
        end = bisect_right(self.folded, word, start)
        return self.words[start:end]

    def close_words(self, word: str, edits: int) -> dict[str, int]:
        """The vocabulary's words within ``edits`` of ``word`` (folded), compared folded, with their
        distance (not those that are ``word`` once folded: see :meth:`same_words`)."""
        if not edits or not self._hashes.size:
            return {}
        keys = np.array([_hash(key) for key in _deletions(word, edits)], dtype=np.uint64)
        starts = np.searchsorted(self._hashes, keys, side="left")
        ends = np.searchsorted(self._hashes, keys, side="right")
        numbers = {int(n) for start, end in zip(starts, ends, strict=True) for n in self._numbers[start:end]}
        found = {}
        for number in numbers:
            key = self.folded[number]
            if key != word:
                distance = OSA.distance(word, key, score_cutoff=edits)
                if distance <= edits:
                    found[self.words[number]] = distance
        return found

    def nearby_words(self, word: str, distance: int) -> dict[str, tuple[int, int]]:
        """The vocabulary's words within ``distance`` edits of ``word`` (folded, compared folded; not
        those that are ``word`` once folded), with their distance and documents: a scan of the
        vocabulary, for spelling corrections, which may go further than typo tolerance."""
        return {
            self.words[number]: (int(edits), int(self.counts[number]))
            for key, edits, number in rapidfuzz.process.extract_iter(
                word, self.folded, scorer=OSA.distance, score_cutoff=distance
            )
            if key != word
        }
