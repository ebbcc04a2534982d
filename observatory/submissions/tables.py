"""Submissions: new processes and corrections sent through the public form or the API."""

from piccolo.columns import JSON, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from observatory.accounts.tables import StaffUser
from observatory.catalogue.tables import Process
from observatory.i18n import N_

#: Kinds of submission.
SUBMISSION_KINDS = {"nuovo": N_("Nuovo processo"), "correzione": N_("Correzione")}
#: States of a submission, with the names the submitter and the editors see (translated where shown).
SUBMISSION_STATES = {
    "in_attesa": N_("In attesa"),
    "modifiche_richieste": N_("Modifiche richieste"),
    "approvata": N_("Approvata"),
    "respinta": N_("Respinta"),
    "duplicato": N_("Duplicato"),
}


class Submission(Table):
    """A proposed new process or correction; nothing in it is public until an editor approves it."""

    #: SHA-256 of the private tracking token (the token is only in the submitter's link).
    token_hash = Varchar(length=64, unique=True)
    #: The random salt the token is derived from with the site's secret (tokens.py), so that each
    #: e-mail to the submitter can carry the link; NULL for submissions from before.
    token_salt = Varchar(length=32, null=True, default=None)
    #: nuovo or correzione (see SUBMISSION_KINDS).
    kind = Varchar(length=12, index=True)
    #: in_attesa, modifiche_richieste, approvata, respinta, duplicato (see SUBMISSION_STATES).
    state = Varchar(length=24, default="in_attesa", index=True)
    #: {"process": the proposed process as a checked record in the import format
    #: (``osservatorio/processi``), "note": the submitter's note or null, and for a correction
    #: "base_version": the version of the process it was written against}.
    data = JSON(default="{}")
    #: For a correction: the process it corrects. After approval: the process it created or changed.
    process = ForeignKey(Process, null=True, on_delete=OnDelete.set_null)
    #: When marked as a duplicate: the existing process it duplicates.
    duplicate_of = ForeignKey(Process, null=True, on_delete=OnDelete.set_null)
    #: The submitter's name (private: never on public pages, in the index or in exports).
    submitter_name = Varchar(length=200)
    #: The body the submitter writes for (private).
    submitter_body = Varchar(length=300)
    #: The submitter's e-mail address (private).
    submitter_email = Varchar(length=254)
    #: When the submitter accepted the privacy notice.
    privacy_accepted_at = Timestamptz()
    #: "web" (the form) or "api" (POST /api/v1/segnalazioni).
    channel = Varchar(length=8, default="web")
    #: Keyed hash of the sender's address, for the rate limit (the address itself is not kept).
    address_hash = Varchar(length=64, index=True)
    #: The editors' message to the submitter (changes requested, reason for rejection).
    editor_message = Text(null=True, default=None)
    #: The editor who took the last decision.
    decided_by = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    #: When that decision was taken.
    decided_at = Timestamptz(null=True, default=None)
    #: When it was sent.
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    #: When it last changed (amended or decided).
    updated_at = Timestamptz(default=TimestamptzNow())
    #: 1 when sent, raised by every amendment and decision: the editor's form carries it, and an
    #: approval of an older version is refused.
    version = Integer(default=1)


class SubmissionVersion(Table):
    """What a submission proposed before its submitter amended it, kept so that editors see exactly
    what each amendment changed."""

    #: The submission amended.
    submission = ForeignKey(Submission, index=True, on_delete=OnDelete.cascade)
    #: The submission's version (Submission.version) that held this data.
    version = Integer()
    #: The data it held, in the layout of Submission.data.
    data = JSON(default="{}")
    #: The state it was in when amended: in_attesa, or modifiche_richieste after an editor asked.
    state = Varchar(length=24)
    #: When the submitter replaced it.
    replaced_at = Timestamptz(default=TimestamptzNow())


class DigestSubscription(Table):
    """A staff member who receives the daily digest of new submissions by e-mail."""

    #: The staff member (one row each).
    staff = ForeignKey(StaffUser, unique=True, on_delete=OnDelete.cascade)
    #: Since when.
    created_at = Timestamptz(default=TimestamptzNow())


ALL_TABLES = (Submission, SubmissionVersion, DigestSubscription)
