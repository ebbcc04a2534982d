"""Searching the catalogue: text, facets with counts, highlights, suggestions, similar processes.

The page /processi, the API and the CLI all call :func:`search_processes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from observatory.catalogue import services
from observatory.catalogue.tables import PROCESS_STATES, Organisation, Process, Term, Territory
from observatory.search.index import SearchIndex
from observatory.search.query import SearchRequest, SearchResult, more_like, run_search

#: Facets in the order a reader sees them, with their Italian names.
FACET_LABELS = {
    "tipo": "Tipo di processo",
    "ambito": "Ambito di intervento",
    "tematica": "Tematica specifica",
    "territorio": "Territorio",
    "titolare": "Titolare della decisione",
    "stato": "Stato di avanzamento",
    "livello": "Livello di partecipazione",
    "fonte": "Processo segnalato da",
}
TOP_ORGANISATIONS = 15


@dataclass
class SearchOutcome:
    """One page of a search, ready for a page or the API."""

    page: services.Page
    text: str
    facets: list[dict] = field(default_factory=list)
    years: dict = field(default_factory=dict)
    highlights: dict[str, str] = field(default_factory=dict)
    suggestion: str | None = None
    corrected_from: str | None = None
    #: (filter, value) → the value's label, for the active filters.
    filter_labels: dict[tuple[str, str], str] = field(default_factory=dict)


async def _summaries_in_order(ids: list[int]) -> list[dict]:
    if not ids:
        return []
    rows = await Process.select(*services.SUMMARY_COLUMNS).where(Process.id.is_in(ids), services.published())
    by_id = {row["id"]: row for row in rows}
    ordered = [by_id[i] for i in ids if i in by_id]
    return await services.summarise_processes(ordered)


async def search_processes(search_index: SearchIndex, query: services.ProcessQuery) -> SearchOutcome:
    """Published processes matching the text and filters of ``query``, with facet counts.

    Everything a results page shows (cards, facet labels) comes from the index, so a search costs
    no database query; only a filter value the index does not know is checked in the database,
    where an unknown one raises services.FilterError as on the database path.
    """
    filters = {name: list(getattr(query, name)) for name in services.FILTER_NAMES}
    filters["territorio"] = [code.upper() for code in filters["territorio"]]
    request = SearchRequest(
        text=query.q,
        filters=filters,
        year_from=query.anno_da,
        year_to=query.anno_a,
        sort=query.ordine,
        page=query.pagina,
        page_size=query.per_pagina,
    )
    result = run_search(search_index, request)
    labels = {name: result.labels.get(name, {}) for name in services.FILTER_NAMES}
    labels["stato"] = dict(PROCESS_STATES)
    missing = {name: [v for v in values if v not in labels[name]] for name, values in filters.items()}
    if any(missing.values()):
        await services.check_filters(query)
        labels = await _with_database_labels(labels, missing)
    items = [
        {**card, "state_label": PROCESS_STATES.get(card["state"]) if card["state"] else None}
        for card in result.cards
    ]
    slug_of = {item_id: item["slug"] for item_id, item in zip(result.ids, items, strict=True)}
    page = services.Page(items=items, total=result.total, page=query.pagina, page_size=query.per_pagina)
    return SearchOutcome(
        page=page,
        text=result.corrected_text or query.q,
        facets=_facet_views(result, labels, filters),
        years={"decades": result.decades, "years": result.years},
        highlights={slug_of[i]: html for i, html in result.highlights.items() if i in slug_of},
        suggestion=result.suggestion,
        corrected_from=result.corrected_from,
        filter_labels={
            (name, value): labels[name].get(value, value)
            for name, value in query.active_filters()
            if name in labels
        },
    )


async def _with_database_labels(
    labels: dict[str, dict[str, str]], missing: dict[str, list[str]]
) -> dict[str, dict[str, str]]:
    """Labels of filter values no indexed process carries (a term nobody uses yet, say)."""
    labels = {name: dict(values) for name, values in labels.items()}
    terms = [(name, value) for name in services.VOCABULARY_FILTERS for value in missing.get(name, [])]
    for name, value in terms:
        row = await Term.select(Term.label).where(Term.vocabulary == name, Term.slug == value).first()
        if row:
            labels[name][value] = row["label"]
    if missing.get("territorio"):
        rows = await Territory.select(Territory.code, Territory.name).where(
            Territory.code.is_in(missing["territorio"])
        )
        labels["territorio"].update({row["code"]: row["name"] for row in rows})
    slugs = missing.get("ente", []) + missing.get("titolare", [])
    if slugs:
        rows = await Organisation.select(Organisation.slug, Organisation.name).where(
            Organisation.slug.is_in(slugs)
        )
        for name in ("ente", "titolare"):
            labels[name].update({row["slug"]: row["name"] for row in rows})
    return labels


def _facet_views(
    result: SearchResult, labels: dict[str, dict[str, str]], filters: dict[str, list[str]]
) -> list[dict]:
    """Facets with labelled options, selected ones first, most frequent next.

    Territories show the regions, the provinces of a selected region and the comuni of a selected
    province; decision holders the most frequent ones.
    """
    views = []
    for name, title in FACET_LABELS.items():
        counts = result.facets.get(name, {})
        chosen = set(filters.get(name, []))
        values = [value for value in counts if value in labels[name]]
        if name == "territorio":
            values = [v for v in values if v.startswith("R") or result.parents.get(v) in chosen]
        elif name == "titolare":
            values = sorted(values, key=lambda slug: -counts[slug])[:TOP_ORGANISATIONS]
        options = [
            {
                "value": value,
                "label": labels[name].get(value, value),
                "count": counts.get(value, 0),
                "selected": value in chosen,
            }
            for value in dict.fromkeys([*chosen, *values])
        ]
        if name == "territorio":  # regions, then provinces, then comuni
            options.sort(
                key=lambda o: ("IRPC".find(o["value"][0]), not o["selected"], -o["count"], o["label"])
            )
        else:
            options.sort(key=lambda o: (not o["selected"], -o["count"], o["label"]))
        views.append({"name": name, "label": title, "options": options})
    return views


async def similar_processes(search_index: SearchIndex, process_id: int, limit: int = 5) -> list[dict]:
    """Processes like this one, from the index ("processi simili")."""
    ids = more_like(search_index, process_id, limit)
    return await _summaries_in_order(ids)
