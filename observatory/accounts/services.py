"""Staff accounts of the editorial office: passwords, login throttling, sessions, the audit log.

Logins are not audit entries: every attempt is a LoginAttempt row, which throttling counts.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import secrets
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from observatory.accounts.tables import ROLES, AuditEntry, LoginAttempt, StaffSession, StaffUser
from observatory.database import lock, write_transaction
from observatory.digests import keyed_digest, token_digest
from observatory.text import clean, has_control_characters, printable

USERNAME = re.compile(r"^[a-z0-9._-]{3,60}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
#: A session ends after this long without use (each use renews it once half has passed).
SESSION_LIFETIME = datetime.timedelta(hours=8)
#: Failed logins are counted over this window: per user name, and per address.
THROTTLE_WINDOW = datetime.timedelta(minutes=15)
USER_FAILURES = 5
ADDRESS_FAILURES = 20
KEEP_ATTEMPTS = datetime.timedelta(days=1)
#: The only message for a wrong name or password, so that it does not tell which one was wrong.
WRONG_CREDENTIALS = "Nome utente o password non corretti."
#: Who the audit log names for actions from the command line.
COMMAND_LINE = "riga di comando"

# argon2id with the parameters RFC 9106 recommends for constrained memory (64 MiB, 3 passes).
_hasher = PasswordHasher()


class StaffError(Exception):
    """A staff account cannot be created as asked; ``message`` says why, in Italian."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LoginRefused(Exception):
    """A login attempt failed; ``retry_after_seconds`` is set when attempts are throttled."""

    def __init__(self, message: str, retry_after_seconds: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# --- passwords -------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (with its salt and parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _password_matches(user: dict | None, password: str) -> bool:
    # An unknown user name is checked against a dummy hash, so it takes as long as a known one.
    return verify_password(user["password_hash"] if user else _dummy_hash(), password[:MAX_PASSWORD])


# --- accounts --------------------------------------------------------------------------------------


def _staff(row: dict) -> dict:
    return {key: row[key] for key in ("id", "username", "display_name", "role")}


async def create_staff(
    username: str,
    display_name: str,
    role: str,
    password: str,
    email: str | None = None,
    *,
    actor: dict | None = None,
) -> dict:
    """Create a staff account and audit it ("utente.crea"); raise StaffError when a value is not valid.

    ``actor`` is the staff member who creates it (None for the command line).
    """
    username = (username or "").strip().lower()
    display_name = clean(display_name) or ""
    email = (email or "").strip() or None
    if not USERNAME.match(username):
        raise StaffError(
            f"Nome utente «{username}» non valido: da 3 a 60 caratteri tra lettere minuscole, "
            "cifre, punto, trattino e trattino basso."
        )
    if not display_name or len(display_name) > 120:
        raise StaffError("Il nome da mostrare è obbligatorio e può avere al massimo 120 caratteri.")
    if has_control_characters(display_name) or (email and has_control_characters(email)):
        raise StaffError("Il nome e l'indirizzo e-mail non possono contenere caratteri di controllo.")
    if role not in ROLES:
        raise StaffError(f"Ruolo «{role}» sconosciuto: i ruoli sono {', '.join(ROLES)}.")
    if email and (len(email) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        raise StaffError(f"«{email}» non è un indirizzo e-mail valido.")
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"La password deve avere almeno {MIN_PASSWORD} caratteri.")
    if len(password) > MAX_PASSWORD:
        raise StaffError(f"La password può avere al massimo {MAX_PASSWORD} caratteri.")
    if password.strip().lower() == username:
        raise StaffError("La password non può essere uguale al nome utente.")
    if await StaffUser.exists().where(StaffUser.username == username):
        raise StaffError(f"Esiste già un utente «{username}».")
    password_hash = await asyncio.to_thread(hash_password, password)
    account = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "email": email,
        "active": True,
    }
    async with write_transaction():
        rows = await StaffUser.insert(StaffUser(**account, password_hash=password_hash))
        await record_audit(
            actor,
            "utente.crea",
            "utente",
            username,
            f"Creato l'utente «{username}» ({display_name}, {ROLES[role].lower()})",
            after=account,
        )
    return {"id": rows[0]["id"], **account}


async def staff_members() -> list[dict]:
    """Every staff account (without password hashes), by name."""
    return await StaffUser.select(
        StaffUser.id, StaffUser.username, StaffUser.display_name, StaffUser.role, StaffUser.active
    ).order_by(StaffUser.display_name)


# --- login -----------------------------------------------------------------------------------------


def address_key(address: str | None, secret_key: str) -> str:
    """The LoginAttempt key of a client address: a keyed hash, so addresses are not stored."""
    return f"addr:{keyed_digest(address, secret_key)}"


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return "1 minuto" if minutes == 1 else f"{minutes} minuti"


async def _throttled(keys_and_limits: list[tuple[str, int]], now: datetime.datetime) -> int | None:
    """Seconds until a new attempt is allowed, when any key has reached its limit of failures."""
    waits = []
    for key, limit in keys_and_limits:
        failures = (
            await LoginAttempt.select(LoginAttempt.at)
            .where(
                LoginAttempt.key == key,
                LoginAttempt.succeeded.eq(False),
                LoginAttempt.at > now - THROTTLE_WINDOW,
            )
            .order_by(LoginAttempt.at, ascending=False)
            .limit(limit)
        )
        if len(failures) >= limit:  # allowed again when the limit-th latest failure leaves the window
            waits.append(int((failures[-1]["at"] + THROTTLE_WINDOW - now).total_seconds()) + 1)
    return max(waits) if waits else None


async def _reserve_attempt(keys: list[str]) -> list[int]:
    """Count one more failed attempt against every key, unless one has reached its limit
    (LoginRefused then); return the ids of the rows, to mark them succeeded if the password is right.

    The check and the rows happen in one locked transaction, before the password is checked: any
    number of attempts at once are counted one after the other, and at most the limit get through.
    """
    async with write_transaction():
        await lock(*keys)
        wait = await _throttled([(keys[0], USER_FAILURES), (keys[1], ADDRESS_FAILURES)], _now())
        if wait is not None:
            raise LoginRefused(
                f"Troppi tentativi di accesso non riusciti: riprova tra {_minutes(wait)}.",
                retry_after_seconds=wait,
            )
        rows = await LoginAttempt.insert(
            *(LoginAttempt(key=key, succeeded=False, at=_now()) for key in keys)
        ).returning(LoginAttempt.id)
    return [row["id"] for row in rows]


async def authenticate(username: str, password: str, address: str | None, secret_key: str) -> dict:
    """The staff member whose name and password these are, or LoginRefused.

    After USER_FAILURES failures for one user name, or ADDRESS_FAILURES from one address, within
    THROTTLE_WINDOW, every attempt is refused (even with the right password) until the window passes.
    """
    username = (username or "").strip().lower()
    keys = [f"user:{printable(username)[:100]}", address_key(address, secret_key)]
    attempt = await _reserve_attempt(keys)  # counted as failed until the password proves right
    valid = USERNAME.match(username) is not None  # no account has another shape: no need to look
    user = await StaffUser.select().where(StaffUser.username == username).first() if valid else None
    matches = await asyncio.to_thread(_password_matches, user, password)
    if user is None or not matches:
        raise LoginRefused(WRONG_CREDENTIALS)
    if not user["active"]:
        raise LoginRefused("Questo account è disattivato: rivolgiti a un amministratore.")
    now = _now()
    changes: dict[Any, Any] = {StaffUser.last_login_at: now}
    if _hasher.check_needs_rehash(user["password_hash"]):  # the parameters have been raised since
        changes[StaffUser.password_hash] = await asyncio.to_thread(hash_password, password)
    async with write_transaction():
        await StaffUser.update(changes).where(StaffUser.id == user["id"])
        await LoginAttempt.update({LoginAttempt.succeeded: True}).where(LoginAttempt.id.is_in(attempt))
        await LoginAttempt.delete().where(LoginAttempt.at < now - KEEP_ATTEMPTS)
    return _staff(user)


# --- sessions --------------------------------------------------------------------------------------


async def open_session(user_id: int) -> str:
    """Start a session for a staff member; return its token (for the cookie: only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = _now()
    async with write_transaction():
        await StaffSession.delete().where(StaffSession.expires_at <= now)
        await StaffSession.insert(
            StaffSession(
                token_hash=token_digest(token),
                user=user_id,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return token


async def session_staff(token: str | None) -> dict | None:
    """The staff member of a session token, or None when it is unknown, expired or the account disabled.

    A session used when less than half of its lifetime is left is extended to a full lifetime.
    """
    if not token or len(token) > 100:
        return None
    row = (
        await StaffSession.select(
            StaffSession.id,
            StaffSession.expires_at,
            StaffSession.user.id.as_alias("user_id"),
            StaffSession.user.username.as_alias("username"),
            StaffSession.user.display_name.as_alias("display_name"),
            StaffSession.user.role.as_alias("role"),
            StaffSession.user.active.as_alias("active"),
        )
        .where(StaffSession.token_hash == token_digest(token))
        .first()
    )
    now = _now()
    if row is None:
        return None
    if row["expires_at"] <= now:
        await StaffSession.delete().where(StaffSession.id == row["id"])
        return None
    if not row["active"] or row["role"] not in ROLES:
        return None
    if row["expires_at"] - now < SESSION_LIFETIME / 2:
        await StaffSession.update({StaffSession.expires_at: now + SESSION_LIFETIME}).where(
            StaffSession.id == row["id"]
        )
    return _staff({**row, "id": row["user_id"]})


async def close_session(token: str | None) -> None:
    """End the session of ``token`` (nothing happens for an unknown one)."""
    if token:
        await StaffSession.delete().where(StaffSession.token_hash == token_digest(token))


# --- audit log -------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """``value`` as JSON data: dates, decimals and the like become strings."""
    return None if value is None else json.loads(json.dumps(value, default=str, ensure_ascii=False))


async def record_audit(
    actor: dict | None,
    action: str,
    object_type: str,
    object_id: str,
    summary: str,
    before: Any = None,
    after: Any = None,
) -> None:
    """Write one entry of the audit log (inside the transaction of the action it describes).

    ``actor`` is the staff dict of who acted, None for the command line; ``before`` and ``after``
    are the object's data (JSON-like) before and after the action. Every ``action`` needs its
    Italian name in ``observatory/audit/names.py`` (tests/test_audit_log.py checks).
    """
    await AuditEntry.insert(
        AuditEntry(
            at=_now(),
            actor=actor["id"] if actor else None,
            actor_name=actor["display_name"] if actor else COMMAND_LINE,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            summary=summary,
            before=_plain(before),
            after=_plain(after),
        )
    )
