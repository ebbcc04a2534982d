"""Delivering the outbox: each instance's background task takes the messages that are due, one at
a time, and hands them to the SMTP server; a failure is retried later with a growing delay.

Claiming is one conditional UPDATE (``WHERE sent_at IS NULL AND failed_at IS NULL AND (no lease or
an expired one)``) that sets a lease and counts the attempt: of several instances sharing the
database only one gets a message. PostgreSQL re-checks the condition on the row a concurrent
update committed, SQLite runs one write at a time, so the loser finds the lease taken and gets
nothing. A sender that dies while delivering leaves a lease that expires, and the message is tried
again; so delivery is at least once, and twice only when an instance dies between the server's
acceptance and the update that records it.

The standard library's smtplib does the delivery, in a worker thread: it speaks every TLS mode and
login an SMTP server needs, and a message at a time off the request path needs no async client.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from observatory.database import to_the_end, write_transaction
from observatory.mail.outbox import mail_enabled
from observatory.mail.tables import MailMessage
from observatory.settings import Settings

logger = logging.getLogger("observatory.mail")

#: The wait after the first failed attempt, doubled after each further one, up to LONGEST_DELAY.
FIRST_DELAY = datetime.timedelta(minutes=1)
LONGEST_DELAY = datetime.timedelta(hours=6)
#: After this many failed attempts (about two days) the message is kept as failed.
MAX_ATTEMPTS = 16
#: How long longer than the SMTP timeout a sender holds a message before another may take it.
LEASE_FACTOR = 10
ERROR_LIMIT = 1000


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def backoff(attempts: int) -> datetime.timedelta:
    """The wait before the next attempt after ``attempts`` failed ones: 1, 2, 4 ... minutes, at most
    LONGEST_DELAY."""
    return min(FIRST_DELAY * 2 ** max(0, attempts - 1), LONGEST_DELAY)


def _due(now: datetime.datetime):
    """The condition of a message a sender may take at ``now``."""
    return (
        MailMessage.sent_at.is_null()
        & MailMessage.failed_at.is_null()
        & (MailMessage.next_attempt_at <= now)
        & (MailMessage.claimed_until.is_null() | (MailMessage.claimed_until <= now))
    )


async def claim(settings: Settings, now: datetime.datetime | None = None) -> dict | None:
    """Take the next message due at ``now`` (now by default) for this sender, counting the attempt;
    None when no message is due or another sender took each one first."""
    now = now or _now()
    lease = now + datetime.timedelta(seconds=settings.smtp_timeout * LEASE_FACTOR)
    candidates = (
        await MailMessage.select(MailMessage.id)
        .where(_due(now))
        .order_by(MailMessage.next_attempt_at)
        .order_by(MailMessage.id)
        .limit(10)
    )
    for candidate in candidates:
        async with write_transaction():
            claimed = (
                await MailMessage.update(
                    {MailMessage.claimed_until: lease, MailMessage.attempts: MailMessage.attempts + 1}
                )
                .where(MailMessage.id == candidate["id"], _due(now))
                .returning(*MailMessage.all_columns())
            )
        if claimed:
            return claimed[0]
    return None


def _email(settings: Settings, message: dict) -> EmailMessage:
    email = EmailMessage()
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2]
    created = message["created_at"]
    email["From"] = settings.mail_from
    email["To"] = message["recipient"]
    email["Subject"] = message["subject"]
    email["Date"] = format_datetime(_now())
    # the same at every attempt, so a receiver can tell a repeated delivery
    email["Message-ID"] = f"<osservatorio.{message['id']}.{int(created.timestamp())}@{domain}>"
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no automatic replies
    email.set_content(message["text"])
    email.add_alternative(message["html"], subtype="html")
    return email


def deliver(settings: Settings, message: dict) -> None:
    """Hand ``message`` (an outbox row) to the SMTP server; raise what smtplib raises on failure."""
    context = ssl.create_default_context()
    server = (settings.smtp_host, settings.smtp_port)
    if settings.smtp_tls == "tls":
        connection = smtplib.SMTP_SSL(*server, timeout=settings.smtp_timeout, context=context)
    else:
        connection = smtplib.SMTP(*server, timeout=settings.smtp_timeout)
    with connection:
        if settings.smtp_tls == "starttls":
            connection.starttls(context=context)
        if settings.smtp_user:
            connection.login(settings.smtp_user, settings.smtp_password)
        connection.send_message(_email(settings, message))


def _permanent(error: Exception) -> bool:
    """Whether retrying cannot help: the server refused the address for good (5xx)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return False


def _describe(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


async def _record(message: dict, error: Exception | None, now: datetime.datetime) -> None:
    """Note the outcome of an attempt on the claimed ``message``."""
    if error is None:
        values = {MailMessage.sent_at: now, MailMessage.last_error: None}
    elif _permanent(error) or message["attempts"] >= MAX_ATTEMPTS:
        values = {MailMessage.failed_at: now, MailMessage.last_error: _describe(error)}
    else:
        values = {
            MailMessage.next_attempt_at: now + backoff(message["attempts"]),
            MailMessage.last_error: _describe(error),
        }
    async with write_transaction():
        await MailMessage.update({**values, MailMessage.claimed_until: None}).where(
            MailMessage.id == message["id"], MailMessage.sent_at.is_null()
        )


async def send_due(settings: Settings, now: datetime.datetime | None = None) -> int:
    """Deliver every message due at ``now`` (now by default), one at a time; return how many the
    SMTP server accepted. A failure is recorded on its message and never raised."""
    sent = 0
    while (message := await claim(settings, now)) is not None:
        try:
            await asyncio.to_thread(deliver, settings, message)
        except (smtplib.SMTPException, OSError) as error:  # TLS, DNS and timeouts are OSErrors
            logger.warning("E-mail %s to %s not sent: %s", message["id"], message["recipient"], error)
            await _record(message, error, now or _now())
        except Exception as error:  # a message that cannot be built: kept with the error, counted
            logger.exception("E-mail %s could not be sent", message["id"])
            await _record(message, error, now or _now())
        else:
            await _record(message, None, now or _now())
            sent += 1
    return sent


async def keep_sending(settings: Settings) -> None:
    """Deliver the outbox every ``settings.mail_poll`` seconds, until cancelled; nothing when mail
    is off."""
    if not mail_enabled(settings):
        return
    while True:
        try:
            await to_the_end(send_due(settings))
        except Exception:  # the database may be away for a moment: the next round tries again
            logger.exception("The outbox could not be read")
        await asyncio.sleep(settings.mail_poll)
