"""Tables of the editorial office: staff accounts, their sessions, login attempts, the audit log."""

from piccolo.columns import JSON, Boolean, ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

#: Staff roles, from least to most privileged, with their Italian names.
ROLES = {"redattore": "Redattore", "amministratore": "Amministratore"}


class StaffUser(Table):
    """A member of the editorial office (redazione)."""

    #: Login name, lower case.
    username = Varchar(length=60, unique=True)
    #: Name shown in the audit log and in messages.
    display_name = Varchar(length=120)
    #: Contact address (never public).
    email = Varchar(length=254, null=True, default=None)
    #: redattore or amministratore (see ROLES).
    role = Varchar(length=20, default="redattore")
    #: Argon2id hash of the password; never the password itself.
    password_hash = Varchar(length=255)
    #: A disabled account cannot log in and its sessions stop working.
    active = Boolean(default=True)
    #: When the account was created.
    created_at = Timestamptz(default=TimestamptzNow())
    #: When its last successful login was; NULL before the first.
    last_login_at = Timestamptz(null=True, default=None)


class StaffSession(Table):
    """A logged-in session; stored here so that any worker can serve it."""

    #: SHA-256 of the session token held in the cookie; the token itself is never stored.
    token_hash = Varchar(length=64, unique=True)
    #: The staff member logged in.
    user = ForeignKey(StaffUser)
    #: When the session started.
    created_at = Timestamptz(default=TimestamptzNow())
    #: The session ends at this time (sliding: renewed while it is used).
    expires_at = Timestamptz(index=True)


class LoginAttempt(Table):
    """A failed or successful login, for throttling repeated failures."""

    #: What the attempt is counted against: "user:<name>" or "addr:<hash of the address>".
    key = Varchar(length=200, index=True)
    #: Whether the name and password were right.
    succeeded = Boolean(default=False)
    #: When the attempt was made.
    at = Timestamptz(default=TimestamptzNow(), index=True)


class AuditEntry(Table):
    """One staff action: who, when, what, and the data before and after."""

    #: When the action was done.
    at = Timestamptz(default=TimestamptzNow(), index=True)
    #: The staff member; NULL for actions from the command line.
    actor = ForeignKey(StaffUser, null=True, on_delete=OnDelete.set_null)
    #: The actor's name at the time (kept if the account changes).
    actor_name = Varchar(length=120)
    #: What was done: "segnalazione.approva", "processo.modifica", "ente.unisci", ...
    action = Varchar(length=60, index=True)
    #: The kind of object ("segnalazione", "processo", "ente", "termine", "utente").
    object_type = Varchar(length=40)
    #: Its identifier (id or slug).
    object_id = Varchar(length=160)
    #: One line for people.
    summary = Text(default="")
    #: The object's data before the action (NULL for a creation).
    before = JSON(null=True, default=None)
    #: The object's data after the action (NULL for a deletion).
    after = JSON(null=True, default=None)


ALL_TABLES = (StaffUser, StaffSession, LoginAttempt, AuditEntry)
