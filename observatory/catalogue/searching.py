"""Searching the catalogue: text, facets with counts, highlights, suggestions, similar processes.

The page /processi, the API and the CLI all call :func:`search_processes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from observatory import search
from observatory.catalogue import services
from observatory.catalogue.tables import PROCESS_STATES, Organisation, Process, Territory

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

    page: services.ProcessPage
    text: str
    facets: list[dict] = field(default_factory=list)
    years: dict = field(default_factory=dict)
    highlights: dict[str, str] = field(default_factory=dict)
    suggestion: str | None = None
    corrected_from: str | None = None


async def _summaries_in_order(ids: list[int]) -> list[dict]:
    if not ids:
        return []
    rows = await Process.select(*services.SUMMARY_COLUMNS).where(Process.id.is_in(ids), services.published())
    by_id = {row["id"]: row for row in rows}
    ordered = [by_id[i] for i in ids if i in by_id]
    return await services.summarise_processes(ordered)


async def search_processes(search_index: search.SearchIndex, query: services.ProcessQuery) -> SearchOutcome:
    """Published processes matching the text and filters of ``query``, with facet counts.

    Unknown filter values raise services.FilterError, as on the database path.
    """
    await services.check_filters(query)
    request = search.SearchRequest(
        text=query.q,
        filters={
            "ambito": query.ambito,
            "tipo": query.tipo,
            "stato": query.stato,
            "livello": query.livello,
            "fonte": query.fonte,
            "tematica": query.tematica,
            "territorio": [code.upper() for code in query.territorio],
            "ente": query.ente,
            "titolare": query.titolare,
        },
        year_from=query.anno_da,
        year_to=query.anno_a,
        sort=query.ordine,
        page=query.pagina,
        page_size=query.per_pagina,
    )
    result = search.run_search(search_index, request)
    items = await _summaries_in_order(result.ids)
    slug_of = {item_id: item["slug"] for item_id, item in zip(result.ids, items, strict=False)}
    page = services.ProcessPage(
        items=items, total=result.total, page=query.pagina, page_size=query.per_pagina
    )
    return SearchOutcome(
        page=page,
        text=result.corrected_text or query.q,
        facets=await _facet_views(result.facets, query),
        years={"decades": result.decades, "years": result.years},
        highlights={slug_of[i]: html for i, html in result.highlights.items() if i in slug_of},
        suggestion=result.suggestion,
        corrected_from=result.corrected_from,
    )


async def _facet_views(counts: dict[str, dict[str, int]], query: services.ProcessQuery) -> list[dict]:
    """Facets with labelled options, selected ones first, most frequent next."""
    vocabularies = await services.vocabularies()
    labels: dict[str, dict[str, str]] = {
        name: {t["slug"]: t["label"] for t in vocabularies.get(name, [])}
        for name in ("tipo", "ambito", "tematica", "livello", "fonte")
    }
    labels["stato"] = dict(PROCESS_STATES)
    labels["territorio"] = await _territory_labels(counts.get("territorio", {}), query.territorio)
    labels["titolare"] = await _organisation_labels(counts.get("titolare", {}), query.titolare)
    views = []
    for name, title in FACET_LABELS.items():
        chosen = set(getattr(query, name))
        options = [
            {
                "value": value,
                "label": labels[name][value],
                "count": counts.get(name, {}).get(value, 0),
                "selected": value in chosen,
            }
            for value in labels[name]
            if value in chosen or counts.get(name, {}).get(value)
        ]
        if name == "territorio":  # regions, then provinces, then comuni
            options.sort(
                key=lambda o: ("IRPC".find(o["value"][0]), not o["selected"], -o["count"], o["label"])
            )
        else:
            options.sort(key=lambda o: (not o["selected"], -o["count"], o["label"]))
        views.append({"name": name, "label": title, "options": options})
    return views


async def _territory_labels(counts: dict[str, int], selected: list[str]) -> dict[str, str]:
    """Regions always; the provinces of a selected region; the comuni of a selected province."""
    selected = [code.upper() for code in selected]
    regions = [code for code in counts if code.startswith("R")]
    query = Territory.select(Territory.code, Territory.name)
    wanted = Territory.code.is_in(regions + selected or ["-"])
    for code in selected:
        if code.startswith("R"):
            wanted |= (Territory.region_code == code) & (Territory.level == "provincia")
        elif code.startswith("P"):
            wanted |= (Territory.province_code == code) & (Territory.level == "comune")
    rows = await query.where(wanted).order_by(Territory.name_key)
    return {row["code"]: row["name"] for row in rows if row["code"] in counts or row["code"] in selected}


async def _organisation_labels(counts: dict[str, int], selected: list[str]) -> dict[str, str]:
    top = sorted(counts, key=lambda slug: -counts[slug])[:TOP_ORGANISATIONS]
    slugs = list(dict.fromkeys([*selected, *top]))
    if not slugs:
        return {}
    rows = await Organisation.select(Organisation.slug, Organisation.name).where(
        Organisation.slug.is_in(slugs)
    )
    return {row["slug"]: row["name"] for row in rows}


async def similar_processes(search_index: search.SearchIndex, process_id: int, limit: int = 5) -> list[dict]:
    """Processes like this one, from the index ("processi simili")."""
    ids = search.more_like(search_index, process_id, limit)
    return await _summaries_in_order(ids)
