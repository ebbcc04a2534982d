"""The editors' daily digest: staff members who ask for it receive, each morning, the list of the
submissions that arrived in the 24 hours before.

The day's digest of each person is written to the outbox with a key of its own (day and person),
which the outbox table keeps unique: every instance tries to write it after DIGEST_HOUR, the first
one succeeds and the others find it there, so it is sent once however many instances run.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from zoneinfo import ZoneInfo

from observatory.accounts.services import record_audit
from observatory.accounts.tables import StaffUser
from observatory.database import to_the_end, write_transaction
from observatory.mail import outbox
from observatory.settings import Settings
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES, DigestSubscription, Submission
from observatory.text import italian_date

logger = logging.getLogger("observatory.mail")

#: The digest of a day covers the 24 hours up to this hour (Italian time), and is sent from then.
DIGEST_HOUR = 8
ITALIAN_TIME = ZoneInfo("Europe/Rome")
#: At most this many submissions are listed; the message says how many more there are.
LISTED = 50


def digest_window(now: datetime.datetime) -> tuple[datetime.date, datetime.datetime, datetime.datetime]:
    """The day of the latest digest due at ``now``, and the moments its submissions arrived between."""
    local = now.astimezone(ITALIAN_TIME)
    day = local.date() if local.hour >= DIGEST_HOUR else local.date() - datetime.timedelta(days=1)
    hour = datetime.time(DIGEST_HOUR)
    end = datetime.datetime.combine(day, hour, ITALIAN_TIME)
    start = datetime.datetime.combine(day - datetime.timedelta(days=1), hour, ITALIAN_TIME)
    return day, start.astimezone(datetime.UTC), end.astimezone(datetime.UTC)


async def subscribed(staff_id: int) -> bool:
    """Whether the staff member receives the daily digest."""
    return await DigestSubscription.exists().where(DigestSubscription.staff == staff_id)


async def set_subscription(staff: dict, wanted: bool) -> None:
    """Start or stop the daily digest for ``staff``; audit-logged when it changes."""
    async with write_transaction():
        if wanted == await subscribed(staff["id"]):
            return
        if wanted:
            await DigestSubscription.insert(DigestSubscription(staff=staff["id"]))
        else:
            await DigestSubscription.delete().where(DigestSubscription.staff == staff["id"])
        await record_audit(
            staff,
            "notifiche.riepilogo",
            "utente",
            str(staff["id"]),
            "Riepilogo giornaliero delle segnalazioni " + ("attivato" if wanted else "disattivato"),
            before={"daily_digest": not wanted},
            after={"daily_digest": wanted},
        )


async def staff_email(staff_id: int) -> str | None:
    """The contact address of a staff member's account, or None."""
    row = await StaffUser.select(StaffUser.email).where(StaffUser.id == staff_id).first()
    return row["email"] if row else None


async def _recipients() -> list[dict]:
    """Active staff members with an address who asked for the digest."""
    return (
        await DigestSubscription.select(
            DigestSubscription.staff.id.as_alias("id"), DigestSubscription.staff.email.as_alias("email")
        )
        .where(DigestSubscription.staff.active.eq(True), DigestSubscription.staff.email.is_not_null())
        .order_by(DigestSubscription.staff.id)
    )


async def enqueue_digests(settings: Settings, now: datetime.datetime | None = None) -> int:
    """Write the latest digest due at ``now`` (now by default) for each subscriber who has not got
    it yet; nothing when no submission arrived in its 24 hours. Return how many were written."""
    if not outbox.mail_enabled(settings):
        return 0
    day, start, end = digest_window(now or datetime.datetime.now(datetime.UTC))
    arrived = (
        await Submission.select(Submission.id, Submission.kind, Submission.state, Submission.data)
        .where(Submission.created_at >= start, Submission.created_at < end)
        .order_by(Submission.created_at)
        .order_by(Submission.id)
        .output(load_json=True)
    )
    if not arrived:
        return 0
    waiting = await Submission.count().where(Submission.state == "in_attesa")
    listed = [
        {
            "title": (row["data"].get("process") or {}).get("title") or "senza titolo",
            "kind": SUBMISSION_KINDS[row["kind"]],
            "state": SUBMISSION_STATES[row["state"]],
            "url": f"{settings.base_url}/redazione/segnalazioni/{row['id']}",
        }
        for row in arrived[:LISTED]
    ]
    since = start.astimezone(ITALIAN_TIME)
    context = {
        "count": len(arrived),
        "listed": listed,
        "more": len(arrived) - len(listed),
        "waiting": waiting,
        "since": f"{italian_date(since)} alle {since:%H:%M}",
        "queue_url": f"{settings.base_url}/redazione",
        "settings_url": f"{settings.base_url}/redazione/notifiche",
    }
    subject = f"{len(arrived)} {'nuova segnalazione' if len(arrived) == 1 else 'nuove segnalazioni'}"
    written = 0
    for person in await _recipients():
        async with write_transaction():
            written += await outbox.enqueue(
                settings,
                to=person["email"],
                subject=f"Riepilogo del {italian_date(day)}: {subject}",
                template="riepilogo",
                context=context,
                kind="riepilogo",
                reference=f"utente:{person['id']}",
                once_key=f"riepilogo:{day.isoformat()}:{person['id']}",
            )
    return written


async def keep_digests(settings: Settings) -> None:
    """Write each day's digests once it is due, looking every ``settings.mail_poll`` seconds, until
    cancelled; nothing when mail is off."""
    if not outbox.mail_enabled(settings):
        return
    done = None
    while True:
        day = digest_window(datetime.datetime.now(datetime.UTC))[0]
        if day != done:
            try:
                await to_the_end(enqueue_digests(settings))
                done = day
            except Exception:  # the database may be away for a moment: the next look tries again
                logger.exception("The daily digests could not be written")
        await asyncio.sleep(settings.mail_poll)
