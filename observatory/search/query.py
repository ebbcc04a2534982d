"""Queries: a reader's search run in the index, one page of results with counts and snippets."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from whoosh.fields import Schema
from whoosh.qparser import MultifieldParser, WildcardPlugin

from observatory.search import snippets, spelling
from observatory.search.facets import FacetArrays
from observatory.search.index import TEXT_FIELDS, SearchIndex

#: Spelling suggestions are looked for only when a search finds fewer processes than this.
SUGGEST_BELOW = 10


@dataclass
class SearchRequest:
    """A search: text, facet filters (OR inside a facet, AND across), years, sort and page."""

    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)
    year_from: int | None = None
    year_to: int | None = None
    sort: str = "rilevanza"
    page: int = 1
    page_size: int = 20

    def cache_key(self) -> tuple:
        filters = tuple(
            sorted((name, tuple(sorted(values))) for name, values in self.filters.items() if values)
        )
        return (self.text, filters, self.year_from, self.year_to, self.sort, self.page, self.page_size)


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


def parse_text(schema: Schema, text: str):
    """The Whoosh query of a reader's text: every word must match somewhere (phrases in quotes)."""
    parser = MultifieldParser(list(TEXT_FIELDS), schema=schema, fieldboosts=TEXT_FIELDS)
    parser.remove_plugin_class(WildcardPlugin)  # "*" and "?" are plain characters to readers
    return parser.parse(text)


def _text_match(searcher, arrays: FacetArrays, text: str):
    """Documents matching ``text`` as a mask, the query, and the relevance score of every document.

    Whole posting lists are matched and scored at once in numpy (see TextScorer), so a common word
    costs a few array operations instead of one Python call per matching document.
    """
    if not text.strip():
        return arrays.live.copy(), None, None
    query = parse_text(searcher.schema, text)
    mask, scores = arrays.scorer.evaluate(query)
    return mask & arrays.live, query, scores


def run_search(search_index: SearchIndex, request: SearchRequest) -> SearchResult:
    """Filter, count and sort in the index, then cut the requested page.

    Results are cached per index generation: any write to the index empties the cache.
    """
    searcher, arrays = search_index.searcher()
    key = request.cache_key()
    cached = search_index.cached_result(searcher, key)
    if cached is not None:
        return cached
    result = _run_search(searcher, arrays, request)
    search_index.cache_result(searcher, key, result)
    return result


def _filtered(arrays: FacetArrays, request: SearchRequest, text_mask: np.ndarray):
    """The mask of each active filter, the mask of the years, and what matches them all and the text."""
    filter_masks = {name: arrays.mask_for(name, values) for name, values in request.filters.items() if values}
    year_mask = arrays.year_mask(request.year_from, request.year_to)
    final = text_mask & year_mask
    for mask in filter_masks.values():
        final &= mask
    return filter_masks, year_mask, final


def matching_ids(search_index: SearchIndex, request: SearchRequest) -> list[int]:
    """The ids of every process matching ``request`` (text, filters, years), in its order: no page cut."""
    searcher, arrays = search_index.searcher()
    text_mask, _, scores = _text_match(searcher, arrays, request.text)
    final = _filtered(arrays, request, text_mask)[2]
    return [
        int(arrays.pid[d]) for d in _sorted_page(arrays, final, scores, request.sort, 0, int(final.sum()))
    ]


def _run_search(searcher, arrays: FacetArrays, request: SearchRequest) -> SearchResult:
    text_mask, query, scores = _text_match(searcher, arrays, request.text)
    corrected_from = corrected_text = suggestion = None
    if query is not None and text_mask.sum() < SUGGEST_BELOW:
        correction = spelling.correction(searcher, arrays, request.text)
        if correction is not None:
            corrected_mask, corrected_query, corrected_scores = _text_match(searcher, arrays, correction)
            if corrected_mask.sum() > text_mask.sum():
                if not text_mask.any():  # nothing found: show what the corrected words find
                    corrected_from, corrected_text = request.text, correction
                    text_mask, query, scores = corrected_mask, corrected_query, corrected_scores
                else:
                    suggestion = correction
    filter_masks, year_mask, final = _filtered(arrays, request, text_mask)
    facets = {}
    for name in arrays.values:
        base = text_mask & year_mask
        for other, mask in filter_masks.items():
            if other != name:
                base &= mask
        facets[name] = arrays.counts(name, base)
    years_of = arrays.start_year[final & (arrays.start_year >= 0)]
    year_counts = np.bincount(years_of) if years_of.size else np.array([], dtype=np.int64)
    years = {int(y): int(n) for y, n in enumerate(year_counts) if n}
    decades: dict[int, int] = {}
    for year, n in years.items():
        decades[year // 10 * 10] = decades.get(year // 10 * 10, 0) + n
    total = int(final.sum())
    offset = (request.page - 1) * request.page_size
    docnums = _sorted_page(arrays, final, scores, request.sort, offset, request.page_size)
    highlights = snippets.highlights(searcher, docnums, query) if query is not None else {}
    return SearchResult(
        ids=[int(arrays.pid[d]) for d in docnums],
        cards=[searcher.stored_fields(d)["card"] for d in docnums],
        labels=arrays.labels,
        parents=arrays.parents,
        total=total,
        facets=facets,
        decades=decades,
        years=years,
        highlights={int(arrays.pid[d]): text for d, text in highlights.items()},
        suggestion=suggestion,
        corrected_from=corrected_from,
        corrected_text=corrected_text,
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


def more_like(search_index: SearchIndex, pid: int, limit: int) -> list[int]:
    """Ids of the processes most similar to ``pid``, by the key terms of its title and body."""
    searcher, arrays = search_index.searcher()
    docnum = searcher.document_number(pid=str(pid))
    if docnum is None:
        return []
    hits = searcher.more_like(docnum, "body", top=limit, numterms=12)
    by_title = searcher.more_like(docnum, "title", top=limit, numterms=6)
    ranked = list(dict.fromkeys(h.docnum for h in [*by_title, *hits] if h.docnum != docnum))
    return [int(arrays.pid[d]) for d in ranked[:limit]]


def cards(search_index: SearchIndex, pids: list[int]) -> list[dict]:
    """The stored cards of the processes ``pids`` that are in the index, in that order."""
    searcher, _ = search_index.searcher()
    found = []
    for pid in pids:
        docnum = searcher.document_number(pid=str(pid))
        if docnum is not None:
            found.append(searcher.stored_fields(docnum)["card"])
    return found
