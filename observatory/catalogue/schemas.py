"""Typed shapes of the JSON API (msgspec structs, shown in the OpenAPI schema under /schema).

A process's shapes (ProcessOut, ProcessSummaryOut and the structs of its parts) are made from the
field declarations (fields.py), so the API shows every public field with its label.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from observatory.catalogue import fields


class TermOut(msgspec.Struct):
    """A vocabulary term."""

    slug: str
    label: str


class VocabularyTermOut(msgspec.Struct):
    """A vocabulary term with its explanation."""

    slug: str
    label: str
    description: str | None = None
    #: The label in English (null when the editors have not given one).
    label_en: str | None = None


class TerritoryRef(msgspec.Struct):
    """A territory as referenced from a process."""

    code: str
    name: str
    level: str


class TerritoryOut(msgspec.Struct):
    """A territory: IT, a region (R01), a province (P201) or a comune (C001272)."""

    code: str
    name: str
    level: str
    plate: str | None = None
    parent_name: str | None = None


class OrganisationRef(msgspec.Struct):
    """An organisation as referenced from a process."""

    slug: str
    name: str


class OrganisationRoleOut(msgspec.Struct):
    """An organisation and its role in a process."""

    slug: str
    name: str
    kind: str
    role: str
    role_label: str


#: What a value of each type is in an answer (terms, organisations and territories as references).
_VALUES = {
    fields.TEXT: str,
    fields.SLUG: str,
    fields.YEAR: int,
    fields.COUNT: int,
    fields.FLAG: bool,
    fields.CHOICE: str,
    fields.AMOUNT: Decimal,
    fields.DATE: datetime.date,
    fields.URL: str,
    fields.CUP: str,
    fields.LATITUDE: float,
    fields.LONGITUDE: float,
    fields.TIMESTAMP: datetime.datetime,
    fields.TERM: TermOut,
    fields.TERRITORIES: list[TerritoryRef],
    fields.TERMS: list[TermOut],
    fields.NAMES: list[OrganisationRoleOut],
    fields.ROLES: list[OrganisationRoleOut],
}
#: Fields the API does not show: the key of the record in the source it was imported from.
NOT_IN_API = ("source_ref",)


def _struct_name(path: str, declared: fields.Field) -> str:
    """PhaseOut for "phases", FundingOut for "funding", FundingPhaseOut for "funding.phases"."""
    words = [word.capitalize() for word in path.split(".")]
    if declared.many:
        words[-1] = words[-1].removesuffix("s")
    return "".join(words) + "Out"


def _annotated(declared: fields.Field, path: str, overrides: dict | None = None) -> object:
    """The type of a field in an answer, with its label and help for the OpenAPI schema."""
    if overrides and declared.name in overrides:
        kind = overrides[declared.name]
    elif declared.type in (fields.ROWS, fields.GROUP):
        kind = _struct(declared, path, f"{declared.label_en} of a process.")
        kind = list[kind] if declared.many else kind
    else:
        kind = _VALUES[declared.type]
    if not (declared.many or declared.required or declared.generated or declared.type == fields.FLAG):
        kind = kind | None
    meta = {"title": declared.label} | ({"description": declared.help} if declared.help else {})
    return Annotated[kind, msgspec.Meta(**meta)]


def _struct(
    declared: fields.Field | None,
    path: str,
    doc: str,
    chosen: list[fields.Field] | None = None,
    extra: tuple = (),
    overrides: dict | None = None,
) -> type[msgspec.Struct]:
    """A struct of the parts of field ``declared`` at ``path``, or one named ``path`` of the
    ``chosen`` fields; then the ``extra`` (name, type) members."""
    if declared is None:
        name, members, prefix = path, chosen or [], ""
    else:
        name, members, prefix = _struct_name(path, declared), declared.parts, f"{path}."
    annotations = [(m.name, _annotated(m, prefix + m.name, overrides)) for m in members]
    return msgspec.defstruct(name, [*annotations, *extra], module=__name__, namespace={"__doc__": doc})


#: Every public field of a process, as ``/api/v1/processi/{slug}`` answers it.
ProcessOut = _struct(
    None,
    "ProcessOut",
    "Every public field of a process.",
    chosen=[d for d in fields.FIELDS if d.name not in NOT_IN_API],
    extra=(("url", Annotated[str, msgspec.Meta(title="Indirizzo della scheda")]),),
)
#: A process in a list: the fields of its card.
ProcessSummaryOut = _struct(
    None,
    "ProcessSummaryOut",
    "A process in a list.",
    chosen=[fields.BY_NAME[name] for name in fields.CARD_FIELDS],
    overrides={"decision_holders": list[OrganisationRef]},
)


class FacetOptionOut(msgspec.Struct):
    """One value of a facet and how many processes of the search have it."""

    value: str
    label: str
    count: int
    selected: bool


class YearCountsOut(msgspec.Struct):
    """How many processes of the search started in each decade and year."""

    decades: dict[str, int]
    years: dict[str, int]


class ProcessSearchOut(msgspec.Struct):
    """One page of a search: processes, total, facet counts, highlighted snippets by slug."""

    items: list[ProcessSummaryOut]
    total: int
    page: int
    page_size: int
    query: str
    facets: dict[str, list[FacetOptionOut]]
    years: YearCountsOut
    highlights: dict[str, str]
    suggestion: str | None = None
    corrected_from: str | None = None
    #: True when no process has every word of ``query``: the items have some of them, most first.
    partial: bool = False
    #: Words of the catalogue within a typo or two of the words of ``query`` that found processes.
    fuzzy: list[str] = []


class SuggestionOut(msgspec.Struct):
    """Something a search box suggests: a published process, an organisation, a territory or a
    vocabulary term, with the address of its page or of its search."""

    kind: Annotated[
        Literal["processo", "ente", "territorio", "termine"],
        msgspec.Meta(description="A process, an organisation, a territory or a vocabulary term."),
    ]
    label: str
    detail: Annotated[
        str,
        msgspec.Meta(
            description="Where and when a process took place; a territory's level and the unit it is "
            "in; a term's vocabulary; and how many published processes have it."
        ),
    ]
    url: Annotated[str, msgspec.Meta(description="The path of its page (of the search, for a term).")]
    count: Annotated[
        int | None, msgspec.Meta(description="How many published processes have it (null for a process).")
    ] = None


class SuggestionsOut(msgspec.Struct):
    """What a search box suggests for the text typed so far, the closest kind first."""

    query: str
    items: list[SuggestionOut]


class OrganisationOut(msgspec.Struct):
    """An organisation in a list."""

    slug: str
    name: str
    kind: str
    kind_label: str
    territory: TerritoryRef | None
    process_count: int


class OrganisationPageOut(msgspec.Struct):
    """One page of organisations."""

    items: list[OrganisationOut]
    total: int
    page: int
    page_size: int


class OrganisationDetailOut(OrganisationOut):
    """An organisation with its alternative names and its public processes (first page)."""

    alt_names: list[str]
    description: str | None
    website: str | None
    processes: list[ProcessSummaryOut]


class TerritoryPageOut(msgspec.Struct):
    """Territories matching a look-up."""

    items: list[TerritoryOut]
    total: int


class DatabaseHealthOut(msgspec.Struct):
    """Whether this instance reaches its database, and how long a query took."""

    reachable: bool
    ms: float | None = None
    error: str | None = None


class IndexHealthOut(msgspec.Struct):
    """This instance's search index: the live and the served generation, its documents, the
    published processes, and the changes it has still to apply (with the oldest one's age)."""

    generation: str | None
    served_generation: str | None
    documents: int
    published: int
    pending_changes: int | None
    oldest_pending_seconds: float
    damage: str | None


class HealthOut(msgspec.Struct):
    """The state of this instance: ok, degraded (the index is damaged or behind) or unavailable."""

    status: str
    database: DatabaseHealthOut
    index: IndexHealthOut | None
