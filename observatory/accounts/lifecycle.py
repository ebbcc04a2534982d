"""The life of a staff account, as admins and the command line change it: list, edit (name, e-mail,
role), disable and re-enable, clear two-factor; and the office's account policy.

Every change is audited in its own transaction, checked against the version the admin saw, and
takes ADMINS_LOCK first: the check that at least one active admin remains and the change it allows
are atomic, so two admins demoting each other at once leave one of them admin.
"""

from __future__ import annotations

from typing import Any

from observatory.accounts.services import (
    COMMAND_LINE,
    StaffError,
    check_account_fields,
    record_audit,
    utc_now,
)
from observatory.accounts.tables import (
    ROLES,
    AccountPolicy,
    RecoveryCode,
    StaffSession,
    StaffUser,
)
from observatory.database import lock, write_transaction
from observatory.i18n import _
from observatory.text import clean

ADMIN = "amministratore"
#: The advisory lock every change of role, state or policy takes.
ADMINS_LOCK = "accounts:admins"
POLICY_LOCK = "accounts:policy"
#: The account data shown in the audit log, before and after a change (never secrets).
AUDITED = ("username", "display_name", "email", "role", "active")


class AccountMissing(StaffError):
    """No account has this id or name."""


class LastAdmin(StaffError):
    """The change would leave the office without an active admin."""


class AccountChanged(StaffError):
    """The account (or the policy) changed since the form was opened; ``current`` is how it is now."""

    def __init__(self, current: dict):
        super().__init__(
            _(
                "Nel frattempo un altro amministratore ha cambiato questo account: qui sotto è come è "
                "ora. Controlla e ripeti la modifica se serve ancora."
            )
        )
        self.current = current


_COLUMNS = (
    StaffUser.id,
    StaffUser.username,
    StaffUser.display_name,
    StaffUser.email,
    StaffUser.role,
    StaffUser.active,
    StaffUser.created_at,
    StaffUser.last_login_at,
    StaffUser.version,
)


def _account(row: dict) -> dict:
    two_factor = row.pop("totp_secret") is not None
    return {**row, "two_factor": two_factor}


async def list_accounts() -> list[dict]:
    """Every account, by user name: name, display name, e-mail, role, state, last login, whether it
    uses two-factor login, version."""
    rows = await StaffUser.select(*_COLUMNS, StaffUser.totp_secret).order_by(StaffUser.username)
    return [_account(row) for row in rows]


async def find_account(user_id: int | None = None, username: str | None = None) -> dict:
    """One account, by id or by user name (as list_accounts gives it); AccountMissing if none."""
    query = StaffUser.select(*_COLUMNS, StaffUser.totp_secret)
    if user_id is not None:
        row = await query.where(StaffUser.id == user_id).first()
    else:
        row = await query.where(StaffUser.username == (username or "").strip().lower()).first()
    if row is None:
        if username is not None:
            raise AccountMissing(_("Nessun account «%(name)s».") % {"name": username})
        raise AccountMissing(_("Nessun account numero %(number)s.") % {"number": user_id})
    return _account(row)


def _audited(row: dict) -> dict:
    return {key: row[key] for key in AUDITED}


async def _keep_an_admin(user_id: int, what: str) -> None:
    """StaffError unless an active admin other than ``user_id`` exists (call with ADMINS_LOCK held);
    ``what`` is the refused action, in the current language."""
    others = await StaffUser.count().where(
        StaffUser.role == ADMIN, StaffUser.active.eq(True), StaffUser.id != user_id
    )
    if not others:
        raise LastAdmin(
            _(
                "Non si può %(what)s: è l'ultimo amministratore attivo, e la redazione ne deve avere "
                "almeno uno. Nomina prima amministratore un altro account."
            )
            % {"what": what},
            "ruolo",
        )


async def _locked_account(user_id: int, version: int | None) -> dict:
    """The account as it is now, inside the transaction (ADMINS_LOCK held); AccountChanged when
    ``version`` (None: not checked) is not its version any more."""
    row = await find_account(user_id)
    if version is not None and row["version"] != version:
        raise AccountChanged(row)
    return row


def _changes_summary(before: dict, after: dict) -> str:
    parts = []
    if before["role"] != after["role"]:
        parts.append(f"ruolo da {ROLES[before['role']].lower()} a {ROLES[after['role']].lower()}")
    if before["display_name"] != after["display_name"]:
        parts.append(f"nome da «{before['display_name']}» a «{after['display_name']}»")
    if before["email"] != after["email"]:
        parts.append(f"e-mail da «{before['email'] or '—'}» a «{after['email'] or '—'}»")
    return "; ".join(parts)


async def update_account(
    user_id: int,
    display_name: str,
    email: str | None,
    role: str,
    version: int | None,
    actor: dict | None,
) -> dict:
    """Change an account's display name, e-mail address and role ("utente.modifica"); the account
    as it is afterwards. StaffError (with its field) for a bad value or when the last active admin
    would stop being one; AccountChanged when ``version`` is stale."""
    display_name = clean(display_name) or ""
    email = (email or "").strip() or None
    check_account_fields(display_name, email, role)
    async with write_transaction():
        await lock(ADMINS_LOCK)
        row = await _locked_account(user_id, version)
        after = {**row, "display_name": display_name, "email": email, "role": role}
        summary = _changes_summary(row, after)
        if not summary:
            return row
        if row["role"] == ADMIN and role != ADMIN and row["active"]:
            await _keep_an_admin(
                user_id, _("togliere il ruolo di amministratore a «%(name)s»") % {"name": row["username"]}
            )
        await StaffUser.update(
            {
                StaffUser.display_name: display_name,
                StaffUser.email: email,
                StaffUser.role: role,
                StaffUser.version: StaffUser.version + 1,
            }
        ).where(StaffUser.id == user_id)
        await record_audit(
            actor,
            "utente.modifica",
            "utente",
            row["username"],
            f"Modificato l'utente «{row['username']}»: {summary}",
            before=_audited(row),
            after=_audited(after),
        )
    return {**after, "version": row["version"] + 1}


async def set_role(username: str, role: str, actor: dict | None = None) -> dict:
    """Give the account ``username`` the role ``role`` (the command line's set-role)."""
    if role not in ROLES:
        raise StaffError(
            _("Ruolo «%(role)s» sconosciuto: i ruoli sono %(roles)s.")
            % {"role": role, "roles": ", ".join(ROLES)},
            "ruolo",
        )
    row = await find_account(username=username)
    if row["role"] == role:
        raise StaffError(
            _("«%(name)s» ha già il ruolo %(role)s.")
            % {"name": row["username"], "role": _(ROLES[role]).lower()},
            "ruolo",
        )
    return await update_account(row["id"], row["display_name"], row["email"], role, None, actor)


async def set_active(user_id: int, active: bool, version: int | None, actor: dict | None) -> dict:
    """Disable ("utente.disattiva": its sessions end at once) or re-enable ("utente.riattiva") an
    account; the account as it is afterwards. StaffError when it is in that state already, when
    an admin disables their own account, or when the last active admin would be disabled."""
    async with write_transaction():
        await lock(ADMINS_LOCK)
        row = await _locked_account(user_id, version)
        name = row["username"]
        if row["active"] == active:
            already = (
                _("L'account «%(name)s» è già attivo.")
                if active
                else _("L'account «%(name)s» è già disattivato.")
            )
            raise StaffError(already % {"name": name})
        if not active:
            if actor is not None and actor["id"] == user_id:
                raise StaffError(
                    _("Non puoi disattivare il tuo account: chiedilo a un altro amministratore.")
                )
            if row["role"] == ADMIN:
                await _keep_an_admin(user_id, _("disattivare «%(name)s»") % {"name": name})
            await StaffSession.delete().where(StaffSession.user == user_id)
        await StaffUser.update({StaffUser.active: active, StaffUser.version: StaffUser.version + 1}).where(
            StaffUser.id == user_id
        )
        after = {**row, "active": active}
        await record_audit(
            actor,
            "utente.riattiva" if active else "utente.disattiva",
            "utente",
            name,
            f"Riattivato l'utente «{name}»" if active else f"Disattivato l'utente «{name}»: sessioni chiuse",
            before=_audited(row),
            after=_audited(after),
        )
    return {**after, "version": row["version"] + 1}


async def set_active_by_name(username: str, active: bool) -> dict:
    """Disable or re-enable the account ``username`` from the command line."""
    row = await find_account(username=username)
    return await set_active(row["id"], active, None, None)


async def clear_two_factor(user_id: int, actor: dict | None) -> dict:
    """Turn off an account's two-factor login and drop its recovery codes ("utente.azzera_due_fattori"),
    for a member who lost both their device and their codes."""
    async with write_transaction():
        row = await find_account(user_id)
        if not row["two_factor"]:
            raise StaffError(
                _("L'account «%(name)s» non usa la verifica in due passaggi.") % {"name": row["username"]}
            )
        await StaffUser.update(
            {StaffUser.totp_secret: None, StaffUser.totp_pending_secret: None, StaffUser.totp_last_step: None}
        ).where(StaffUser.id == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        await record_audit(
            actor,
            "utente.azzera_due_fattori",
            "utente",
            row["username"],
            f"Tolta la verifica in due passaggi all'utente «{row['username']}»: al prossimo accesso "
            "basta la password",
            before={"due_fattori": True},
            after={"due_fattori": False},
        )
    return {**row, "two_factor": False}


async def clear_two_factor_by_name(username: str) -> dict:
    """Turn off two-factor login of the account ``username`` from the command line."""
    return await clear_two_factor((await find_account(username=username))["id"], None)


# --- the office's policy ---------------------------------------------------------------------------


async def account_policy() -> dict:
    """The account policy: require_two_factor, version (0 before any change), changed_at, changed_by."""
    row = await AccountPolicy.select().order_by(AccountPolicy.id).first()
    return row or {"require_two_factor": False, "version": 0, "changed_at": None, "changed_by": ""}


async def set_two_factor_requirement(required: bool, version: int | None, actor: dict | None) -> dict:
    """Require two-factor login of every member, or stop requiring it ("utente.due_fattori_per_tutti");
    AccountChanged when ``version`` is stale. Members without it are sent to enrolment at their
    next request."""
    async with write_transaction():
        await lock(POLICY_LOCK)
        policy = await account_policy()
        if version is not None and policy["version"] != version:
            raise AccountChanged(policy)
        if policy["require_two_factor"] == required:
            return policy
        values: dict[Any, Any] = {
            AccountPolicy.require_two_factor: required,
            AccountPolicy.changed_at: utc_now(),
            AccountPolicy.changed_by: actor["display_name"] if actor else COMMAND_LINE,
        }
        if policy["version"]:
            await AccountPolicy.update({**values, AccountPolicy.version: AccountPolicy.version + 1}).where(
                AccountPolicy.id == policy["id"]
            )
        else:
            await AccountPolicy.insert(
                AccountPolicy(**{column._meta.name: v for column, v in values.items()})
            )
        await record_audit(
            actor,
            "utente.due_fattori_per_tutti",
            "impostazione",
            "verifica in due passaggi",
            "Verifica in due passaggi resa obbligatoria per tutta la redazione"
            if required
            else "Verifica in due passaggi non più obbligatoria",
            before={"obbligatoria": policy["require_two_factor"]},
            after={"obbligatoria": required},
        )
    return await account_policy()
