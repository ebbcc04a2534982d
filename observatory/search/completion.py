"""Completions: the process titles and facet labels (organisations, territories, terms) whose
words begin with the words a visitor is typing, for the suggestions of the search boxes.

Titles and labels are folded (case and accents) and split into words. Each index segment gets a
:class:`WordTable` of its titles and one of its labels (at start-up, see :meth:`Completer.prepare`,
or at the first suggestion that reads the segment): the words sorted and unique, each with the
entries holding it (CSR), so the words beginning with a prefix are one contiguous run found by
bisection, and a typed word costs a slice and a mask rather than a scan. Tables are kept per
segment, like its facet data (after a write only the new, small segment is read); what depends on
the whole generation (how many live processes have each label, under the label they have now) is
computed once per generation.

Only what published processes carry is found: titles of live documents, and labels that live
documents use.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from weakref import WeakKeyDictionary

import numpy as np

from observatory.search.facets import FacetArrays, SegmentFacets
from observatory.search.index import SearchIndex
from observatory.text import fold

#: The group of process titles (the others are groups of facets, named by the caller).
TITLES = "titoli"
#: Beyond every folded word (which are made of a-z and 0-9 only).
_AFTER = "\uffff"
#: Ranks: the whole text is the label, the label begins with it, its first word begins with the
#: first word typed, the typed words begin other words.
WHOLE, BEGINS, FIRST_WORD, INSIDE = range(4)
_TIER_SHIFT = 56
#: How many stored cards of suggested titles each segment keeps.
CARDS_KEPT = 2048


class WordTable:
    """Folded texts (entries) split into words: the entries holding a word that begins with a
    prefix, and the entries whose whole text begins with one, each found by bisection."""

    def __init__(self, texts: list[str]):
        split = [text.split() for text in texts]
        flat = [word for words in split for word in words]
        self.size = len(texts)
        self.texts = texts
        self.words = sorted(set(flat))
        ids = {word: i for i, word in enumerate(self.words)}
        counts = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        token_words = np.fromiter(map(ids.__getitem__, flat), dtype=np.int32, count=len(flat))
        token_entries = np.repeat(np.arange(self.size, dtype=np.int32), counts)
        order = np.argsort(token_words, kind="stable")  # by word, then entry
        by_word, entries = token_words[order], token_entries[order]
        kept = np.ones(len(order), dtype=bool)  # an entry once per word
        kept[1:] = (by_word[1:] != by_word[:-1]) | (entries[1:] != entries[:-1])
        #: The entries holding each word: entries[starts[w]:starts[w + 1]].
        self.entries = entries[kept]
        self.starts = np.searchsorted(by_word[kept], np.arange(len(self.words) + 1)).astype(np.int64)
        #: The word each entry begins with (-1: none).
        self.first = np.full(self.size, -1, dtype=np.int32)
        begun = counts > 0
        self.first[begun] = token_words[(np.cumsum(counts) - counts)[begun]]
        alphabetical = sorted(range(self.size), key=texts.__getitem__)
        self.sorted_texts = [texts[i] for i in alphabetical]
        #: Each entry's place in alphabetical order.
        self.rank = np.empty(self.size, dtype=np.int64)
        self.rank[np.array(alphabetical, dtype=np.int64)] = np.arange(self.size)
        self.lengths = np.fromiter(map(len, texts), dtype=np.int64, count=self.size)

    def _word_range(self, prefix: str) -> tuple[int, int]:
        return bisect_left(self.words, prefix), bisect_left(self.words, prefix + _AFTER)

    def matching(self, words: list[str]) -> np.ndarray:
        """Which entries have, for each of ``words``, a word beginning with it."""
        mask = np.ones(self.size, dtype=bool)
        for word in words:
            low, high = self._word_range(word)
            holding = np.zeros(self.size, dtype=bool)
            holding[self.entries[self.starts[low] : self.starts[high]]] = True
            mask &= holding
            if not mask.any():
                break
        return mask

    def best(
        self, mask: np.ndarray, text: str, first_word: str, order: np.ndarray, limit: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``limit`` entries of ``mask`` that match ``text`` best (WHOLE, BEGINS, FIRST_WORD,
        INSIDE), then come first in ``order`` (values below 2**56), best first; and their tiers."""
        found = np.flatnonzero(mask)
        tiers = np.full(len(found), INSIDE, dtype=np.int64)
        low, high = self._word_range(first_word)
        first = self.first[found]
        tiers[(first >= low) & (first < high)] = FIRST_WORD
        rank = self.rank[found]
        start = bisect_left(self.sorted_texts, text)
        tiers[(rank >= start) & (rank < bisect_left(self.sorted_texts, text + _AFTER, start))] = BEGINS
        tiers[(rank >= start) & (rank < bisect_right(self.sorted_texts, text, start))] = WHOLE
        keys = (tiers << _TIER_SHIFT) | order[found]
        if len(found) > limit:
            chosen = np.argpartition(keys, limit - 1)[:limit]
            found, tiers, keys = found[chosen], tiers[chosen], keys[chosen]
        ranked = np.argsort(keys, kind="stable")
        return found[ranked], tiers[ranked]


class SegmentLabels:
    """The labels of one segment's facets, as a word table, with the entries of each group."""

    def __init__(self, part: SegmentFacets, groups: Mapping[str, tuple[str, ...]]):
        facets = [name for names in groups.values() for name in names]
        self.items = [
            (name, value, label)
            for name in facets
            for value, label in part.labels.get(name, {}).items()
            if label
        ]
        self.table = WordTable([fold(label) for _, _, label in self.items])
        names = np.array([name for name, _, _ in self.items], dtype=object)
        #: Which entries are labels of each group's facets.
        self.groups = {group: np.isin(names, list(names_of)) for group, names_of in groups.items()}


class SegmentWords:
    """The word tables of one segment: its titles (by document number) and its labels; and the
    stored cards of the titles last suggested."""

    def __init__(self, part: SegmentFacets, groups: Mapping[str, tuple[str, ...]]):
        self.titles = WordTable(part.title_keys)
        #: Titles by length, then alphabetically.
        self.title_order = (self.titles.lengths << 32) | self.titles.rank
        self.labels = SegmentLabels(part, groups)
        self._cards: dict[int, tuple[str, dict]] = {}

    def card(self, searcher, docnum: int, offset: int) -> tuple[str, dict]:
        """The process id and the stored card of the segment's document ``docnum`` (``offset +
        docnum`` in ``searcher``): one read of the whole stored document, then kept a while
        (documents never change in a segment)."""
        found = self._cards.get(docnum)
        if found is None:
            stored = searcher.stored_fields(offset + docnum)
            found = self._cards[docnum] = (stored["pid"], stored["card"])
            if len(self._cards) > CARDS_KEPT:
                del self._cards[next(iter(self._cards))]  # the oldest
        return found


class GenerationLabels:
    """For one searcher generation, each segment label's count of live processes (0 for a label
    no live document uses, or one it has since replaced) and the order it ranks in."""

    def __init__(
        self, arrays: FacetArrays, segments: list[tuple[SegmentWords, int]], facets: tuple[str, ...]
    ):
        counts = {name: arrays.counts(name, arrays.live) for name in facets}
        self.counts, self.order = [], []
        for words, _ in segments:
            items = words.labels.items
            current = (
                counts[name].get(value, 0) if arrays.labels.get(name, {}).get(value) == label else 0
                for name, value, label in items
            )
            count = np.fromiter(current, dtype=np.int64, count=len(items))
            self.counts.append(count)
            # the most used first, then alphabetically
            self.order.append(((2**31 - np.minimum(count, 2**31 - 1)) << 24) | words.labels.table.rank)


@dataclass(frozen=True)
class Completion:
    """A title or a label the typed text completes."""

    #: TITLES, or the group of facets of the label.
    group: str
    #: The facet of the label (None for a title).
    facet: str | None
    #: The facet value, or the process id of a title.
    value: str
    label: str
    #: WHOLE, BEGINS, FIRST_WORD or INSIDE.
    tier: int
    #: How many published processes have the value (1 for a title).
    count: int = 1
    #: The label of the value it is inside (a comune's province), if any.
    parent_label: str | None = None
    #: A title's stored card.
    card: dict | None = None


class Completer:
    """Completions of process titles and of the labels of ``groups`` (group → its facets), with
    the word tables of each segment and the counts of each generation kept while they live."""

    def __init__(self, groups: Mapping[str, tuple[str, ...]]):
        self.groups = dict(groups)
        self.facets = tuple(name for names in self.groups.values() for name in names)
        self._lock = threading.Lock()
        self._segments: WeakKeyDictionary[SegmentFacets, SegmentWords] = WeakKeyDictionary()
        self._generations: WeakKeyDictionary[FacetArrays, GenerationLabels] = WeakKeyDictionary()

    def _prepared(self, arrays: FacetArrays) -> tuple[list[tuple[SegmentWords, int]], GenerationLabels]:
        with self._lock:
            segments = []
            for part, offset in arrays.segments():
                if part not in self._segments:
                    self._segments[part] = SegmentWords(part, self.groups)
                segments.append((self._segments[part], offset))
            if arrays not in self._generations:
                self._generations[arrays] = GenerationLabels(arrays, segments, self.facets)
            return segments, self._generations[arrays]

    def prepare(self, search_index: SearchIndex) -> None:
        """Build the tables of the live generation now, not at the first suggestion."""
        self._prepared(search_index.searcher()[1])

    def complete(
        self, search_index: SearchIndex, text: str, limits: Mapping[str, int]
    ) -> dict[str, list[Completion]]:
        """The best completions of ``text`` in each group of ``limits`` (group → how many), best
        first: by tier, then labels by how many processes have them and titles by length."""
        words = list(dict.fromkeys(fold(text).split()))
        if not words:
            return {}
        typed = " ".join(fold(text).split())
        searcher, arrays = search_index.searcher()
        segments, generation = self._prepared(arrays)
        found: dict[str, list[Completion]] = {}
        if limits.get(TITLES):
            found[TITLES] = self._titles(searcher, arrays, segments, words, typed, limits[TITLES])
        groups = {group: limit for group, limit in limits.items() if group in self.groups and limit}
        if groups:
            found |= self._labels(arrays, segments, generation, groups, words, typed)
        return found

    def _titles(self, searcher, arrays, segments, words, typed, limit) -> list[Completion]:
        ranked = []
        for segment, offset in segments:
            table = segment.titles
            mask = table.matching(words) & arrays.live[offset : offset + table.size]
            docnums, tiers = table.best(mask, typed, words[0], segment.title_order, limit)
            ranked += [
                (
                    (int(tier), int(table.lengths[docnum]), table.texts[docnum], offset + int(docnum)),
                    segment,
                    offset,
                )
                for docnum, tier in zip(docnums, tiers, strict=True)
            ]
        completions = []
        for (tier, _, _, number), segment, offset in sorted(ranked, key=lambda title: title[0])[:limit]:
            pid, card = segment.card(searcher, number - offset, offset)
            completions.append(Completion(TITLES, None, pid, card["title"], tier, card=card))
        return completions

    def _labels(self, arrays, segments, generation, limits, words, typed) -> dict[str, list[Completion]]:
        ranked: dict[str, dict[tuple[str, str], tuple]] = {group: {} for group in limits}
        for (segment, _), counts, order in zip(segments, generation.counts, generation.order, strict=True):
            labels = segment.labels
            matching = labels.table.matching(words) & (counts > 0)
            for group, limit in limits.items():
                mask = matching & labels.groups[group]
                entries, tiers = labels.table.best(mask, typed, words[0], order, limit)
                for entry, tier in zip(entries, tiers, strict=True):
                    name, value, label = labels.items[entry]
                    count = int(counts[entry])
                    key = (int(tier), -count, labels.table.texts[entry])
                    ranked[group].setdefault((name, value), (key, label, count))
        found = {}
        for group, limit in limits.items():
            best = sorted(ranked[group].items(), key=lambda item: item[1][0])[:limit]
            found[group] = [
                Completion(group, name, value, label, key[0], count, self._parent(arrays, name, value))
                for (name, value), (key, label, count) in best
            ]
        return found

    @staticmethod
    def _parent(arrays: FacetArrays, name: str, value: str) -> str | None:
        parent = arrays.parents.get(value)
        return arrays.labels.get(name, {}).get(parent) if parent else None
