"""Reading the catalogue from the database: the one place that decides what is public, a process
with every field, organisations, territories.

Lists of processes come from the search index instead (searching.py), with every filter. Pages and
the API call the same functions, so HTML and JSON cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import WhereRaw
from piccolo.query import OrderByRaw
from piccolo.query.functions.aggregate import Count, Sum

from observatory.catalogue import fields
from observatory.catalogue.fields import VOCABULARIES
from observatory.catalogue.geography import populations
from observatory.catalogue.records import empty
from observatory.catalogue.tables import (
    ORGANISATION_KINDS,
    ORGANISATION_ROLES,
    ROW_TABLES,
    Organisation,
    OrganisationName,
    OrganisationRedirect,
    Process,
    ProcessOrganisation,
    ProcessTerm,
    ProcessTerritory,
    Project,
    SlugRedirect,
    Term,
    Territory,
)
from observatory.i18n import N_, _
from observatory.text import fold, has_control_characters
from observatory.web import Page

# --- what is public -------------------------------------------------------------------------


def published():
    """The condition every public list, page, export and index entry goes through."""
    return Process.publication == "published"


# --- vocabularies ----------------------------------------------------------------------------


async def vocabularies() -> dict[str, list[dict]]:
    """Every vocabulary with its terms in order: {"tipo": [{"slug", "label", ...}], ...}."""
    rows = await Term.select().order_by(Term.vocabulary).order_by(Term.position).order_by(Term.id)
    result: dict[str, list[dict]] = {name: [] for name in VOCABULARIES}
    for row in rows:
        result.setdefault(row["vocabulary"], []).append(row)
    return result


def _term(slug: str | None, label: str | None) -> dict | None:
    return {"slug": slug, "label": label} if slug else None


def _among(column: Column, ids: list[int]) -> WhereRaw:
    """``column IN (ids)`` with the integer ids written out. Piccolo's is_in() converts every value
    on its own, which a download of the whole catalogue would pay a million times."""
    numbers = ",".join(str(int(number)) for number in ids)
    return WhereRaw(f'"{column._meta.table._meta.tablename}"."{column._meta.db_column_name}" IN ({numbers})')


async def _related(table, process_ids: list[int], *columns) -> dict[int, list[dict]]:
    """The rows of a table related to processes, in their order, by process id."""
    rows = (
        await table.select(table.process, *columns)
        .where(_among(table.process, process_ids))
        .order_by(table.position)
        .order_by(table.id)
    )
    return _grouped(rows)


def _grouped(rows: list[dict]) -> dict[int, list[dict]]:
    result: dict[int, list[dict]] = {}
    for row in rows:
        result.setdefault(row.pop("process"), []).append(row)
    return result


async def _redirected(target, slug: str) -> str | None:
    """Where an old slug leads now; ``target`` is the foreign key of its redirect table
    (SlugRedirect.process, OrganisationRedirect.organisation)."""
    table = target._meta.table
    row = await table.select(target.slug.as_alias("slug")).where(table.old_slug == slug).first()
    return row["slug"] if row else None


# --- one process -----------------------------------------------------------------------------


@dataclass
class ProcessLookup:
    """The outcome of looking a slug up: a process, a redirect, a withdrawal, or nothing."""

    #: The slug looked up.
    slug: str
    process: dict | None = None
    redirect_to: str | None = None
    withdrawn: dict | None = None


async def project_figures() -> dict:
    """Projects of published processes, counted and summed by state (in PROJECT_STATES order, the
    state unknown last): ``{"states": [{state, label, n, amount}], "n": total, "amount": total}``."""
    rows = (
        await Project.select(
            Project.state, Count(Project.id, alias="n"), Sum(Project.amount_cents, alias="cents")
        )
        .where(Project.process.publication == "published")
        .group_by(Project.state)
    )
    by_state = {row["state"]: row for row in rows}
    choices = fields.BY_PATH["projects.state"].choices or {}
    states = [
        {
            "state": state,
            "label": _(label),
            "n": by_state[state]["n"],
            "amount": cents_to_decimal(by_state[state]["cents"]),
        }
        for state, label in [*choices.items(), (None, N_("Stato non indicato"))]
        if state in by_state
    ]
    return {
        "states": states,
        "n": sum(row["n"] for row in states),
        "amount": sum((row["amount"] for row in states if row["amount"] is not None), Decimal(0)),
    }


def cents_to_decimal(cents: int | None) -> Decimal | None:
    """Euro cents as an exact Decimal with two places."""
    return None if cents is None else (Decimal(cents) / 100).quantize(Decimal("0.01"))


async def find_process(slug: str) -> ProcessLookup:
    """Look a public process up by its slug or by one of its old slugs."""
    if has_control_characters(slug):  # no slug has one (and PostgreSQL cannot even compare it)
        return ProcessLookup(slug)
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
        return ProcessLookup(slug, redirect_to=await _redirected(SlugRedirect.process, slug))
    if row["publication"] != "published":
        return ProcessLookup(slug, withdrawn=row)
    return ProcessLookup(slug, process=await process_detail(row["id"]))


async def process_detail(process_id: int) -> dict | None:
    """Every field of one process, with its related rows, as plain data (see records.py), and
    its ``publication``; None when there is no such process."""
    found = await process_details([process_id])
    return found[0] if found else None


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
    ).where(_among(Process.id, process_ids))
    organisation = ProcessOrganisation.organisation
    related = {
        "organisations": await _related(
            ProcessOrganisation,
            process_ids,
            ProcessOrganisation.role,
            organisation.slug.as_alias("slug"),
            organisation.name.as_alias("name"),
            organisation.kind.as_alias("kind"),
        ),
        "territories": await _related(
            ProcessTerritory,
            process_ids,
            *(getattr(ProcessTerritory.territory, key).as_alias(key) for key in ("code", "name", "level")),
        ),
        "tags": await _related(
            ProcessTerm,
            process_ids,
            *(getattr(ProcessTerm.term, key).as_alias(key) for key in ("vocabulary", "slug", "label")),
        ),
    }
    for rows_of in related["organisations"].values():
        for row in rows_of:
            row["role_label"] = ORGANISATION_ROLES[row["role"]]
    for path, table in ROW_TABLES.items():
        parts = fields.BY_PATH[path].parts
        related[path] = await _related(table, process_ids, *(getattr(table, p.stored_in) for p in parts))
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
    detail: dict[str, Any] = {"id": process_id, "publication": row["publication"], "version": row["version"]}
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


#: What lists show of an organisation.
_ORGANISATION_COLUMNS = (
    Organisation.id,
    Organisation.slug,
    Organisation.name,
    Organisation.kind,
    *(getattr(Organisation.territory, key).as_alias(f"territory_{key}") for key in ("code", "name", "level")),
)


async def list_organisations(
    q: str | None, page: int, page_size: int, counts: Mapping[str, int]
) -> tuple[list[dict], int]:
    """Organisations whose name or alternative name contains ``q`` (all when empty), by name, each
    with its count of published processes from ``counts`` (by slug)."""
    select = Organisation.select(*_ORGANISATION_COLUMNS)
    count = Organisation.count()
    if q and fold(q):
        matching = OrganisationName.select(OrganisationName.organisation).where(
            OrganisationName.name_key.like(f"%{fold(q)}%")
        )
        select = select.where(Organisation.id.is_in(matching))
        count = count.where(Organisation.id.is_in(matching))
    total = await count
    rows = await select.order_by(Organisation.name).limit(page_size).offset((page - 1) * page_size)
    return [_organisation(row, counts.get(row["slug"], 0)) for row in rows], total


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
    """The outcome of looking an organisation's slug up: it (with a page of its processes, when
    asked for), a redirect, or nothing."""

    organisation: dict | None = None
    redirect_to: str | None = None
    processes: Page | None = None


async def find_organisation(slug: str, counts: Mapping[str, int]) -> OrganisationLookup:
    """An organisation with its alternative names and its count of published processes from
    ``counts`` (by slug), or where its old slug leads."""
    row = (
        await Organisation.select(*_ORGANISATION_COLUMNS, Organisation.description, Organisation.website)
        .where(Organisation.slug == slug)
        .first()
    )
    if row is None:
        return OrganisationLookup(redirect_to=await _redirected(OrganisationRedirect.organisation, slug))
    names = (
        await OrganisationName.select(OrganisationName.name)
        .where(OrganisationName.organisation == row["id"])
        .order_by(OrganisationName.name)
        .output(as_list=True)
    )
    organisation = _organisation(row, counts.get(row["slug"], 0))
    organisation.update(
        id=row["id"],
        description=row["description"],
        website=row["website"],
        alt_names=[name for name in names if name != row["name"]],
    )
    return OrganisationLookup(organisation=organisation)


def _closeness(name: str, typed: str) -> int:
    """0 when ``name`` is what was typed, 1 when it starts with it, 2 when a word of it does, else 3."""
    if name == typed:
        return 0
    if name.startswith(typed):
        return 1
    return 2 if f" {typed}" in name else 3


async def list_territories(q: str | None, level: str | None, limit: int) -> list[dict]:
    """Territories whose name contains ``q``: the exact name first, then the names that start with
    it, then the others; among equals, the places where more people live first ("Chie": Chieri
    before Chienes). Without ``q``, bigger units first, then by name."""
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
        people = populations()
        rows.sort(key=lambda row: (_closeness(fold(row["name"]), key), -people.get(row["code"], 0)))
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


# --- home ------------------------------------------------------------------------------------


async def latest_published(limit: int) -> list[int]:
    """Ids of the processes published last, newest first."""
    return (
        await Process.select(Process.id)
        .where(published())
        .order_by(OrderByRaw('"process"."published_at" IS NULL'))
        .order_by(OrderByRaw('"process"."published_at"'), ascending=False)
        .order_by(OrderByRaw('"process"."id"'), ascending=False)
        .limit(limit)
        .output(as_list=True)
    )
