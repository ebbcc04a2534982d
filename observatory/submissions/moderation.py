"""Moderation: one state machine decides what happens to a submission.

Every action is a transition from the states in TRANSITIONS to the state in OUTCOMES. The current
state is checked inside the transaction and the update is conditional on it (``WHERE state IN
...``), so of two editors acting at once only one succeeds; the other gets TransitionRefused.
Approving publishes: it creates or changes the process, records a revision and brings the search
index up to date right after the commit. Every action writes the audit log.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from observatory.accounts.services import record_audit
from observatory.catalogue import editing
from observatory.catalogue.editing import FieldError, References, ValidationFailed
from observatory.database import write_transaction
from observatory.redazione import services as curation
from observatory.search.index import SearchIndex
from observatory.submissions import services
from observatory.submissions.forms import PUBLIC_FIELDS
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES, Submission
from observatory.text import clean
from observatory.web import Page

#: From which states each action may start.
TRANSITIONS = {
    "approva": {"in_attesa"},
    "richiedi_modifiche": {"in_attesa"},
    "respingi": {"in_attesa", "modifiche_richieste"},
    "duplicato": {"in_attesa", "modifiche_richieste"},
}
#: The state each action leads to.
OUTCOMES = {
    "approva": "approvata",
    "richiedi_modifiche": "modifiche_richieste",
    "respingi": "respinta",
    "duplicato": "duplicato",
}
#: What each action does, as the refusal messages say it.
ACTION_VERBS = {
    "approva": "approvare",
    "richiedi_modifiche": "chiedere modifiche per",
    "respingi": "respingere",
    "duplicato": "segnare come duplicato",
}
#: The reporting source ("fonte") of processes that came from the public form or the API.
WEB_SOURCE = "segnalazione-web-nazionale"
MESSAGE_LIMIT = 5_000
NOTHING_ACCEPTED = "scegli almeno una modifica da applicare, oppure respingi la segnalazione."


class TransitionRefused(Exception):
    """The submission is not in a state the action may start from; the message says so in Italian."""

    def __init__(self, action: str, state: str | None):
        if state is None:
            message = "La segnalazione non esiste."
        else:
            allowed = " o ".join(f"«{SUBMISSION_STATES[s].lower()}»" for s in sorted(TRANSITIONS[action]))
            message = (
                f"Non si può {ACTION_VERBS[action]} una segnalazione nello stato "
                f"«{SUBMISSION_STATES[state].lower()}»: si può solo se è {allowed}. Nulla è stato cambiato."
            )
        super().__init__(message)
        self.action = action
        self.state = state
        self.message = message


def allowed_actions(state: str) -> list[str]:
    """The actions a submission in ``state`` accepts."""
    return [action for action, states in TRANSITIONS.items() if state in states]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def _claim(submission_id: int, action: str, staff: dict | None, **changes: Any) -> dict:
    """Move a submission to the outcome of ``action`` if its state allows it; return the row as it was.

    Call inside a write transaction: the conditional update is what makes the check hold when two
    editors act at once.
    """
    row = await services.find_submission(submission_id)
    if row is None or row["state"] not in TRANSITIONS[action]:
        raise TransitionRefused(action, row["state"] if row else None)
    now = _now()
    values = {
        Submission.state: OUTCOMES[action],
        Submission.decided_by: staff["id"] if staff else None,
        Submission.decided_at: now,
        Submission.updated_at: now,
        **{getattr(Submission, name): value for name, value in changes.items()},
    }
    claimed = (
        await Submission.update(values)
        .where(Submission.id == submission_id, Submission.state.is_in(sorted(TRANSITIONS[action])))
        .returning(Submission.id)
    )
    if not claimed:
        current = await services.find_submission(submission_id)
        raise TransitionRefused(action, current["state"] if current else None)
    return row


def _label(row: dict) -> str:
    title = (row["data"].get("process") or {}).get("title") or "senza titolo"
    return f"segnalazione {row['id']} («{title}»)"


def _state(row: dict, **extra: Any) -> dict:
    return {"state": row["state"], "editor_message": row["editor_message"], **extra}


def _message(text: Any, field: str, what: str) -> str:
    message = clean(text) if isinstance(text, str) else None
    if not message:
        raise ValidationFailed(
            [FieldError(field, f"scrivi {what}: lo legge chi ha inviato la segnalazione.")]
        )
    if len(message) > MESSAGE_LIMIT:
        raise ValidationFailed([FieldError(field, f"troppo lungo: al massimo {MESSAGE_LIMIT} caratteri.")])
    return message


def proposed_record(row: dict) -> dict:
    """The process a submission proposes, as a record in the import format."""
    return dict(row["data"].get("process") or {})


def accepted_changes(proposed: dict, current: dict, fields: list[str] | None) -> dict:
    """The fields of ``proposed`` an editor accepted (all that differ when ``fields`` is None)."""
    if fields is None:
        fields = [f["field"] for f in curation.revision_diff(current, proposed, fields=PUBLIC_FIELDS)]
    unknown = [f for f in fields if f not in PUBLIC_FIELDS]
    if unknown:
        raise ValidationFailed([FieldError("campi", f"campo sconosciuto «{unknown[0]}».")])
    return {field: proposed.get(field) for field in fields}


def merged_facts(proposed: dict, current: dict, fields: list[str]) -> dict:
    """Facts of a duplicate submission to add to the existing process: lists gain the items they
    lack, other fields take the submitted value when it is not empty."""
    changes = {}
    for field in fields:
        if field not in PUBLIC_FIELDS:
            raise ValidationFailed([FieldError("campi", f"campo sconosciuto «{field}».")])
        new, old = proposed.get(field), current.get(field)
        if isinstance(new, list):
            changes[field] = [*(old or []), *[item for item in new if item not in (old or [])]]
        elif new not in (None, "", {}):
            changes[field] = new
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
) -> Decision:
    """Publish a pending submission.

    A new process is created from ``record`` (the editor's edited version) or from the submitted one;
    its reporting source is the web form and its "segnalato da" the submitter's body when not given.
    A correction applies to the published process only ``accepted_fields`` (top-level record keys;
    every changed field when None). Raise TransitionRefused for a wrong state, ValidationFailed for a
    record that does not pass, curation.CurationRefused when the corrected process is gone.
    """
    row = await services.find_submission(submission_id)
    if row is None or row["state"] not in TRANSITIONS["approva"]:
        raise TransitionRefused("approva", row["state"] if row else None)
    proposed = dict(record) if record is not None else proposed_record(row)
    refs = await References.load()
    if row["kind"] == "nuovo":
        proposed["reporting_source"] = proposed.get("reporting_source") or WEB_SOURCE
        proposed["reported_by"] = proposed.get("reported_by") or row["submitter_body"]
        values = editing.validate_process(proposed, refs)
    elif row["process"] is None:
        raise curation.CurationRefused("Il processo da correggere non esiste più: respingi la segnalazione.")
    else:
        await curation.published_process(row["process"])
        changes = accepted_changes(proposed, await curation.current_record(row["process"]), accepted_fields)
        if not changes:
            raise ValidationFailed([FieldError("campi", NOTHING_ACCEPTED)])
    async with write_transaction():
        before_row = await _claim(submission_id, "approva", staff)
        if row["kind"] == "nuovo":
            process_id = await editing.save_process(values, refs)
            summary = f"Pubblicata dalla {_label(before_row)}"
            await curation.record_revision(process_id, staff, summary, submission_id)
            before, after = None, await curation.current_record(process_id)
        else:
            process_id = row["process"]
            summary = f"Correzione approvata: {', '.join(curation.RECORD_LABELS[f] for f in changes)}"
            before, after, _ = await curation.save_change(
                process_id, changes, staff, "processo.correggi", summary, submission_id, refs
            )
        await Submission.update({Submission.process: process_id}).where(Submission.id == submission_id)
        await record_audit(
            staff,
            "segnalazione.approva",
            "segnalazione",
            str(submission_id),
            f"Approvata la {_label(before_row)}",
            before=_state(before_row, process=before),
            after={
                "state": "approvata",
                "process": after,
                "accepted_fields": sorted(changes) if row["kind"] == "correzione" else None,
            },
        )
    await curation.bring_index_up_to_date(search_index)
    return Decision("approvata", process_id, after["slug"])


async def request_changes(submission_id: int, staff: dict | None, message: Any) -> Decision:
    """Send a pending submission back to its submitter with ``message`` (required)."""
    message = _message(message, "messaggio", "che cosa va modificato")
    async with write_transaction():
        row = await _claim(submission_id, "richiedi_modifiche", staff, editor_message=message)
        await record_audit(
            staff,
            "segnalazione.richiedi_modifiche",
            "segnalazione",
            str(submission_id),
            f"Chieste modifiche per la {_label(row)}",
            before=_state(row),
            after={"state": "modifiche_richieste", "editor_message": message},
        )
    return Decision("modifiche_richieste")


async def reject(submission_id: int, staff: dict | None, reason: Any) -> Decision:
    """Reject a submission with ``reason`` (required), shown on its tracking page."""
    reason = _message(reason, "motivo", "il motivo")
    async with write_transaction():
        row = await _claim(submission_id, "respingi", staff, editor_message=reason)
        await record_audit(
            staff,
            "segnalazione.respingi",
            "segnalazione",
            str(submission_id),
            f"Respinta la {_label(row)}",
            before=_state(row),
            after={"state": "respinta", "editor_message": reason},
        )
    return Decision("respinta")


async def mark_duplicate(
    submission_id: int,
    staff: dict | None,
    process_id: int,
    merge_fields: list[str] | None = None,
    message: Any = None,
    search_index: SearchIndex | None = None,
) -> Decision:
    """Close a submission as a duplicate of the published process ``process_id``.

    ``merge_fields`` (top-level record keys) adds the submission's facts to that process, as a
    correction would, with a revision: lists gain the items they lack, other fields take the
    submitted value. ``message`` (optional) goes to the submitter with the link to the process.
    """
    row = await services.find_submission(submission_id)
    if row is None or row["state"] not in TRANSITIONS["duplicato"]:
        raise TransitionRefused("duplicato", row["state"] if row else None)
    target = await curation.published_process(process_id)
    if row["kind"] == "correzione" and row["process"] == process_id:
        raise curation.CurationRefused("Una correzione non è un duplicato del processo che corregge.")
    note = f"Il processo è già nel catalogo: «{target['title']}», /processi/{target['slug']}"
    extra = clean(message) if isinstance(message, str) else None
    editor_message = f"{extra}\n\n{note}" if extra else note
    changes = {}
    if merge_fields:
        changes = merged_facts(proposed_record(row), await curation.current_record(process_id), merge_fields)
    async with write_transaction():
        before_row = await _claim(
            submission_id, "duplicato", staff, duplicate_of=process_id, editor_message=editor_message
        )
        before = after = None
        if changes:
            summary = (
                f"Dati uniti dalla {_label(before_row)}: "
                f"{', '.join(curation.RECORD_LABELS[f] for f in changes)}"
            )
            before, after, _ = await curation.save_change(
                process_id, changes, staff, "processo.unisci_dati", summary, submission_id
            )
        await record_audit(
            staff,
            "segnalazione.duplicato",
            "segnalazione",
            str(submission_id),
            f"{_label(before_row).capitalize()} segnata come duplicato di «{target['title']}»",
            before=_state(before_row, process=before),
            after={
                "state": "duplicato",
                "duplicate_of": target["slug"],
                "merged_fields": sorted(changes),
                "process": after,
            },
        )
    await curation.bring_index_up_to_date(search_index)
    return Decision("duplicato", process_id, target["slug"])


# --- the queue ----------------------------------------------------------------------------------


async def queue(
    state: str | None,
    kind: str | None,
    page: int,
    page_size: int,
    search_index: SearchIndex | None = None,
) -> Page:
    """Submissions in ``state`` (every state when None) and of ``kind`` (every kind when None),
    oldest first, with the count of likely duplicates when ``search_index`` is given."""
    select = Submission.select(
        Submission.id,
        Submission.kind,
        Submission.state,
        Submission.data,
        Submission.submitter_name,
        Submission.submitter_body,
        Submission.channel,
        Submission.created_at,
        Submission.updated_at,
        Submission.process,
        Submission.process.slug.as_alias("process_slug"),
        Submission.process.title.as_alias("process_title"),
    )
    count = Submission.count()
    for column, value in ((Submission.state, state), (Submission.kind, kind)):
        if value:
            select, count = select.where(column == value), count.where(column == value)
    total = await count
    rows = (
        await select.order_by(Submission.created_at)
        .order_by(Submission.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
        .output(load_json=True)
    )
    items = []
    for row in rows:
        record = proposed_record(row)
        duplicates = None
        if search_index is not None:
            found = await services.likely_duplicates(search_index, record, exclude_process_id=row["process"])
            duplicates = len(found)
        items.append(
            {
                "id": row["id"],
                "kind": row["kind"],
                "kind_label": SUBMISSION_KINDS[row["kind"]],
                "state": row["state"],
                "state_label": SUBMISSION_STATES[row["state"]],
                "title": record.get("title") or "senza titolo",
                "submitter_name": row["submitter_name"],
                "submitter_body": row["submitter_body"],
                "channel": row["channel"],
                "created_at": row["created_at"],
                "updated_at": row["updated_at"],
                "process_slug": row["process_slug"],
                "process_title": row["process_title"],
                "duplicates": duplicates,
            }
        )
    return Page(items=items, total=total, page=page, page_size=page_size)
