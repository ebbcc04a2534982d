"""What a reader asks a list of processes for: text, filters, years, sort and page.

The filters are the fields declared with a ``facet`` (fields.py); their rules (OR inside a
filter, AND across filters, a territory including everything inside it) are the search index's
(search/), for /processi, the API, organisation and territory pages and the home page alike. The
database only says whether a filter value exists (:func:`check_filters`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from observatory.catalogue.fields import (
    CHOICE,
    FACETED,
    MAX_YEAR,
    MIN_YEAR,
    TERM,
    TERMS,
    TERRITORIES,
    TEXT,
    vocabulary_name,
)
from observatory.catalogue.tables import Organisation, Term, Territory
from observatory.i18n import N_, _, gettext, in_current_language, term_label
from observatory.web import MAX_PAGE, MAX_SEARCH_TEXT, whole_number

#: The orders of a list, with their labels (translated where shown).
SORTS = {
    "rilevanza": N_("Pertinenza"),
    "recenti": N_("Modificati di recente"),
    "titolo": N_("Titolo (A-Z)"),
    "anno": N_("Anno di avvio (dal più recente)"),
    "anno_asc": N_("Anno di avvio (dal meno recente)"),
}
MAX_PAGE_SIZE = 100
#: The year filters: active in [anno_da, anno_a], started in [avvio_da, avvio_a].
YEAR_FILTERS = {
    "anno_da": N_("Anno da"),
    "anno_a": N_("Anno a"),
    "avvio_da": N_("Avviati dal"),
    "avvio_a": N_("Avviati fino al"),
}
#: The filters, by their parameter name, with the field each filters by.
FILTERS = {name: declared for name, (_, declared) in FACETED.items()}


def filter_label(name: str) -> str:
    """What filter ``name`` is called, in the page's language (the label of its field)."""
    return in_current_language(FILTERS[name].label, FILTERS[name].label_en)


def value_label(name: str, label: str) -> str:
    """``label`` of a value of filter ``name`` in the page's language: a term's English label or a
    choice's translation; names of places and organisations stay as they are."""
    declared = FILTERS[name]
    if declared.vocabulary:
        return term_label(label) or label
    return gettext(label) if declared.choices else label


class FilterError(ValueError):
    """A filter value the catalogue does not know; ``field`` names the parameter."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class ProcessQuery:
    """What a reader asked a process list for: text, filters (parameter → values), years (active in
    ``anno_da``–``anno_a``, started in ``avvio_da``–``avvio_a``), sort, page."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    q: str = ""
    anno_da: int | None = None
    anno_a: int | None = None
    avvio_da: int | None = None
    avvio_a: int | None = None
    ordine: str = "recenti"
    pagina: int = 1
    per_pagina: int = 20

    def values(self, name: str) -> list[str]:
        """The values asked for filter ``name``."""
        return self.filters.get(name, [])

    def active_filters(self) -> list[tuple[str, str]]:
        """(parameter, value) pairs of every filter in use, years included."""
        pairs = [(name, value) for name in FILTERS for value in self.values(name)]
        for name in YEAR_FILTERS:
            if (year := getattr(self, name)) is not None:
                pairs.append((name, str(year)))
        return pairs


def _parse_int(name: str, raw: str, low: int, high: int, label: str) -> int:
    try:
        return whole_number(raw, label, low, high)
    except ValueError as exc:
        raise FilterError(name, str(exc)) from None


def parse_process_query(params: dict[str, list[str]], default_page_size: int) -> ProcessQuery:
    """Read list parameters (each possibly repeated) into a ProcessQuery, or raise FilterError."""
    query = ProcessQuery(per_pagina=default_page_size)
    for name, declared in FILTERS.items():
        given = params.get(name, [])
        # a text may hold commas ("POR FESR, FSE"): several texts are several parameters
        split = [[raw] if declared.type == TEXT else raw.split(",") for raw in given]
        values = [" ".join(v.split()) for parts in split for v in parts if v.strip()]
        if values:
            query.filters[name] = list(dict.fromkeys(values))
    if "territorio" in query.filters:
        query.filters["territorio"] = [code.upper() for code in query.filters["territorio"]]
    for name, label in YEAR_FILTERS.items():
        raw = next((v for v in params.get(name, []) if v.strip()), None)
        if raw is not None:
            setattr(query, name, _parse_int(name, raw, MIN_YEAR, MAX_YEAR, label))
    if query.anno_da and query.anno_a and query.anno_a < query.anno_da:
        raise FilterError("anno_a", _("Anno a: non può precedere «Anno da»."))
    if query.avvio_da and query.avvio_a and query.avvio_a < query.avvio_da:
        raise FilterError("avvio_a", _("Avviati fino al: non può precedere «Avviati dal»."))
    query.q = " ".join(" ".join(params.get("q", [])).split())
    if len(query.q) > MAX_SEARCH_TEXT:
        raise FilterError("q", _("Ricerca: al massimo %(count)s caratteri.") % {"count": MAX_SEARCH_TEXT})
    ordine = next(iter(params.get("ordine", [])), "") or ("rilevanza" if query.q else "recenti")
    if ordine == "rilevanza" and not query.q:
        ordine = "recenti"
    if ordine not in SORTS:
        raise FilterError("ordine", _("Ordine: valori ammessi %(values)s.") % {"values": ", ".join(SORTS)})
    query.ordine = ordine
    page = next(iter(params.get("pagina", [])), "") or "1"
    query.pagina = _parse_int("pagina", page, 1, MAX_PAGE, N_("Pagina"))
    size = next(iter(params.get("per_pagina", [])), "")
    if size:
        query.per_pagina = _parse_int("per_pagina", size, 1, MAX_PAGE_SIZE, N_("Risultati per pagina"))
    return query


async def _known(declared, values: list[str]) -> tuple[list[str], str]:
    """Which of ``values`` of a filter exist, and how to say one does not (in the current
    language, with ``%(value)s`` for the unknown value)."""
    unknown = _("%(label)s: valore sconosciuto «%%(value)s». Valori ammessi: %(allowed)s.")
    if declared.type in (TERM, TERMS):
        known = (
            await Term.select(Term.slug).where(Term.vocabulary == declared.vocabulary).output(as_list=True)
        )
        label = vocabulary_name(declared.vocabulary)
        return known, unknown % {"label": label, "allowed": ", ".join(sorted(known))}
    if declared.type == CHOICE:
        choices = declared.choices or {}
        label = in_current_language(declared.label, declared.label_en)
        return list(choices), unknown % {"label": label, "allowed": ", ".join(choices)}
    if declared.type == TEXT:  # any text may be asked for: one no process has finds nothing
        return values, ""
    if declared.type == TERRITORIES:
        known = (
            await Territory.select(Territory.code).where(Territory.code.is_in(values)).output(as_list=True)
        )
        return known, _("Territorio: codice sconosciuto «%(value)s» (esempi: IT, R01, P201, C001272).")
    slugs = Organisation.select(Organisation.slug).where(Organisation.slug.is_in(values))
    return await slugs.output(as_list=True), _("Ente: nessun ente con identificativo «%(value)s».")


async def check_filters(filters: dict[str, list[str]]) -> None:
    """Raise FilterError for the first filter value the catalogue does not know."""
    for name, values in filters.items():
        if values:
            known, message = await _known(FILTERS[name], values)
            unknown = [value for value in values if value not in known]
            if unknown:
                raise FilterError(name, message % {"value": unknown[0]})
