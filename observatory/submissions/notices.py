"""E-mail to the person who sent a submission: the receipt with the private link, a message at each
editors' decision, a new private link on request. Each is written to the outbox in the transaction
of what it reports (see observatory/mail); with mail off nothing is written.

A message names only what its recipient sent and the editors' answer to it: never another
submission, nor anything of other people.
"""

from __future__ import annotations

from observatory.accounts.services import record_audit
from observatory.database import write_transaction
from observatory.digests import token_digest
from observatory.mail import outbox
from observatory.settings import Settings
from observatory.submissions import tokens
from observatory.submissions.tables import Submission

#: The message each decision sends, and its subject ("{}" is the submission's title).
DECISION_SUBJECTS = {
    "richiedi_modifiche": ("modifiche_richieste", "Modifiche richieste per la tua segnalazione «{}»"),
    "approva": ("approvata", "Segnalazione approvata: «{}»"),
    "respingi": ("respinta", "Segnalazione non pubblicata: «{}»"),
    "duplicato": ("duplicato", "Il processo è già nel catalogo: «{}»"),
}
RECEIPT_SUBJECT = "Segnalazione ricevuta: «{}»"
NEW_LINK_SUBJECT = "Il nuovo indirizzo della tua segnalazione «{}»"


class MailOff(Exception):
    """The site sends no e-mail: the message says so, in Italian."""

    message = "La posta elettronica non è configurata: il sito non può inviare e-mail."


def tracking_url(settings: Settings, token: str) -> str:
    """The absolute private link of a submission."""
    return f"{settings.base_url}/segnala/{token}"


def _title(submission: dict) -> str:
    return (submission["data"].get("process") or {}).get("title") or "senza titolo"


def _context(settings: Settings, submission: dict, token: str | None, **extra) -> dict:
    return {
        "name": submission["submitter_name"],
        "title": _title(submission),
        "correction_of": None,
        "tracking_url": tracking_url(settings, token) if token else None,
        "editor_message": None,
        "process_url": None,
        "process_title": None,
        **extra,
    }


async def _send(settings: Settings, submission: dict, template: str, subject: str, context: dict) -> bool:
    if not submission["submitter_email"]:  # erased after the retention period (contact/retention.py)
        return False
    return await outbox.enqueue(
        settings,
        to=submission["submitter_email"],
        subject=subject.format(_title(submission)),
        template=template,
        context=context,
        kind=template,
        reference=f"segnalazione:{submission['id']}",
    )


async def receipt(settings: Settings, submission: dict, token: str, correction_of: str | None) -> bool:
    """Write the receipt of a submission just stored (in its transaction), with its private link;
    ``correction_of`` is the title of the process a correction is about."""
    context = _context(settings, submission, token, correction_of=correction_of)
    return await _send(settings, submission, "ricevuta", RECEIPT_SUBJECT, context)


async def decided(
    settings: Settings | None,
    submission: dict,
    action: str,
    editor_message: str | None = None,
    process: dict | None = None,
    correction_of: str | None = None,
) -> bool:
    """Write the message of the editors' ``action`` on ``submission`` (its row as it was before),
    inside the decision's transaction: ``editor_message`` is the editors' text, ``process`` the
    published process (slug and title) it created, corrected or duplicates. Nothing without
    ``settings`` (a decision from the command line or a test) or with mail off."""
    if settings is None:
        return False
    template, subject = DECISION_SUBJECTS[action]
    context = _context(
        settings,
        submission,
        tokens.recover(submission, settings.secret_key),
        editor_message=editor_message,
        correction_of=correction_of,
        process_url=f"{settings.base_url}/processi/{process['slug']}" if process else None,
        process_title=process["title"] if process else None,
    )
    return await _send(settings, submission, template, subject, context)


async def send_new_link(submission: dict, staff: dict | None, settings: Settings) -> None:
    """Replace the private link of ``submission`` with a new one (the old one stops working) and
    e-mail it to the submitter; audit-logged. Raise MailOff when the site sends no e-mail."""
    if not outbox.mail_enabled(settings):
        raise MailOff
    token, salt = tokens.issue(settings.secret_key)
    async with write_transaction():
        await Submission.update(
            {Submission.token_hash: token_digest(token), Submission.token_salt: salt}
        ).where(Submission.id == submission["id"])
        context = _context(settings, submission, token)
        await _send(settings, submission, "indirizzo", NEW_LINK_SUBJECT, context)
        await record_audit(
            staff,
            "segnalazione.nuovo_indirizzo",
            "segnalazione",
            str(submission["id"]),
            f"Inviato un nuovo indirizzo privato della segnalazione {submission['id']} "
            f"(«{_title(submission)}») a chi l'ha inviata; il precedente non funziona più",
            after={"recipient": submission["submitter_email"]},
        )


async def retry_mail(message_id: int, staff: dict | None) -> dict | None:
    """Send an unsent e-mail again at once, from a fresh count of attempts; audit-logged. The
    message as it was, or None when it does not exist or was sent meanwhile."""
    async with write_transaction():
        before = await outbox.retry(message_id)
        if before is not None:
            await record_audit(
                staff,
                "posta.riprova",
                "email",
                str(message_id),
                f"Nuovo invio dell'e-mail «{before['subject']}» a {before['recipient']}",
                before={k: before[k] for k in ("attempts", "failed_at", "last_error")},
                after={"attempts": 0, "failed_at": None},
            )
    return before
