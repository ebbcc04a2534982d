"""/statistiche and /mappa: the charts and maps of the published catalogue, with the filters of
/processi in the address; every chart also alone, embeddable in another site, and as CSV."""

from __future__ import annotations

from dataclasses import replace

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Stream, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from observatory.catalogue import choropleths, exports, geography, searching
from observatory.catalogue.queries import FilterError, ProcessQuery, parse_process_query
from observatory.i18n import N_, _
from observatory.search.index import SearchIndex
from observatory.statistics import charts
from observatory.web import EMBEDDABLE_POLICY, error_page, settings_of

#: The filters the form of the statistics pages has no input for, carried along when it is submitted.
HIDDEN = ("titolare", "ente", "programma", "fondo", "anno_da", "anno_a")
#: The parameter of /mappa that says its level (``livello`` is the filter of participation levels).
LEVEL_PARAMETER = "dettaglio"
#: The levels of the map of Italy, by the value of LEVEL_PARAMETER.
MAP_LEVELS = {"regione": N_("per regione"), "provincia": N_("per provincia")}


def _search_index(request: Request) -> SearchIndex:
    return request.app.state.search_index


def _query(request: Request) -> ProcessQuery:
    return parse_process_query(request.query_params.dict(), settings_of(request).page_size)


async def _context(request: Request, query: ProcessQuery) -> dict:
    """What every statistics page shows: the tallies, the filters with their options and chips."""
    search_index = _search_index(request)
    tallies = await searching.tally_processes(search_index, query, charts.SUMMED, charts.ONGOING)
    found = await searching.search_processes(
        search_index, replace(query, ordine="recenti", pagina=1, per_pagina=1)
    )
    return {
        "query": query,
        "found": found,
        "tallies": tallies,
        "search_href": charts.search_href(query),
        "pairs": charts.query_pairs(query),
        "selected": _chips(query, found),
        "hidden": [(name, value) for name, value in query.active_filters() if name in HIDDEN],
    }


def _chips(query: ProcessQuery, found: searching.SearchOutcome) -> list[dict]:
    """The active filters, each with the address of this page without it."""
    pairs = charts.query_pairs(query)
    chips = []
    for pair in pairs:
        rest = [p for p in pairs if p != pair]
        name, value = pair
        label = f"«{value}»" if name == "q" else found.filter_labels.get(pair, value)
        chips.append({"label": label, "rest": rest})
    return chips


def _refused(exc: FilterError) -> Template:
    return error_page(HTTP_400_BAD_REQUEST, exc.message)


class StatisticsPages(Controller):
    """Charts and maps of the published catalogue."""

    include_in_schema = False

    @get("/statistiche", name="statistics")
    async def statistics(self, request: Request) -> Template:
        """Every chart of the processes the filters find."""
        try:
            query = _query(request)
            context = await _context(request, query)
        except FilterError as exc:
            return _refused(exc)
        context["statistics"] = charts.statistics(context["tallies"], query)
        return Template("statistics.html", context=context)

    @get("/statistiche/{slug:str}", name="statistics_chart")
    async def chart(self, request: Request, slug: FromPath[str]) -> Template:
        """One chart alone; with ``incorpora=1``, without the site around it, for another site's frame."""
        try:
            query = _query(request)
            context = await _context(request, query)
        except FilterError as exc:
            return _refused(exc)
        context["statistics"] = charts.statistics(context["tallies"], query)
        chart = context["statistics"].chart(slug)
        if chart is None:
            raise NotFoundException(_("Nessun grafico «%(slug)s».") % {"slug": slug})
        embedded = request.query_params.get("incorpora") == "1"
        context |= {"chart": chart, "embedded": embedded}
        if embedded:
            return Template(
                "chart_embed.html", context=context, headers={"Content-Security-Policy": EMBEDDABLE_POLICY}
            )
        return Template("chart.html", context=context)

    @get("/statistiche/{slug:str}/dati.csv", name="statistics_csv")
    async def chart_csv(self, request: Request, slug: FromPath[str]) -> Stream | Template:
        """The numbers of one chart, with the search behind each, as CSV."""
        try:
            query = _query(request)
            tallies = await searching.tally_processes(
                _search_index(request), query, charts.SUMMED, charts.ONGOING
            )
        except FilterError as exc:
            return _refused(exc)
        chart = charts.statistics(tallies, query).chart(slug)
        if chart is None:
            raise NotFoundException(_("Nessun grafico «%(slug)s».") % {"slug": slug})
        columns, rows = charts.csv_rows(chart, settings_of(request).base_url)
        return Stream(
            exports.csv_lines(rows, columns),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="statistiche-{slug}.csv"'},
        )

    @get("/mappa", name="map")
    async def map(self, request: Request) -> Template:
        """Italy by region or by province, shaded by the processes the filters find, with the comuni."""
        level = request.query_params.get(LEVEL_PARAMETER) or "regione"
        if level not in MAP_LEVELS:
            message = N_("Dettaglio della mappa: valori ammessi regione, provincia.")
            return error_page(HTTP_400_BAD_REQUEST, message)
        try:
            query = _query(request)
            context = await _context(request, query)
        except FilterError as exc:
            return _refused(exc)
        tallies = context["tallies"]
        counts = tallies.facets.get("territorio", {})
        names = tallies.labels.get("territorio", {})
        drawn = choropleths.choropleth(
            geography.italy(level),
            counts,
            lambda code: charts.search_href(query, territorio=code),
            f"Processi {MAP_LEVELS[level]}",
            f"L'Italia {MAP_LEVELS[level]}: più è scuro il colore, più processi vi si sono svolti; "
            "i cerchi sono i comuni con processi, più grandi dove ce ne sono di più.",
            names,
            within=lambda code: True,
        )
        national = tallies.facets.get("scala", {}).get("nazionale", 0)
        context |= {"map": drawn, "level": level, "levels": MAP_LEVELS, "national": national}
        context["level_parameter"] = LEVEL_PARAMETER
        return Template("map.html", context=context)
