"""Writing the catalogue: saving a process from its validated values, with its related rows.

Every way data enters (file imports, approved submissions, the editors' pages) checks a record with
``validation.validate_process`` and saves it with :func:`save_process`, so the same rules hold
everywhere. Call these inside ``database.write_transaction()``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from observatory.catalogue import fields as f
from observatory.catalogue.checks import SLUG_FROM_NAME, FieldError, References, ValidationFailed
from observatory.catalogue.outbox import record_change
from observatory.catalogue.records import to_record
from observatory.catalogue.tables import (
    ROW_TABLES,
    Organisation,
    OrganisationName,
    Process,
    ProcessOrganisation,
    ProcessTerm,
    ProcessTerritory,
    SlugRedirect,
)
from observatory.database import lock, write_transaction
from observatory.i18n import _
from observatory.text import clean, fold, slugify

#: The longest slug made from a title; a number may follow it ("-2").
SLUG_FROM_TITLE = 150
_KIND_BY_PREFIX = (
    ("comune di ", "comune"),
    ("citta di ", "comune"),
    ("unione dei comuni", "unione_comuni"),
    ("unione comuni", "unione_comuni"),
    ("citta metropolitana", "provincia"),
    ("provincia ", "provincia"),
    ("regione ", "regione"),
    ("ministero", "ministero"),
    ("dipartimento", "ministero"),
    ("presidenza del consiglio", "ministero"),
    ("agenzia", "agenzia"),
    ("fondazione", "fondazione"),
    ("associazione", "associazione"),
    ("cooperativa", "associazione"),
    ("universita", "universita"),
    ("politecnico", "universita"),
    ("istituto", "scuola"),
    ("liceo", "scuola"),
    ("commissione europea", "istituzione_ue"),
)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class SaveConflict(Exception):
    """A save refused because the process changed since the form was opened: the form is shown
    again (409) with ``record`` (what was typed, merged with the changes saved since), the
    ``message`` and the ``context`` the page needs (the new version, the fields in conflict)."""

    def __init__(self, message: str, record: dict, **context: Any):
        super().__init__(message)
        self.message, self.record, self.context = message, record, context


# --- organisations ---------------------------------------------------------------------------


def guess_organisation_kind(name: str) -> str:
    """The kind a new organisation probably is, from the words its name starts with."""
    key = fold(name)
    for prefix, kind in _KIND_BY_PREFIX:
        if key.startswith(prefix):
            return kind
    if re.search(r"\b(s p a|spa|s r l|srl|s c a r l)\b", key):
        return "impresa"
    return "altro"


async def unique_slug(table, base: str, exclude_id: int | None = None) -> str:
    """``base``, or ``base-2``, ``base-3``... : the first that no other row of ``table`` has (and
    that no other transaction is about to take: they wait for this one)."""
    await lock(_slug_key(table, base))
    slug, n = base, 1
    while True:
        query = table.exists().where(table.slug == slug)
        if exclude_id is not None:
            query = query.where(table.id != exclude_id)
        if not await query:
            return slug
        n += 1
        slug = f"{base[:SLUG_FROM_TITLE]}-{n}"


def _slug_key(table, base: str) -> str:
    return f"{table._meta.tablename}.slug:{base}"


def _name_key(name: str) -> str:
    return f"organisation.name:{fold(name)}"


async def add_organisation_names(
    organisation_id: int, names: list[str], refs: References | None = None
) -> None:
    """Record alternative names of an organisation, skipping names already known."""
    for name in names:
        key = fold(name)
        if not key or await OrganisationName.exists().where(OrganisationName.name_key == key):
            continue
        await OrganisationName.insert(OrganisationName(organisation=organisation_id, name=name, name_key=key))
        if refs is not None:
            refs.organisation_keys[key] = organisation_id


async def resolve_organisation(name: str, refs: References) -> int:
    """The id of the organisation called ``name`` (or so also called); created if none is."""
    key = fold(name)
    if key in refs.organisation_keys:
        return refs.organisation_keys[key]
    declared = refs.declared_organisations.get(key, {})
    all_names = [declared.get("name") or name, *declared.get("alt_names", [])]
    for other in all_names:  # an alternative name may already be known
        if fold(other) in refs.organisation_keys:
            organisation_id = refs.organisation_keys[fold(other)]
            await add_organisation_names(organisation_id, all_names, refs)
            return organisation_id
    # refs were read before this transaction: another may have created it since, or be creating it
    await lock(*(_name_key(other) for other in all_names))
    known = (
        await OrganisationName.select(
            OrganisationName.organisation, OrganisationName.organisation.name.as_alias("preferred")
        )
        .where(OrganisationName.name_key.is_in([fold(other) for other in all_names]))
        .first()
    )
    if known is not None:
        organisation_id = known["organisation"]
        refs.organisation_names[organisation_id] = known["preferred"]
        await add_organisation_names(organisation_id, all_names, refs)
        return organisation_id
    preferred = declared.get("name") or name
    kind = declared.get("kind") or guess_organisation_kind(preferred)
    territory = declared.get("territory")
    if territory is None and kind == "comune":
        place = re.sub(r"^(comune|citta) di ", "", fold(preferred))
        candidates = [c for c in refs.territory_names.get(place, []) if c.startswith("C")]
        territory = candidates[0] if len(candidates) == 1 else None
    slug = await unique_slug(Organisation, declared.get("slug") or slugify(preferred, SLUG_FROM_NAME))
    row = Organisation(
        slug=slug,
        name=preferred,
        kind=kind,
        territory=territory,
        description=declared.get("description"),
        website=declared.get("website"),
    )
    await row.save()
    refs.organisation_names[row.id] = preferred
    await add_organisation_names(row.id, all_names, refs)
    return row.id


# --- processes -------------------------------------------------------------------------------


def _stored(declared: f.Field, value: Any, term_ids: Mapping[tuple[str, str], int]) -> Any:
    """A value as its column holds it: a term by id, an amount in cents."""
    if value is None:
        return None
    if declared.type == f.TERM:
        return term_ids[(declared.vocabulary, value)]
    if declared.type == f.AMOUNT:
        return int(Decimal(value) * 100)
    return value


def _columns(values: Mapping[str, Any], term_ids: Mapping[tuple[str, str], int]) -> dict[str, Any]:
    """The Process columns of ``values``: its single-valued fields and the parts of its groups."""
    columns = {}
    for declared in f.FIELDS:
        if declared.type == f.GROUP:
            group = values[declared.name] or {}
            for part in declared.parts:
                if not part.many:
                    columns[part.stored_in] = _stored(part, group.get(part.name), term_ids)
        elif not declared.many and declared.type not in (f.SLUG, f.TIMESTAMP):
            columns[declared.stored_in] = _stored(declared, values[declared.name], term_ids)
    return columns


async def check_slug_free(slug: str, process_id: int | None) -> None:
    """Refuse (ValidationFailed on ``slug``) a slug that another process has, or had: an old slug
    keeps leading to its process, so it is never given to another."""
    others = [Process.id != process_id] if process_id is not None else []
    owner = await Process.select(Process.title).where(Process.slug == slug, *others).first()
    if owner is not None:
        message = _("l'indirizzo «%(slug)s» è già usato dal processo «%(title)s»: scegline un altro.") % {
            "slug": slug,
            "title": owner["title"],
        }
        raise ValidationFailed([FieldError("slug", message)])
    others = [SlugRedirect.process != process_id] if process_id is not None else []
    former = (
        await SlugRedirect.select(SlugRedirect.process.title.as_alias("title"))
        .where(SlugRedirect.old_slug == slug, *others)
        .first()
    )
    if former is not None:
        message = _(
            "l'indirizzo «%(slug)s» era del processo «%(title)s» e rimanda ancora a quello: "
            "scegline un altro."
        ) % {"slug": slug, "title": former["title"]}
        raise ValidationFailed([FieldError("slug", message)])


async def save_process(
    values: dict, refs: References, existing: Mapping[str, Any] | None = None, refuse_taken_slug: bool = False
) -> tuple[int, dict]:
    """Create, or replace every field of, a published process from validated values; return its id
    and the record now stored (organisations under their preferred names).

    ``existing`` is the process replaced (its ``id``, ``slug``, ``created_at`` and ``published_at``),
    None for a new one. Call inside a write transaction: the process row and its related rows change together.
    With ``refuse_taken_slug``, a new slug that another process has or had is refused (see
    :func:`check_slug_free`); without it (imports), an old slug of another process is taken over.
    """
    now = _now()
    term_ids = {
        (vocabulary, slug): row["id"] for vocabulary, rows in refs.terms.items() for slug, row in rows.items()
    }
    process_id = existing["id"] if existing else None
    base = slugify(values["title"], SLUG_FROM_TITLE)
    names = [*values["decision_holders"], *(item["name"] for item in values["organisations"])]
    # every lock this save may need, at once and in one order: two saves never wait for each other
    await lock(_slug_key(Process, values["slug"] or base), *(_name_key(name) for name in names))
    slug = values["slug"] or await unique_slug(Process, base, exclude_id=process_id)
    if refuse_taken_slug and (existing is None or slug != existing["slug"]):
        await check_slug_free(slug, process_id)
    columns = _columns(values, term_ids) | {
        "slug": slug,
        "title_key": fold(values["title"]),
        "publication": "published",
        "updated_at": values["updated_at"] or now,
    }
    if existing is None:
        columns["created_at"] = values["created_at"] or now
        columns["published_at"] = values["published_at"] or columns["created_at"]
        row = Process(**columns)
        await row.save()
        process_id = row.id
    else:
        if values["created_at"]:
            columns["created_at"] = values["created_at"]
        columns["published_at"] = values["published_at"] or existing["published_at"] or now
        await Process.update({**columns, Process.version: Process.version + 1}, force=True).where(
            Process.id == process_id
        )
        if existing["slug"] != slug:
            await SlugRedirect.delete().where(SlugRedirect.old_slug == slug)
            await SlugRedirect.insert(SlugRedirect(old_slug=existing["slug"], process=process_id))
        for table in (ProcessOrganisation, ProcessTerritory, ProcessTerm, *ROW_TABLES.values()):
            await table.delete().where(table.process == process_id)
    stored = await _save_related(process_id, values, refs, term_ids)
    await record_change(process_id)
    if existing is not None and "created_at" not in columns:
        columns["created_at"] = existing["created_at"]
    return process_id, to_record({**values, **stored, **{name: columns[name] for name in ("slug", *_STAMPS)}})


_STAMPS = ("created_at", "updated_at", "published_at")


async def _save_related(
    process_id: int, values: dict, refs: References, term_ids: Mapping
) -> dict[str, list]:
    """Insert the related rows of a process; return the organisations as stored (each link once,
    under the organisation's preferred name)."""
    memberships = [("titolare", name) for name in values["decision_holders"]]
    memberships += [(item["role"], item["name"]) for item in values["organisations"]]
    rows, seen = [], set()
    stored: dict[str, list] = {"decision_holders": [], "organisations": []}
    for position, (role, name) in enumerate(memberships):
        organisation_id = await resolve_organisation(name, refs)
        if (role, organisation_id) in seen:
            continue
        seen.add((role, organisation_id))
        rows.append(
            ProcessOrganisation(
                process=process_id, organisation=organisation_id, role=role, position=position
            )
        )
        preferred = refs.organisation_names[organisation_id]
        if role == "titolare":
            stored["decision_holders"].append(preferred)
        else:
            stored["organisations"].append({"name": preferred, "role": role})
    if rows:
        await ProcessOrganisation.insert(*rows)
    if values["territories"]:
        await ProcessTerritory.insert(
            *[
                ProcessTerritory(process=process_id, territory=code, position=i)
                for i, code in enumerate(values["territories"])
            ]
        )
    tags = [(d.vocabulary, slug) for d in f.FIELDS if d.type == f.TERMS for slug in values[d.name]]
    if tags:
        await ProcessTerm.insert(
            *[ProcessTerm(process=process_id, term=term_ids[tag], position=i) for i, tag in enumerate(tags)]
        )
    for path, table in ROW_TABLES.items():
        name, _, part_name = path.partition(".")
        declared, items = f.BY_PATH[path], values[name]
        if part_name:
            items = (items or {}).get(part_name) or []
        if items:
            await table.insert(
                *[
                    table(
                        process=process_id,
                        position=i,
                        **{p.stored_in: _stored(p, item[p.name], term_ids) for p in declared.parts},
                    )
                    for i, item in enumerate(items)
                ]
            )
    return stored


async def withdraw_process(process_id: int, reason: str | None) -> None:
    """Take a process off the public catalogue; its page then answers 410 with ``reason``."""
    await _set_publication(process_id, "withdrawn", clean(reason))


async def republish_process(process_id: int) -> None:
    """Put a withdrawn process back in the public catalogue, as it was when withdrawn."""
    await _set_publication(process_id, "published", None)


async def _set_publication(process_id: int, publication: str, reason: str | None) -> None:
    async with write_transaction():
        await Process.update(
            {
                Process.version: Process.version + 1,
                Process.publication: publication,
                Process.withdrawal_reason: reason,
                Process.updated_at: _now(),
            }
        ).where(Process.id == process_id)
        await record_change(process_id)
