"""The outbox: every e-mail the site sends, from the moment it is decided to its delivery."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class MailMessage(Table):
    """One e-mail to one recipient: written with the decision it reports, sent afterwards."""

    #: The address it goes to.
    recipient = Varchar(length=254)
    #: The subject line.
    subject = Varchar(length=300)
    #: The plain-text body.
    text = Text()
    #: The HTML body (the same content).
    html = Text()
    #: What it is: "ricevuta", "approvata", "riepilogo", ... (see outbox.KIND_LABELS).
    kind = Varchar(length=40, index=True)
    #: What it is about, for people reading the outbox: "segnalazione:12", "utente:3".
    reference = Varchar(length=160, default="")
    #: A key that no other message may have: a message meant to exist once (the daily digest of a
    #: day to a person) is inserted only by the first instance that tries; NULL for the others.
    once_key = Varchar(length=200, null=True, default=None, unique=True)
    #: When it was written to the outbox.
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    #: How many times a sender has tried to deliver it.
    attempts = Integer(default=0)
    #: Not to be tried before this time (the backoff after a failure).
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    #: A sender is delivering it until this time; another one takes it over only afterwards.
    claimed_until = Timestamptz(null=True, default=None)
    #: When the SMTP server accepted it; NULL while it is still to be sent.
    sent_at = Timestamptz(null=True, default=None, index=True)
    #: When the senders gave up on it (too many attempts, or a refused address).
    failed_at = Timestamptz(null=True, default=None)
    #: What the SMTP server (or the connection to it) said at the last failed attempt.
    last_error = Text(null=True, default=None)


ALL_TABLES = (MailMessage,)
