"""How long personal data is kept: what the privacy notice (/privacy) promises, done.

``OBSERVATORY_PERSONAL_DATA_MONTHS`` months (12 by default) after the decision on a submission, its
submitter's name, body and e-mail are erased (the proposed process and the decision stay); as long
after it was written, a contact message is deleted, and so is an e-mail of the outbox that was sent
or given up on, and the addresses the audit log names in the entries about them. The keyed hashes
of client addresses, kept only for the limits per address, are emptied once no limit counts them
(after a day). Every instance runs the purge at start-up and every few hours
(:func:`keep_purging`); ``observatory purge-personal-data`` runs it at once.
"""

from __future__ import annotations

import asyncio
import calendar
import datetime
import logging
import re
from dataclasses import dataclass

from observatory.accounts.tables import AuditEntry
from observatory.contact.tables import ContactMessage
from observatory.database import to_the_end, write_transaction
from observatory.mail.tables import MailMessage
from observatory.settings import Settings
from observatory.submissions.tables import Submission

logger = logging.getLogger("observatory")
#: The states after a decision, from which the retention of a submitter's data is counted.
DECIDED_STATES = ("approvata", "respinta", "duplicato")
#: Hashes of client addresses are needed this long: the longest window of a limit per address.
ADDRESS_HASH_DAYS = 1
#: Seconds between two purges of one instance.
PURGE_INTERVAL = 6 * 3600
_ADDRESS = re.compile(r"[^\s«»()<>]+@[^\s«»()<>]+")


@dataclass
class Purged:
    """What one purge erased: submitters, contact messages, e-mails, address hashes."""

    submitters: int = 0
    messages: int = 0
    mails: int = 0
    address_hashes: int = 0


def months_before(moment: datetime.datetime, months: int) -> datetime.datetime:
    """``moment`` ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


async def purge_personal_data(settings: Settings, now: datetime.datetime | None = None) -> Purged:
    """Erase the personal data older than the retention period of ``settings`` (see the module)."""
    now = now or datetime.datetime.now(datetime.UTC)
    cutoff = months_before(now, settings.personal_data_months)
    hashes_cutoff = now - datetime.timedelta(days=ADDRESS_HASH_DAYS)
    purged = Purged()
    async with write_transaction():
        erased = (
            await Submission.update(
                {Submission.submitter_name: "", Submission.submitter_body: "", Submission.submitter_email: ""}
            )
            .where(
                Submission.state.is_in(list(DECIDED_STATES)),
                Submission.decided_at < cutoff,
                Submission.submitter_email != "",
            )
            .returning(Submission.id)
        )
        purged.submitters = len(erased)
        await _erase_audited_addresses(cutoff)
        deleted = (
            await ContactMessage.delete()
            .where(ContactMessage.created_at < cutoff)
            .returning(ContactMessage.id)
        )
        purged.messages = len(deleted)
        done = MailMessage.sent_at.is_not_null() | MailMessage.failed_at.is_not_null()
        mails = (
            await MailMessage.delete().where(MailMessage.created_at < cutoff, done).returning(MailMessage.id)
        )
        purged.mails = len(mails)
        for table in (Submission, ContactMessage):
            emptied = (
                await table.update({table.address_hash: ""})
                .where(table.created_at < hashes_cutoff, table.address_hash != "")
                .returning(table.id)
            )
            purged.address_hashes += len(emptied)
    return purged


async def _erase_audited_addresses(cutoff: datetime.datetime) -> None:
    """The e-mail addresses older audit entries name: a submitter's new private link, an e-mail sent
    again."""
    await AuditEntry.update({AuditEntry.after: {"recipient": None}}).where(
        AuditEntry.action == "segnalazione.nuovo_indirizzo", AuditEntry.at < cutoff
    )
    named = await AuditEntry.select(AuditEntry.id, AuditEntry.summary).where(
        AuditEntry.action == "posta.riprova", AuditEntry.at < cutoff, AuditEntry.summary.like("%@%")
    )
    for row in named:
        summary = _ADDRESS.sub("un destinatario", row["summary"])
        await AuditEntry.update({AuditEntry.summary: summary}).where(AuditEntry.id == row["id"])


async def keep_purging(settings: Settings, interval: float = PURGE_INTERVAL) -> None:
    """Purge at start-up and every ``interval`` seconds, until cancelled; a failed round is logged
    and the next one tries again."""
    while True:
        try:
            purged = await to_the_end(purge_personal_data(settings))
            if purged != Purged():
                logger.info("Personal data past its retention erased: %s", purged)
        except Exception:  # a database briefly away must not end the loop
            logger.exception("The purge of personal data failed; it is tried again later")
        await asyncio.sleep(interval)
