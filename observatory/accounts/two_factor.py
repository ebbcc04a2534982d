"""Two-factor login with time-based codes (TOTP, RFC 6238: 6 digits, 30-second steps, SHA-1, as
every authenticator app reads them) and single-use recovery codes.

A code is accepted for the current step and one step either side (clocks drift), and only for a
step later than the last one accepted on the account: a code seen once cannot be used again. The
QR code of the enrolment page is drawn here (segno, SVG), so the secret never leaves the site.
"""

from __future__ import annotations

import asyncio
import datetime
import hmac
import re
import secrets

import pyotp
import segno

from observatory.accounts.login import (
    LoginRefused,
    attempt_failed,
    attempt_succeeded,
    reserve_attempt,
    two_factor_required,
)
from observatory.accounts.services import (
    StaffError,
    password_matches,
    record_audit,
    utc_now,
)
from observatory.accounts.tables import RecoveryCode, StaffUser
from observatory.database import write_transaction
from observatory.digests import token_digest
from observatory.i18n import N_, _

#: The name authenticator apps show beside the account.
ISSUER = "Osservatorio"
RECOVERY_CODES = 10
#: Letters and digits of recovery codes, without those easily confused (0/o, 1/l/i).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10
#: How many steps either side of the current one a code may be from.
WINDOW = 1
TOTP_CODE = re.compile(r"^\d{6}$")
WRONG_CODE = N_(
    "Codice non valido: controlla l'app e scrivi il codice che mostra ora, o un codice di recupero."
)


def _normal(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _recovery_code() -> str:
    code = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{code[:5]}-{code[5:]}"


def _matching_step(secret: str, code: str, now: datetime.datetime) -> int | None:
    """The time step within WINDOW of ``now`` whose code is ``code``, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


async def _claim_step(user_id: int, step: int) -> bool:
    """Record ``step`` as the account's last accepted step, unless it is not later than that one
    (a replay); atomic, so two requests with one code cannot both pass."""
    claimed = (
        await StaffUser.update({StaffUser.totp_last_step: step})
        .where(
            StaffUser.id == user_id,
            StaffUser.totp_last_step.is_null() | (StaffUser.totp_last_step < step),
        )
        .returning(StaffUser.id)
    )
    return bool(claimed)


def qr_code(uri: str) -> str:
    """The QR code of ``uri`` as an SVG data: URI (for an <img>: the pages' policy allows data: images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


async def enrolment(staff: dict) -> dict:
    """What the enrolment page shows: the secret (grouped by four, to type into an app), its
    otpauth:// URI and that URI's QR code. The secret stays the same until it is confirmed, so
    reloading the page or a second tab shows the same one."""
    row = await StaffUser.select(StaffUser.totp_pending_secret).where(StaffUser.id == staff["id"]).first()
    if row["totp_pending_secret"] is None:
        await StaffUser.update({StaffUser.totp_pending_secret: pyotp.random_base32()}).where(
            StaffUser.id == staff["id"], StaffUser.totp_pending_secret.is_null()
        )
        row = await StaffUser.select(StaffUser.totp_pending_secret).where(StaffUser.id == staff["id"]).first()
    secret = row["totp_pending_secret"]
    uri = pyotp.TOTP(secret).provisioning_uri(name=staff["username"], issuer_name=ISSUER)
    return {"secret": _grouped(secret), "uri": uri, "qr": qr_code(uri)}


async def _new_recovery_codes(user_id: int) -> list[str]:
    """Replace the account's recovery codes with RECOVERY_CODES new ones (inside a transaction)."""
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    await RecoveryCode.delete().where(RecoveryCode.user == user_id)
    await RecoveryCode.insert(
        *(RecoveryCode(user=user_id, code_hash=token_digest(_normal(c))) for c in codes)
    )
    return codes


async def confirm_enrolment(staff: dict, code: str) -> list[str]:
    """Turn two-factor login on with the secret shown at enrolment, once ``code`` proves that the app
    has it ("utente.due_fattori_attiva"); return the recovery codes, to show once. StaffError
    (field ``codice``) for a wrong code."""
    code = _normal(code)
    row = (
        await StaffUser.select(StaffUser.totp_pending_secret, StaffUser.totp_secret)
        .where(StaffUser.id == staff["id"])
        .first()
    )
    if row["totp_secret"] is not None:
        raise StaffError(_("La verifica in due passaggi è già attiva per il tuo account."))
    secret = row["totp_pending_secret"]
    step = _matching_step(secret, code, utc_now()) if secret and TOTP_CODE.match(code) else None
    if step is None:
        raise StaffError(
            _(
                "Il codice non corrisponde: controlla che l'app mostri «Osservatorio» con il tuo nome "
                "utente e scrivi le 6 cifre che mostra ora."
            ),
            "codice",
        )
    async with write_transaction():
        confirmed = (
            await StaffUser.update(
                {
                    StaffUser.totp_secret: secret,
                    StaffUser.totp_pending_secret: None,
                    StaffUser.totp_last_step: step,
                }
            )
            .where(
                StaffUser.id == staff["id"],
                StaffUser.totp_pending_secret == secret,
                StaffUser.totp_secret.is_null(),
            )
            .returning(StaffUser.id)
        )
        if not confirmed:
            raise StaffError(_("La verifica in due passaggi è già stata attivata da un'altra pagina."))
        codes = await _new_recovery_codes(staff["id"])
        await record_audit(
            staff,
            "utente.due_fattori_attiva",
            "utente",
            staff["username"],
            f"L'utente «{staff['username']}» ha attivato la verifica in due passaggi",
            before={"due_fattori": False},
            after={"due_fattori": True},
        )
    return codes


async def _use_recovery_code(staff: dict, code: str) -> bool:
    """Spend one of the account's unused recovery codes ("utente.codice_recupero"); False if ``code``
    is none of them (or was spent already)."""
    async with write_transaction():
        spent = (
            await RecoveryCode.update({RecoveryCode.used_at: utc_now()})
            .where(
                RecoveryCode.user == staff["id"],
                RecoveryCode.code_hash == token_digest(code),
                RecoveryCode.used_at.is_null(),
            )
            .returning(RecoveryCode.id)
        )
        if not spent:
            return False
        left = await RecoveryCode.count().where(
            RecoveryCode.user == staff["id"], RecoveryCode.used_at.is_null()
        )
        await record_audit(
            staff,
            "utente.codice_recupero",
            "utente",
            staff["username"],
            f"L'utente «{staff['username']}» è entrato con un codice di recupero (ne restano {left})",
        )
    return True


async def _second_factor_error(staff: dict, code: str) -> str | None:
    """Why ``code`` does not complete the login (None: it does, and it is now spent)."""
    row = await StaffUser.select(StaffUser.totp_secret).where(StaffUser.id == staff["id"]).first()
    if row is None or row["totp_secret"] is None:
        return _(WRONG_CODE)
    if TOTP_CODE.match(code):
        step = _matching_step(row["totp_secret"], code, utc_now())
        if step is None:
            return _(WRONG_CODE)
        if not await _claim_step(staff["id"], step):
            return _("Questo codice è già stato usato: aspetta che l'app ne mostri uno nuovo.")
        return None
    if len(code) != RECOVERY_LENGTH or not await _use_recovery_code(staff, code):
        return _(WRONG_CODE)
    return None


async def check_second_factor(staff: dict, code: str, address: str | None, secret_key: str) -> None:
    """Check the code of the second login step: an app code or a recovery code. Each wrong code is
    counted and slowed down like a wrong password (LoginRefused: why, or how long to wait)."""
    attempt = await reserve_attempt(staff["username"], address, secret_key)
    error = await _second_factor_error(staff, _normal(code))
    if error is not None:
        await attempt_failed(attempt)
        raise LoginRefused(error)
    await attempt_succeeded(attempt)


async def recovery_codes_left(user_id: int) -> int:
    """How many unused recovery codes the account has."""
    return await RecoveryCode.count().where(RecoveryCode.user == user_id, RecoveryCode.used_at.is_null())


async def _check_password(staff: dict, password: str) -> None:
    user = await StaffUser.select(StaffUser.password_hash).where(StaffUser.id == staff["id"]).first()
    if not password or not await asyncio.to_thread(password_matches, user, password):
        raise StaffError(_("La password non è corretta."), "password")


async def replace_recovery_codes(staff: dict, password: str) -> list[str]:
    """New recovery codes for the member (the old ones stop working), after their password
    ("utente.codici_recupero"); StaffError (field ``password``) for a wrong one."""
    await _check_password(staff, password)
    async with write_transaction():
        codes = await _new_recovery_codes(staff["id"])
        await record_audit(
            staff,
            "utente.codici_recupero",
            "utente",
            staff["username"],
            f"L'utente «{staff['username']}» ha chiesto nuovi codici di recupero: "
            "i precedenti non valgono più",
        )
    return codes


async def turn_off(staff: dict, password: str) -> None:
    """The member turns their two-factor login off, after their password ("utente.due_fattori_disattiva");
    StaffError when the office requires it or the password is wrong."""
    if await two_factor_required():
        raise StaffError(
            _(
                "La redazione richiede la verifica in due passaggi a tutti: non puoi disattivarla. Se "
                "hai cambiato telefono, chiedi a un amministratore di azzerarla e attivala di nuovo."
            )
        )
    await _check_password(staff, password)
    async with write_transaction():
        await StaffUser.update(
            {StaffUser.totp_secret: None, StaffUser.totp_pending_secret: None, StaffUser.totp_last_step: None}
        ).where(StaffUser.id == staff["id"])
        await RecoveryCode.delete().where(RecoveryCode.user == staff["id"])
        await record_audit(
            staff,
            "utente.due_fattori_disattiva",
            "utente",
            staff["username"],
            f"L'utente «{staff['username']}» ha disattivato la verifica in due passaggi",
            before={"due_fattori": True},
            after={"due_fattori": False},
        )
