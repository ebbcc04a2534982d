"""Typed shapes of the JSON API (msgspec structs, shown in the OpenAPI schema under /schema)."""

from __future__ import annotations

import datetime
from decimal import Decimal

import msgspec


class TermOut(msgspec.Struct):
    """A vocabulary term."""

    slug: str
    label: str


class VocabularyTermOut(msgspec.Struct):
    """A vocabulary term with its explanation."""

    slug: str
    label: str
    description: str | None = None


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


class ProcessSummaryOut(msgspec.Struct):
    """A process in a list."""

    slug: str
    title: str
    summary: str | None
    kind: TermOut | None
    theme: TermOut | None
    start_year: int | None
    end_year: int | None
    ongoing: bool
    state: str | None
    territories: list[TerritoryRef]
    decision_holders: list[OrganisationRef]
    updated_at: datetime.datetime


class PhaseOut(msgspec.Struct):
    """A phase of a process."""

    title: str
    description: str | None
    start_date: datetime.date | None
    end_date: datetime.date | None


class FundingPhaseOut(msgspec.Struct):
    """A funded phase (OpenCoesione style); amounts in euro."""

    label: str
    start_date: datetime.date | None
    end_date: datetime.date | None
    investment: Decimal | None
    cofinancing: Decimal | None
    beneficiary: str | None


class FundingOut(msgspec.Struct):
    """Funding of a process; amounts in euro as exact decimals."""

    programme: str | None
    fund: str | None
    total_investment: Decimal | None
    cofinancing: Decimal | None
    beneficiary: str | None
    cup: str | None
    phases: list[FundingPhaseOut]


class LinkOut(msgspec.Struct):
    """A labelled link."""

    label: str
    url: str


class ProcessOut(msgspec.Struct):
    """Every public field of a process."""

    slug: str
    title: str
    kind: TermOut | None
    summary: str | None
    description: str | None
    decision_holders: list[OrganisationRoleOut]
    organisations: list[OrganisationRoleOut]
    territories: list[TerritoryRef]
    theme: TermOut | None
    topics: list[TermOut]
    start_year: int | None
    end_year: int | None
    ongoing: bool
    state: str | None
    phases: list[PhaseOut]
    goals: str | None
    results: str | None
    participation_level: TermOut | None
    methods: list[TermOut]
    participants_count: int | None
    participants_kind: str | None
    funding: FundingOut | None
    links: list[LinkOut]
    reporting_source: TermOut | None
    reported_by: str | None
    quality_notes: str | None
    regional_call_notes: str | None
    source_licence: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime
    published_at: datetime.datetime | None
    url: str


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


class OrganisationDetailOut(msgspec.Struct):
    """An organisation with its alternative names and its public processes (first page)."""

    slug: str
    name: str
    kind: str
    kind_label: str
    territory: TerritoryRef | None
    process_count: int
    alt_names: list[str]
    description: str | None
    website: str | None
    processes: list[ProcessSummaryOut]


class TerritoryPageOut(msgspec.Struct):
    """Territories matching a look-up."""

    items: list[TerritoryOut]
    total: int
