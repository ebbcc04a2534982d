"""Public pages and JSON API of the catalogue. Both call the same service functions."""

from __future__ import annotations

from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec, spec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath
from litestar.response import Redirect, Stream, Template
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_301_MOVED_PERMANENTLY,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_410_GONE,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from observatory.catalogue import (
    choropleths,
    exports,
    geography,
    indexing,
    maps,
    searching,
    services,
    sources,
)
from observatory.catalogue.answers import unpublished_answer
from observatory.catalogue.fields import (
    MAX_YEAR,
    MIN_YEAR,
    TERRITORIES,
    TEXT,
    Field,
    vocabulary_name,
)
from observatory.catalogue.queries import (
    FILTERS,
    MAX_PAGE_SIZE,
    SORTS,
    FilterError,
    ProcessQuery,
    parse_process_query,
)
from observatory.catalogue.schemas import (
    HealthOut,
    OrganisationDetailOut,
    OrganisationPageOut,
    ProcessOut,
    ProcessSearchOut,
    SuggestionsOut,
    TerritoryPageOut,
    VocabularyTermOut,
)
from observatory.catalogue.tables import ORGANISATION_KINDS, PROCESS_STATES, TERRITORY_LEVELS
from observatory.i18n import N_, _, url
from observatory.search.index import SearchIndex
from observatory.web import (
    MAX_SEARCH_TEXT,
    PAGE_PARAMETER,
    ApiError,
    Page,
    clean_address,
    documented_query,
    error_answers,
    error_page,
    list_page,
    number_parameter,
    page_links,
    page_number,
    past_the_end,
    query_parameter,
    search_text,
    settings_of,
)

#: How many territories the page of territories shows, and how many the API answers a look-up with.
TERRITORIES_SHOWN, TERRITORIES_ANSWERED = 100, 50


def _params(request: Request) -> dict[str, list[str]]:
    return request.query_params.dict()


def _search_index(request: Request) -> SearchIndex:
    return request.app.state.search_index


def _hidden_params(query: ProcessQuery) -> list[tuple[str, str]]:
    """Filters the facet form has no input for, carried along when it is submitted."""
    shown = {*searching.FACET_ORDER, "anno_da", "anno_a"}
    return [(name, value) for name, value in query.active_filters() if name not in shown]


# --- pages -----------------------------------------------------------------------------------


class CataloguePages(Controller):
    """The public Italian pages."""

    include_in_schema = False

    @get("/", name="home")
    async def home(self, request: Request) -> Template:
        """Home: search box, figures, the latest published processes."""
        return Template("home.html", context={"stats": await searching.home_figures(_search_index(request))})

    @get("/processi", name="processes")
    async def processes(self, request: Request) -> Template | Redirect:
        """Search and browse published processes: text, facets with counts, sort, pagination; an
        address with empty or default parameters leads to the one without them, a page past the
        last is not found."""
        if redirect := clean_address(request):
            return redirect
        error = None
        try:
            query = parse_process_query(_params(request), settings_of(request).page_size)
            found = await searching.search_processes(_search_index(request), query)
        except FilterError as exc:
            error = exc
            query = ProcessQuery(per_pagina=settings_of(request).page_size)
            found = searching.SearchOutcome(
                page=Page(items=[], total=0, page=1, page_size=query.per_pagina), text=""
            )
        if found.page.page > found.page.pages:
            return past_the_end(request, found.page)
        context = {
            "query": query,
            "found": found,
            "page": found.page,
            "links": page_links(request, found.page),
            "error": error,
            "states": PROCESS_STATES,
            "sorts": {k: v for k, v in SORTS.items() if query.q or k != "rilevanza"},
            "selected": _selected_labels(query, found),
            "hidden": _hidden_params(query),
        }
        return Template("processes.html", context=context, status_code=HTTP_400_BAD_REQUEST if error else 200)

    @get("/processi/{slug:str}", name="process")
    async def process(self, request: Request, slug: FromPath[str]) -> Template | Redirect:
        """Every field of one process, and similar processes."""
        found = await services.find_process(slug)
        if answer := unpublished_answer(found):
            return answer
        similar = await searching.similar_processes(_search_index(request), found.process["id"])
        context = {"process": found.process, "similar": similar, "map": maps.place_map(found.process)}
        return Template("process.html", context=context)

    @get("/progetti.csv", name="projects_csv")
    async def projects_csv(self, request: Request) -> Stream | Template:
        """The projects of every process a search finds (the parameters of /processi), as CSV."""
        try:
            query = parse_process_query(_params(request), settings_of(request).page_size)
            ids = await searching.matching_process_ids(_search_index(request), query)
        except FilterError as exc:
            return error_page(HTTP_400_BAD_REQUEST, exc.message)
        return _csv_download(await exports.project_rows(ids), "progetti.csv")

    @get("/processi/{slug:str}/progetti.csv", name="process_projects_csv")
    async def process_projects_csv(
        self, request: Request, slug: FromPath[str]
    ) -> Stream | Template | Redirect:
        """The projects of one process, as CSV."""
        found = await services.find_process(slug)
        if answer := unpublished_answer(found):
            return answer
        rows = await exports.project_rows([found.process["id"]])
        return _csv_download(rows, f"progetti-{found.process['slug']}.csv")

    @get("/note-legali", name="legal")
    async def legal(self) -> Template:
        """Licences of the software and of the data, sources and their attribution."""
        return Template("legal.html", context=await _sources_context())

    @get("/enti", name="organisations")
    async def organisations(self, request: Request) -> Template:
        """Organisations, searchable by name."""
        q = search_text(request)
        number = page_number(request)
        size = settings_of(request).page_size * 2
        counts = await searching.organisation_counts(_search_index(request))
        items, total = await services.list_organisations(q, number, size, counts)
        page = Page(items=items, total=total, page=number, page_size=size)
        return list_page("organisations.html", request, page, q=q, kinds=ORGANISATION_KINDS)

    @get("/enti/{slug:str}", name="organisation")
    async def organisation(self, request: Request, slug: FromPath[str]) -> Template | Redirect:
        """An organisation and the processes it takes part in."""
        size = settings_of(request).page_size
        found = await searching.find_organisation(_search_index(request), slug, page_number(request), size)
        if found.redirect_to:
            return Redirect(f"/enti/{found.redirect_to}", status_code=HTTP_301_MOVED_PERMANENTLY)
        if found.organisation is None:
            raise NotFoundException(_("Nessun ente con indirizzo «{slug}».").format(slug=slug))
        return list_page("organisation.html", request, found.processes, organisation=found.organisation)

    @get("/territori", name="territories")
    async def territories(self, request: Request) -> Template:
        """Regions with their provinces, or the territories whose name matches ``q``, each with how
        many published processes took place in it (or anywhere inside it)."""
        q = search_text(request)
        counts = await searching.territory_counts(_search_index(request))
        provinces: dict[str, list[dict]] = {}
        if q:
            items = await services.list_territories(q, None, TERRITORIES_SHOWN)
        else:
            items = await services.list_territories(None, "regione", TERRITORIES_SHOWN)
            for province in await services.list_territories(None, "provincia", TERRITORIES_SHOWN * 2):
                provinces.setdefault(province["parent_name"], []).append(province)
        context = {
            "q": q,
            "items": items,
            "provinces": provinces,
            "counts": counts,
            "levels": TERRITORY_LEVELS,
        }
        return Template("territories.html", context=context)

    @get("/territori/{code:str}", name="territory")
    async def territory(self, request: Request, code: FromPath[str]) -> Template | Redirect:
        """A territory and the processes in it or anywhere inside it, with the filters of /processi
        (newest first unless ``ordine`` says otherwise) and a link to the same search there."""
        if code != code.upper():
            return Redirect(f"/territori/{code.upper()}", status_code=HTTP_301_MOVED_PERMANENTLY)
        if redirect := clean_address(request):
            return redirect
        territory = await services.find_territory(code)
        if territory is None:
            raise NotFoundException(_("Nessun territorio con codice «{code}».").format(code=code))
        try:
            query = parse_process_query(_params(request), settings_of(request).page_size)
            query.filters["territorio"] = [territory["code"]]
            query.ordine = query.ordine if request.query_params.get("ordine") else "anno"
            found = await searching.search_processes(_search_index(request), query)
        except FilterError as exc:
            raise _filter_error(exc) from None
        return list_page(
            "territory.html",
            request,
            found.page,
            territory=territory,
            levels=TERRITORY_LEVELS,
            map=_territory_map(territory, found),
            query=query,
            found=found,
            hidden=_hidden_params(query),
            selected=_selected_labels(query, found, fixed="territorio"),
            filtered="?" + urlencode(query.active_filters()),
        )


def _territory_map(territory: dict, found: searching.SearchOutcome) -> choropleths.Choropleth | None:
    """A region by its provinces (with its comuni as points), a province by its comuni; None otherwise."""
    code = territory["code"]
    drawing = geography.inside(code)
    if drawing is None:
        return None
    parents = found.parents
    if code.startswith("R"):
        title = _("Processi per provincia in {name}")
        description = _(
            "La mappa di {name} con le province della regione; i cerchi sono i comuni con processi, "
            "più grandi dove ce ne sono di più: più è scuro il colore, più processi vi si sono svolti."
        )
    else:
        title = _("Processi per comune in {name}")
        description = _(
            "La mappa di {name} con i comuni della provincia: più è scuro il colore, più processi vi "
            "si sono svolti."
        )
    return choropleths.choropleth(
        drawing,
        found.counts.get("territorio", {}),
        lambda inner: url(f"/territori/{inner}"),
        title.format(name=territory["name"]),
        description.format(name=territory["name"]),
        found.labels.get("territorio", {}),
        within=(lambda comune: parents.get(parents.get(comune)) == code) if code.startswith("R") else None,
    )


async def _sources_context() -> dict:
    return {
        "sources": await sources.published_by_source(),
        "reference": [(s, 0) for s in sources.REFERENCE_SOURCES],
    }


def _csv_download(rows: list[dict], filename: str) -> Stream:
    return Stream(
        exports.csv_lines(rows),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


#: What a chip of an active filter says before the value, by filter (besides the vocabularies').
_FILTER_PREFIXES = {
    "stato": N_("Stato: "),
    "intervento": N_("Intervento: "),
    "territorio": N_("Territorio: "),
    "ente": N_("Ente: "),
    "titolare": N_("Ente: "),
    "anno_da": N_("Dal "),
    "anno_a": N_("Al "),
    "avvio_da": N_("Avviati dal "),
    "avvio_a": N_("Avviati fino al "),
    "programma": N_("Programma: "),
    "fondo": N_("Fondo: "),
    "scala": N_("Scala: "),
}


def _selected_labels(query: ProcessQuery, found: searching.SearchOutcome, fixed: str = "") -> list[dict]:
    """Active filters with readable labels, each with the link that removes it (none for the filter
    ``fixed`` by the page, a territory's)."""
    prefixes = {name: f"{vocabulary_name(d.vocabulary)}: " for name, d in FILTERS.items() if d.vocabulary}
    prefixes |= {name: _(prefix) for name, prefix in _FILTER_PREFIXES.items()}
    active = [(name, value) for name, value in query.active_filters() if name != fixed]
    keep = [("q", query.q)] if query.q else []
    if query.ordine != ("rilevanza" if query.q else "recenti"):  # the default order is left out
        keep.append(("ordine", query.ordine))
    chips = []
    for name, value in active:
        rest = [(n, v) for n, v in active if (n, v) != (name, value)]
        label = prefixes.get(name, "") + found.filter_labels.get((name, value), value)
        remaining = [*keep, *rest]
        chips.append({"label": label, "remove": "?" + urlencode(remaining) if remaining else ""})
    return chips


# --- API -------------------------------------------------------------------------------------


def _filter_error(exc: FilterError) -> ApiError:
    return ApiError.bad_parameter(exc.field, exc.message)


def _absolute(request: Request, path: str) -> str:
    return settings_of(request).base_url + path


#: An example value of each filter of the process list, as a client writes it.
FILTER_EXAMPLES = {
    "tipo": "bilancio-partecipativo",
    "titolare": "comune-di-trento",
    "ente": "comune-di-palermo",
    "territorio": "R19",
    "ambito": "ambiente",
    "tematica": "rigenerazione-urbana",
    "stato": "in_corso",
    "intervento": "concluso",
    "livello": "co-progettazione",
    "programma": "POR CONV FESR SICILIA",
    "fondo": "FESR",
    "fonte": "redazione",
    "scala": "comunale",
}


def _filter_parameter(name: str, declared: Field) -> spec.Parameter:
    """A filter of the process list, repeatable, as the schema documents it."""
    if declared.vocabulary:
        what = f"slugs of terms of the «{declared.vocabulary}» vocabulary (see /api/v1/vocabolari)"
    elif declared.type == TERRITORIES:
        what = "ISTAT codes (IT, R01, P201, C001272): a territory includes everything inside it"
    elif declared.choices:
        what = f"one of {', '.join(declared.choices)}"
    elif declared.type == TEXT:
        what = "the exact text, as the processes have it"
    else:
        what = "slugs of organisations (see /api/v1/enti)"
    values = Schema(type=OpenAPIType.STRING, enum=list(declared.choices) if declared.choices else None)
    return query_parameter(
        name,
        f"{declared.label_en}: {what}. "
        + (
            "Repeat it for several texts: any of them matches."
            if declared.type == TEXT
            else "Repeat it or separate values with commas: any of them matches."
        ),
        Schema(type=OpenAPIType.ARRAY, items=values),
        example=[FILTER_EXAMPLES[name]],
    )


def _year_parameter(name: str, description: str, example: int) -> spec.Parameter:
    return query_parameter(
        name, description, Schema(type=OpenAPIType.INTEGER, minimum=MIN_YEAR, maximum=MAX_YEAR), example
    )


def _text_parameter(description: str, example: str) -> spec.Parameter:
    """The text ``q`` a list is searched or looked up by (at most MAX_SEARCH_TEXT characters)."""
    return query_parameter(
        "q", description, Schema(type=OpenAPIType.STRING, max_length=MAX_SEARCH_TEXT), example
    )


#: The parameters of the process list: the text, the filters (AND across them), years, sort, page.
PROCESS_LIST_PARAMETERS = (
    _text_parameter("Words to look for.", "orti urbani"),
    *(_filter_parameter(name, declared) for name, declared in FILTERS.items()),
    _year_parameter("anno_da", "Processes still running in this year or later.", 2018),
    _year_parameter("anno_a", "Processes started in this year or earlier (not before anno_da).", 2022),
    _year_parameter("avvio_da", "Processes that started in this year or later.", 2015),
    _year_parameter("avvio_a", "Processes that started in this year or earlier (not before avvio_da).", 2020),
    query_parameter(
        "ordine",
        "Sort order: rilevanza (by default with q), recenti (by default without), titolo, anno, anno_asc.",
        Schema(type=OpenAPIType.STRING, enum=list(SORTS)),
        "titolo",
    ),
    PAGE_PARAMETER,
    query_parameter(
        "per_pagina",
        "Processes per page (the instance's page size by default).",
        Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_PAGE_SIZE),
        50,
    ),
)
#: The most suggestions of each kind an API client may ask for.
MAX_SUGGESTIONS = 10
#: The parameters of the suggestions: the text typed so far, how many of each kind.
SUGGESTION_PARAMETERS = (
    _text_parameter(
        f"The text typed so far: each word must begin a word of the name or title (accents and case "
        f"aside). Under {searching.SUGGEST_FROM} characters nothing is suggested.",
        "Chie",
    ),
    query_parameter(
        "limite",
        "At most this many suggestions of each kind (by default 4 territories, 4 organisations, "
        "3 terms and 5 processes).",
        Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_SUGGESTIONS),
        3,
    ),
)
#: The parameters of the list of organisations.
ORGANISATION_PARAMETERS = (
    _text_parameter("Any part of the name or of an alternative name, accents and case aside.", "comune di"),
    PAGE_PARAMETER,
)
#: The parameters of the territories' look-up.
TERRITORY_PARAMETERS = (
    _text_parameter("Any part of the name, accents and case aside.", "Chieri"),
    query_parameter(
        "livello",
        "The level (every level by default).",
        Schema(type=OpenAPIType.STRING, enum=list(TERRITORY_LEVELS)),
        "comune",
    ),
)
#: An old slug of a process or an organisation.
MOVED = ResponseSpec(None, description="An old slug: `Location` is the address of the current one.")


class CatalogueApi(Controller):
    """JSON API, version 1. Errors always have the ErrorOut shape."""

    path = "/api/v1"
    tags = ["Catalogo"]

    @get(
        "/processi",
        summary="Ricerca nei processi pubblicati",
        operation_class=documented_query(*PROCESS_LIST_PARAMETERS),
        responses=error_answers(503),
    )
    async def processes(self, request: Request) -> ProcessSearchOut:
        """Published processes: full-text ``q`` and the same filters as /processi (repeat a parameter
        for several values: OR inside a filter, AND across filters): ambito, tematica, tipo, territorio,
        ente, titolare, stato, livello, fonte, scala, programma, fondo, anno_da, anno_a, avvio_da,
        avvio_a; ordine (rilevanza, recenti, titolo, anno, anno_asc), pagina, per_pagina (at most 100).
        Facet counts, highlights and spelling suggestions come with the page."""
        try:
            query = parse_process_query(_params(request), settings_of(request).page_size)
            found = await searching.search_processes(_search_index(request), query)
        except FilterError as exc:
            raise _filter_error(exc) from None
        return msgspec.convert(
            {
                "items": found.page.items,
                "total": found.page.total,
                "page": found.page.page,
                "page_size": found.page.page_size,
                "query": found.text,
                "facets": {
                    facet["name"]: [
                        {
                            "value": o["value"],
                            "label": o["label"],
                            "count": o["count"],
                            "selected": o["selected"],
                        }
                        for o in facet["options"]
                    ]
                    for facet in found.facets
                },
                "years": {
                    "decades": {str(k): v for k, v in sorted(found.years.get("decades", {}).items())},
                    "years": {str(k): v for k, v in sorted(found.years.get("years", {}).items())},
                },
                "highlights": found.highlights,
                "suggestion": found.suggestion,
                "corrected_from": found.corrected_from,
                "partial": found.partial,
                "fuzzy": found.fuzzy,
            },
            ProcessSearchOut,
        )

    @get(
        "/suggerimenti",
        summary="Suggerimenti mentre si scrive",
        operation_class=documented_query(*SUGGESTION_PARAMETERS),
        responses=error_answers(503),
    )
    async def suggestions(self, request: Request) -> SuggestionsOut:
        """What the search boxes suggest as a visitor types ``q``: territories, organisations and
        vocabulary terms that published processes have (with how many), and published processes
        by title, each with the path of its page. Each word of ``q`` must begin a word of the
        label, accents and case aside; the whole label, then a label that begins with ``q``, then
        the most used come first. Nothing under 2 characters; ``limite`` caps each kind."""
        q = (request.query_params.get("q") or "").strip()
        if len(q) > MAX_SEARCH_TEXT:
            raise ApiError.bad_parameter(
                "q", _("Ricerca: al massimo {most} caratteri.").format(most=MAX_SEARCH_TEXT)
            )
        limit = number_parameter(request, "limite", "Limite", MAX_SUGGESTIONS)
        items = await searching.suggestions(_search_index(request), q, limit)
        return msgspec.convert({"query": q, "items": items}, SuggestionsOut)

    @get(
        "/processi/{slug:str}",
        summary="Un processo",
        responses={
            200: ResponseSpec(ProcessOut, description="The process.", generate_examples=False),
            301: MOVED,
            **error_answers(404, 410),
        },
    )
    async def process(self, request: Request, slug: FromPath[str]) -> ProcessOut | Redirect:
        """Every public field of a process. An old slug answers 301 to the current one; a withdrawn
        process answers 410."""
        found = await services.find_process(slug)
        if found.redirect_to:
            return Redirect(f"/api/v1/processi/{found.redirect_to}", status_code=HTTP_301_MOVED_PERMANENTLY)
        if found.withdrawn:
            raise ApiError(HTTP_410_GONE, _("Questo processo è stato ritirato dal catalogo."))
        if found.process is None:
            raise ApiError(HTTP_404_NOT_FOUND, _("Nessun processo con slug «{slug}».").format(slug=slug))
        detail = dict(found.process, url=_absolute(request, f"/processi/{slug}"))
        return msgspec.convert(detail, ProcessOut)

    @get(
        "/enti",
        summary="Elenco degli enti",
        operation_class=documented_query(*ORGANISATION_PARAMETERS),
        responses=error_answers(503),
    )
    async def organisations(self, request: Request) -> OrganisationPageOut:
        """Organisations by name; ``q`` matches any part of the name or of an alternative name."""
        q = search_text(request)
        page = page_number(request)
        size = settings_of(request).page_size
        counts = await searching.organisation_counts(_search_index(request))
        items, total = await services.list_organisations(q, page, size, counts)
        return msgspec.convert(
            {"items": items, "total": total, "page": page, "page_size": size}, OrganisationPageOut
        )

    @get(
        "/enti/{slug:str}",
        summary="Un ente",
        responses={
            200: ResponseSpec(
                OrganisationDetailOut, description="The organisation.", generate_examples=False
            ),
            301: MOVED,
            **error_answers(404, 503),
        },
    )
    async def organisation(self, request: Request, slug: FromPath[str]) -> OrganisationDetailOut | Redirect:
        """An organisation, its alternative names and its first page of public processes."""
        found = await searching.find_organisation(_search_index(request), slug, 1, searching.LIST_SIZE)
        if found.redirect_to:
            return Redirect(f"/api/v1/enti/{found.redirect_to}", status_code=HTTP_301_MOVED_PERMANENTLY)
        if found.organisation is None:
            raise ApiError(HTTP_404_NOT_FOUND, _("Nessun ente con slug «{slug}».").format(slug=slug))
        return msgspec.convert(
            dict(found.organisation, processes=found.processes.items), OrganisationDetailOut
        )

    @get(
        "/territori",
        summary="Territori",
        operation_class=documented_query(*TERRITORY_PARAMETERS),
        responses=error_answers(),
    )
    async def territories(self, request: Request) -> TerritoryPageOut:
        """Look territories up by name (``q``, accents and case ignored) and level
        (``livello``: paese, regione, provincia, comune). At most 50 answers."""
        q, livello = search_text(request), (request.query_params.get("livello") or "").strip()
        if livello and livello not in TERRITORY_LEVELS:
            raise ApiError.bad_parameter(
                "livello", f"livello: valori ammessi {', '.join(TERRITORY_LEVELS)}.", "valore sconosciuto."
            )
        items = await services.list_territories(q, livello or None, TERRITORIES_ANSWERED)
        return msgspec.convert({"items": items, "total": len(items)}, TerritoryPageOut)

    @get("/vocabolari", summary="Vocabolari", responses=error_answers())
    async def vocabularies(self) -> dict[str, list[VocabularyTermOut]]:
        """Every vocabulary (tipo, ambito, tematica, livello, metodo, fonte) with its terms in order."""
        return msgspec.convert(await services.vocabularies(), dict[str, list[VocabularyTermOut]])


class HealthApi(Controller):
    """The state of this instance, for load balancers and the people who run it."""

    path = "/salute"
    tags = ["Stato"]

    @get(
        "/",
        summary="Lo stato di questa istanza",
        cache_control=CacheControlHeader(no_store=True),
        responses={
            503: ResponseSpec(HealthOut, description="The instance cannot serve.", generate_examples=False)
        },
    )
    async def health(self, request: Request) -> Response[HealthOut]:
        """Whether the database answers, the index generation this instance serves, how many
        changes it has still to apply and how long the oldest has waited. 200 when the instance can
        serve (``ok`` or ``degraded``), 503 when it cannot (``unavailable``)."""
        state = await indexing.health(_search_index(request))
        code = HTTP_503_SERVICE_UNAVAILABLE if state["status"] == "unavailable" else HTTP_200_OK
        return Response(msgspec.convert(state, HealthOut), status_code=code)
