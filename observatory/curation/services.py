"""Curating published processes: edits, reverts and withdrawals, each with its revision and its
audit entry (the history is in revisions.py; organisations and vocabularies in reference.py).

Every action runs in one write transaction and brings the search index up to date right after the
commit, so a search right after sees the change. A change reads the process it changes once.
"""

from __future__ import annotations

from collections.abc import Iterable

from observatory.accounts.services import record_audit
from observatory.accounts.tables import StaffUser
from observatory.catalogue import checks, editing, indexing, services
from observatory.catalogue.checks import FieldError, References, ValidationFailed
from observatory.catalogue.editing import SaveConflict
from observatory.catalogue.entry import check_entry
from observatory.catalogue.fields import EDITORIAL_FIELDS
from observatory.catalogue.records import to_record
from observatory.catalogue.tables import Process
from observatory.catalogue.validation import validate_process
from observatory.curation.revisions import find_revision, merge, record_at_version, record_revision
from observatory.curation.tables import ProcessRevision
from observatory.database import lock, write_transaction
from observatory.i18n import N_, _
from observatory.search.index import SearchIndex
from observatory.text import fold
from observatory.web import Page

NOT_FOUND = N_("Il processo non esiste.")
WITHDRAWN = N_("Il processo è stato ritirato dal catalogo: non si può modificare.")
PUBLISHED = N_("Il processo è già pubblicato: non c'è nulla da ripubblicare.")
CHANGED = N_("Il processo è cambiato da quando hai aperto questa pagina: guarda la nuova versione e riprova.")
#: The most characters of the reason an editor gives for an edit.
REASON_LIMIT = 500


class CurationRefused(ValueError):
    """An editor's action that cannot be done; the message says why, in Italian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


async def staff_name(user_id: int) -> str | None:
    """The display name of a staff member."""
    row = await StaffUser.select(StaffUser.display_name).where(StaffUser.id == user_id).first()
    return row["display_name"] if row else None


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
            Process.version,
        )
        .where(Process.id == process_id)
        .first()
    )


async def published_detail(process_id: int) -> dict:
    """Every field of a published process (services.process_detail); CurationRefused otherwise."""
    detail = await services.process_detail(process_id)
    if detail is None:
        raise CurationRefused(_(NOT_FOUND))
    if detail["publication"] != "published":
        raise CurationRefused(_(WITHDRAWN))
    return detail


async def save_change(
    detail: dict,
    changes: dict,
    staff: dict | None,
    action: str,
    summary: str,
    submission_id: int | None = None,
    refs: References | None = None,
    reason: str | None = None,
) -> tuple[dict, dict, int]:
    """Save ``changes`` (record fields) over the published process ``detail`` (see
    :func:`published_detail`), with a revision and an audit entry (both with the editor's
    ``reason``, when given); the fields ``changes`` lacks keep their values. A slug another process
    has or had is refused.

    Call inside a write transaction. Return the records before and after and the number of the new
    revision; raise ValidationFailed for a wrong record.
    """
    refs = refs or await References.load()
    before = to_record(detail)
    values = validate_process({**before, **changes, "updated_at": None}, refs)
    _, after = await editing.save_process(values, refs, existing=detail, refuse_taken_slug=True)
    number = await record_revision(
        detail["id"], staff, summary, after, submission_id, before=before, reason=reason
    )
    logged = f"{summary}. Motivo: {reason}" if reason else summary
    await record_audit(staff, action, "processo", str(detail["id"]), logged, before=before, after=after)
    return before, after, number


async def locked_detail(process_id: int) -> dict:
    """:func:`published_detail`, read after waiting for any other change of the process to end
    (call inside the write transaction that changes it)."""
    await lock(f"process:{process_id}")
    return await published_detail(process_id)


async def _last_actor(process_id: int) -> str:
    row = (
        await ProcessRevision.select(ProcessRevision.actor_name)
        .where(ProcessRevision.process == process_id)
        .order_by(ProcessRevision.number, ascending=False)
        .first()
    )
    return row["actor_name"] if row else _("un'altra persona")


async def check_version(detail: dict, version: int | None, record: dict) -> None:
    """Refuse a change written against another version than the saved one (SaveConflict, with
    ``record`` merged with what was saved since, three ways when a revision kept that version)."""
    if version == detail["version"]:
        return
    saved = to_record(detail)
    base = await record_at_version(detail["id"], version) if version is not None else None
    merged = await merge(base, saved, {**saved, **record})
    who = await _last_actor(detail["id"])
    message = _(
        "Mentre modificavi, %(name)s ha salvato una nuova versione di questo processo: nulla è stato salvato."
    ) % {"name": who}
    if merged.taken:
        message += " " + _("Il modulo ha già le sue modifiche a: %(fields)s.") % {
            "fields": ", ".join(merged.taken)
        }
    if merged.conflicts:
        message += " " + _(
            "Avete cambiato entrambi i campi elencati qui sotto: scegli quale valore tenere, poi salva."
        )
    else:
        message += " " + _("Controlla il modulo e salva di nuovo.")
    raise SaveConflict(message, merged.record, version=detail["version"], conflicts=merged.conflicts)


async def edit_process(
    process_id: int,
    typed: dict,
    staff: dict | None,
    search_index: SearchIndex | None = None,
    version: int | None = None,
    keep_saved: Iterable[str] = (),
    reason: str | None = None,
) -> int:
    """Replace the fields of a published process with ``typed`` (the record of the editors' form,
    opened on ``version``), for the ``reason`` the editor gives (optional); the fields named in
    ``keep_saved`` keep their saved values. Return the revision number.

    Raise ValidationFailed for a wrong record (on form paths) or reason (``motivo``),
    CurationRefused for a withdrawn process, SaveConflict when the process is no longer at
    ``version``.
    """
    errors: list[FieldError] = []
    reason = checks.text(reason, "motivo", REASON_LIMIT, errors)
    try:
        record = await check_entry(typed, editorial=True)
    except ValidationFailed as failed:
        raise ValidationFailed([*failed.errors, *errors]) from None
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        detail = await locked_detail(process_id)
        await check_version(detail, version, record)
        saved = to_record(detail)
        record |= {name: saved[name] for name in keep_saved if name in EDITORIAL_FIELDS}
        *_, number = await save_change(
            detail, record, staff, "processo.modifica", "Modifica della redazione", reason=reason
        )
    await indexing.catch_up(search_index)
    return number


def _same_version(process: dict, version: int | None) -> None:
    if version is not None and version != process["version"]:
        raise CurationRefused(_(CHANGED))


async def revert_to(
    process_id: int,
    number: int,
    staff: dict | None,
    search_index: SearchIndex | None = None,
    version: int | None = None,
) -> int:
    """Make version ``number`` the current state again, as a new revision; return its number.
    CurationRefused when the process is no longer at ``version`` (the one the page showed)."""
    async with write_transaction():
        revision = await find_revision(process_id, number)
        if revision is None:
            raise CurationRefused(
                _("La versione %(number)s di questo processo non esiste.") % {"number": number}
            )
        detail = await locked_detail(process_id)
        _same_version(detail, version)
        saved = await save_change(
            detail, revision["data"], staff, "processo.ripristina", f"Ripristinata la versione {number}"
        )
    new_number = saved[-1]
    await indexing.catch_up(search_index)
    return new_number


async def withdraw(
    process_id: int,
    reason: str | None,
    staff: dict | None,
    search_index: SearchIndex | None = None,
    version: int | None = None,
) -> None:
    """Take a process off the catalogue: lists, search, API and exports; its page answers 410 with
    ``reason`` (required). Recorded as a version, so a process that had none (imported) keeps the
    state it was withdrawn in as version 1. CurationRefused when the process is no longer at ``version``."""
    reason = checks.message(reason, "motivo", _("indica il motivo del ritiro: compare sulla scheda."))
    async with write_transaction():
        detail = await locked_detail(process_id)
        _same_version(detail, version)
        await editing.withdraw_process(process_id, reason)
        await _record_publication(detail, staff, f"Ritirato dal catalogo: {reason}")
        await record_audit(
            staff,
            "processo.ritira",
            "processo",
            str(process_id),
            f"Ritirato «{detail['title']}»: {reason}",
            before={"publication": "published", "withdrawal_reason": None},
            after={"publication": "withdrawn", "withdrawal_reason": reason},
        )
    await indexing.catch_up(search_index)


async def republish(
    process_id: int,
    staff: dict | None,
    search_index: SearchIndex | None = None,
    version: int | None = None,
) -> None:
    """Put a withdrawn process back in lists, search, the API and exports, as it was when withdrawn,
    recorded as a version. CurationRefused when it is published already or no longer at ``version``."""
    async with write_transaction():
        await lock(f"process:{process_id}")
        process = await find_process(process_id)
        if process is None:
            raise CurationRefused(_(NOT_FOUND))
        if process["publication"] == "published":
            raise CurationRefused(_(PUBLISHED))
        _same_version(process, version)
        detail = await services.process_detail(process_id)
        await editing.republish_process(process_id)
        await _record_publication(detail, staff, "Ripubblicato nel catalogo")
        await record_audit(
            staff,
            "processo.ripubblica",
            "processo",
            str(process_id),
            f"Ripubblicato «{process['title']}»",
            before={"publication": "withdrawn", "withdrawal_reason": process["withdrawal_reason"]},
            after={"publication": "published", "withdrawal_reason": None},
        )
    await indexing.catch_up(search_index)


async def _record_publication(detail: dict, staff: dict | None, summary: str) -> None:
    """Record the process ``detail`` just withdrawn or republished as a new version (its record
    unchanged but for the time of the change)."""
    after = to_record(await services.process_detail(detail["id"]))
    await record_revision(detail["id"], staff, summary, after, before=to_record(detail))


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
