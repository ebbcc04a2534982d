"""Queries: a reader's search run in the index, one page of results with counts and snippets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from whoosh import query as wq
from whoosh.fields import Schema
from whoosh.qparser import MultifieldParser, WildcardPlugin

from observatory.search import matching, snippets, spelling
from observatory.search.facets import FacetArrays
from observatory.search.index import TEXT_FIELDS, SearchIndex
from observatory.search.matching import TextMatch
from observatory.search.synonyms import Synonyms

#: Spelling suggestions are looked for only when a search finds fewer processes than this.
SUGGEST_BELOW = 10


@dataclass
class SearchRequest:
    """A search: text, facet filters (OR inside a facet, AND across), years, sort and page."""

    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    started_from: int | None = None
    started_to: int | None = None
    sort: str = "rilevanza"
    page: int = 1
    page_size: int = 20

    def cache_key(self) -> tuple:
        filters = tuple(
            sorted((name, tuple(sorted(values))) for name, values in self.filters.items() if values)
        )
        years = (self.year_from, self.year_to, self.started_from, self.started_to)
        return (self.text, filters, years, self.sort, self.page, self.page_size)


@dataclass
class SearchResult:
    """Process ids of one page, the total, facet counts and snippets."""

    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]]
    decades: dict[int, int]
    years: dict[int, int]
    highlights: dict[int, str]
    cards: list[dict] = field(default_factory=list)
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    parents: dict[str, str | None] = field(default_factory=dict)
    suggestion: str | None = None
    corrected_from: str | None = None
    corrected_text: str | None = None
    #: No process has every word: these have some of them, the most words first.
    partial: bool = False
    #: Words within a typo of the text's words that found processes too ("Risultati anche per").
    fuzzy: list[str] = field(default_factory=list)


def parse_text(schema: Schema, text: str):
    """The Whoosh query of a reader's text: every word must match somewhere (phrases in quotes)."""
    parser = MultifieldParser(list(TEXT_FIELDS), schema=schema, fieldboosts=TEXT_FIELDS)
    parser.remove_plugin_class(WildcardPlugin)  # "*" and "?" are plain characters to readers
    return parser.parse(text)


#: Query text that is not plain words (phrases, groups, operators, fields) is matched as typed.
_SYNTAX = re.compile(r'["():]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b')


def _text_match(searcher, arrays: FacetArrays, text: str, synonyms: Synonyms) -> TextMatch:
    """Documents matching ``text`` as a mask, the query, and the relevance score of every document.

    Whole posting lists are matched and scored at once in numpy (see TextScorer), so a common word
    costs a few array operations instead of one Python call per matching document. Plain words are
    matched forgivingly (:mod:`observatory.search.matching`); text with syntax as typed.
    """
    if not text.strip():
        return TextMatch(arrays.live.copy())
    if not _SYNTAX.search(text):
        words = matching.words_of(text)
        if words:
            return matching.every_unit(arrays, matching.units_of(arrays, words, synonyms))
    query = parse_text(searcher.schema, text)
    mask, scores = arrays.scorer.evaluate(query)
    return TextMatch(mask & arrays.live, query, scores)


def run_search(search_index: SearchIndex, request: SearchRequest) -> SearchResult:
    """Filter, count and sort in the index, then cut the requested page.

    Results are cached per index generation: any write to the index empties the cache.
    """
    searcher, arrays = search_index.searcher()
    synonyms = search_index.synonyms
    key = (*request.cache_key(), synonyms.version)
    cached = search_index.cached_result(searcher, key)
    if cached is not None:
        return cached
    result = _run_search(searcher, arrays, request, synonyms)
    search_index.cache_result(searcher, key, result)
    return result


def _filtered(arrays: FacetArrays, request: SearchRequest, text_mask: np.ndarray):
    """The mask of each active filter, the mask of the years, and what matches them all and the text."""
    filter_masks = {name: arrays.mask_for(name, values) for name, values in request.filters.items() if values}
    year_mask = arrays.year_mask(request.year_from, request.year_to)
    year_mask &= arrays.start_mask(request.started_from, request.started_to)
    final = text_mask & year_mask
    for mask in filter_masks.values():
        final &= mask
    return filter_masks, year_mask, final


def matching_ids(search_index: SearchIndex, request: SearchRequest) -> list[int]:
    """The ids of every process matching ``request`` (text, filters, years), in its order: no page cut."""
    searcher, arrays = search_index.searcher()
    matched = _matched(searcher, arrays, request.text, search_index.synonyms)
    final, scores = _filtered(arrays, request, matched.mask)[2], matched.scores
    return [
        int(arrays.pid[d]) for d in _sorted_page(arrays, final, scores, request.sort, 0, int(final.sum()))
    ]


def _matched(searcher, arrays: FacetArrays, text: str, synonyms: Synonyms) -> TextMatch:
    """The text's matches. When they are few, unknown or rare words get a correction (spelling):
    a text that finds nothing is replaced by its correction when that finds processes, one that
    finds little gets it as a suggestion when it finds more. When no process has every word, the
    processes with most of them (matching.most_parts)."""
    found = _text_match(searcher, arrays, text, synonyms)
    count = int(found.mask.sum())
    if found.units and count < SUGGEST_BELOW:
        corrected = spelling.correction(arrays, found.units)
        if corrected is not None:
            correction, words = corrected
            better = _text_match(searcher, arrays, correction, synonyms)
            if int(better.mask.sum()) > count:
                if not count:  # nothing found: show what the corrected words find
                    better.corrected_from, better.corrected_text = text, correction
                    return better
                if not set(words) <= set(found.fuzzy):  # not what "Risultati anche per" says
                    found.suggestion = correction
    if found.query is not None and not count:
        if found.units:
            parts = [(unit.mask, unit.exact_scores, unit.query) for unit in found.units]
        elif type(found.query) is wq.And:
            parts = [(*arrays.scorer.evaluate(part), part) for part in found.query.subqueries]
        else:
            parts = []
        return matching.most_parts(arrays, parts) or found
    return found


def _facet_counts(arrays: FacetArrays, base: np.ndarray, filter_masks: dict[str, np.ndarray]) -> dict:
    """Every facet's counts: each counted over ``base`` and every filter but its own, so that a
    facet shows what choosing another of its values would find."""
    every_filter = base.copy()
    for mask in filter_masks.values():
        every_filter &= mask
    facets = arrays.counts_of([name for name in arrays.values if name not in filter_masks], every_filter)
    for name in filter_masks:  # counted over the other filters
        counted = base.copy()
        for other, mask in filter_masks.items():
            if other != name:
                counted &= mask
        facets |= arrays.counts_of([name], counted)
    return facets


@dataclass
class Tallies:
    """The figures of everything a search finds: its facet counts (as the search reports them),
    processes by start year, and investment summed by the values of some facets."""

    total: int
    facets: dict[str, dict[str, int]]
    labels: dict[str, dict[str, str]]
    parents: dict[str, str | None]
    started: dict[int, int]  #: start year → processes
    started_ongoing: dict[int, int]  #: start year → processes with the value ``split`` names
    without_start: int  #: processes with no start year
    investment: dict[str, dict[str, float]]  #: facet → value → euro
    invested: float  #: euro over every process that says it
    with_investment: int  #: processes that say their investment
    corrected_from: str | None = None
    corrected_text: str | None = None
    partial: bool = False


def run_tallies(
    search_index: SearchIndex, request: SearchRequest, summed: tuple[str, ...], split: tuple[str, str]
) -> Tallies:
    """The figures of what ``request`` finds (its page and sort ignored), from the facet arrays:
    investment summed by each value of the facets ``summed``, start years told apart by a value
    of a single-valued facet (``split``: facet, value). Cached per index generation like searches."""
    searcher, arrays = search_index.searcher()
    synonyms = search_index.synonyms
    key = ("tallies", summed, split, request.text, request.cache_key()[1:3], synonyms.version)
    cached = search_index.cached_result(searcher, key)
    if cached is not None:
        return cached
    matched = _matched(searcher, arrays, request.text, synonyms)
    filter_masks, year_mask, final = _filtered(arrays, request, matched.mask)
    known = final & (arrays.start_year >= 0)
    started = np.bincount(arrays.start_year[known]) if known.any() else np.zeros(0, dtype=np.int64)
    facet, value = split
    ongoing = np.bincount(arrays.start_year[known & arrays.mask_for(facet, [value])], minlength=started.size)
    invested = final & ~np.isnan(arrays.investment)
    tallies = Tallies(
        total=int(final.sum()),
        facets=_facet_counts(arrays, matched.mask & year_mask, filter_masks),
        labels=arrays.labels,
        parents=arrays.parents,
        started={int(y): int(n) for y, n in enumerate(started) if n},
        started_ongoing={int(y): int(n) for y, n in enumerate(ongoing) if n},
        without_start=int((final & (arrays.start_year < 0)).sum()),
        investment={name: arrays.sums(name, final, arrays.investment) for name in summed},
        invested=float(arrays.investment[invested].sum()),
        with_investment=int(invested.sum()),
        corrected_from=matched.corrected_from,
        corrected_text=matched.corrected_text,
        partial=matched.partial,
    )
    search_index.cache_result(searcher, key, tallies)
    return tallies


def _run_search(searcher, arrays: FacetArrays, request: SearchRequest, synonyms: Synonyms) -> SearchResult:
    matched = _matched(searcher, arrays, request.text, synonyms)
    text_mask, query, scores = matched.mask, matched.query, matched.scores
    filter_masks, year_mask, final = _filtered(arrays, request, text_mask)
    facets = _facet_counts(arrays, text_mask & year_mask, filter_masks)
    years_of = arrays.start_year[final & (arrays.start_year >= 0)]
    year_counts = np.bincount(years_of) if years_of.size else np.array([], dtype=np.int64)
    years = {int(y): int(n) for y, n in enumerate(year_counts) if n}
    decades: dict[int, int] = {}
    for year, n in years.items():
        decades[year // 10 * 10] = decades.get(year // 10 * 10, 0) + n
    total = int(final.sum())
    offset = (request.page - 1) * request.page_size
    docnums = _sorted_page(arrays, final, scores, request.sort, offset, request.page_size)
    stored = {docnum: searcher.stored_fields(docnum) for docnum in docnums}
    highlights = snippets.highlights(stored, query) if query is not None else {}
    return SearchResult(
        ids=[int(arrays.pid[d]) for d in docnums],
        cards=[stored[d]["card"] for d in docnums],
        labels=arrays.labels,
        parents=arrays.parents,
        total=total,
        facets=facets,
        decades=decades,
        years=years,
        highlights={int(arrays.pid[d]): text for d, text in highlights.items()},
        suggestion=matched.suggestion,
        corrected_from=matched.corrected_from,
        corrected_text=matched.corrected_text,
        partial=matched.partial,
        fuzzy=matched.fuzzy,
    )


def _sorted_page(arrays, mask, scores, sort, offset, size) -> list[int]:
    if offset >= mask.sum():
        return []
    docs = np.flatnonzero(mask)
    if sort == "rilevanza" and scores is not None:
        wanted = offset + size
        if docs.size > wanted:  # only documents scoring at least the wanted-th best need sorting
            threshold = np.partition(scores[docs], docs.size - wanted)[docs.size - wanted]
            docs = docs[scores[docs] >= threshold]
        order = np.lexsort((docs, -scores[docs]))  # best first; equal scores in index order
        return docs[order[offset:wanted]].tolist()
    if sort == "titolo":
        keys = (arrays.title_rank[docs],)
    elif sort in ("anno", "anno_asc"):
        years = arrays.start_year[docs].astype(np.int64)
        unknown = years < 0
        primary = years if sort == "anno_asc" else -years
        keys = (arrays.title_rank[docs], primary, unknown)
    else:  # recenti
        keys = (-arrays.pid[docs], -arrays.updated[docs])
    order = np.lexsort(keys)
    return docs[order[offset : offset + size]].tolist()


def cards(search_index: SearchIndex, pids: list[int]) -> list[dict]:
    """The stored cards of the processes ``pids`` that are in the index, in that order."""
    searcher, _ = search_index.searcher()
    found = []
    for pid in pids:
        docnum = searcher.document_number(pid=str(pid))
        if docnum is not None:
            found.append(searcher.stored_fields(docnum)["card"])
    return found
