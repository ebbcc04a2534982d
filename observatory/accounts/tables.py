"""Tables of the editorial office: staff accounts, their sessions, login attempts, the audit log,
password reset links, two-factor recovery codes and the office's account policy."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from observatory.i18n import N_

#: Staff roles, from least to most privileged, with their Italian names.
ROLES = {"redattore": N_("Redattore"), "amministratore": N_("Amministratore")}


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
    #: Raised by each change an admin makes (role, state, name, e-mail): a form opened on an older
    #: version is refused instead of overwriting the change.
    version = Integer(default=1)
    #: Base32 secret of the two-factor codes (RFC 6238) once enrolment is confirmed; NULL: no two-factor.
    totp_secret = Varchar(length=64, null=True, default=None)
    #: The secret shown on the enrolment page, until a first code confirms it.
    totp_pending_secret = Varchar(length=64, null=True, default=None)
    #: The time step of the last code accepted: a code of that step or an earlier one is a replay.
    totp_last_step = Integer(null=True, default=None)


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
    #: When it was last used (updated at most once a minute).
    last_seen_at = Timestamptz(null=True, default=None)
    #: The browser that opened it (its User-Agent, shortened), to tell sessions apart.
    user_agent = Varchar(length=200, default="")
    #: The password was right but the two-factor code is still to be given: not logged in yet.
    second_factor_pending = Boolean(default=False)


class LoginAttempt(Table):
    """A failed or successful login, for throttling repeated failures."""

    #: What the attempt is counted against: "pair:<keyed hash of user name and address>" or
    #: "addr:<keyed hash of the address>".
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


class PasswordReset(Table):
    """A one-time link to choose a new password; a newer link for the same account replaces it."""

    #: SHA-256 of the token in the link; the token itself is never stored.
    token_hash = Varchar(length=64, unique=True)
    #: The account whose password it sets.
    user = ForeignKey(StaffUser, on_delete=OnDelete.cascade)
    #: When it was made.
    created_at = Timestamptz(default=TimestamptzNow())
    #: After this time the link is refused.
    expires_at = Timestamptz()
    #: When it was used; NULL while unused.
    used_at = Timestamptz(null=True, default=None)
    #: When a newer link replaced it; NULL while it is the newest.
    replaced_at = Timestamptz(null=True, default=None)


class RecoveryCode(Table):
    """A single-use code that stands in for a two-factor code (ten are given at enrolment)."""

    #: The account it belongs to.
    user = ForeignKey(StaffUser, on_delete=OnDelete.cascade)
    #: SHA-256 of the code (lower case, without the hyphen); the code itself is never stored.
    code_hash = Varchar(length=64)
    #: When it was used; NULL while unused.
    used_at = Timestamptz(null=True, default=None)


class AccountPolicy(Table):
    """The editorial office's rules for every account: one row, changed by admins."""

    #: Every member must use two-factor login (one without it is sent to enrolment).
    require_two_factor = Boolean(default=False)
    #: Raised by each change: a form opened on an older version is refused.
    version = Integer(default=1)
    #: When it last changed.
    changed_at = Timestamptz(default=TimestamptzNow())
    #: Who changed it last (display name, or "riga di comando").
    changed_by = Varchar(length=120, default="")


ALL_TABLES = (StaffUser, StaffSession, LoginAttempt, AuditEntry, PasswordReset, RecoveryCode, AccountPolicy)
