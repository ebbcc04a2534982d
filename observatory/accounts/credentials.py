"""Passwords after the first one: one-time links to choose a new password (made by an admin or the
command line), a member's change of their own password, and a member's own sessions."""

from __future__ import annotations

import asyncio
import datetime
import secrets

from observatory.accounts.lifecycle import find_account
from observatory.accounts.login import attempt_failed, attempt_succeeded, reserve_attempt
from observatory.accounts.services import (
    StaffError,
    check_new_password,
    hash_password,
    password_matches,
    record_audit,
    staff_summary,
    utc_now,
)
from observatory.accounts.tables import PasswordReset, StaffSession, StaffUser
from observatory.database import lock, write_transaction
from observatory.digests import token_digest
from observatory.i18n import _
from observatory.mail.outbox import enqueue
from observatory.settings import Settings
from observatory.text import italian_datetime

#: A reset link works this long after it is made.
RESET_LIFETIME = datetime.timedelta(hours=24)
#: Where a reset link leads; the token follows.
RESET_PATH = "/redazione/nuova-password/"


class ResetLinkRefused(Exception):
    """A reset link cannot be used; ``message`` says why, in Italian; ``known``: the link existed."""

    def __init__(self, message: str, known: bool = True):
        super().__init__(message)
        self.message = message
        self.known = known


async def issue_reset_link(
    user_id: int, actor: dict | None, settings: Settings, created: bool = False
) -> dict:
    """Make a one-time link to choose a new password for an account, valid for RESET_LIFETIME;
    earlier unused links of the account stop working ("utente.link_password"). When the account has
    an e-mail address and the site sends mail, the link is mailed in the same transaction.

    The dict is the account's (find_account) with ``url``, ``expires_at`` and ``mailed_to`` (the
    address it was mailed to, or None: then only the admin who asked sees it). ``created``: the
    account is new, and the message says so."""
    token = secrets.token_urlsafe(32)
    now = utc_now()
    expires_at = now + RESET_LIFETIME
    async with write_transaction():
        await lock(f"accounts:reset:{user_id}")
        account = await find_account(user_id)
        name = account["username"]
        if not account["active"]:
            raise StaffError(
                _("L'account «%(name)s» è disattivato: riattivalo prima di mandargli un link.")
                % {"name": name}
            )
        replaced = (
            await PasswordReset.update({PasswordReset.replaced_at: now})
            .where(
                PasswordReset.user == user_id,
                PasswordReset.used_at.is_null(),
                PasswordReset.replaced_at.is_null(),
                PasswordReset.expires_at > now,
            )
            .returning(PasswordReset.id)
        )
        await PasswordReset.insert(
            PasswordReset(token_hash=token_digest(token), user=user_id, created_at=now, expires_at=expires_at)
        )
        url = settings.base_url + RESET_PATH + token
        mailed = bool(account["email"]) and await enqueue(
            settings,
            to=account["email"],
            subject=f"{settings.publisher_name}: "
            + ("il tuo account nella redazione" if created else "link per una nuova password"),
            template="link_password",
            context={
                "name": account["display_name"],
                "username": name,
                "url": url,
                "expires": italian_datetime(expires_at),
                "created": created,
            },
            kind="link_password",
            reference=f"utente:{name}",
        )
        summary = f"Creato un link per scegliere una nuova password dell'utente «{name}»"
        if mailed:
            summary += f", inviato per e-mail a {account['email']}"
        if replaced:
            summary += " (quello di prima non vale più)"
        await record_audit(
            actor,
            "utente.link_password",
            "utente",
            name,
            summary,
            after={"scade": expires_at},
        )
    return {
        **account,
        "url": url,
        "expires_at": expires_at,
        "mailed_to": account["email"] if mailed else None,
    }


async def reset_link_account(token: str) -> dict:
    """The account a reset link is for (as find_account gives it); ResetLinkRefused saying why not
    when the link is unknown, used, replaced by a newer one, expired, or its account disabled."""
    row = None
    if token and len(token) <= 100:
        row = await PasswordReset.select().where(PasswordReset.token_hash == token_digest(token)).first()
    if row is None:
        raise ResetLinkRefused(
            _(
                "Questo link per scegliere la password non è valido: controlla di averlo copiato per "
                "intero, o chiedi un nuovo link a un amministratore."
            ),
            known=False,
        )
    if row["used_at"] is not None:
        raise ResetLinkRefused(
            _(
                "Questo link è già stato usato, e vale una volta sola: entra con la password che hai "
                "scelto, o chiedi un nuovo link a un amministratore."
            )
        )
    if row["replaced_at"] is not None:
        raise ResetLinkRefused(
            _("Questo link è stato sostituito da uno più recente: usa l'ultimo link che hai ricevuto.")
        )
    if row["expires_at"] <= utc_now():
        raise ResetLinkRefused(
            _("Questo link è scaduto (vale 24 ore): chiedi un nuovo link a un amministratore.")
        )
    account = await find_account(row["user"])
    if not account["active"]:
        raise ResetLinkRefused(_("Questo account è disattivato: rivolgiti a un amministratore."))
    return account


def _check_confirmation(password: str, confirmation: str, field: str) -> None:
    if password != confirmation:
        raise StaffError(_("Le due password non coincidono: scrivi la stessa password due volte."), field)


async def use_reset_link(token: str, password: str, confirmation: str) -> dict:
    """Set the password of a reset link's account and spend the link ("utente.password_reimpostata");
    every session of the account ends. ResetLinkRefused for a link that cannot be used (also when
    another request spent it first), StaffError (field ``password`` or ``conferma_password``) for a password
    that cannot be chosen."""
    account = await reset_link_account(token)
    check_new_password(account["username"], password, "password")
    _check_confirmation(password, confirmation, "conferma_password")
    password_hash = await asyncio.to_thread(hash_password, password)
    async with write_transaction():
        now = utc_now()
        spent = (
            await PasswordReset.update({PasswordReset.used_at: now})
            .where(
                PasswordReset.token_hash == token_digest(token),
                PasswordReset.used_at.is_null(),
                PasswordReset.replaced_at.is_null(),
                PasswordReset.expires_at > now,
            )
            .returning(PasswordReset.id)
        )
        if not spent:
            await reset_link_account(token)  # says why
            raise ResetLinkRefused(_("Questo link è già stato usato."))
        await StaffUser.update({StaffUser.password_hash: password_hash}).where(StaffUser.id == account["id"])
        await StaffSession.delete().where(StaffSession.user == account["id"])
        await record_audit(
            staff_summary(account),
            "utente.password_reimpostata",
            "utente",
            account["username"],
            f"L'utente «{account['username']}» ha scelto una nuova password con un link: sessioni chiuse",
        )
    return account


async def set_password(username: str, password: str) -> dict:
    """Set the password of the account ``username`` from the command line ("utente.password_reimpostata");
    its sessions and reset links end."""
    account = await find_account(username=username)
    check_new_password(account["username"], password)
    password_hash = await asyncio.to_thread(hash_password, password)
    async with write_transaction():
        now = utc_now()
        await StaffUser.update({StaffUser.password_hash: password_hash}).where(StaffUser.id == account["id"])
        await StaffSession.delete().where(StaffSession.user == account["id"])
        await PasswordReset.update({PasswordReset.replaced_at: now}).where(
            PasswordReset.user == account["id"],
            PasswordReset.used_at.is_null(),
            PasswordReset.replaced_at.is_null(),
        )
        await record_audit(
            None,
            "utente.password_reimpostata",
            "utente",
            account["username"],
            f"Nuova password per l'utente «{account['username']}» dalla riga di comando: sessioni chiuse",
        )
    return account


async def change_own_password(
    staff: dict, current: str, new: str, confirmation: str, address: str | None, secret_key: str
) -> None:
    """A member changes their own password ("utente.cambia_password"); their other sessions end.

    StaffError names the field: ``password_attuale`` (wrong; counted and slowed down like a failed
    login, LoginRefused when it must wait), ``nuova_password``, ``conferma_password``.
    """
    if not current:
        raise StaffError(_("Scrivi la password che usi ora."), "password_attuale")
    check_new_password(staff["username"], new, "nuova_password")
    _check_confirmation(new, confirmation, "conferma_password")
    if new == current:
        raise StaffError(
            _("La nuova password è uguale a quella di ora: scegline un'altra."), "nuova_password"
        )
    attempt = await reserve_attempt(staff["username"], address, secret_key)
    user = await StaffUser.select(StaffUser.password_hash).where(StaffUser.id == staff["id"]).first()
    if not await asyncio.to_thread(password_matches, user, current):
        await attempt_failed(attempt)
        raise StaffError(_("La password attuale non è corretta."), "password_attuale")
    await attempt_succeeded(attempt)
    password_hash = await asyncio.to_thread(hash_password, new)
    async with write_transaction():
        await StaffUser.update({StaffUser.password_hash: password_hash}).where(StaffUser.id == staff["id"])
        await StaffSession.delete().where(
            StaffSession.user == staff["id"], StaffSession.id != staff["session_id"]
        )
        await record_audit(
            staff,
            "utente.cambia_password",
            "utente",
            staff["username"],
            f"L'utente «{staff['username']}» ha cambiato la sua password: le altre sue sessioni sono chiuse",
        )


# --- a member's own sessions -----------------------------------------------------------------------


async def own_sessions(user_id: int) -> list[dict]:
    """The member's open sessions, the most recently used first: id, created_at, last_seen_at, user_agent."""
    return await (
        StaffSession.select(
            StaffSession.id, StaffSession.created_at, StaffSession.last_seen_at, StaffSession.user_agent
        )
        .where(
            StaffSession.user == user_id,
            StaffSession.second_factor_pending.eq(False),
            StaffSession.expires_at > utc_now(),
        )
        .order_by(StaffSession.last_seen_at, ascending=False)
    )


async def end_own_session(user_id: int, session_id: int) -> bool:
    """End one of the member's sessions; False when they have no such session."""
    ended = (
        await StaffSession.delete()
        .where(StaffSession.id == session_id, StaffSession.user == user_id)
        .returning(StaffSession.id)
    )
    return bool(ended)
