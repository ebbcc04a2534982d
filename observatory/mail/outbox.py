"""The outbox: a message is rendered from its templates and put in the outbox table inside the
caller's transaction, so a decision and the e-mail that reports it commit together or not at all.
The sender (sender.py) delivers it afterwards; nothing here talks to an SMTP server. The editors
see here what could not be delivered, and send it again.

Templates live in ``templates/mail/``: ``NAME.txt`` (plain text, not escaped) and ``NAME.html``
(autoescaped), each extending ``_layout.txt`` / ``_layout.html``. Both get the caller's context
plus ``base_url`` and ``site_name``.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from observatory.i18n import N_
from observatory.mail.tables import MailMessage
from observatory.settings import PROJECT_DIR, Settings

#: What each kind of message is, as the editors' pages name it (translated where shown).
KIND_LABELS = {
    "ricevuta": N_("Ricevuta di una segnalazione"),
    "modifiche_richieste": N_("Modifiche richieste"),
    "approvata": N_("Segnalazione approvata"),
    "respinta": N_("Segnalazione respinta"),
    "duplicato": N_("Segnalazione duplicata"),
    "indirizzo": N_("Nuovo indirizzo privato"),
    "riepilogo": N_("Riepilogo giornaliero"),
    "link_password": N_("Link per una nuova password (redazione)"),
    "contatto": N_("Messaggio dal modulo di contatto"),
}
SUBJECT_LIMIT = 300
#: A message still unsent after this many attempts (a few minutes of failures) is shown to editors.
STUCK_ATTEMPTS = 3


def mail_enabled(settings: Settings) -> bool:
    """Whether this site sends e-mail: an SMTP server and a sender are configured."""
    return bool(settings.smtp_host and settings.mail_from)


@cache
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(PROJECT_DIR / "templates" / "mail"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(settings: Settings, template: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """The plain text and the HTML of the message ``template`` with ``context``."""
    values = {"base_url": settings.base_url, "site_name": settings.publisher_name, **context}
    environment = _templates()
    text = environment.get_template(f"{template}.txt").render(values)
    html = environment.get_template(f"{template}.html").render(values)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", html


def _subject(text: str) -> str:
    """One line (a title may hold line breaks), at most SUBJECT_LIMIT characters."""
    line = " ".join(text.split())
    return line if len(line) <= SUBJECT_LIMIT else line[: SUBJECT_LIMIT - 1] + "…"


async def enqueue(
    settings: Settings,
    *,
    to: str,
    subject: str,
    template: str,
    context: Mapping[str, Any],
    kind: str,
    reference: str = "",
    once_key: str | None = None,
) -> bool:
    """Put a message in the outbox inside the caller's current transaction; False when mail is off
    (nothing stored) or a message with ``once_key`` already exists."""
    if not mail_enabled(settings):
        return False
    text, html = render(settings, template, context)
    now = datetime.datetime.now(datetime.UTC)
    insert = MailMessage.insert(
        MailMessage(
            recipient=to,
            subject=_subject(subject),
            text=text,
            html=html,
            kind=kind,
            reference=reference,
            once_key=once_key,
            created_at=now,
            next_attempt_at=now,
        )
    )
    if once_key is not None:
        insert = insert.on_conflict(target=MailMessage.once_key, action="DO NOTHING")
    return bool(await insert.returning(MailMessage.id))


def _labelled(row: dict) -> dict:
    return row | {"kind_label": KIND_LABELS.get(row["kind"], row["kind"])}


async def undelivered(limit: int = 50) -> tuple[int, list[dict]]:
    """The messages given up on, or failing for STUCK_ATTEMPTS attempts and more: how many, and
    the ``limit`` latest (each with its ``kind_label``)."""
    condition = MailMessage.sent_at.is_null() & (
        MailMessage.failed_at.is_not_null() | (MailMessage.attempts >= STUCK_ATTEMPTS)
    )
    total = await MailMessage.count().where(condition)
    rows = (
        await MailMessage.select(
            MailMessage.id,
            MailMessage.recipient,
            MailMessage.subject,
            MailMessage.kind,
            MailMessage.reference,
            MailMessage.created_at,
            MailMessage.attempts,
            MailMessage.next_attempt_at,
            MailMessage.failed_at,
            MailMessage.last_error,
        )
        .where(condition)
        .order_by(MailMessage.created_at, ascending=False)
        .order_by(MailMessage.id, ascending=False)
        .limit(limit)
    )
    return total, [_labelled(row) for row in rows]


async def retry(message_id: int) -> dict | None:
    """Make an unsent message due at once with a fresh count of attempts, inside the caller's
    transaction; the message as it was, or None when there is no such unsent message."""
    before = (
        await MailMessage.select().where(MailMessage.id == message_id, MailMessage.sent_at.is_null()).first()
    )
    if before is None:
        return None
    retried = (
        await MailMessage.update(
            {
                MailMessage.failed_at: None,
                MailMessage.attempts: 0,
                MailMessage.next_attempt_at: datetime.datetime.now(datetime.UTC),
            }
        )
        .where(MailMessage.id == message_id, MailMessage.sent_at.is_null())
        .returning(MailMessage.id)
    )
    return before if retried else None
