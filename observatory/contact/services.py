"""Messages to the editors: checking and storing what the contact form sends, the editors' list of
messages, and marking one as handled.

A message is stored, and (when mail is configured) e-mailed to the editorial office's address
(``OBSERVATORY_PUBLISHER_EMAIL``) through the outbox, in one transaction. Like submissions, the
messages from one address are limited per hour and per day, counted and stored under one lock.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any

from observatory.accounts.services import record_audit
from observatory.catalogue import checks
from observatory.catalogue import fields as f
from observatory.catalogue.checks import FieldError, ValidationFailed
from observatory.contact.tables import ContactMessage
from observatory.database import lock, write_transaction
from observatory.digests import keyed_digest
from observatory.i18n import N_, _
from observatory.mail import outbox
from observatory.settings import Settings
from observatory.submissions.services import SUBMITTER_FIELDS, check_email, rate_limit
from observatory.web import Page

#: What the contact form asks, in its order; each is required. Name and e-mail as the submission
#: form asks them.
CONTACT_FIELDS = (
    SUBMITTER_FIELDS[0],
    dataclasses.replace(
        SUBMITTER_FIELDS[2],
        help="La redazione risponde a questo indirizzo.",
        help_en="The editors answer at this address.",
    ),
    f.Field("oggetto", "Oggetto", "Subject", required=True, limit=200),
    f.Field(
        "messaggio",
        "Messaggio",
        "Message",
        required=True,
        limit=checks.MAX_MESSAGE,
        help="Per proporre un processo o correggerne uno c'è il modulo «Segnala un processo»: "
        "arriva alla redazione con tutti i campi della scheda.",
        help_en="To propose a process or correct one there is the “Report a process” form: it reaches "
        "the editors with every field of the record.",
        widget="textarea",
    ),
)
PRIVACY_FIELD = f.Field(
    "privacy",
    "Ho letto l'informativa sulla privacy e accetto che i miei dati siano usati per rispondermi.",
    "I have read the privacy notice and agree that my data be used to answer me.",
    f.FLAG,
    required=True,
)
#: Messages accepted from one address: enough for a conversation, not for a flood.
LIMITS = ((datetime.timedelta(hours=1), 5), (datetime.timedelta(days=1), 20))
#: The stored column of each field of the form.
_COLUMNS = {"nome": "sender_name", "email": "sender_email", "oggetto": "subject", "messaggio": "body"}
#: The list of messages: waiting (the default), handled, or every one.
STATES = {"da_gestire": N_("Da gestire"), "gestiti": N_("Gestiti"), "tutti": N_("Tutti")}


def validate_message(data: Mapping[str, Any]) -> dict[str, str]:
    """The columns of a message from the posted ``nome``, ``email``, ``oggetto``, ``messaggio`` and
    ``privacy``; ValidationFailed with every problem, each on its form name (control characters,
    lengths, a wrong address, the privacy notice not accepted)."""
    errors: list[FieldError] = []
    values = {
        _COLUMNS[d.name]: checks.text(data.get(d.name), d.name, d.limit, errors, required=True)
        for d in CONTACT_FIELDS
    }
    check_email(values["sender_email"], CONTACT_FIELDS[1].limit, errors)
    if data.get("privacy") not in ("1", "on"):
        errors.append(
            FieldError("privacy", _("per inviare il messaggio devi accettare l'informativa sulla privacy."))
        )
    if errors:
        raise ValidationFailed(errors)
    return values


async def send_message(data: Mapping[str, Any], address: str | None, settings: Settings) -> int:
    """Check and store a message to the editors, and put its e-mail to the editorial office in the
    outbox when mail is configured; return its id. Raise ValidationFailed, or RateLimited when the
    address sent too many (counted and stored under one lock, so posts sent at once never pass it)."""
    values = validate_message(data)
    key = keyed_digest(address, settings.secret_key)
    now = datetime.datetime.now(datetime.UTC)
    async with write_transaction():
        await lock(f"contact:{key}")
        await rate_limit(ContactMessage, key, LIMITS)
        inserted = await ContactMessage.insert(
            ContactMessage(**values, address_hash=key, privacy_accepted_at=now, created_at=now)
        ).returning(ContactMessage.id)
        message_id = inserted[0]["id"]
        await outbox.enqueue(
            settings,
            to=settings.publisher_email,
            subject=f"Messaggio dal sito: {values['subject']}",
            template="contatto",
            context={**values, "messages_url": f"{settings.base_url}/redazione/messaggi"},
            kind="contatto",
            reference=f"messaggio:{message_id}",
        )
    return message_id


async def messages(state: str, page: int, page_size: int) -> Page:
    """Page ``page`` of the messages in ``state`` (a key of STATES), newest first, each with the
    name of the editor who handled it (``handled_by_name``)."""
    condition = {
        "da_gestire": ContactMessage.handled_at.is_null(),
        "gestiti": ContactMessage.handled_at.is_not_null(),
    }.get(state)
    count = ContactMessage.count()
    select = ContactMessage.select(
        ContactMessage.all_columns(), ContactMessage.handled_by.display_name.as_alias("handled_by_name")
    )
    if condition is not None:
        count, select = count.where(condition), select.where(condition)
    rows = (
        await select.order_by(ContactMessage.created_at, ascending=False)
        .order_by(ContactMessage.id, ascending=False)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return Page(rows, await count, page, page_size)


async def waiting_count() -> int:
    """How many messages no editor has handled yet."""
    return await ContactMessage.count().where(ContactMessage.handled_at.is_null())


async def mark_handled(message_id: int, staff: dict) -> bool | None:
    """Mark a waiting message as handled by ``staff``, in the audit log too; False when it was
    already handled (by someone else meanwhile, say), None when there is no such message."""
    now = datetime.datetime.now(datetime.UTC)
    async with write_transaction():
        handled = (
            await ContactMessage.update(
                {ContactMessage.handled_at: now, ContactMessage.handled_by: staff["id"]}
            )
            .where(ContactMessage.id == message_id, ContactMessage.handled_at.is_null())
            .returning(ContactMessage.id)
        )
        if not handled:
            return False if await ContactMessage.exists().where(ContactMessage.id == message_id) else None
        await record_audit(
            staff,
            "messaggio.gestito",
            "messaggio",
            str(message_id),
            # by number: the subject is the sender's text, erased with the message (retention.py)
            f"Messaggio n. {message_id} del modulo di contatto segnato come gestito",
        )
    return True
