"""Every list of processes comes from the search index: text, filters, facets with counts,
highlights, suggestions, similar processes, organisation and territory pages, the home page.

The page /processi, the API and the CLI call :func:`search_processes`; organisation, territory and
home pages call it too, so the filter rules have one implementation. A list costs no database
query: cards and labels are in the index. The database is asked only whether a filter value that
no indexed process carries exists, and for the latest published and the organisations themselves.
What the search boxes suggest as you type (:func:`suggestions`) comes from the index too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from observatory.catalogue import fields, services
from observatory.catalogue.queries import FILTERS, ProcessQuery, check_filters, filter_label, value_label
from observatory.catalogue.tables import ORGANISATION_ROLES, TERRITORY_LEVELS, Organisation, Term, Territory
from observatory.search.completion import TITLES, Completer, Completion
from observatory.search.index import IndexUnavailable, SearchIndex
from observatory.search.likeness import Likeness, most_alike
from observatory.search.query import (
    SearchRequest,
    SearchResult,
    Tallies,
    cards,
    matching_ids,
    run_search,
    run_tallies,
)
from observatory.text import years
from observatory.web import Page

#: Facets in the order a reader sees them (each is labelled as its field).
FACET_ORDER = (
    "tipo",
    "ambito",
    "tematica",
    "territorio",
    "scala",
    "titolare",
    "stato",
    "intervento",
    "livello",
    "fonte",
)
TOP_ORGANISATIONS = 15
#: The most processes one organisation or territory page lists at a time.
LIST_SIZE = 100
#: The facets whose labels the search boxes suggest while a visitor types, by kind of suggestion.
SUGGESTED_FACETS = {
    "territorio": ("territorio",),
    "ente": ("ente",),
    "termine": tuple(name for name, declared in FILTERS.items() if declared.vocabulary),
}
#: How many suggestions of each kind at most ("processo": published processes, by title), in this
#: order when they match equally well.
SUGGESTION_LIMITS = {"territorio": 4, "ente": 4, "termine": 3, "processo": 5}
#: A text shorter than this suggests nothing.
SUGGEST_FROM = 2
#: The level of a territory, by the first letter of its code (IT, R01, P201, C001272).
_LEVEL_OF = {"I": "paese", "R": "regione", "P": "provincia", "C": "comune"}
_completer = Completer(SUGGESTED_FACETS)
#: How much a shared territory makes two processes alike, by the level of the closest one they
#: share (a code's first letter: comune, provincia, regione); all of Italy counts for nothing.
TERRITORY_LIKENESS = {"C": 2.0, "P": 1.5, "R": 1.0}
#: What makes processes alike. The kind weighs most: a participatory budget is like other
#: participatory budgets before a different kind of process in the same comune.
SIMILAR_PROCESSES = Likeness(
    same={"tipo": 4.0, "ambito": 1.0},
    shared={"tematica": 1.5},
    nearest={"territorio": lambda code: TERRITORY_LIKENESS.get(code[0], 0.0)},
    text=2.0,
)


@dataclass
class SearchOutcome:
    """One page of a search, ready for a page or the API."""

    page: Page
    text: str
    facets: list[dict] = field(default_factory=list)
    years: dict = field(default_factory=dict)
    highlights: dict[str, str] = field(default_factory=dict)
    suggestion: str | None = None
    corrected_from: str | None = None
    #: No process has every word of the text: these have some of them, the most words first.
    partial: bool = False
    #: Words within a typo of the text's words that found processes too ("Risultati anche per").
    fuzzy: list[str] = field(default_factory=list)
    #: (filter, value) → the value's label, for the active filters.
    filter_labels: dict[tuple[str, str], str] = field(default_factory=dict)
    #: Every facet's counts: facet → value → how many processes of the search have it.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Territory code → the code of the territory it is inside (None for IT).
    parents: dict[str, str | None] = field(default_factory=dict)
    #: Facet → value → label, for every value the index knows.
    labels: dict[str, dict[str, str]] = field(default_factory=dict)


def _listed(card: dict) -> dict:
    state = fields.BY_NAME["state"].choices or {}
    return {**card, "state_label": state.get(card["state"]) if card["state"] else None}


def _request(query: ProcessQuery) -> SearchRequest:
    return SearchRequest(
        text=query.q,
        filters={name: list(values) for name, values in query.filters.items() if values},
        year_from=query.anno_da,
        year_to=query.anno_a,
        started_from=query.avvio_da,
        started_to=query.avvio_a,
        sort=query.ordine,
        page=query.pagina,
        page_size=query.per_pagina,
    )


async def matching_process_ids(search_index: SearchIndex, query: ProcessQuery) -> list[int]:
    """The ids of every published process matching ``query``, in its order (no pages); an unknown
    filter value raises FilterError."""
    request = _request(query)
    if request.filters:
        await check_filters(request.filters)
    return matching_ids(search_index, request)


async def search_processes(search_index: SearchIndex, query: ProcessQuery) -> SearchOutcome:
    """Published processes matching the text and filters of ``query``, with facet counts.

    Everything a results page shows (cards, facet labels) comes from the index; only a filter value
    the index does not know is checked in the database, where an unknown one raises FilterError.
    """
    request = _request(query)
    filters = request.filters
    result = run_search(search_index, request)
    labels = {name: dict(result.labels.get(name, {})) for name in FILTERS}
    missing = {name: [v for v in values if v not in labels[name]] for name, values in filters.items()}
    if any(missing.values()):
        await check_filters(missing)
        await _add_database_labels(labels, missing)
    items = [_listed(card) for card in result.cards]
    slug_of = {item_id: item["slug"] for item_id, item in zip(result.ids, items, strict=True)}
    return SearchOutcome(
        page=Page(items=items, total=result.total, page=query.pagina, page_size=query.per_pagina),
        text=result.corrected_text or query.q,
        facets=_facet_views(result, labels, filters),
        years={"decades": result.decades, "years": result.years},
        highlights={slug_of[i]: html for i, html in result.highlights.items() if i in slug_of},
        suggestion=result.suggestion,
        corrected_from=result.corrected_from,
        partial=result.partial,
        fuzzy=result.fuzzy,
        filter_labels={
            (name, value): value_label(name, labels[name].get(value, value))
            for name, value in query.active_filters()
            if name in labels
        },
        counts=result.facets,
        parents=result.parents,
        labels=result.labels,
    )


async def tally_processes(
    search_index: SearchIndex, query: ProcessQuery, summed: tuple[str, ...], split: tuple[str, str]
) -> Tallies:
    """The figures of every published process matching ``query`` (see search.query.run_tallies);
    an unknown filter value raises FilterError, as a search does."""
    request = _request(query)
    tallies = run_tallies(search_index, request, summed, split)
    missing = {
        name: [v for v in values if v not in tallies.labels.get(name, {})]
        for name, values in request.filters.items()
    }
    if any(missing.values()):
        await check_filters(missing)
    return tallies


async def _add_database_labels(labels: dict[str, dict[str, str]], missing: dict[str, list[str]]) -> None:
    """Labels of filter values no indexed process carries (a term nobody uses yet, say)."""
    for name, values in missing.items():
        declared = FILTERS[name]
        if not values:
            continue
        if declared.vocabulary:
            rows = await Term.select(Term.slug, Term.label).where(
                Term.vocabulary == declared.vocabulary, Term.slug.is_in(values)
            )
            labels[name] |= {row["slug"]: row["label"] for row in rows}
        elif declared.choices:
            labels[name] |= {value: declared.choices[value] for value in values if value in declared.choices}
        elif declared.type == fields.TERRITORIES:
            rows = await Territory.select(Territory.code, Territory.name).where(Territory.code.is_in(values))
            labels[name] |= {row["code"]: row["name"] for row in rows}
        else:
            rows = await Organisation.select(Organisation.slug, Organisation.name).where(
                Organisation.slug.is_in(values)
            )
            labels[name] |= {row["slug"]: row["name"] for row in rows}


def _facet_views(
    result: SearchResult, labels: dict[str, dict[str, str]], filters: dict[str, list[str]]
) -> list[dict]:
    """Facets with labelled options, selected ones first, most frequent next.

    Territories show the regions, the provinces of a selected region and the comuni of a selected
    province; decision holders the most frequent ones.
    """
    views = []
    for name in FACET_ORDER:
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
                "label": value_label(name, labels[name].get(value, value)),
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
        views.append({"name": name, "label": filter_label(name), "options": options})
    return views


async def similar_processes(search_index: SearchIndex, process_id: int, limit: int = 5) -> list[dict]:
    """Processes like this one ("processi simili"), by SIMILAR_PROCESSES: the same kind first of
    all, then the nearest territory, the theme area, the topics and the words of title and text;
    none while the index is unavailable."""
    try:
        alike = most_alike(search_index, process_id, SIMILAR_PROCESSES, limit)
        return [_listed(card) for card in cards(search_index, alike)]
    except IndexUnavailable:
        return []


async def listed_processes(
    search_index: SearchIndex, name: str, value: str, page: int, page_size: int
) -> SearchOutcome:
    """The published processes filter ``name`` finds for ``value`` (an organisation's, a
    territory's), by start year, newest first."""
    query = ProcessQuery(filters={name: [value]}, ordine="anno", pagina=page, per_pagina=page_size)
    return await search_processes(search_index, query)


async def organisation_processes(search_index: SearchIndex, slug: str, page: int, page_size: int) -> Page:
    """Public processes an organisation takes part in, newest first, and its roles in each."""
    found = await listed_processes(search_index, "ente", slug, page, page_size)
    for item in found.page.items:
        item["roles"] = [ORGANISATION_ROLES[role] for role in item["organisation_roles"].get(slug, [])]
    return found.page


async def find_organisation(
    search_index: SearchIndex, slug: str, page: int, page_size: int
) -> services.OrganisationLookup:
    """An organisation with its process count and a page of its processes, or where its old slug leads."""
    found = await services.find_organisation(slug, await organisation_counts(search_index))
    if found.organisation is not None:
        found.processes = await organisation_processes(search_index, slug, page, page_size)
    return found


async def organisation_counts(search_index: SearchIndex) -> dict[str, int]:
    """How many published processes each organisation takes part in, by slug."""
    return (await search_processes(search_index, ProcessQuery(per_pagina=1))).counts.get("ente", {})


async def territory_counts(search_index: SearchIndex) -> dict[str, int]:
    """How many published processes took place in each territory or anywhere inside it, by code."""
    return (await search_processes(search_index, ProcessQuery(per_pagina=1))).counts.get("territorio", {})


async def home_figures(search_index: SearchIndex, latest: int = 6) -> dict:
    """Figures for the home page: totals, by theme area, by region, the latest published."""
    found = await search_processes(search_index, ProcessQuery(per_pagina=1))
    by_facet = {facet["name"]: facet["options"] for facet in found.facets}
    regions = [o for o in by_facet["territorio"] if o["value"].startswith("R")]
    return {
        "total": found.page.total,
        "by_theme": [{"slug": o["value"], "label": o["label"], "n": o["count"]} for o in by_facet["ambito"]],
        "by_region": [{"code": o["value"], "name": o["label"], "n": o["count"]} for o in regions],
        "national": found.counts.get("scala", {}).get("nazionale", 0),
        "latest": [_listed(card) for card in cards(search_index, await services.latest_published(latest))],
        "organisations": await Organisation.count(),
        "projects": await services.project_figures(),
    }


async def suggestions(search_index: SearchIndex, text: str, limit: int | None = None) -> list[dict]:
    """What a search box suggests for ``text`` as it is typed: territories, organisations and
    vocabulary terms that published processes have, and published processes by title, each with
    its address; at most ``limit`` of each kind (SUGGESTION_LIMITS otherwise). Every word typed
    must begin a word of the label, accents and case aside; the kind with the closest match comes first."""
    if len(text.strip()) < SUGGEST_FROM:
        return []
    limits = {_group(kind): limit or most for kind, most in SUGGESTION_LIMITS.items()}
    found = _completer.complete(search_index, text, limits)
    kinds = sorted(
        (kind for kind in SUGGESTION_LIMITS if found.get(_group(kind))),
        key=lambda kind: min(completion.tier for completion in found[_group(kind)]),
    )
    return [_suggestion(kind, completion) for kind in kinds for completion in found[_group(kind)]]


def prepare_suggestions(search_index: SearchIndex) -> None:
    """Read what suggestions need from the index now, so that the first one does not wait."""
    _completer.prepare(search_index)


def _group(kind: str) -> str:
    return TITLES if kind == "processo" else kind


def _processes(count: int) -> str:
    return "1 processo" if count == 1 else f"{count} processi"


def _suggestion(kind: str, completion: Completion) -> dict:
    """A completion as the API answers it: kind, label, a short detail, how many, the address."""
    value, count = completion.value, completion.count
    if kind == "processo":
        card = completion.card
        places = [place["name"] for place in card["territories"] or []]
        where = ", ".join(places[:2]) + (" e altri" if len(places) > 2 else "")
        detail = " · ".join(part for part in (where, years(card)) if part)
        count, url = None, f"/processi/{card['slug']}"
    elif kind == "territorio":
        level = TERRITORY_LEVELS[_LEVEL_OF[value[0]]]
        inside = f"{level}, {completion.parent_label}" if completion.parent_label else level
        detail, url = f"{inside} · {_processes(count)}", f"/territori/{value}"
    elif kind == "ente":
        detail, url = _processes(count), f"/enti/{value}"
    else:
        vocabulary = fields.VOCABULARIES[FILTERS[completion.facet].vocabulary]
        detail = f"{vocabulary} · {_processes(count)}"
        url = "/processi?" + urlencode({completion.facet: value})
    return {"kind": kind, "label": completion.label, "detail": detail, "count": count, "url": url}
