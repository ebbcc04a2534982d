"""Reading the public catalogue: the one place that decides what is public, lists, pages, stats.

Pages and the API call these same functions, so HTML and JSON cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from piccolo.query import OrderByRaw
from piccolo.query.functions.aggregate import Count

from observatory.catalogue import fields
from observatory.catalogue.records import empty
from observatory.catalogue.tables import (
    ORGANISATION_KINDS,
    ORGANISATION_ROLES,
    PROCESS_STATES,
    ROW_TABLES,
    VOCABULARIES,
    Organisation,
    OrganisationName,
    OrganisationRedirect,
    Process,
    ProcessOrganisation,
    ProcessTerm,
    ProcessTerritory,
    SlugRedirect,
    Term,
    Territory,
)
from observatory.text import fold
from observatory.web import MAX_PAGE, Page, whole_number

MIN_YEAR, MAX_YEAR = 1900, 2100
SORTS = {
    "rilevanza": "Pertinenza",
    "recenti": "Modificati di recente",
    "titolo": "Titolo (A-Z)",
    "anno": "Anno di avvio (dal più recente)",
    "anno_asc": "Anno di avvio (dal meno recente)",
}
MAX_PAGE_SIZE = 100
FILTER_NAMES = ("ambito", "tematica", "tipo", "territorio", "ente", "titolare", "stato", "livello", "fonte")
#: Filters whose values are vocabulary terms (the filter is named after its vocabulary).
VOCABULARY_FILTERS = ("ambito", "tematica", "tipo", "livello", "fonte")
MAX_QUERY_LENGTH = 200


# --- what is public -------------------------------------------------------------------------


def published():
    """The condition every public list, page, export and index entry goes through."""
    return Process.publication == "published"


# --- filters -------------------------------------------------------------------------------


class FilterError(ValueError):
    """A filter value the catalogue does not know; ``field`` names the parameter."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class ProcessQuery:
    """What a reader asked the process list for: filters, sort and page."""

    ambito: list[str] = field(default_factory=list)
    tematica: list[str] = field(default_factory=list)
    tipo: list[str] = field(default_factory=list)
    territorio: list[str] = field(default_factory=list)
    ente: list[str] = field(default_factory=list)
    titolare: list[str] = field(default_factory=list)
    stato: list[str] = field(default_factory=list)
    livello: list[str] = field(default_factory=list)
    fonte: list[str] = field(default_factory=list)
    q: str = ""
    anno_da: int | None = None
    anno_a: int | None = None
    ordine: str = "recenti"
    pagina: int = 1
    per_pagina: int = 20

    def active_filters(self) -> list[tuple[str, str]]:
        """(parameter, value) pairs of every filter in use, years included."""
        pairs = [(name, value) for name in FILTER_NAMES for value in getattr(self, name)]
        if self.anno_da is not None:
            pairs.append(("anno_da", str(self.anno_da)))
        if self.anno_a is not None:
            pairs.append(("anno_a", str(self.anno_a)))
        return pairs


def _parse_int(name: str, raw: str, low: int, high: int, label: str) -> int:
    try:
        return whole_number(raw, label, low, high)
    except ValueError as exc:
        raise FilterError(name, str(exc)) from None


def parse_process_query(params: dict[str, list[str]], default_page_size: int) -> ProcessQuery:
    """Read list parameters (each possibly repeated) into a ProcessQuery, or raise FilterError."""
    query = ProcessQuery(per_pagina=default_page_size)
    for name in FILTER_NAMES:
        values = []
        for raw in params.get(name, []):
            values.extend(v.strip() for v in raw.split(",") if v.strip())
        setattr(query, name, list(dict.fromkeys(values)))
    for name, label in (("anno_da", "Anno da"), ("anno_a", "Anno a")):
        raw = next((v for v in params.get(name, []) if v.strip()), None)
        if raw is not None:
            setattr(query, name, _parse_int(name, raw, MIN_YEAR, MAX_YEAR, label))
    if query.anno_da and query.anno_a and query.anno_a < query.anno_da:
        raise FilterError("anno_a", "Anno a: non può precedere «Anno da».")
    query.q = " ".join(" ".join(params.get("q", [])).split())
    if len(query.q) > MAX_QUERY_LENGTH:
        raise FilterError("q", f"Ricerca: al massimo {MAX_QUERY_LENGTH} caratteri.")
    ordine = next(iter(params.get("ordine", [])), "") or ("rilevanza" if query.q else "recenti")
    if ordine == "rilevanza" and not query.q:
        ordine = "recenti"
    if ordine not in SORTS:
        raise FilterError("ordine", f"Ordine: valori ammessi {', '.join(SORTS)}.")
    query.ordine = ordine
    page = next(iter(params.get("pagina", [])), "") or "1"
    query.pagina = _parse_int("pagina", page, 1, MAX_PAGE, "Pagina")
    size = next(iter(params.get("per_pagina", [])), "")
    if size:
        query.per_pagina = _parse_int("per_pagina", size, 1, MAX_PAGE_SIZE, "Risultati per pagina")
    return query


# --- vocabularies ----------------------------------------------------------------------------


async def vocabularies() -> dict[str, list[dict]]:
    """Every vocabulary with its terms in order: {"tipo": [{"slug", "label", ...}], ...}."""
    rows = await Term.select().order_by(Term.vocabulary).order_by(Term.position).order_by(Term.id)
    result: dict[str, list[dict]] = {name: [] for name in VOCABULARIES}
    for row in rows:
        result.setdefault(row["vocabulary"], []).append(row)
    return result


async def _term_ids(vocabulary: str, slugs: list[str], field_name: str) -> list[int]:
    if not slugs:
        return []
    rows = await Term.select(Term.id, Term.slug).where(Term.vocabulary == vocabulary)
    by_slug = {row["slug"]: row["id"] for row in rows}
    unknown = [slug for slug in slugs if slug not in by_slug]
    if unknown:
        allowed = ", ".join(sorted(by_slug))
        raise FilterError(
            field_name,
            f"{VOCABULARIES[vocabulary]}: valore sconosciuto «{unknown[0]}». Valori ammessi: {allowed}.",
        )
    return [by_slug[slug] for slug in slugs]


# --- the process list ------------------------------------------------------------------------


async def _conditions(query: ProcessQuery) -> list:
    """Piccolo conditions for the filters of ``query`` (public processes only)."""
    conditions = [published()]
    for name, vocabulary, column in (
        ("ambito", "ambito", Process.theme),
        ("tipo", "tipo", Process.kind),
        ("livello", "livello", Process.participation_level),
        ("fonte", "fonte", Process.reporting_source),
    ):
        ids = await _term_ids(vocabulary, getattr(query, name), name)
        if ids:
            conditions.append(column.is_in(ids))
    topic_ids = await _term_ids("tematica", query.tematica, "tematica")
    if topic_ids:
        conditions.append(
            Process.id.is_in(ProcessTerm.select(ProcessTerm.process).where(ProcessTerm.term.is_in(topic_ids)))
        )
    if query.stato:
        unknown = [s for s in query.stato if s not in PROCESS_STATES]
        if unknown:
            raise FilterError(
                "stato",
                f"Stato: valore sconosciuto «{unknown[0]}». Valori ammessi: {', '.join(PROCESS_STATES)}.",
            )
        conditions.append(Process.state.is_in(query.stato))
    if query.territorio:
        codes = [code.upper() for code in query.territorio]
        found = await Territory.select(Territory.code).where(Territory.code.is_in(codes)).output(as_list=True)
        missing = [code for code in codes if code not in found]
        if missing:
            raise FilterError(
                "territorio",
                f"Territorio: codice sconosciuto «{missing[0]}» (esempi: IT, R01, P201, C001272).",
            )
        conditions.append(Process.id.is_in(_processes_in_territories(codes)))
    for name, roles in (("ente", None), ("titolare", ["titolare"])):
        slugs = getattr(query, name)
        if not slugs:
            continue
        rows = await Organisation.select(Organisation.id, Organisation.slug).where(
            Organisation.slug.is_in(slugs)
        )
        found = {row["slug"]: row["id"] for row in rows}
        missing = [slug for slug in slugs if slug not in found]
        if missing:
            raise FilterError(name, f"Ente: nessun ente con identificativo «{missing[0]}».")
        members = ProcessOrganisation.select(ProcessOrganisation.process).where(
            ProcessOrganisation.organisation.is_in(list(found.values()))
        )
        if roles:
            members = members.where(ProcessOrganisation.role.is_in(roles))
        conditions.append(Process.id.is_in(members))
    if query.anno_da is not None:
        year = query.anno_da
        conditions.append(
            (Process.end_year >= year)
            | (Process.end_year.is_null() & ((Process.ongoing == True) | (Process.start_year >= year)))  # noqa: E712
        )
    if query.anno_a is not None:
        conditions.append(Process.start_year <= query.anno_a)
    return conditions


async def check_filters(query: ProcessQuery) -> None:
    """Raise FilterError for a filter value the catalogue does not know."""
    await _conditions(query)


def _processes_in_territories(codes: list[str]):
    """Sub-select of processes tagged with any of ``codes`` or with anything inside them."""
    if "IT" in codes:
        inside = Territory.select(Territory.code)
    else:
        inside = Territory.select(Territory.code).where(
            Territory.code.is_in(codes)
            | Territory.region_code.is_in(codes)
            | Territory.province_code.is_in(codes)
        )
    return ProcessTerritory.select(ProcessTerritory.process).where(ProcessTerritory.territory.is_in(inside))


def _where_all(select, conditions: list):
    for condition in conditions:
        select = select.where(condition)
    return select


_ORDERINGS = {  # (SQL expression, ascending); NULL years last on both databases
    "recenti": [('"process"."updated_at"', False), ('"process"."id"', False)],
    # the database has no relevance: a list it serves for a text query is ordered by last change
    "rilevanza": [('"process"."updated_at"', False), ('"process"."id"', False)],
    "titolo": [('"process"."title_key"', True), ('"process"."id"', True)],
    "anno": [
        ('"process"."start_year" IS NULL', True),
        ('"process"."start_year"', False),
        ('"process"."title_key"', True),
    ],
    "anno_asc": [
        ('"process"."start_year" IS NULL', True),
        ('"process"."start_year"', True),
        ('"process"."title_key"', True),
    ],
}


def _ordered(select, sort: str):
    for expression, ascending in _ORDERINGS[sort]:
        select = select.order_by(OrderByRaw(expression), ascending=ascending)
    return select


SUMMARY_COLUMNS = (
    Process.id,
    Process.slug,
    Process.title,
    Process.summary,
    Process.start_year,
    Process.end_year,
    Process.ongoing,
    Process.state,
    Process.updated_at,
    Process.kind.slug.as_alias("kind_slug"),
    Process.kind.label.as_alias("kind_label"),
    Process.theme.slug.as_alias("theme_slug"),
    Process.theme.label.as_alias("theme_label"),
)


async def list_processes(query: ProcessQuery) -> Page:
    """Public processes matching ``query``: filtered and counted first, then one page of them."""
    conditions = await _conditions(query)
    total = await _where_all(Process.count(), conditions)
    select = _where_all(Process.select(*SUMMARY_COLUMNS), conditions)
    select = _ordered(select, query.ordine)
    offset = (query.pagina - 1) * query.per_pagina
    rows = await select.limit(query.per_pagina).offset(offset)
    return Page(
        items=await summarise_processes(rows), total=total, page=query.pagina, page_size=query.per_pagina
    )


async def summarise_processes(rows: list[dict]) -> list[dict]:
    """List entries for process rows, with their territories and decision holders."""
    ids = [row["id"] for row in rows]
    territories = await _territories_of(ids)
    holders = await _organisations_of(ids, roles=["titolare"])
    return [_summary(row, territories.get(row["id"], []), holders.get(row["id"], [])) for row in rows]


def _term(slug: str | None, label: str | None) -> dict | None:
    return {"slug": slug, "label": label} if slug else None


def _summary(row: dict, territories: list[dict], holders: list[dict]) -> dict:
    return {
        "slug": row["slug"],
        "title": row["title"],
        "summary": row["summary"],
        "kind": _term(row["kind_slug"], row["kind_label"]),
        "theme": _term(row["theme_slug"], row["theme_label"]),
        "start_year": row["start_year"],
        "end_year": row["end_year"],
        "ongoing": row["ongoing"],
        "state": row["state"],
        "state_label": PROCESS_STATES.get(row["state"]) if row["state"] else None,
        "territories": territories,
        "decision_holders": [{"slug": h["slug"], "name": h["name"]} for h in holders],
        "updated_at": row["updated_at"],
    }


async def _territories_of(process_ids: list[int]) -> dict[int, list[dict]]:
    if not process_ids:
        return {}
    rows = (
        await ProcessTerritory.select(
            ProcessTerritory.process,
            ProcessTerritory.territory.code.as_alias("code"),
            ProcessTerritory.territory.name.as_alias("name"),
            ProcessTerritory.territory.level.as_alias("level"),
        )
        .where(ProcessTerritory.process.is_in(process_ids))
        .order_by(ProcessTerritory.position)
        .order_by(ProcessTerritory.id)
    )
    result: dict[int, list[dict]] = {}
    for row in rows:
        result.setdefault(row["process"], []).append(
            {"code": row["code"], "name": row["name"], "level": row["level"]}
        )
    return result


async def _organisations_of(process_ids: list[int], roles: list[str] | None = None) -> dict[int, list[dict]]:
    if not process_ids:
        return {}
    select = ProcessOrganisation.select(
        ProcessOrganisation.process,
        ProcessOrganisation.role,
        ProcessOrganisation.organisation.slug.as_alias("slug"),
        ProcessOrganisation.organisation.name.as_alias("name"),
        ProcessOrganisation.organisation.kind.as_alias("kind"),
    ).where(ProcessOrganisation.process.is_in(process_ids))
    if roles:
        select = select.where(ProcessOrganisation.role.is_in(roles))
    rows = await select.order_by(ProcessOrganisation.position).order_by(ProcessOrganisation.id)
    result: dict[int, list[dict]] = {}
    for row in rows:
        result.setdefault(row["process"], []).append(
            {
                "slug": row["slug"],
                "name": row["name"],
                "kind": row["kind"],
                "role": row["role"],
                "role_label": ORGANISATION_ROLES[row["role"]],
            }
        )
    return result


# --- one process -----------------------------------------------------------------------------


@dataclass
class ProcessLookup:
    """The outcome of looking a slug up: a process, a redirect, a withdrawal, or nothing."""

    #: The slug looked up.
    slug: str
    process: dict | None = None
    redirect_to: str | None = None
    withdrawn: dict | None = None


def cents_to_decimal(cents: int | None) -> Decimal | None:
    """Euro cents as an exact Decimal with two places."""
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


async def find_process(slug: str) -> ProcessLookup:
    """Look a public process up by its slug or by one of its old slugs."""
    row = (
        await Process.select(
            Process.id,
            Process.slug,
            Process.publication,
            Process.title,
            Process.withdrawal_reason,
            Process.updated_at,
        )
        .where(Process.slug == slug)
        .first()
    )
    if row is None:
        redirect = (
            await SlugRedirect.select(SlugRedirect.process.slug.as_alias("slug"))
            .where(SlugRedirect.old_slug == slug)
            .first()
        )
        return ProcessLookup(slug, redirect_to=redirect["slug"] if redirect else None)
    if row["publication"] != "published":
        return ProcessLookup(slug, withdrawn=row)
    return ProcessLookup(slug, process=await process_detail(row["id"]))


async def process_detail(process_id: int) -> dict | None:
    """Every field of one process, with its related rows, as plain data (see records.py), and
    its ``publication``; None when there is no such process."""
    found = await process_details([process_id])
    return found[0] if found else None


def _grouped(rows: list[dict]) -> dict[int, list[dict]]:
    result: dict[int, list[dict]] = {}
    for row in rows:
        result.setdefault(row.pop("process"), []).append(row)
    return result


_TERM_FIELDS = tuple(d for d in fields.FIELDS if d.type == fields.TERM)


async def process_details(process_ids: list[int]) -> list[dict]:
    """process_detail() of many processes at once, with one query per related table."""
    if not process_ids:
        return []
    columns = [getattr(Process, d.stored_in) for d in _TERM_FIELDS]
    rows = await Process.select(
        Process.all_columns(exclude=columns),
        *[column.slug.as_alias(f"{d.name}__slug") for d, column in zip(_TERM_FIELDS, columns, strict=True)],
        *[column.label.as_alias(f"{d.name}__label") for d, column in zip(_TERM_FIELDS, columns, strict=True)],
    ).where(Process.id.is_in(process_ids))
    related = {
        "organisations": await _organisations_of(process_ids),
        "territories": await _territories_of(process_ids),
        "tags": _grouped(
            await ProcessTerm.select(
                ProcessTerm.process,
                ProcessTerm.term.vocabulary.as_alias("vocabulary"),
                ProcessTerm.term.slug.as_alias("slug"),
                ProcessTerm.term.label.as_alias("label"),
            )
            .where(ProcessTerm.process.is_in(process_ids))
            .order_by(ProcessTerm.position)
            .order_by(ProcessTerm.id)
        ),
    }
    for path, table in ROW_TABLES.items():
        parts = fields.BY_PATH[path].parts
        related[path] = _grouped(
            await table.select(table.process, *[getattr(table, p.stored_in) for p in parts])
            .where(table.process.is_in(process_ids))
            .order_by(table.position)
            .order_by(table.id)
        )
    by_id = {row["id"]: _detail(row, related) for row in rows}
    return [by_id[process_id] for process_id in process_ids if process_id in by_id]


def _read(declared: fields.Field, value: Any) -> Any:
    return cents_to_decimal(value) if declared.type == fields.AMOUNT else value


def _rows_of(path: str, process_id: int, related: dict) -> list[dict]:
    parts = fields.BY_PATH[path].parts
    return [{p.name: _read(p, row[p.stored_in]) for p in parts} for row in related[path].get(process_id, [])]


def _detail(row: dict, related: dict) -> dict:
    """A process's detail (see records.py) from its row and its related rows."""
    process_id = row["id"]
    organisations = related["organisations"].get(process_id, [])
    tags = related["tags"].get(process_id, [])
    detail: dict[str, Any] = {"id": process_id, "publication": row["publication"]}
    for declared in fields.FIELDS:
        name, kind = declared.name, declared.type
        if kind == fields.TERM:
            detail[name] = _term(row[f"{name}__slug"], row[f"{name}__label"])
        elif kind == fields.TERMS:
            detail[name] = [
                {"slug": t["slug"], "label": t["label"]}
                for t in tags
                if t["vocabulary"] == declared.vocabulary
            ]
        elif kind == fields.NAMES:
            detail[name] = [o for o in organisations if o["role"] == "titolare"]
        elif kind == fields.ROLES:
            detail[name] = [o for o in organisations if o["role"] != "titolare"]
        elif kind == fields.TERRITORIES:
            detail[name] = related["territories"].get(process_id, [])
        elif kind == fields.ROWS:
            detail[name] = _rows_of(name, process_id, related)
        elif kind == fields.GROUP:
            group = {
                p.name: _rows_of(f"{name}.{p.name}", process_id, related)
                if p.many
                else _read(p, row[p.stored_in])
                for p in declared.parts
            }
            detail[name] = group if any(not empty(value) for value in group.values()) else None
        else:
            detail[name] = row[declared.stored_in]
            if kind == fields.CHOICE:
                detail[f"{name}_label"] = (declared.choices or {}).get(detail[name])
    return detail


# --- organisations and territories -------------------------------------------------------------


async def _process_counts_by_organisation(organisation_ids: list[int]) -> dict[int, int]:
    if not organisation_ids:
        return {}
    rows = (
        await ProcessOrganisation.select(
            ProcessOrganisation.organisation,
            Count(distinct=[ProcessOrganisation.process]).as_alias("n"),
        )
        .where(
            ProcessOrganisation.organisation.is_in(organisation_ids),
            ProcessOrganisation.process.is_in(Process.select(Process.id).where(published())),
        )
        .group_by(ProcessOrganisation.organisation)
    )
    return {row["organisation"]: row["n"] for row in rows}


async def list_organisations(q: str | None, page: int, page_size: int) -> tuple[list[dict], int]:
    """Organisations whose name or alternative name contains ``q`` (all when empty), by name."""
    select = Organisation.select(
        Organisation.id,
        Organisation.slug,
        Organisation.name,
        Organisation.kind,
        Organisation.territory.code.as_alias("territory_code"),
        Organisation.territory.name.as_alias("territory_name"),
        Organisation.territory.level.as_alias("territory_level"),
    )
    count = Organisation.count()
    if q and fold(q):
        matching = OrganisationName.select(OrganisationName.organisation).where(
            OrganisationName.name_key.like(f"%{fold(q)}%")
        )
        select = select.where(Organisation.id.is_in(matching))
        count = count.where(Organisation.id.is_in(matching))
    total = await count
    rows = await select.order_by(Organisation.name).limit(page_size).offset((page - 1) * page_size)
    counts = await _process_counts_by_organisation([row["id"] for row in rows])
    return [_organisation(row, counts.get(row["id"], 0)) for row in rows], total


def _organisation(row: dict, process_count: int) -> dict:
    territory = (
        {"code": row["territory_code"], "name": row["territory_name"], "level": row["territory_level"]}
        if row["territory_code"]
        else None
    )
    return {
        "slug": row["slug"],
        "name": row["name"],
        "kind": row["kind"],
        "kind_label": ORGANISATION_KINDS.get(row["kind"], row["kind"]),
        "territory": territory,
        "process_count": process_count,
    }


@dataclass
class OrganisationLookup:
    organisation: dict | None = None
    redirect_to: str | None = None


async def find_organisation(slug: str) -> OrganisationLookup:
    """An organisation with its alternative names, or where its old slug leads."""
    row = (
        await Organisation.select(
            Organisation.id,
            Organisation.slug,
            Organisation.name,
            Organisation.kind,
            Organisation.description,
            Organisation.website,
            Organisation.territory.code.as_alias("territory_code"),
            Organisation.territory.name.as_alias("territory_name"),
            Organisation.territory.level.as_alias("territory_level"),
        )
        .where(Organisation.slug == slug)
        .first()
    )
    if row is None:
        redirect = (
            await OrganisationRedirect.select(OrganisationRedirect.organisation.slug.as_alias("slug"))
            .where(OrganisationRedirect.old_slug == slug)
            .first()
        )
        return OrganisationLookup(redirect_to=redirect["slug"] if redirect else None)
    counts = await _process_counts_by_organisation([row["id"]])
    names = (
        await OrganisationName.select(OrganisationName.name)
        .where(OrganisationName.organisation == row["id"])
        .order_by(OrganisationName.name)
        .output(as_list=True)
    )
    organisation = _organisation(row, counts.get(row["id"], 0))
    organisation.update(
        id=row["id"],
        description=row["description"],
        website=row["website"],
        alt_names=[name for name in names if name != row["name"]],
    )
    return OrganisationLookup(organisation=organisation)


async def organisation_processes(organisation_id: int, page: int, page_size: int) -> Page:
    """Public processes an organisation takes part in, newest first, and its role in each."""
    ids_query = ProcessOrganisation.select(ProcessOrganisation.process).where(
        ProcessOrganisation.organisation == organisation_id
    )
    conditions = [published(), Process.id.is_in(ids_query)]
    total = await _where_all(Process.count(), conditions)
    rows = (
        await _ordered(_where_all(Process.select(*SUMMARY_COLUMNS), conditions), "anno")
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    role_rows = await ProcessOrganisation.select(ProcessOrganisation.process, ProcessOrganisation.role).where(
        ProcessOrganisation.organisation == organisation_id,
        ProcessOrganisation.process.is_in([row["id"] for row in rows] or [0]),
    )
    roles: dict[int, list[str]] = {}
    for role_row in role_rows:
        roles.setdefault(role_row["process"], []).append(ORGANISATION_ROLES[role_row["role"]])
    items = await summarise_processes(rows)
    for row, item in zip(rows, items, strict=True):
        item["roles"] = roles.get(row["id"], [])
    return Page(items=items, total=total, page=page, page_size=page_size)


async def list_territories(q: str | None, level: str | None, limit: int) -> list[dict]:
    """Territories whose name starts with (then contains) ``q``, bigger units first."""
    select = Territory.select(
        Territory.code,
        Territory.name,
        Territory.level,
        Territory.plate,
        Territory.parent.name.as_alias("parent_name"),
    )
    if level:
        select = select.where(Territory.level == level)
    key = fold(q or "")
    if key:
        select = select.where(Territory.name_key.like(f"%{key}%"))
    rows = (
        await select.order_by(
            OrderByRaw(
                "CASE \"territory\".\"level\" WHEN 'paese' THEN 0 WHEN 'regione' THEN 1 "
                "WHEN 'provincia' THEN 2 ELSE 3 END"
            )
        )
        .order_by(Territory.name_key)
        .limit(2000 if key else limit)
    )
    if key:
        rows.sort(key=lambda row: (not fold(row["name"]).startswith(key), fold(row["name"]) != key))
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "level": r["level"],
            "plate": r["plate"],
            "parent_name": r["parent_name"],
        }
        for r in rows[:limit]
    ]


async def find_territory(code: str) -> dict | None:
    """A territory with the chain of units above it and, for bigger units, the ones below."""
    row = await Territory.select().where(Territory.code == code.upper()).first()
    if row is None:
        return None
    ancestors = []
    parent = row["parent"]
    while parent:
        ancestor = (
            await Territory.select(Territory.code, Territory.name, Territory.level, Territory.parent)
            .where(Territory.code == parent)
            .first()
        )
        ancestors.insert(0, ancestor)
        parent = ancestor["parent"]
    children = []
    if row["level"] in ("paese", "regione"):
        children = (
            await Territory.select(Territory.code, Territory.name, Territory.level)
            .where(Territory.parent == row["code"])
            .order_by(Territory.name_key)
        )
    return {**row, "ancestors": ancestors, "children": children}


async def territory_processes(code: str, page: int, page_size: int, sort: str = "anno") -> Page:
    """Public processes in a territory or anywhere inside it."""
    return await list_processes(
        ProcessQuery(territorio=[code], ordine=sort, pagina=page, per_pagina=page_size)
    )


# --- home ------------------------------------------------------------------------------------


async def catalogue_stats(latest: int = 6) -> dict[str, Any]:
    """Figures for the home page: totals, by theme area, by region, the latest published."""
    total = await Process.count().where(published())
    public_ids = Process.select(Process.id).where(published())
    by_theme = (
        await Process.select(
            Process.theme.slug.as_alias("slug"),
            Process.theme.label.as_alias("label"),
            Count(Process.id).as_alias("n"),
        )
        .where(published(), Process.theme.is_not_null())
        .group_by(Process.theme.slug, Process.theme.label)
        .order_by(OrderByRaw("n"), ascending=False)
        .order_by(Process.theme.label)
    )
    region_rows = (
        await ProcessTerritory.select(
            ProcessTerritory.territory.region_code.as_alias("code"),
            Count(distinct=[ProcessTerritory.process]).as_alias("n"),
        )
        .where(
            ProcessTerritory.process.is_in(public_ids), ProcessTerritory.territory.region_code.is_not_null()
        )
        .group_by(ProcessTerritory.territory.region_code)
    )
    names = {
        r["code"]: r["name"]
        for r in await Territory.select(Territory.code, Territory.name).where(Territory.level == "regione")
    }
    by_region = sorted(
        ({"code": r["code"], "name": names.get(r["code"], r["code"]), "n": r["n"]} for r in region_rows),
        key=lambda r: (-r["n"], r["name"]),
    )
    national = await Process.count().where(published(), Process.id.is_in(_processes_in_territories(["IT"])))
    latest_rows = (
        await Process.select(*SUMMARY_COLUMNS)
        .where(published())
        .order_by(OrderByRaw('"process"."published_at" IS NULL'))
        .order_by(OrderByRaw('"process"."published_at"'), ascending=False)
        .order_by(OrderByRaw('"process"."id"'), ascending=False)
        .limit(latest)
    )
    return {
        "total": total,
        "by_theme": by_theme,
        "by_region": by_region,
        "national": national,
        "latest": await summarise_processes(latest_rows),
        "organisations": await Organisation.count(),
    }
