"""Facets: per-document facet values in numpy arrays, per searcher generation.

Filtering and counting many-valued facets over 100,000 processes costs a few milliseconds. Which
facets there are is the documents' business: each stored ``facets`` says its single-valued ones
(``single``: name → value or None) and its many-valued ones (``many``: name → list of values),
the labels of its values (``labels``: name → value → label) and, for nested values, the value
each is inside (``parents``: value → value).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from observatory.search.postings import PostingColumns
from observatory.search.scoring import TextScorer
from observatory.search.typos import MOST_COMPLETIONS, PREFIX_FROM, Deletions

#: A mask with fewer than 1/SPARSE_FRACTION of the documents is counted from its documents' values.
SPARSE_FRACTION = 8


class SegmentFacets:
    """The facet data of one index segment, with value ids local to it, and its posting columns."""

    def __init__(self, reader):
        size = self.size = reader.doc_count_all()
        self.present = np.zeros(size, dtype=bool)
        self.pid = np.zeros(size, dtype=np.int64)
        self.start_year = np.full(size, -1, dtype=np.int32)
        self.end_year = np.full(size, -1, dtype=np.int32)
        self.ongoing = np.zeros(size, dtype=bool)
        self.investment = np.full(size, np.nan, dtype=np.float64)
        self.updated = np.zeros(size, dtype=np.float64)
        self.title_keys: list[str] = [""] * size
        self.labels: dict[str, dict[str, str]] = {}
        self.parents: dict[str, str | None] = {}
        ids: dict[str, dict[str, int]] = {}
        single_values: dict[str, list[tuple[int, int]]] = {}  # facet → (docnum, value id)
        many_docs: dict[str, list[int]] = {}
        many_values: dict[str, list[int]] = {}
        for docnum, stored in reader.iter_docs():
            facets = stored["facets"]
            for name, values in facets["labels"].items():
                self.labels.setdefault(name, {}).update(values)
            self.parents.update(facets["parents"])
            self.present[docnum] = True
            self.pid[docnum] = int(stored["pid"])
            for name, value in facets["single"].items():
                known, chosen = ids.setdefault(name, {}), single_values.setdefault(name, [])
                if value is not None:
                    chosen.append((docnum, known.setdefault(value, len(known))))
            for name, values in facets["many"].items():
                known = ids.setdefault(name, {})
                docs, value_ids = many_docs.setdefault(name, []), many_values.setdefault(name, [])
                for value in values:
                    docs.append(docnum)
                    value_ids.append(known.setdefault(value, len(known)))
            if facets["start_year"] is not None:
                self.start_year[docnum] = facets["start_year"]
            if facets["end_year"] is not None:
                self.end_year[docnum] = facets["end_year"]
            self.ongoing[docnum] = facets["ongoing"]
            if facets["investment"] is not None:
                self.investment[docnum] = facets["investment"]
            self.updated[docnum] = facets["updated"]
            self.title_keys[docnum] = facets["title_key"]
        self.single = {}
        for name, chosen in single_values.items():
            self.single[name] = np.full(size, -1, dtype=np.int32)
            for docnum, value_id in chosen:
                self.single[name][docnum] = value_id
        self.many = {
            name: (np.array(docs, dtype=np.int64), np.array(many_values[name], dtype=np.int32))
            for name, docs in many_docs.items()
        }
        self.values = {name: list(mapping) for name, mapping in ids.items()}
        self._lengths: dict[str, np.ndarray] = {}
        #: The postings of the segment's common terms (None when it was written without them).
        self.columns = PostingColumns.of(reader)
        self._deletions: Deletions | None = None

    def deletions(self, reader) -> Deletions:
        """The segment's words by their deletions, for typo tolerance, from a reader of it: read
        at the first search that needs them (written with the segment), then kept."""
        if self._deletions is None:
            self._deletions = Deletions.of(reader)
        return self._deletions

    def lengths(self, reader, fieldname: str) -> np.ndarray:
        """Each document's length in ``fieldname`` (Whoosh keeps it approximate, in one byte)."""
        if fieldname not in self._lengths:
            # every segment is written and read with index.IndexCodec, whose per-document reader
            # (kept private by Whoosh's segment reader) gives the whole column at once
            self._lengths[fieldname] = reader._perdoc.field_lengths(fieldname)
        return self._lengths[fieldname]


def _global_ids(part: SegmentFacets, name: str, ids: dict[str, int]) -> np.ndarray:
    """A segment's value ids of facet ``name`` mapped to ids over every segment (with -1 last)."""
    local = part.values.get(name, [])
    return np.array([ids.setdefault(v, len(ids)) for v in local] + [-1], dtype=np.int32)


class FacetArrays:
    """Per-document facet values of one searcher generation, as numpy arrays indexed by docnum."""

    def __init__(self, size: int):
        self.size = size
        self.live = np.zeros(size, dtype=bool)
        self.pid = np.zeros(size, dtype=np.int64)
        self.values: dict[str, list[str]] = {}  # facet → value strings (ids are positions)
        self.single: dict[str, np.ndarray] = {}  # facet → value id per doc (-1: none)
        self.many: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # facet → (docnums, value ids)
        self._many_starts: dict[str, np.ndarray] = {}  # facet → where each docnum's values begin
        self.start_year = np.full(size, -1, dtype=np.int32)
        self.end_year = np.full(size, -1, dtype=np.int32)
        self.ongoing = np.zeros(size, dtype=bool)
        self.investment = np.full(size, np.nan, dtype=np.float64)  #: euro; NaN where not known
        self.updated = np.zeros(size, dtype=np.float64)
        self.title_rank = np.zeros(size, dtype=np.int64)
        self.labels: dict[str, dict[str, str]] = {}  # facet → value → label
        self.parents: dict[str, str | None] = {}  # value → the value it is inside
        self.scorer: TextScorer | None = None
        self._reader = None
        self._segments: list[tuple[SegmentFacets, object]] = []  # with the searcher's reader of each

    def close_words(self, word: str, edits: int) -> dict[str, int]:
        """The words of every segment within ``edits`` typos of ``word``, with their distance."""
        found: dict[str, int] = {}
        if not edits:
            return found
        for segment, reader in self._segments:
            for candidate, distance in segment.deletions(reader).close_words(word, edits).items():
                found[candidate] = min(distance, found.get(candidate, distance))
        return found

    def completions(self, prefix: str) -> list[str]:
        """The words of every segment that begin with ``prefix`` (folded), those in most documents
        first, at most MOST_COMPLETIONS."""
        if len(prefix) < PREFIX_FROM:
            return []
        found: dict[str, int] = {}
        for segment, reader in self._segments:
            for word, count in segment.deletions(reader).completions(prefix).items():
                found[word] = found.get(word, 0) + count
        return sorted(found, key=lambda word: (-found[word], len(word), word))[:MOST_COMPLETIONS]

    def segments(self) -> list[tuple[SegmentFacets, int]]:
        """The facet data of each segment and the number of its first document in this generation."""
        offsets = np.cumsum([0] + [part.size for part, _ in self._segments])
        return [(part, int(offset)) for (part, _), offset in zip(self._segments, offsets, strict=False)]

    def same_words(self, word: str) -> set[str]:
        """The words of every segment that are ``word`` once accents are folded (città for citta)."""
        return {
            same for segment, reader in self._segments for same in segment.deletions(reader).same_words(word)
        }

    def nearby_words(self, word: str, distance: int) -> dict[str, tuple[int, int]]:
        """The words of every segment within ``distance`` edits of ``word`` (see
        typos.Deletions.nearby_words), with their distance and how many documents have them."""
        found: dict[str, tuple[int, int]] = {}
        for segment, reader in self._segments:
            for candidate, (edits, count) in segment.deletions(reader).nearby_words(word, distance).items():
                found[candidate] = (edits, found.get(candidate, (edits, 0))[1] + count)
        return found

    @classmethod
    def build(cls, searcher, segments: dict[str, SegmentFacets]) -> FacetArrays:
        """Join the facet data of the searcher's segments; ``segments`` caches it by segment id.

        Segments never change once written (only their deletions grow), so after a write only the
        new, small segment is read: the first search after publishing stays fast at 100,000.
        """
        reader = searcher.reader()
        arrays = cls(reader.doc_count_all())
        parts = []
        for leaf, offset in reader.leaf_readers():
            if leaf.segment() is None:  # the reader of an index with no document yet
                continue
            key = leaf.segment().segment_id()
            if key not in segments:
                segments[key] = SegmentFacets(leaf)
            parts.append((segments[key], leaf, offset))
        for stale in set(segments) - {part_leaf.segment().segment_id() for _, part_leaf, _ in parts}:
            del segments[stale]
        titles: list[str] = [""] * arrays.size
        for part, leaf, offset in parts:
            end = offset + part.size
            arrays.live[offset:end] = part.present
            for docnum in leaf.deleted_docs_set:
                arrays.live[offset + docnum] = False
            arrays.pid[offset:end] = part.pid
            arrays.start_year[offset:end] = part.start_year
            arrays.end_year[offset:end] = part.end_year
            arrays.ongoing[offset:end] = part.ongoing
            arrays.investment[offset:end] = part.investment
            arrays.updated[offset:end] = part.updated
            titles[offset:end] = part.title_keys
            for name, values in part.labels.items():
                arrays.labels.setdefault(name, {}).update(values)
            arrays.parents.update(part.parents)
        for name in sorted({name for part, _, _ in parts for name in part.single}):
            ids: dict[str, int] = {}
            singles = []
            for part, _, _ in parts:
                to_global = _global_ids(part, name, ids)
                if name in part.single:
                    singles.append(to_global[part.single[name]])  # -1 (no value) maps to the last: -1
                else:
                    singles.append(np.full(part.size, -1, dtype=np.int32))
            arrays.values[name] = list(ids)
            arrays.single[name] = np.concatenate(singles)
        for name in sorted({name for part, _, _ in parts for name in part.many}):
            ids = {}
            many_docs, many_values = [], []
            for part, _, offset in parts:
                to_global = _global_ids(part, name, ids)
                docs, values = part.many.get(name, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int32)))
                many_docs.append(docs + offset)
                many_values.append(to_global[values])
            arrays.values[name] = list(ids)
            arrays.many[name] = (np.concatenate(many_docs), np.concatenate(many_values).astype(np.intp))
            arrays._many_starts[name] = np.searchsorted(arrays.many[name][0], np.arange(arrays.size + 1))
        arrays.title_rank[np.argsort(np.array(titles, dtype=object), kind="stable")] = np.arange(arrays.size)
        arrays._count_together()
        arrays._segments = [(part, leaf) for part, leaf, _ in parts]
        arrays.scorer = TextScorer(
            searcher, arrays.size, [(part, leaf, offset) for part, leaf, offset in parts]
        )
        arrays._reader = reader
        return arrays

    def _count_together(self) -> None:
        """The single-valued facets' value ids as rows of one array, each facet's ids after the
        previous one's, no value in a last bin of its own; every facet's values as an array."""
        self._value_names = {name: np.array(values, dtype=object) for name, values in self.values.items()}
        self._live_documents = int(self.live.sum())
        self._every_bins: dict[str, np.ndarray] = {}  # facet → counts over every live document
        names = sorted(self.single)
        self._single_rows = {name: row for row, name in enumerate(names)}
        self._single_starts, total = {}, 0
        for name in names:
            self._single_starts[name], total = total, total + len(self.values[name])
        self._single_total = total
        self._single_codes = np.empty((len(names), self.size), dtype=np.int32)
        for row, name in enumerate(names):
            ids = self.single[name]
            self._single_codes[row] = np.where(ids >= 0, ids + self._single_starts[name], total)

    def mask_for(self, name: str, selected: Iterable[str]) -> np.ndarray:
        """Documents having any of the ``selected`` values of facet ``name`` (none, for a facet no
        document has)."""
        lookup = {value: i for i, value in enumerate(self.values.get(name, []))}
        wanted = np.array([lookup[v] for v in selected if v in lookup], dtype=np.int32)
        if name in self.single:
            return np.isin(self.single[name], wanted)
        mask = np.zeros(self.size, dtype=bool)
        if name in self.many:
            docs, values = self.many[name]
            mask[docs[np.isin(values, wanted)]] = True
        return mask

    def many_starts(self, name: str) -> np.ndarray:
        """Where each document's values of many-valued facet ``name`` begin in ``many[name]``
        (one more entry than documents: document d's are at starts[d]:starts[d + 1])."""
        return self._many_starts[name]

    def counts(self, name: str, mask: np.ndarray) -> dict[str, int]:
        """How many documents in ``mask`` have each value of facet ``name`` (once per document)."""
        return self.counts_of([name], mask).get(name, {})

    def counts_of(self, names: Iterable[str], mask: np.ndarray) -> dict[str, dict[str, int]]:
        """How many documents in ``mask`` have each value of each facet of ``names`` (once per
        document). The single-valued facets are counted together, in one pass; a mask of few
        documents is counted from its documents' values alone."""
        names = [name for name in names if name in self.values]
        documents = np.count_nonzero(mask)
        if documents * 2 > self._live_documents and not (mask & ~self.live).any():
            # most of the documents: count the others, taken from the counts of every document
            every = self._live_bins(names)
            others = self._bins(names, self.live & ~mask, self._live_documents - documents)
            return {name: self._named(name, every[name] - others[name]) for name in names}
        bins = self._bins(names, mask, documents)
        return {name: self._named(name, bins[name]) for name in names}

    def _named(self, name: str, bins: np.ndarray) -> dict[str, int]:
        nonzero = np.flatnonzero(bins)
        return dict(zip(self._value_names[name][nonzero].tolist(), bins[nonzero].tolist(), strict=True))

    def _live_bins(self, names: list[str]) -> dict[str, np.ndarray]:
        missing = [name for name in names if name not in self._every_bins]
        if missing:
            self._every_bins |= self._bins(missing, self.live, self._live_documents)
        return self._every_bins

    def _bins(self, names: list[str], mask: np.ndarray, documents: int) -> dict[str, np.ndarray]:
        """Each facet's count of each value (by id) over ``mask``, of ``documents`` documents."""
        sparse = np.flatnonzero(mask) if documents * SPARSE_FRACTION < self.size else None
        bins: dict[str, np.ndarray] = {}
        singles = [name for name in names if name in self.single]
        if singles:
            codes = self._single_codes
            if len(singles) < codes.shape[0]:
                codes = codes[[self._single_rows[name] for name in singles]]
            chosen = np.take(codes, np.flatnonzero(mask) if sparse is None else sparse, axis=1)
            counted = np.bincount(chosen.ravel(), minlength=self._single_total + 1)
            for name in singles:
                start = self._single_starts[name]
                bins[name] = counted[start : start + len(self.values[name])]
        for name in names:
            if name in self.single:
                continue
            docs, values = self.many[name]
            if sparse is None:
                bins[name] = np.bincount(values[mask[docs]], minlength=len(self.values[name]))
            else:
                starts = self._many_starts[name]
                first, counts = starts[sparse], starts[sparse + 1] - starts[sparse]
                picked = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
                bins[name] = np.bincount(values[picked], minlength=len(self.values[name]))
        return bins

    def sums(self, name: str, mask: np.ndarray, weights: np.ndarray) -> dict[str, float]:
        """The sum of ``weights`` over the documents in ``mask`` with each value of the single-valued
        facet ``name`` (documents whose weight is NaN add nothing)."""
        if name not in self.single:
            return {}
        known = mask & ~np.isnan(weights) & (self.single[name] >= 0)
        totals = np.bincount(
            self.single[name][known], weights=weights[known], minlength=len(self.values[name])
        )
        counted = np.bincount(self.single[name][known], minlength=len(self.values[name]))
        return {self.values[name][i]: float(totals[i]) for i in np.flatnonzero(counted)}

    def year_mask(self, year_from: int | None, year_to: int | None) -> np.ndarray:
        """Processes active in [year_from, year_to], with the database's rules."""
        mask = np.ones(self.size, dtype=bool)
        if year_from is not None:
            ends = self.end_year >= year_from
            open_ended = (self.end_year < 0) & (self.ongoing | (self.start_year >= year_from))
            mask &= ends | open_ended
        if year_to is not None:
            mask &= (self.start_year >= 0) & (self.start_year <= year_to)
        return mask

    def start_mask(self, started_from: int | None, started_to: int | None) -> np.ndarray:
        """Processes started in [started_from, started_to] (all of them when neither is given)."""
        mask = np.ones(self.size, dtype=bool)
        if started_from is not None:
            mask &= self.start_year >= started_from
        if started_to is not None:
            mask &= (self.start_year >= 0) & (self.start_year <= started_to)
        return mask
