"""Submissions from the public: checking, storing and tracking them.

The form pages and the API call the same functions (:func:`submit`, :func:`tracked`); they differ
only in how they answer. The state machine that changes a submission afterwards, the editors'
decisions and the submitter's amendments, is moderation.py.

``Submission.data`` has one layout for every kind and channel::

    {"process": {...}, "note": "..." or null}

``process`` is the proposed process as a record (catalogue/records.py) with exactly the public
fields (``fields.PUBLIC_FIELDS``), in canonical form: territories as ISTAT codes, vocabulary terms
as slugs, years and counts as numbers, amounts as "1234.50", dates as "YYYY-MM-DD", texts trimmed.
It is what ``entry.check_entry`` returns: it passes ``validation.validate_process`` as it is and
compares field by field with the record of a published process (whose other fields it leaves
alone); compare ``topics`` and ``methods`` as sets, since the form's checkboxes give them in
vocabulary order. ``note`` is the submitter's "what I correct and why" of a correction, or null.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from piccolo.table import Table

from observatory.catalogue import checks
from observatory.catalogue import fields as f
from observatory.catalogue.checks import FieldError, ValidationFailed
from observatory.catalogue.entry import check_entry
from observatory.catalogue.services import ProcessLookup, published
from observatory.catalogue.tables import Process
from observatory.database import lock, write_transaction
from observatory.digests import keyed_digest, token_digest
from observatory.i18n import _, ngettext
from observatory.search.index import SearchIndex
from observatory.settings import Settings
from observatory.submissions import notices, tokens
from observatory.submissions.comuni import comuni_outside
from observatory.submissions.duplicates import likely_duplicates
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES, Submission

#: An e-mail address the form and the API accept (the contact form too).
EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
#: Who sends a submission (kept private: never published, exported or shown in the API), and the
#: note of a correction; keys as the API names them.
SUBMITTER_FIELDS = (
    f.Field("nome", "Nome e cognome", "Full name", required=True, limit=200),
    f.Field(
        "ente",
        "Ente o organizzazione",
        "Organisation",
        required=True,
        limit=300,
        help="Il comune, l'ente o l'associazione per cui scrivi; "
        "se scrivi a titolo personale, «privato cittadino».",
        help_en="The comune, organisation or association you write for; writing for yourself, "
        "“privato cittadino” (private citizen).",
    ),
    f.Field(
        "email",
        "Indirizzo e-mail",
        "E-mail address",
        required=True,
        limit=254,
        help="Serve solo alla redazione, se deve chiederti chiarimenti.",
        help_en="Only for the editors, in case they need to ask you something.",
        widget="email",
    ),
)
PRIVACY_FIELD = f.Field(
    "privacy",
    "Ho letto l'informativa sulla privacy e accetto che i miei dati siano usati per gestire la segnalazione.",
    "I have read the privacy notice and agree that my data be used to handle the submission.",
    f.FLAG,
    required=True,
)
NOTE_FIELD = f.Field(
    "nota",
    "Cosa correggi e perché",
    "What is corrected and why",
    limit=checks.MAX_MESSAGE,
    help="Ad esempio: «aggiornato lo stato: il processo si è concluso nel 2023, vedi la delibera collegata».",
    help_en="For example: “state updated: the process ended in 2023, see the linked council decision”.",
    widget="textarea",
)
#: Where the API puts each submitter field (the form names them plainly).
API_PATHS = {"nome": "segnalante.nome", "ente": "segnalante.ente", "email": "segnalante.email"}
API_PATHS |= {"privacy": "privacy_accettata"}


def check_email(email: str, limit: int, errors: list[FieldError]) -> None:
    """Add an error for the ``email`` field when ``email`` (already checked for length) is no address."""
    if email and len(email) <= limit and not EMAIL_PATTERN.match(email):
        errors.append(
            FieldError(
                "email",
                _("«{value}» non è un indirizzo e-mail valido (esempio: nome@comune.it).").format(
                    value=email
                ),
            )
        )


def waiting_time(seconds: int) -> str:
    """How long ``seconds`` is, for people, in whole minutes rounded up: "1 minuto", "12 minuti",
    "1 ora e 5 minuti", "3 ore"."""
    minutes = max(1, -(-seconds // 60))
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(ngettext("{n} ora", "{n} ore", hours).format(n=hours))
    if minutes:
        parts.append(ngettext("{n} minuto", "{n} minuti", minutes).format(n=minutes))
    return _(" e ").join(parts)


class RateLimited(Exception):
    """Too many submissions from one address; ``retry_after`` is in seconds, ``message`` says when
    to send again ("Puoi inviare di nuovo tra 12 minuti.")."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        self.message = _("Puoi inviare di nuovo tra {wait}.").format(wait=waiting_time(retry_after))
        super().__init__(self.message)


# --- checking ------------------------------------------------------------------------------------


def validate_submitter(data: Mapping[str, Any]) -> dict:
    """The submitter's name, body and e-mail from ``{"nome", "ente", "email", "privacy"}``.

    ``privacy`` is the accepted privacy notice (True, "1" or "on"). Raise ValidationFailed with
    every problem, each on its key.
    """
    errors: list[FieldError] = []
    values = {
        column: checks.text(data.get(d.name), d.name, d.limit, errors, required=True)
        for column, d in zip(("name", "body", "email"), SUBMITTER_FIELDS, strict=True)
    }
    check_email(values["email"], SUBMITTER_FIELDS[2].limit, errors)
    if data.get("privacy") not in (True, "1", "on", "true"):
        errors.append(
            FieldError(
                "privacy", _("per inviare la segnalazione devi accettare l'informativa sulla privacy.")
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return values


def check_note(value: Any) -> str | None:
    """The correction note, trimmed; raise ValidationFailed when it is too long."""
    errors: list[FieldError] = []
    note = checks.text(value, NOTE_FIELD.name, NOTE_FIELD.limit, errors)
    if errors:
        raise ValidationFailed(errors)
    return note


async def rate_limit(
    table: type[Table], address_key: str, limits: Iterable[tuple[datetime.timedelta, int]]
) -> None:
    """Raise RateLimited when ``address_key`` sent as many rows of ``table`` (a table with
    ``address_hash`` and ``created_at``) as one of ``limits`` (a window, how many) allows, with the
    wait until the last of those limits lets one more through: until its oldest counted row leaves
    its window. Call it in the write transaction that inserts the row, after ``lock``."""
    now = datetime.datetime.now(datetime.UTC)
    waits = []
    for window, limit in limits:
        recent = (
            await table.select(table.created_at)
            .where(table.address_hash == address_key, table.created_at > now - window)
            .order_by(table.created_at, ascending=False)
            .limit(limit)
        )
        if len(recent) >= limit:
            oldest = recent[-1]["created_at"]
            if oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=datetime.UTC)
            waits.append(max(1, int((oldest + window - now).total_seconds()) + 1))
    if waits:
        raise RateLimited(max(waits))


# --- sending -----------------------------------------------------------------------------------------


@dataclass
class Submitted:
    """What sending a submission did: its private token (None when it was not stored, because the
    sender is first shown likely duplicates or comuni missing from the territories), those
    duplicates, and the decision holders that are comuni outside the territories (see comuni.py)."""

    token: str | None
    duplicates: list[dict] = field(default_factory=list)
    comuni_outside: list[dict] = field(default_factory=list)


def _data(record: dict, note: str | None, correcting: ProcessLookup | None, base_version: int | None):
    if correcting is None:
        return {"process": record, "note": None}
    version = base_version if base_version is not None else correcting.process["version"]
    return {"process": record, "note": note, "base_version": min(version, correcting.process["version"])}


async def submit(
    record: Any,
    submitter: Mapping[str, Any],
    correcting: ProcessLookup | None,
    note: Any,
    address: str | None,
    channel: str,
    settings: Settings,
    search_index: SearchIndex,
    confirmed: bool = True,
    base_version: int | None = None,
) -> Submitted:
    """Check and store a new process (``correcting`` None) or a correction of the published process
    ``correcting`` found; nothing is public until an editor approves it.

    Raise ValidationFailed with every problem, on the paths the API names ("segnalante.email",
    "privacy_accettata", "processo.title", "nota", "correzione_di"); RateLimited when the address
    sent too many. A new process that likely duplicates published ones, or whose decision holders
    name a comune outside its territories, is only stored when ``confirmed``; otherwise the
    duplicates and those comuni come back, for the sender to look at first. A correction
    keeps ``base_version``, the version of the process its form showed (the current one by default),
    so that editors see only what the sender changed.
    """
    errors: list[FieldError] = []
    try:
        person = validate_submitter(submitter)
    except ValidationFailed as failed:
        errors += [FieldError(API_PATHS[e.field], e.message) for e in failed.errors]
    if correcting is not None:
        if correcting.withdrawn:
            errors.append(FieldError("correzione_di", _("il processo è stato ritirato dal catalogo.")))
        elif correcting.process is None:
            errors.append(
                FieldError(
                    "correzione_di",
                    _("nessun processo pubblicato con slug «{slug}».").format(slug=correcting.slug),
                )
            )
        try:
            note = check_note(note)
        except ValidationFailed as failed:
            errors += failed.errors
    if record is None:
        errors.append(FieldError("processo", _("campo obbligatorio.")))
    else:
        try:
            record = await check_entry(record)
        except ValidationFailed as failed:
            errors += [FieldError(f"processo.{e.field}", e.message) for e in failed.errors]
    if errors:
        raise ValidationFailed(errors)
    duplicates = [] if correcting else await likely_duplicates(search_index, record)
    outside = await comuni_outside(record)
    if (duplicates or outside) and not confirmed:
        return Submitted(None, duplicates, outside)
    key = keyed_digest(address, settings.secret_key)
    token, salt = tokens.issue(settings.secret_key)
    now = datetime.datetime.now(datetime.UTC)
    async with write_transaction():
        await lock(f"submissions:{key}")  # the count and the insert below, one request at a time
        await rate_limit(
            Submission,
            key,
            (
                (datetime.timedelta(hours=1), settings.submissions_per_hour),
                (datetime.timedelta(days=1), settings.submissions_per_day),
            ),
        )
        data = _data(record, note, correcting, base_version)
        inserted = await Submission.insert(
            Submission(
                token_hash=token_digest(token),
                token_salt=salt,
                kind="correzione" if correcting else "nuovo",
                state="in_attesa",
                data=data,
                process=correcting.process["id"] if correcting else None,
                submitter_name=person["name"],
                submitter_body=person["body"],
                submitter_email=person["email"],
                privacy_accepted_at=now,
                channel=channel,
                address_hash=key,
                created_at=now,
                updated_at=now,
            )
        ).returning(Submission.id)
        stored = {"id": inserted[0]["id"], "data": data, "submitter_name": person["name"]}
        stored["submitter_email"] = person["email"]
        await notices.receipt(settings, stored, token, correcting.process["title"] if correcting else None)
    return Submitted(token, duplicates, outside)


# --- reading ---------------------------------------------------------------------------------------


def labelled(row: dict | None) -> dict | None:
    """A submission row with the Italian names of its state and kind (``state_label``, ``kind_label``)."""
    if row is None:
        return None
    return row | {"state_label": SUBMISSION_STATES[row["state"]], "kind_label": SUBMISSION_KINDS[row["kind"]]}


async def find_submission(submission_id: int) -> dict | None:
    """A submission row by id, with ``data`` as a dict, labelled."""
    return labelled(
        await Submission.select().where(Submission.id == submission_id).output(load_json=True).first()
    )


async def find_by_token(token: str) -> dict | None:
    """The submission a tracking token opens, with ``data`` as a dict, labelled; or None."""
    if not isinstance(token, str) or not _TOKEN.match(token):
        return None
    query = Submission.select().where(Submission.token_hash == token_digest(token)).output(load_json=True)
    return labelled(await query.first())


async def tracked(token: str) -> dict | None:
    """What the holder of a tracking token may see: the submission, and the published process it
    concerns or created (``process``: slug and title, None when there is none or it was withdrawn)."""
    submission = await find_by_token(token)
    if submission is None:
        return None
    process = None
    if submission["process"]:
        process = (
            await Process.select(Process.slug, Process.title)
            .where(Process.id == submission["process"], published())
            .first()
        )
    return {"submission": submission, "process": process}
