"""Logging in: throttled attempts, the two-factor step, sessions in the database.

Logins are not audit entries: every attempt is a LoginAttempt row, which throttling counts.
"""

from __future__ import annotations

import asyncio
import datetime
import math
import secrets
from typing import Any

from observatory.accounts.services import (
    USERNAME,
    hash_password,
    needs_rehash,
    password_matches,
    staff_summary,
    utc_now,
)
from observatory.accounts.tables import ROLES, AccountPolicy, LoginAttempt, StaffSession, StaffUser
from observatory.database import lock, write_transaction
from observatory.digests import keyed_digest, token_digest
from observatory.i18n import N_, _, ngettext
from observatory.text import printable

#: A session ends after this long without use (each use renews it once half has passed).
SESSION_LIFETIME = datetime.timedelta(hours=8)
#: How long the second step of a two-factor login waits for its code.
SECOND_FACTOR_TIME = datetime.timedelta(minutes=5)
#: How often a session's "last seen" time is written (not at every request).
LAST_SEEN_STEP = datetime.timedelta(minutes=1)
#: Failed logins are remembered this long; a success from the same name and address forgets theirs.
THROTTLE_WINDOW = datetime.timedelta(hours=1)
#: The wait after the first failure for a name from an address; each further failure doubles it...
FIRST_DELAY_SECONDS = 1
#: ... up to this.
MAX_DELAY_SECONDS = 15 * 60
#: Failures from one address, whatever the names, before that address is slowed down as well.
ADDRESS_FAILURES = 20
KEEP_ATTEMPTS = datetime.timedelta(days=1)
#: The only message for a wrong name or password, so that it does not tell which one was wrong.
WRONG_CREDENTIALS = N_("Nome utente o password non corretti.")


class LoginRefused(Exception):
    """A login attempt failed; ``retry_after_seconds`` is set when attempts are throttled."""

    def __init__(self, message: str, retry_after_seconds: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds


# --- login -----------------------------------------------------------------------------------------


def address_key(address: str | None, secret_key: str) -> str:
    """The LoginAttempt key of a client address: a keyed hash, so addresses are not stored."""
    return f"addr:{keyed_digest(address, secret_key)}"


def pair_key(username: str, address: str | None, secret_key: str) -> str:
    """The LoginAttempt key of a user name tried from an address (a keyed hash of both): what a
    stranger's failures slow down is their own name-and-address pair, never the name everywhere."""
    name = printable((username or "").strip().lower())[:100]
    return "pair:" + keyed_digest(name + "\n" + (address or ""), secret_key)


def throttle_delay(failures: int, free: int) -> int:
    """Seconds to wait after ``failures`` failures, the first ``free - 1`` of which cost nothing:
    FIRST_DELAY_SECONDS, then twice as long at each failure, up to MAX_DELAY_SECONDS."""
    if failures < free:
        return 0
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** min(failures - free, 30))


def _duration(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(num)d secondo", "%(num)d secondi", seconds) % {"num": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(num)d minuto", "%(num)d minuti", minutes) % {"num": minutes}


async def _wait(key: str, free: int, now: datetime.datetime) -> int:
    """Seconds until ``key`` may try again (0: now), from its failures within THROTTLE_WINDOW."""
    recent = [
        LoginAttempt.key == key,
        LoginAttempt.succeeded.eq(False),
        LoginAttempt.at > now - THROTTLE_WINDOW,
    ]
    failures = await LoginAttempt.count().where(*recent)
    delay = throttle_delay(failures, free)
    if not delay:
        return 0
    latest = (
        await LoginAttempt.select(LoginAttempt.at)
        .where(*recent)
        .order_by(LoginAttempt.at, ascending=False)
        .first()
    )
    return max(0, math.ceil((latest["at"] + datetime.timedelta(seconds=delay) - now).total_seconds()))


async def reserve_attempt(username: str, address: str | None, secret_key: str) -> list[int]:
    """Count one more failed attempt for the name from the address, and for the address, unless one
    of them must still wait (LoginRefused then, with the seconds to wait); return the ids of the
    rows, for :func:`attempt_succeeded` when the password (or code) proves right.

    The check and the rows happen in one locked transaction, before anything is checked: attempts
    made at once are counted one after the other, and only the first of them is not made to wait.
    """
    keys = [pair_key(username, address, secret_key), address_key(address, secret_key)]
    async with write_transaction():
        await lock(*keys)
        now = utc_now()
        wait = max(await _wait(keys[0], 1, now), await _wait(keys[1], ADDRESS_FAILURES, now))
        if wait:
            raise LoginRefused(
                _("Troppi tentativi di accesso non riusciti: riprova tra %(wait)s.")
                % {"wait": _duration(wait)},
                retry_after_seconds=wait,
            )
        rows = await LoginAttempt.insert(
            *(LoginAttempt(key=key, succeeded=False, at=now) for key in keys)
        ).returning(LoginAttempt.id)
    return [row["id"] for row in rows]


async def attempt_failed(attempt: list[int]) -> None:
    """Date the attempt's failure now, when it is known: the wait runs from the answer, not from
    the start of a password check that took a while."""
    await LoginAttempt.update({LoginAttempt.at: utc_now()}).where(LoginAttempt.id.is_in(attempt))


async def attempt_succeeded(attempt: list[int], forget_failures: bool = True) -> None:
    """Mark the attempt's rows as succeeded and, unless ``forget_failures`` is false (a password
    right but a code still to come), forget the earlier failures of its name and address."""
    async with write_transaction():
        rows = await LoginAttempt.select(LoginAttempt.key).where(LoginAttempt.id.is_in(attempt))
        pairs = [row["key"] for row in rows if row["key"].startswith("pair:")]
        await LoginAttempt.update({LoginAttempt.succeeded: True}).where(LoginAttempt.id.is_in(attempt))
        if pairs and forget_failures:
            await LoginAttempt.delete().where(LoginAttempt.key.is_in(pairs), LoginAttempt.succeeded.eq(False))
        await LoginAttempt.delete().where(LoginAttempt.at < utc_now() - KEEP_ATTEMPTS)


async def authenticate(username: str, password: str, address: str | None, secret_key: str) -> dict:
    """The staff member whose name and password these are (with ``two_factor``: whether a code is
    still to be asked), or LoginRefused.

    Each failure for a name from an address makes the next attempt for that pair wait (1 s, 2 s,
    4 s... up to MAX_DELAY_SECONDS), even with the right password; failures from other addresses
    never slow it down. An address with ADDRESS_FAILURES failures, whatever the names, waits too.
    """
    username = (username or "").strip().lower()
    attempt = await reserve_attempt(username, address, secret_key)  # a failure until proven right
    valid = USERNAME.match(username) is not None  # no account has another shape: no need to look
    user = await StaffUser.select().where(StaffUser.username == username).first() if valid else None
    matches = await asyncio.to_thread(password_matches, user, password)
    if user is None or not matches:
        await attempt_failed(attempt)
        raise LoginRefused(_(WRONG_CREDENTIALS))
    if not user["active"]:
        await attempt_succeeded(attempt)  # the password was right: nothing to slow down
        raise LoginRefused(_("Questo account è disattivato: rivolgiti a un amministratore."))
    if needs_rehash(user["password_hash"]):  # the parameters have been raised since
        new_hash = await asyncio.to_thread(hash_password, password)
        await StaffUser.update({StaffUser.password_hash: new_hash}).where(StaffUser.id == user["id"])
    # with two-factor login, only the right code forgets the earlier failures
    await attempt_succeeded(attempt, forget_failures=user["totp_secret"] is None)
    return {**staff_summary(user), "two_factor": user["totp_secret"] is not None}


async def two_factor_required() -> bool:
    """Whether an admin requires two-factor login of every member."""
    policy = await AccountPolicy.select(AccountPolicy.require_two_factor).first()
    return bool(policy and policy["require_two_factor"])


# --- sessions --------------------------------------------------------------------------------------


async def open_session(user_id: int, user_agent: str = "", second_factor_pending: bool = False) -> str:
    """Start a session for a staff member; return its token (for the cookie: only its hash is stored).

    A session whose second factor is pending logs nobody in: it only lets the code page find the
    member, for SECOND_FACTOR_TIME. A full session records the login time.
    """
    token = secrets.token_urlsafe(32)
    now = utc_now()
    lifetime = SECOND_FACTOR_TIME if second_factor_pending else SESSION_LIFETIME
    async with write_transaction():
        await StaffSession.delete().where(StaffSession.expires_at <= now)
        await StaffSession.insert(
            StaffSession(
                token_hash=token_digest(token),
                user=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + lifetime,
                user_agent=printable(user_agent or "")[:200],
                second_factor_pending=second_factor_pending,
            )
        )
        if not second_factor_pending:
            await StaffUser.update({StaffUser.last_login_at: now}).where(StaffUser.id == user_id)
    return token


async def _session_row(token: str | None) -> dict | None:
    if not token or len(token) > 100:
        return None
    row = (
        await StaffSession.select(
            StaffSession.id,
            StaffSession.expires_at,
            StaffSession.last_seen_at,
            StaffSession.second_factor_pending,
            StaffSession.user.id.as_alias("user_id"),
            StaffSession.user.username.as_alias("username"),
            StaffSession.user.display_name.as_alias("display_name"),
            StaffSession.user.role.as_alias("role"),
            StaffSession.user.active.as_alias("active"),
            StaffSession.user.totp_secret.as_alias("totp_secret"),
        )
        .where(StaffSession.token_hash == token_digest(token))
        .first()
    )
    if row is None:
        return None
    if row["expires_at"] <= utc_now():
        await StaffSession.delete().where(StaffSession.id == row["id"])
        return None
    if not row["active"] or row["role"] not in ROLES:
        return None
    return row


async def session_staff(token: str | None) -> dict | None:
    """The staff member of a session token, or None when it is unknown, expired, waiting for its
    second factor, or the account disabled. Besides id, username, display_name and role, the dict
    says ``session_id``, ``two_factor`` (whether the member uses it) and ``must_enrol`` (two-factor
    is required and the member has none yet).

    A session used when less than half of its lifetime is left is extended to a full lifetime.
    """
    row = await _session_row(token)
    if row is None or row["second_factor_pending"]:
        return None
    now = utc_now()
    changes: dict[Any, Any] = {}
    if row["expires_at"] - now < SESSION_LIFETIME / 2:
        changes[StaffSession.expires_at] = now + SESSION_LIFETIME
    if row["last_seen_at"] is None or now - row["last_seen_at"] >= LAST_SEEN_STEP:
        changes[StaffSession.last_seen_at] = now
    if changes:
        await StaffSession.update(changes).where(StaffSession.id == row["id"])
    two_factor = row["totp_secret"] is not None
    return {
        **staff_summary({**row, "id": row["user_id"]}),
        "session_id": row["id"],
        "two_factor": two_factor,
        "must_enrol": not two_factor and await two_factor_required(),
    }


async def pending_login(token: str | None) -> dict | None:
    """The staff member whose session of ``token`` waits for a two-factor code, or None."""
    row = await _session_row(token)
    if row is None or not row["second_factor_pending"] or row["totp_secret"] is None:
        return None
    return {**staff_summary({**row, "id": row["user_id"]}), "session_id": row["id"]}


async def close_session(token: str | None) -> None:
    """End the session of ``token`` (nothing happens for an unknown one)."""
    if token:
        await StaffSession.delete().where(StaffSession.token_hash == token_digest(token))
