"""Likeness: the documents most like one document, each scored over every document at once.

What makes two documents alike is the caller's to say (:class:`Likeness`): the same value of a
single-valued facet, the share of the values of a many-valued facet they have in common, the best
of some weighted values they share (a nested facet, where a closer value weighs more), and their
texts: the key terms of one document's text fields scored, with BM25F, in every other document.
Each part is an array over the generation's documents, computed from the facet arrays and the
posting lists, so a document's likes cost a few milliseconds at 100,000 documents.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

import numpy as np

from observatory.search.facets import FacetArrays
from observatory.search.index import SearchIndex

#: Key terms taken from each text field of the document (by tf-idf).
KEY_TERMS = {"title": 6, "body": 12}
#: Each generation's idf of the terms asked so far, by field and term (gone with the generation).
_idf: WeakKeyDictionary[FacetArrays, dict[tuple[str, str], float]] = WeakKeyDictionary()


@dataclass(frozen=True)
class Likeness:
    """What makes two documents alike, each part with its weight (a part scores 0 to 1)."""

    #: Single-valued facets: 1 when both documents have the same value.
    same: Mapping[str, float] = field(default_factory=dict)
    #: Many-valued facets: the share of their values in common (Jaccard: in common / in either).
    shared: Mapping[str, float] = field(default_factory=dict)
    #: Many-valued facets whose values are weighed one by one (value → weight, 0 for none): the
    #: weight of the heaviest value of the document's that another has.
    nearest: Mapping[str, Callable[[str], float]] = field(default_factory=dict)
    #: The text: the best-scoring other document scores ``text``, the others in proportion.
    text: float = 0.0


def most_alike(search_index: SearchIndex, pid: int, likeness: Likeness, limit: int) -> list[int]:
    """Ids of the ``limit`` documents most like document ``pid``, the most alike first (equal
    scores in index order); none that shares nothing with it."""
    searcher, arrays = search_index.searcher()
    docnum = searcher.document_number(pid=str(pid))
    if docnum is None:
        return []
    scores = np.zeros(arrays.size, dtype=np.float64)
    for name, weight in likeness.same.items():
        scores += weight * _same(arrays, name, docnum)
    for name, weight in likeness.shared.items():
        scores += weight * _shared(arrays, name, docnum)
    for name, weigh in likeness.nearest.items():
        scores += _nearest(arrays, name, docnum, weigh)
    if likeness.text:
        scores += likeness.text * _text(searcher, arrays, docnum)
    candidates = arrays.live.copy()
    candidates[docnum] = False
    candidates &= scores > 0
    docs = np.flatnonzero(candidates)
    if docs.size > limit:
        docs = docs[np.argpartition(-scores[docs], limit - 1)[:limit]]
    docs = docs[np.lexsort((docs, -scores[docs]))]
    return arrays.pid[docs].tolist()


def _same(arrays: FacetArrays, name: str, docnum: int) -> np.ndarray:
    values = arrays.single.get(name)
    if values is None or values[docnum] < 0:
        return np.zeros(arrays.size)
    return (values == values[docnum]).astype(np.float64)


def _values(arrays: FacetArrays, name: str, docnum: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every document's values of many-valued facet ``name`` (docnums, value ids) and ``docnum``'s."""
    docs, values = arrays.many[name]
    starts = arrays.many_starts(name)
    return docs, values, values[starts[docnum] : starts[docnum + 1]]


def _shared(arrays: FacetArrays, name: str, docnum: int) -> np.ndarray:
    if name not in arrays.many:
        return np.zeros(arrays.size)
    docs, values, own = _values(arrays, name, docnum)
    if not own.size:
        return np.zeros(arrays.size)
    common = np.bincount(docs[np.isin(values, own)], minlength=arrays.size)
    either = np.diff(arrays.many_starts(name)) + own.size - common
    return np.divide(common, either, out=np.zeros(arrays.size), where=either > 0)


def _nearest(arrays: FacetArrays, name: str, docnum: int, weigh: Callable[[str], float]) -> np.ndarray:
    best = np.zeros(arrays.size)
    if name not in arrays.many:
        return best
    docs, values, own = _values(arrays, name, docnum)
    weights = np.zeros(len(arrays.values[name]) + 1)
    for value_id in own.tolist():
        weights[value_id] = weigh(arrays.values[name][value_id])
    each = weights[values]
    having = each > 0
    np.maximum.at(best, docs[having], each[having])
    return best


def _text(searcher, arrays: FacetArrays, docnum: int) -> np.ndarray:
    terms = [
        (fieldname, term, weight)
        for fieldname, count in KEY_TERMS.items()
        for term, weight in _key_terms(searcher, arrays, docnum, fieldname, count)
    ]
    _, scores = arrays.scorer.any_term(terms)
    scores = scores.astype(np.float64)
    scores[docnum] = 0
    top = scores.max(initial=0)
    return scores / top if top > 0 else scores


def _key_terms(
    searcher, arrays: FacetArrays, docnum: int, fieldname: str, count: int
) -> list[tuple[str, float]]:
    """The ``count`` terms of a document's stored ``fieldname`` that say most about it: how often
    it has each (as the field analyses its text) times how rare the term is in the index (idf)."""
    text = searcher.stored_fields(docnum).get(fieldname) or ""
    frequencies = Counter(searcher.schema[fieldname].process_text(text, mode="index"))
    known = _idf.setdefault(arrays, {})  # the same words come back page after page
    weights = []
    for term, frequency in frequencies.items():
        if (fieldname, term) not in known:
            known[fieldname, term] = searcher.idf(fieldname, term)
        weights.append((term, frequency * known[fieldname, term]))
    return heapq.nlargest(count, weights, key=lambda pair: pair[1])
