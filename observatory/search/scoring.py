"""Relevance: parsed queries matched and scored over whole posting lists at once, with numpy."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import FilterMatcher
from whoosh.reading import TermNotFound

from observatory.search.analysis import POSITION_SIZE
from observatory.search.postings import PostingColumns

#: Posting lists kept decoded per searcher, counted in postings (about 12 bytes each).
POSTINGS_CACHE_SIZE = 4_000_000
#: BM25F parameters, Whoosh's defaults.
BM25_B, BM25_K1 = 0.75, 1.2


class TextScorer:
    """Matches and scores a parsed query over every document at once, with numpy.

    Term, And, Or, Not, AndNot and AndMaybe nodes are computed from whole posting lists with
    Whoosh's BM25F formula (posting weights, field lengths, idf, query boosts), giving a mask of
    the matching documents and a dense array of scores. Other nodes (phrases, ranges) are left to
    Whoosh's own matchers. Decoded posting lists are cached for the life of the searcher.
    ``segments`` holds each segment's facets.SegmentFacets (with its posting columns), leaf reader
    and docnum offset. Common terms are read from the posting columns, others from Whoosh's blocks.
    """

    def __init__(self, searcher, size: int, segments: list[tuple[object, object, int]]):
        self.searcher = searcher
        self.size = size
        self._segments = segments
        self._leaves = [(leaf, offset) for _, leaf, offset in segments]
        self._columns: list[PostingColumns | None] = [segment.columns for segment, _, _ in segments]
        self._lengths: dict[str, np.ndarray] = {}
        self._postings: OrderedDict[tuple, tuple] = OrderedDict()  # postings and positions of terms
        self._sizes: dict[tuple, int] = {}
        self._cached = 0
        self._lock = threading.Lock()

    def evaluate(self, node) -> tuple[np.ndarray, np.ndarray]:
        """The documents matching ``node`` (a bool mask) and their scores (0 elsewhere)."""
        if type(node) is wq.Term:
            mask, scores = self._term(node.fieldname, node.text)
        elif type(node) in (wq.And, wq.Or):  # not subclasses such as Ordered, which add rules
            parts = [self.evaluate(child) for child in node.subqueries]
            if not parts:
                return self._nothing()
            mask = parts[0][0].copy()
            for child_mask, _ in parts[1:]:
                if type(node) is wq.And:
                    mask &= child_mask
                else:
                    mask |= child_mask
            scores = np.sum([child_scores for _, child_scores in parts], axis=0, dtype=np.float32)
            if type(node) is wq.And:
                scores *= mask
        elif type(node) is wq.Not:
            child_mask, _ = self.evaluate(node.query)
            return ~child_mask, np.zeros(self.size, dtype=np.float32)
        elif type(node) is wq.AndNot:
            mask, scores = self.evaluate(node.a)
            excluded, _ = self.evaluate(node.b)
            mask = mask & ~excluded
            scores = scores * mask
        elif type(node) is wq.AndMaybe:
            mask, scores = self.evaluate(node.a)
            _, optional = self.evaluate(node.b)
            scores = scores + optional * mask
        elif node is wq.NullQuery:
            return self._nothing()
        elif type(node) is wq.Phrase:
            mask, scores = self._phrase(node)
        else:
            mask, scores = self._by_whoosh(node)
        if node.boost != 1.0:
            scores = scores * np.float32(node.boost)
        return mask, scores

    def _nothing(self) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(self.size, dtype=bool), np.zeros(self.size, dtype=np.float32)

    def _phrase(self, node) -> tuple[np.ndarray, np.ndarray]:
        """The documents with the phrase's words side by side, found from their positions in numpy;
        the score is that of the words, as for an And. A phrase with a slop is left to Whoosh."""
        if node.slop != 1 or not node.words:
            return self._phrase_by_whoosh(node)
        mask, scores = self._nothing()
        docs = phrase_documents([self.position_keys(node.fieldname, word) for word in node.words])
        if docs.size:
            mask[docs] = True
            for word in node.words:
                scores += self._term(node.fieldname, word)[1]
            scores *= mask
        return mask, scores

    def _phrase_by_whoosh(self, node) -> tuple[np.ndarray, np.ndarray]:
        mask, scores = self._nothing()
        for docnum in self.searcher.docs_for_query(node):
            mask[docnum] = True
        if mask.any():
            for word in node.words:
                scores += self._term(node.fieldname, word)[1]
            scores *= mask
        return mask, scores

    def position_keys(self, fieldname: str, text: str) -> np.ndarray:
        """Every position of a term, over every segment, as ``document << 32 | position``, sorted."""
        key = ("positions", fieldname, text)
        with self._lock:
            if key in self._postings:
                self._postings.move_to_end(key)
                return self._postings[key]
        docs, ends, positions, base = [], [], [], 0
        for (reader, offset), columns in zip(self._leaves, self._columns, strict=True):
            columned = columns.positions(fieldname, text) if columns is not None else None
            if columned is None:
                columned = _read_positions(reader, fieldname, text)
            leaf_docs, leaf_ends, leaf_positions = columned
            if leaf_docs.size:
                docs.append(leaf_docs.astype(np.int64) + offset)
                ends.append(leaf_ends + base)
                positions.append(leaf_positions)
                base += leaf_positions.size
        if docs:
            docs, ends = np.concatenate(docs), np.concatenate(ends)
            counts = np.diff(ends, prepend=0)
            found = (np.repeat(docs, counts) << 32) | np.concatenate(positions).astype(np.int64)
        else:
            found = np.zeros(0, dtype=np.int64)
        self._keep(key, found, found.size)
        return found

    def _by_whoosh(self, node) -> tuple[np.ndarray, np.ndarray]:
        mask, scores = self._nothing()
        for hit_score, docnum in self.searcher.search(node, limit=None).top_n:
            mask[docnum] = True
            scores[docnum] = hit_score
        return mask, scores

    def _term(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        mask, scores = self._nothing()
        docs, contributions = self.contributions(fieldname, text)
        mask[docs] = True
        scores[docs] = contributions
        return mask, scores

    def contributions(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The documents having a term, and the term's BM25F score in each (boosts aside)."""
        docs, weights = self.postings(fieldname, text)
        if not docs.size:
            return docs, weights
        lengths = self.lengths(fieldname)[docs]
        average = self.searcher.avg_field_length(fieldname) or 1
        idf = self.searcher.idf(fieldname, text)
        norm = BM25_K1 * ((1 - BM25_B) + BM25_B * lengths / average)
        return docs, (idf * (weights * (BM25_K1 + 1)) / (weights + norm)).astype(np.float32)

    def any_term(self, terms: Iterable[tuple[str, str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """The documents having any of ``terms`` (field, text, boost), each scored with the sum of
        its terms' scores: an Or of terms in a few array operations, however many terms."""
        docs, scores = [], []
        for fieldname, text, boost in terms:
            term_docs, contributions = self.contributions(fieldname, text)
            if term_docs.size:
                docs.append(term_docs)
                scores.append(contributions * np.float32(boost))
        if not docs:
            return self._nothing()
        every_doc = np.concatenate(docs)
        mask = np.zeros(self.size, dtype=bool)
        mask[every_doc] = True
        summed = np.bincount(every_doc, weights=np.concatenate(scores), minlength=self.size)
        return mask, summed.astype(np.float32)

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and weights of one term, over every segment."""
        key = (fieldname, text)
        with self._lock:
            if key in self._postings:
                self._postings.move_to_end(key)
                return self._postings[key]
        docs, weights = [], []
        for (reader, offset), columns in zip(self._leaves, self._columns, strict=True):
            columned = columns.postings(fieldname, text) if columns is not None else None
            if columned is not None:
                docs.append(columned[0].astype(np.int64) + offset)
                weights.append(columned[1])
                continue
            try:
                matcher = reader.postings(fieldname, text)
            except TermNotFound:
                continue
            if isinstance(matcher, FilterMatcher):  # deleted documents: the live mask drops them
                matcher = matcher.child
            leaf_docs, leaf_weights = _read_postings(matcher)
            docs.append(leaf_docs + offset)
            weights.append(leaf_weights)
        found = (
            (np.concatenate(docs), np.concatenate(weights))
            if docs
            else (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))
        )
        self._keep(key, found, found[0].size)
        return found

    def _keep(self, key: tuple, found: tuple, size: int) -> None:
        """Cache ``found`` under ``key``, counted as ``size`` postings; the oldest go beyond the limit."""
        with self._lock:
            self._postings[key] = found
            self._sizes[key] = size
            self._cached += size
            while self._cached > POSTINGS_CACHE_SIZE and len(self._postings) > 1:
                old, _ = self._postings.popitem(last=False)
                self._cached -= self._sizes.pop(old)

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in ``fieldname``, as Whoosh stores it (approximate, one byte)."""
        if fieldname not in self._lengths:
            parts = [segment.lengths(leaf, fieldname) for segment, leaf, _ in self._segments]
            self._lengths[fieldname] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return self._lengths[fieldname]


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Which of ``values`` are in ``sorted_keys`` (sorted), by binary search: no sorting."""
    if not sorted_keys.size:
        return np.zeros(values.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, values), sorted_keys.size - 1)
    return sorted_keys[at] == values


def phrase_documents(words: list[np.ndarray]) -> np.ndarray:
    """The documents where the words, each given by its sorted keys ``document << 32 | position``,
    follow each other: the first at some position p, the second at p + 1, and so on. A document
    may be listed more than once. Starting from the rarest word, each other word's keys are looked
    up by binary search: nothing is sorted."""
    (rarest, keys), *others = sorted(enumerate(words), key=lambda item: item[1].size)
    starts = keys - rarest
    for shift, keys in others:
        if not starts.size:
            break
        starts = starts[_in_sorted(starts + shift, keys)]
    return starts >> 32


def _read_positions(reader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A term's documents, position ends and positions in one segment, from Whoosh's blocks."""
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint32)
    if isinstance(matcher, FilterMatcher):  # deleted documents: the live mask drops them
        matcher = matcher.child
    docs, values = [], []
    while matcher.is_active():
        docs.append(matcher.id())
        values.append(matcher.value())
        matcher.next()
    lengths = np.array([len(value) // POSITION_SIZE for value in values], dtype=np.int64)
    positions = np.frombuffer(b"".join(values), dtype=np.uint32)
    return np.array(docs, dtype=np.int64), np.cumsum(lengths), positions


def _read_postings(matcher) -> tuple[np.ndarray, np.ndarray]:
    """All document numbers and weights of a fresh leaf matcher, a block at a time when possible."""
    docs, weights = [], []
    if isinstance(matcher, W3LeafMatcher):
        while matcher.is_active():
            matcher._read_ids()
            matcher._read_weights()
            docs.append(np.asarray(matcher._ids, dtype=np.int64))
            weights.append(np.asarray(matcher._weights, dtype=np.float32))
            matcher._next_block()
    else:
        while matcher.is_active():
            docs.append(np.array([matcher.id()], dtype=np.int64))
            weights.append(np.array([matcher.weight()], dtype=np.float32))
            matcher.next()
    if not docs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    return np.concatenate(docs), np.concatenate(weights)
