"""Moderation: one state machine decides what happens to a submission.

Every action is a transition from the states in TRANSITIONS to the state in OUTCOMES: the editors'
decisions, and the submitter's amendment. The current state is checked inside the transaction and
the update is conditional on it (``WHERE state IN ...``), so of two people acting at once only one
succeeds; the other gets TransitionRefused. Approving publishes: it creates or changes the process,
records a revision and brings the search index up to date right after the commit. Every editor's
action writes the audit log; the submitter's amendment keeps what it replaces (amendments.py). The
queue of submissions to decide is queue.py.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from observatory.accounts.services import record_audit
from observatory.catalogue import checks, editing, indexing
from observatory.catalogue.checks import FieldError, References, ValidationFailed
from observatory.catalogue.editing import SaveConflict
from observatory.catalogue.entry import check_entry
from observatory.catalogue.fields import LABELS, PUBLIC_FIELDS
from observatory.catalogue.records import empty, to_record
from observatory.catalogue.validation import validate_process
from observatory.curation import services as curation
from observatory.curation.revisions import (
    record_at_version,
    record_revision,
    revision_diff,
    value_labels,
    value_lines,
)
from observatory.database import write_transaction
from observatory.i18n import N_, _
from observatory.search.index import SearchIndex
from observatory.settings import Settings
from observatory.submissions import amendments, notices, services
from observatory.submissions.tables import SUBMISSION_STATES, Submission

#: From which states each action may start: the editors' decisions, then the submitter's amendment.
TRANSITIONS = {
    "approva": {"in_attesa"},
    "richiedi_modifiche": {"in_attesa"},
    "respingi": {"in_attesa", "modifiche_richieste"},
    "duplicato": {"in_attesa", "modifiche_richieste"},
    "modifica": {"in_attesa", "modifiche_richieste"},
}
#: The state each action leads to.
OUTCOMES = {
    "approva": "approvata",
    "richiedi_modifiche": "modifiche_richieste",
    "respingi": "respinta",
    "duplicato": "duplicato",
    "modifica": "in_attesa",
}
#: What each action does, as the refusal messages say it.
ACTION_VERBS = {
    "approva": N_("approvare"),
    "richiedi_modifiche": N_("chiedere modifiche per"),
    "respingi": N_("respingere"),
    "duplicato": N_("segnare come duplicato"),
    "modifica": N_("modificare"),
}
#: The actions that are the editors' decisions (the others are the submitter's).
EDITOR_ACTIONS = ("approva", "richiedi_modifiche", "respingi", "duplicato")
#: The reporting source ("fonte") of processes that came from the public form or the API.
WEB_SOURCE = "segnalazione-web-nazionale"
NOTHING_ACCEPTED = N_("scegli almeno una modifica da applicare, oppure respingi la segnalazione.")
PROCESS_CHANGED = N_(
    "La scheda pubblicata è cambiata mentre esaminavi la correzione: nulla è stato applicato. "
    "Controlla di nuovo le differenze qui sotto e scegli quali applicare."
)
SUBMISSION_AMENDED = N_(
    "Chi l'ha inviata ha modificato la segnalazione mentre la correggevi: nulla è stato approvato. "
    "Il modulo ha ancora i tuoi dati; qui sotto i campi in cui la segnalazione modificata è diversa: "
    "spunta quelli di cui vuoi il valore della segnalazione, poi salva."
)


class TransitionRefused(Exception):
    """The submission is not in a state the action may start from; the message says so in the
    current language."""

    def __init__(self, action: str, state: str | None):
        if state is None:
            message = _("La segnalazione non esiste.")
        else:
            names = [_(SUBMISSION_STATES[s]).lower() for s in sorted(TRANSITIONS[action])]
            allowed = (
                _("«%(first)s» o «%(second)s»") % {"first": names[0], "second": names[1]}
                if len(names) == 2
                else _("«%(state)s»") % {"state": names[0]}
            )
            message = _(
                "Non si può %(action)s una segnalazione nello stato «%(state)s»: si può solo se è "
                "%(allowed)s. Nulla è stato cambiato."
            ) % {
                "action": _(ACTION_VERBS[action]),
                "state": _(SUBMISSION_STATES[state]).lower(),
                "allowed": allowed,
            }
        super().__init__(message)
        self.action = action
        self.state = state
        self.message = message


def allowed_actions(state: str) -> list[str]:
    """The editors' actions a submission in ``state`` accepts."""
    return [action for action in EDITOR_ACTIONS if state in TRANSITIONS[action]]


def may(action: str, state: str) -> bool:
    """Whether a submission in ``state`` accepts ``action``."""
    return state in TRANSITIONS[action]


class SubmissionChanged(Exception):
    """The submission was amended (or decided) since the editor opened it; ``row`` is it now."""

    def __init__(self, row: dict):
        super().__init__(_("La segnalazione %(number)s è cambiata.") % {"number": row["id"]})
        self.row = row


async def _claim(
    submission_id: int, action: str, staff: dict | None, version: int | None = None, **changes: Any
) -> dict:
    """Move a submission to the outcome of ``action`` if its state allows it (and, when ``version``
    is given, it is still at that version); return the row as it was.

    Call inside a write transaction: the conditional update is what makes the check hold when two
    people act at once. Raise TransitionRefused for a wrong state, SubmissionChanged for a newer version.
    """
    row = await services.find_submission(submission_id)
    if row is None or row["state"] not in TRANSITIONS[action]:
        raise TransitionRefused(action, row["state"] if row else None)
    if version is not None and row["version"] != version:
        raise SubmissionChanged(row)
    now = datetime.datetime.now(datetime.UTC)
    values = {
        Submission.state: OUTCOMES[action],
        Submission.updated_at: now,
        Submission.version: Submission.version + 1,
    }
    if action in EDITOR_ACTIONS:
        values |= {Submission.decided_by: staff["id"] if staff else None, Submission.decided_at: now}
    values |= {getattr(Submission, name): value for name, value in changes.items()}
    claimed = (
        await Submission.update(values)
        .where(
            Submission.id == submission_id,
            Submission.state.is_in(sorted(TRANSITIONS[action])),
            Submission.version == row["version"],
        )
        .returning(Submission.id)
    )
    if not claimed:
        current = await services.find_submission(submission_id)
        if current is not None and current["state"] in TRANSITIONS[action]:
            raise SubmissionChanged(current)
        raise TransitionRefused(action, current["state"] if current else None)
    return row


def _label(row: dict) -> str:
    title = (row["data"].get("process") or {}).get("title") or "senza titolo"
    return f"segnalazione {row['id']} («{title}»)"


def _state(row: dict, **extra: Any) -> dict:
    return {"state": row["state"], "editor_message": row["editor_message"], **extra}


def _message(text: Any, field: str, missing: str) -> str:
    return checks.message(text, field, missing)


def proposed_record(row: dict) -> dict:
    """The process a submission proposes, as a record in the import format."""
    return dict(row["data"].get("process") or {})


def _public(names: list[str]) -> None:
    unknown = [name for name in names if name not in PUBLIC_FIELDS]
    if unknown:
        raise ValidationFailed([FieldError("campi", f"campo sconosciuto «{unknown[0]}».")])


async def correction_base(row: dict, detail: dict) -> dict | None:
    """The record a correction was written against: the process ``detail`` at the version the
    correction's form was opened on; None when that is unknown or no revision kept it."""
    version = row["data"].get("base_version")
    if version is None:
        return None
    if version == detail["version"]:
        return to_record(detail)
    return await record_at_version(row["process"], version)


def correction_changes(
    proposed: dict, current: dict, base: dict | None, labels: dict | None = None
) -> list[dict]:
    """What a correction proposes, field by field against the published ``current`` record: only the
    fields the submitter changed from ``base`` (every field that differs when there is no base).
    A field the editors changed too since ``base`` has ``conflict`` set and its ``base`` lines."""
    changes = revision_diff(current, proposed, labels, names=PUBLIC_FIELDS)
    if base is None:
        return changes
    submitted = {c["field"] for c in revision_diff(base, proposed, names=PUBLIC_FIELDS)}
    edited = {c["field"] for c in revision_diff(base, current, names=PUBLIC_FIELDS)}
    kept = [c for c in changes if c["field"] in submitted]
    for change in kept:
        if change["field"] in edited:
            change["conflict"] = True
            change["base"] = value_lines(change["field"], base.get(change["field"]), labels)
    return kept


def accepted_changes(
    proposed: dict,
    current: dict,
    names: list[str] | None,
    base: dict | None = None,
    conflicts: bool = False,
) -> dict:
    """The fields of ``proposed`` an editor accepted; when ``names`` is None, every field changed
    from ``base``, except (unless ``conflicts``) those an editor changed meanwhile."""
    if names is None:
        changes = correction_changes(proposed, current, base)
        names = [c["field"] for c in changes if conflicts or not c.get("conflict")]
    _public(names)
    return {name: proposed.get(name) for name in names}


def merged_facts(proposed: dict, current: dict, names: list[str]) -> dict:
    """Facts of a duplicate submission to add to the existing process: lists gain the items they
    lack, other fields take the submitted value when it is not empty."""
    _public(names)
    changes = {}
    for name in names:
        new, old = proposed.get(name), current.get(name)
        if isinstance(new, list):
            changes[name] = [*(old or []), *[item for item in new if item not in (old or [])]]
        elif not empty(new):
            changes[name] = new
    return changes


@dataclass
class Decision:
    """What an action did: the submission's new state and the process it created or changed."""

    state: str
    process_id: int | None = None
    slug: str | None = None


async def approve(
    submission_id: int,
    staff: dict | None,
    record: dict | None = None,
    accepted_fields: list[str] | None = None,
    search_index: SearchIndex | None = None,
    version: int | None = None,
    submission_version: int | None = None,
    settings: Settings | None = None,
) -> Decision:
    """Publish a pending submission; with ``settings``, e-mail its submitter the public link.

    A new process is created from ``record`` (the editor's edited version) or from the submitted one;
    its reporting source is the web form and its "segnalato da" the submitter's body when not given.
    A correction applies to the published process only ``accepted_fields`` (top-level record keys;
    when None, what the submitter changed that no editor changed since), reading that process once.
    ``version`` is the process's version the editor saw, ``submission_version`` the submission's.
    Raise TransitionRefused for a wrong state, SubmissionChanged for a submission amended since,
    ValidationFailed for a record that does not pass, CurationRefused when the corrected process is
    gone or changed since. Nothing changes unless everything passes.
    """
    async with write_transaction():
        row = await _claim(submission_id, "approva", staff, submission_version)
        proposed = dict(record) if record is not None else proposed_record(row)
        refs = await References.load()
        if row["kind"] == "nuovo":
            proposed["reporting_source"] = proposed.get("reporting_source") or WEB_SOURCE
            proposed["reported_by"] = proposed.get("reported_by") or row["submitter_body"]
            process_id, after = await editing.save_process(validate_process(proposed, refs), refs)
            await record_revision(process_id, staff, f"Pubblicata dalla {_label(row)}", after, submission_id)
            before = accepted = None
        else:
            if row["process"] is None:
                raise curation.CurationRefused(
                    _("Il processo da correggere non esiste più: respingi la segnalazione.")
                )
            detail = await curation.locked_detail(row["process"])
            if version is not None and version != detail["version"]:
                raise curation.CurationRefused(_(PROCESS_CHANGED))
            base = await correction_base(row, detail)
            # an edited record is the editor's own choice, conflicts included
            changes = accepted_changes(
                proposed, to_record(detail), accepted_fields, base, conflicts=record is not None
            )
            if not changes:
                raise ValidationFailed([FieldError("campi", _(NOTHING_ACCEPTED))])
            process_id, accepted = detail["id"], sorted(changes)
            summary = f"Correzione approvata: {', '.join(LABELS[name] for name in changes)}"
            before, after = (
                await curation.save_change(
                    detail, changes, staff, "processo.correggi", summary, submission_id, refs
                )
            )[:2]
        await Submission.update({Submission.process: process_id}).where(Submission.id == submission_id)
        correction_of = after["title"] if row["kind"] == "correzione" else None
        await notices.decided(settings, row, "approva", process=after, correction_of=correction_of)
        await record_audit(
            staff,
            "segnalazione.approva",
            "segnalazione",
            str(submission_id),
            f"Approvata la {_label(row)}",
            before=_state(row, process=before),
            after={"state": "approvata", "process": after, "accepted_fields": accepted},
        )
    await indexing.catch_up(search_index)
    return Decision("approvata", process_id, after["slug"])


async def approve_edited(
    submission_id: int,
    typed: dict,
    staff: dict | None,
    search_index: SearchIndex | None = None,
    submission_version: int | None = None,
    keep_submitted: list[str] | tuple[str, ...] = (),
    settings: Settings | None = None,
) -> Decision:
    """Approve a submission with the editor's version of its process, as typed in the process form
    opened on ``submission_version``; the fields in ``keep_submitted`` take the submitted values.
    SaveConflict when the submitter amended it since: the form comes back with the typing and
    the fields where the amended submission differs from it."""
    record = await check_entry(typed)
    submitted = proposed_record(await services.find_submission(submission_id) or {"data": {}})
    record |= {name: submitted.get(name) for name in keep_submitted if name in PUBLIC_FIELDS}
    try:
        return await approve(
            submission_id,
            staff,
            record=record,
            search_index=search_index,
            submission_version=submission_version,
            settings=settings,
        )
    except SubmissionChanged as changed:
        amended = proposed_record(changed.row)
        labels = await value_labels(amended, record)
        conflicts = revision_diff(amended, record, labels, names=PUBLIC_FIELDS)
        raise SaveConflict(
            _(SUBMISSION_AMENDED), record, version=changed.row["version"], conflicts=conflicts
        ) from None


async def amend(submission: dict, typed: dict, note: Any = None, version: int | None = None) -> dict:
    """The submitter's amendment: the process as typed in the form (and, for a correction, the note)
    replace what ``submission`` proposed; one with changes requested goes back to waiting.

    Return the submission as it is now. Raise ValidationFailed for what does not pass, on form
    paths, TransitionRefused when an editor decided first, SubmissionChanged when it is no longer
    at ``version`` (amended from another page meanwhile).
    """
    errors = []
    note = note if submission["kind"] == "correzione" else None
    try:
        note = services.check_note(note)
    except ValidationFailed as failed:
        errors += failed.errors
    try:
        record = await check_entry(typed)
    except ValidationFailed as failed:
        errors += failed.errors
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        data = {**submission["data"], "process": record, "note": note}
        replaced = await _claim(submission["id"], "modifica", None, version, data=data)
        await amendments.keep_replaced(replaced)
        return await services.find_submission(submission["id"])


async def _decide_with_message(
    submission_id: int,
    staff: dict | None,
    action: str,
    message: str,
    summary: str,
    settings: Settings | None = None,
) -> Decision:
    """A decision that changes only the state and leaves the submitter ``message`` (e-mailed too,
    with ``settings``); ``summary`` says it for the audit log, with "{}" for the submission."""
    async with write_transaction():
        row = await _claim(submission_id, action, staff, editor_message=message)
        await record_audit(
            staff,
            f"segnalazione.{action}",
            "segnalazione",
            str(submission_id),
            summary.format(_label(row)),
            before=_state(row),
            after={"state": OUTCOMES[action], "editor_message": message},
        )
        await notices.decided(settings, row, action, editor_message=message)
    return Decision(OUTCOMES[action])


async def request_changes(
    submission_id: int, staff: dict | None, message: Any, settings: Settings | None = None
) -> Decision:
    """Send a pending submission back to its submitter with ``message`` (required)."""
    message = _message(
        message, "messaggio", _("scrivi che cosa va modificato: lo legge chi ha inviato la segnalazione.")
    )
    return await _decide_with_message(
        submission_id, staff, "richiedi_modifiche", message, "Chieste modifiche per la {}", settings
    )


async def reject(
    submission_id: int, staff: dict | None, reason: Any, settings: Settings | None = None
) -> Decision:
    """Reject a submission with ``reason`` (required), shown on its tracking page."""
    reason = _message(reason, "motivo", _("scrivi il motivo: lo legge chi ha inviato la segnalazione."))
    return await _decide_with_message(submission_id, staff, "respingi", reason, "Respinta la {}", settings)


async def mark_duplicate(
    submission_id: int,
    staff: dict | None,
    process_id: int,
    merge_fields: list[str] | None = None,
    message: Any = None,
    search_index: SearchIndex | None = None,
    settings: Settings | None = None,
) -> Decision:
    """Close a submission as a duplicate of the published process ``process_id``.

    ``merge_fields`` (top-level record keys) adds the submission's facts to that process, as a
    correction would, with a revision: lists gain the items they lack, other fields take the
    submitted value. ``message`` (optional) goes to the submitter with the link to the process
    (e-mailed too, with ``settings``).
    """
    async with write_transaction():
        target = await curation.published_detail(process_id)
        note = f"Il processo è già nel catalogo: «{target['title']}», /processi/{target['slug']}"
        errors: list[FieldError] = []
        extra = checks.text(message, "messaggio_duplicato", checks.MAX_MESSAGE, errors)
        if errors:
            raise ValidationFailed(errors)
        row = await _claim(
            submission_id,
            "duplicato",
            staff,
            duplicate_of=process_id,
            editor_message=f"{extra}\n\n{note}" if extra else note,
        )
        if row["kind"] == "correzione" and row["process"] == process_id:
            raise curation.CurationRefused(_("Una correzione non è un duplicato del processo che corregge."))
        changes = merged_facts(proposed_record(row), to_record(target), merge_fields or [])
        before = after = None
        if changes:
            summary = f"Dati uniti dalla {_label(row)}: {', '.join(LABELS[name] for name in changes)}"
            before, after = (
                await curation.save_change(
                    target, changes, staff, "processo.unisci_dati", summary, submission_id
                )
            )[:2]
        await record_audit(
            staff,
            "segnalazione.duplicato",
            "segnalazione",
            str(submission_id),
            f"{_label(row).capitalize()} segnata come duplicato di «{target['title']}»",
            before=_state(row, process=before),
            after={
                "state": "duplicato",
                "duplicate_of": target["slug"],
                "merged_fields": sorted(changes),
                "process": after,
            },
        )
        await notices.decided(settings, row, "duplicato", editor_message=extra, process=target)
    await indexing.catch_up(search_index)
    return Decision("duplicato", process_id, target["slug"])
