"""Curating published processes: revisions and their differences, edits, reverts, withdrawals
(organisations and vocabularies are in reference.py).

Every action runs in one transaction with its revision and its audit entry, and brings the search
index up to date right after the commit, so a search right after sees the change.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from observatory.accounts.services import record_audit
from observatory.accounts.tables import StaffUser
from observatory.catalogue import editing, indexing, services
from observatory.catalogue.editing import FieldError, References, ValidationFailed
from observatory.catalogue.tables import ORGANISATION_ROLES, PROCESS_STATES, Process, Term, Territory
from observatory.catalogue.transfer import process_record
from observatory.database import write_transaction
from observatory.redazione.tables import ProcessRevision
from observatory.search.index import SearchIndex
from observatory.text import clean, fold
from observatory.web import Page

#: The name revisions and audit entries carry when no staff member acted (imports, the first version).
SYSTEM_NAME = "Osservatorio"
#: Every top-level field of a process record, with the name editors see.
RECORD_LABELS = {
    "slug": "Indirizzo (slug)",
    "title": "Titolo",
    "kind": "Tipo di processo",
    "summary": "Sintesi",
    "description": "Descrizione",
    "decision_holders": "Titolari della decisione",
    "organisations": "Altri enti coinvolti",
    "territories": "Territori",
    "theme": "Ambito di intervento",
    "topics": "Tematica specifica",
    "start_year": "Anno di avvio",
    "end_year": "Anno di chiusura",
    "ongoing": "Ancora in corso",
    "state": "Stato di avanzamento",
    "phases": "Fasi",
    "goals": "Obiettivi",
    "results": "Risultati",
    "participation_level": "Livello di partecipazione",
    "methods": "Metodi e strumenti",
    "participants_count": "Numero di partecipanti",
    "participants_kind": "Chi ha partecipato",
    "funding": "Finanziamento",
    "links": "Collegamenti",
    "reporting_source": "Processo segnalato da",
    "reported_by": "Segnalato da",
    "quality_notes": "Note sulla certificazione di qualità",
    "regional_call_notes": "Note sul bando regionale",
    "source_licence": "Licenza della fonte",
    "source_ref": "Riferimento nella fonte",
    "created_at": "Creato il",
    "updated_at": "Ultima modifica",
    "published_at": "Pubblicato il",
}
#: Fields that change with every save: left out of differences.
UNCOMPARED = ("updated_at",)
#: Tags whose order means nothing (forms list them in vocabulary order): compared as sets.
UNORDERED = ("topics", "methods")
#: Which record field takes its values from which vocabulary (to show labels instead of slugs).
TERM_FIELDS = {
    "kind": "tipo",
    "theme": "ambito",
    "participation_level": "livello",
    "reporting_source": "fonte",
    "topics": "tematica",
    "methods": "metodo",
}
_FUNDING_LABELS = {
    "programme": "Programma",
    "fund": "Fondo",
    "total_investment": "Investimento totale",
    "cofinancing": "Cofinanziamento",
    "beneficiary": "Beneficiario",
    "cup": "CUP",
}
REASON_LIMIT = 5_000


class CurationRefused(ValueError):
    """An editor's action that cannot be done; the message says why, in Italian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def actor_name(staff: dict | None) -> str:
    """The name revisions carry for ``staff`` (the system's name when nobody acted)."""
    return staff["display_name"] if staff else SYSTEM_NAME


async def staff_name(user_id: int) -> str | None:
    """The display name of a staff member."""
    row = await StaffUser.select(StaffUser.display_name).where(StaffUser.id == user_id).first()
    return row["display_name"] if row else None


async def bring_index_up_to_date(search_index: SearchIndex | None) -> None:
    """Apply the index changes just committed (the server's background task would, a little later)."""
    if search_index is not None:
        await indexing.apply_pending(search_index)


# --- showing records ---------------------------------------------------------------------------


def _item_text(field: str, item: Any) -> str:
    """One element of a list field as one line of text."""
    if not isinstance(item, dict):
        return str(item)
    if field == "organisations":
        role = ORGANISATION_ROLES.get(item.get("role"), item.get("role"))
        return f"{item.get('name')} ({role})"
    if field == "links":
        return f"{item.get('label') or ''} — {item.get('url')}".strip(" —")
    if field == "phases":
        dates = " – ".join(d for d in (item.get("start_date"), item.get("end_date")) if d)
        text = item.get("title") or ""
        if dates:
            text += f" ({dates})"
        if item.get("description"):
            text += f": {item['description']}"
        return text
    return " · ".join(str(v) for v in item.values() if v not in (None, "", []))


def value_lines(field: str, value: Any, labels: dict | None = None) -> list[str]:
    """A record value as lines of text, vocabulary terms and territories by name when ``labels`` knows
    them (see :func:`value_labels`). An empty value gives no line."""
    labels = labels or {}
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, bool):
        return ["sì" if value else "no"]
    if field == "state":
        return [PROCESS_STATES.get(value, value)]
    if field == "funding" and isinstance(value, dict):
        lines = [f"{label}: {value[key]}" for key, label in _FUNDING_LABELS.items() if value.get(key)]
        lines += [f"Fase finanziata: {_item_text('phases', p)}" for p in value.get("phases") or []]
        return lines
    items = value if isinstance(value, list) else [value]
    return [
        labels.get((field, item), item) if isinstance(item, str) else _item_text(field, item)
        for item in items
    ]


async def value_labels(*records: dict) -> dict[tuple[str, str], str]:
    """Readable names of the vocabulary terms and territories ``records`` refer to."""
    labels: dict[tuple[str, str], str] = {}
    terms = {(row["vocabulary"], row["slug"]): row["label"] for row in await Term.select()}
    codes = set()
    for record in records:
        for field, vocabulary in TERM_FIELDS.items():
            values = record.get(field)
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, str) and (vocabulary, value) in terms:
                    labels[(field, value)] = terms[(vocabulary, value)]
        codes.update(c for c in record.get("territories") or [] if isinstance(c, str))
    if codes:
        for row in await Territory.select(Territory.code, Territory.name).where(
            Territory.code.is_in(list(codes))
        ):
            labels[("territories", row["code"])] = f"{row['name']} ({row['code']})"
    return labels


def record_rows(record: dict, labels: dict | None = None, fields: Iterable[str] | None = None) -> list[dict]:
    """The filled fields of a record, in form order: [{"field", "label", "lines"}]."""
    rows = []
    for field in fields or RECORD_LABELS:
        lines = value_lines(field, record.get(field), labels)
        if lines:
            rows.append({"field": field, "label": RECORD_LABELS.get(field, field), "lines": lines})
    return rows


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def revision_diff(
    a: dict, b: dict, labels: dict | None = None, fields: Iterable[str] | None = None
) -> list[dict]:
    """What changed from record ``a`` to record ``b``, field by field (top-level keys).

    Each item: field, label, before and after (lines of text) and, for lists, added and removed
    (the items only one side has). Empty values (None, "", []) count as equal.
    """
    changes = []
    keys = fields or [k for k in RECORD_LABELS if k not in UNCOMPARED]
    for field in keys:
        old, new = a.get(field), b.get(field)
        if (_empty(old) and _empty(new)) or _canonical(old) == _canonical(new):
            continue
        if field in UNORDERED and sorted(map(_canonical, old or [])) == sorted(map(_canonical, new or [])):
            continue
        change = {
            "field": field,
            "label": RECORD_LABELS.get(field, field),
            "before": value_lines(field, old, labels),
            "after": value_lines(field, new, labels),
            "added": [],
            "removed": [],
            "is_list": isinstance(old, list) or isinstance(new, list),
        }
        if change["is_list"]:
            old_items, new_items = old or [], new or []
            old_keys = {_canonical(i) for i in old_items}
            new_keys = {_canonical(i) for i in new_items}
            change["added"] = value_lines(
                field, [i for i in new_items if _canonical(i) not in old_keys], labels
            )
            change["removed"] = value_lines(
                field, [i for i in old_items if _canonical(i) not in new_keys], labels
            )
        changes.append(change)
    return changes


# --- revisions ---------------------------------------------------------------------------------


async def current_record(process_id: int) -> dict:
    """A process (published or not) as a record in the import format."""
    return process_record(await services.process_detail(process_id))


async def _next_number(process_id: int) -> int:
    row = (
        await ProcessRevision.select(ProcessRevision.number)
        .where(ProcessRevision.process == process_id)
        .order_by(ProcessRevision.number, ascending=False)
        .first()
    )
    return row["number"] + 1 if row else 1


async def record_revision(
    process_id: int,
    staff: dict | None,
    summary: str,
    submission_id: int | None = None,
    before: dict | None = None,
) -> int:
    """Store the current state of a process as its next revision; return the revision number.

    ``before`` is the record as it was before this change: when the process has no revision yet
    (it was imported, say), it is stored first as version 1, so the change can be seen and undone.
    Call inside the transaction of the change, after the change.
    """
    number = await _next_number(process_id)
    if number == 1 and before is not None:
        await ProcessRevision.insert(
            ProcessRevision(
                process=process_id,
                number=1,
                at=datetime.datetime.fromisoformat(before["updated_at"]),
                actor=None,
                actor_name=SYSTEM_NAME,
                summary="Versione precedente alle modifiche della redazione",
                data=before,
            )
        )
        number = 2
    await ProcessRevision.insert(
        ProcessRevision(
            process=process_id,
            number=number,
            at=_now(),
            actor=staff["id"] if staff else None,
            actor_name=actor_name(staff),
            submission=submission_id,
            summary=summary,
            data=await current_record(process_id),
        )
    )
    return number


async def list_revisions(process_id: int) -> list[dict]:
    """Revisions of a process, newest first, each with its differences from the one before
    (``changes``) and readable labels of the values."""
    rows = (
        await ProcessRevision.select()
        .where(ProcessRevision.process == process_id)
        .order_by(ProcessRevision.number, ascending=False)
        .output(load_json=True)
    )
    labels = await value_labels(*[row["data"] for row in rows])
    for row, older in zip(rows, [*rows[1:], None], strict=False):
        row["changes"] = revision_diff(older["data"], row["data"], labels) if older else []
        row["first"] = older is None
    return rows


async def find_revision(process_id: int, number: int) -> dict | None:
    """Version ``number`` of a process, with its record as a dict, or None."""
    return (
        await ProcessRevision.select()
        .where(ProcessRevision.process == process_id, ProcessRevision.number == number)
        .output(load_json=True)
        .first()
    )


# --- editing ------------------------------------------------------------------------------------


async def find_process(process_id: int) -> dict | None:
    """A process with its publication state, for the editors' pages (withdrawn ones included)."""
    return (
        await Process.select(
            Process.id,
            Process.slug,
            Process.title,
            Process.publication,
            Process.withdrawal_reason,
            Process.updated_at,
        )
        .where(Process.id == process_id)
        .first()
    )


async def published_process(process_id: int) -> dict:
    """The process if it is published; CurationRefused otherwise."""
    process = await find_process(process_id)
    if process is None:
        raise CurationRefused("Il processo non esiste.")
    if process["publication"] != "published":
        raise CurationRefused("Il processo è stato ritirato dal catalogo: non si può modificare.")
    return process


async def check_slug_free(values: dict, process_id: int) -> None:
    """Refuse a slug another process uses (ValidationFailed on ``slug``)."""
    slug = values.get("slug")
    if slug and await Process.exists().where(Process.slug == slug, Process.id != process_id):
        raise ValidationFailed(
            [FieldError("slug", f"l'indirizzo «{slug}» è già usato da un altro processo.")]
        )


async def save_change(
    process_id: int,
    record: dict,
    staff: dict | None,
    action: str,
    summary: str,
    submission_id: int | None = None,
    refs: References | None = None,
) -> tuple[dict, dict, int]:
    """Save ``record`` as the new state of a published process, with a revision and an audit entry.

    Fields ``record`` lacks keep their values. Call inside a write transaction. Return the records
    before and after and the number of the new revision; raise ValidationFailed for a wrong record,
    CurationRefused for a process that is not published.
    """
    await published_process(process_id)
    refs = refs or await References.load()
    before = await current_record(process_id)
    values = editing.validate_process({**before, **record, "updated_at": None}, refs)
    await check_slug_free(values, process_id)
    await editing.save_process(values, refs, process_id=process_id)
    number = await record_revision(process_id, staff, summary, submission_id, before=before)
    after = await current_record(process_id)
    await record_audit(staff, action, "processo", str(process_id), summary, before=before, after=after)
    return before, after, number


async def edit_process(
    process_id: int, record: dict, staff: dict | None, search_index: SearchIndex | None = None
) -> int:
    """Replace the fields ``record`` has (the others keep their values); return the revision number.

    Raise ValidationFailed for a wrong record, CurationRefused for a withdrawn process.
    """
    async with write_transaction():
        *_, number = await save_change(
            process_id, record, staff, "processo.modifica", "Modifica della redazione"
        )
    await bring_index_up_to_date(search_index)
    return number


async def revert_to(
    process_id: int, number: int, staff: dict | None, search_index: SearchIndex | None = None
) -> int:
    """Make version ``number`` the current state again, as a new revision; return its number."""
    revision = await find_revision(process_id, number)
    if revision is None:
        raise CurationRefused(f"La versione {number} di questo processo non esiste.")
    async with write_transaction():
        *_, new_number = await save_change(
            process_id, revision["data"], staff, "processo.ripristina", f"Ripristinata la versione {number}"
        )
    await bring_index_up_to_date(search_index)
    return new_number


async def withdraw(
    process_id: int, reason: str | None, staff: dict | None, search_index: SearchIndex | None = None
) -> None:
    """Take a process off the catalogue: lists, search, API and exports; its page answers 410 with
    ``reason`` (required)."""
    reason = clean(reason)
    if not reason:
        raise ValidationFailed([FieldError("motivo", "indica il motivo del ritiro: compare sulla scheda.")])
    if len(reason) > REASON_LIMIT:
        raise ValidationFailed([FieldError("motivo", f"troppo lungo: al massimo {REASON_LIMIT} caratteri.")])
    async with write_transaction():
        process = await published_process(process_id)
        await editing.withdraw_process(process_id, reason)
        await record_audit(
            staff,
            "processo.ritira",
            "processo",
            str(process_id),
            f"Ritirato «{process['title']}»: {reason}",
            before={"publication": "published", "withdrawal_reason": None},
            after={"publication": "withdrawn", "withdrawal_reason": reason},
        )
    await bring_index_up_to_date(search_index)


async def find_processes(q: str, page: int, page_size: int) -> Page:
    """Processes whose title contains ``q`` (all when empty), published and withdrawn, latest change first."""
    select = Process.select(
        Process.id, Process.slug, Process.title, Process.publication, Process.start_year, Process.updated_at
    )
    count = Process.count()
    key = fold(q or "")
    if key:
        select = select.where(Process.title_key.like(f"%{key}%"))
        count = count.where(Process.title_key.like(f"%{key}%"))
    rows = (
        await select.order_by(Process.updated_at, ascending=False)
        .order_by(Process.id, ascending=False)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return Page(items=rows, total=await count, page=page, page_size=page_size)
