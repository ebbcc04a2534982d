"""Staff accounts of the editorial office: passwords, account creation, the audit log.

Login, its throttling and sessions are in login.py.
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

from observatory.accounts.tables import ROLES, AuditEntry, StaffUser
from observatory.database import lock, write_transaction
from observatory.i18n import _
from observatory.text import clean, has_control_characters, printable

USERNAME = re.compile(r"^[a-z0-9._-]{3,60}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
#: Who the audit log names for actions from the command line.
COMMAND_LINE = "riga di comando"

# argon2id with the parameters RFC 9106 recommends for constrained memory (64 MiB, 3 passes).
_hasher = PasswordHasher()


class StaffError(Exception):
    """A staff account cannot be created or changed as asked; ``message`` says why, in Italian, and
    ``field`` names the form field it is about (None: the whole request)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NameTaken(StaffError):
    """An account with this user name exists already (``username``)."""

    def __init__(self, username: str):
        super().__init__(_("Esiste già un utente «%(name)s».") % {"name": username}, "username")
        self.username = username


def utc_now() -> datetime.datetime:
    """The time now, in UTC."""
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


def needs_rehash(password_hash: str) -> bool:
    """Whether ``password_hash`` was made with weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def password_matches(user: dict | None, password: str) -> bool:
    """Whether ``password`` is the one of the account row ``user`` (False for None)."""
    # An unknown user name is checked against a dummy hash, so it takes as long as a known one.
    return verify_password(user["password_hash"] if user else _dummy_hash(), password[:MAX_PASSWORD])


def check_new_password(username: str, password: str, field: str = "password") -> None:
    """StaffError (about ``field``) when ``password`` may not be chosen for ``username``."""
    if len(password) < MIN_PASSWORD:
        raise StaffError(
            _("La password deve avere almeno %(count)s caratteri.") % {"count": MIN_PASSWORD}, field
        )
    if len(password) > MAX_PASSWORD:
        raise StaffError(
            _("La password può avere al massimo %(count)s caratteri.") % {"count": MAX_PASSWORD}, field
        )
    if password.strip().lower() == username:
        raise StaffError(_("La password non può essere uguale al nome utente."), field)
    if has_control_characters(password):
        raise StaffError(_("La password non può contenere caratteri di controllo."), field)


# --- accounts --------------------------------------------------------------------------------------


def staff_summary(row: dict) -> dict:
    """The staff dict of an account row: id, username, display_name, role."""
    return {key: row[key] for key in ("id", "username", "display_name", "role")}


def check_account_fields(display_name: str, email: str | None, role: str) -> None:
    """StaffError, naming the field, when a display name, e-mail address or role is not valid."""
    if has_control_characters(display_name):
        raise StaffError(_("Il nome non può contenere caratteri di controllo."), "nome")
    if not display_name or len(display_name) > 120:
        raise StaffError(
            _("Il nome da mostrare è obbligatorio e può avere al massimo 120 caratteri."), "nome"
        )
    if email and has_control_characters(email):
        raise StaffError(_("L'indirizzo e-mail non può contenere caratteri di controllo."), "email")
    if email and (len(email) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        raise StaffError(_("«%(email)s» non è un indirizzo e-mail valido.") % {"email": email}, "email")
    if role not in ROLES:
        raise StaffError(
            _("Ruolo «%(role)s» sconosciuto: i ruoli sono %(roles)s.")
            % {"role": role, "roles": ", ".join(ROLES)},
            "ruolo",
        )


def check_username(username: str) -> str:
    """``username`` in lower case; StaffError when it has not the shape of a user name."""
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise StaffError(
            _(
                "Nome utente «%(name)s» non valido: da 3 a 60 caratteri tra lettere minuscole, cifre, "
                "punto, trattino e trattino basso."
            )
            % {"name": printable(username)[:80]},
            "username",
        )
    return username


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
    username = check_username(username)
    display_name = clean(display_name) or ""
    email = (email or "").strip() or None
    check_account_fields(display_name, email, role)
    check_new_password(username, password)
    password_hash = await asyncio.to_thread(hash_password, password)
    account = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "email": email,
        "active": True,
    }
    async with write_transaction():
        await lock(f"accounts:name:{username}")
        if await StaffUser.exists().where(StaffUser.username == username):
            raise NameTaken(username)
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
            at=utc_now(),
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
