"""The admins' pages for the staff accounts (/redazione/account): the list, a new account, an
account's name, e-mail and role, disabling and re-enabling it, a link to choose a new password,
clearing its two-factor login; and whether two-factor login is required of everyone.

Every change is a form post with a CSRF token and the version the admin saw; it goes through
lifecycle.py (audited, versions checked, the last active admin kept) and redirects to the page that
says what was done. A refused post shows its form again with what was typed and why.
"""

from __future__ import annotations

import secrets

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from observatory.accounts import credentials, lifecycle
from observatory.accounts.guards import StaffPages, admin_required, current_staff
from observatory.accounts.services import StaffError, create_staff
from observatory.accounts.tables import ROLES
from observatory.i18n import N_, _
from observatory.web import done_message, first, read_form, see_other, settings_of

LIST = "/redazione/account"
#: Confirmations shown after a redirect (``?fatto=...``): a fixed text, never one from the address.
DONE = {
    "modificato": N_("Account modificato."),
    "disattivato": N_("Account disattivato: le sue sessioni sono chiuse e non può più entrare."),
    "riattivato": N_("Account riattivato: può entrare di nuovo con la sua password."),
    "due_fattori": N_("Verifica in due passaggi tolta: al prossimo accesso basta la password."),
    "obbligatoria": N_(
        "Da ora la verifica in due passaggi è obbligatoria: chi non l'ha ancora la attiva prima di "
        "continuare."
    ),
    "facoltativa": N_("La verifica in due passaggi non è più obbligatoria."),
}
#: The fields of an account's form, as posted.
FIELDS = ("username", "nome", "email", "ruolo")


def _version(form: dict[str, list[str]]) -> int | None:
    """The posted ``versione``; -1 (stale for sure) when it is missing or not a number."""
    text = first(form, "versione")
    return int(text) if text.isdigit() and len(text) < 10 else -1


def _typed_account(account: dict) -> dict[str, str]:
    return {
        "username": account["username"],
        "nome": account["display_name"],
        "email": account["email"] or "",
        "ruolo": account["role"],
    }


class StaffAccountPages(StaffPages):
    """Staff accounts (admins only)."""

    path = LIST
    guards = [admin_required]

    async def _list_page(
        self, request: Request, refusal: str | None = None, status_code: int = 200
    ) -> Template:
        return Template(
            "staff/accounts.html",
            context={
                "accounts": await lifecycle.list_accounts(),
                "policy": await lifecycle.account_policy(),
                "done": done_message(request, DONE),
                "refusal": refusal,
            },
            status_code=status_code,
        )

    @get("", name="accounts")
    async def accounts(self, request: Request) -> Template:
        """Every account: name, display name, role, last login, state, two-factor; and the policy."""
        return await self._list_page(request)

    @staticmethod
    def _new_page(typed: dict[str, str] | None = None, errors: dict[str, str] | None = None) -> Template:
        return Template(
            "staff/account_new.html",
            context={"typed": typed or {"ruolo": "redattore"}, "errors": errors or {}, "roles": ROLES},
            status_code=HTTP_400_BAD_REQUEST if errors else 200,
        )

    @get("/nuovo", name="new_account_form")
    async def new_account_form(self) -> Template:
        """The form of a new account."""
        return self._new_page()

    @post("/nuovo", name="new_account")
    async def new_account(self, request: Request) -> Template:
        """Create an account; its member chooses the password through a one-time link."""
        form = await read_form(request)
        typed = {name: first(form, name) for name in FIELDS}
        actor = await current_staff(request)
        try:
            # a password nobody knows: the member chooses theirs through the link
            account = await create_staff(
                typed["username"],
                typed["nome"],
                typed["ruolo"],
                secrets.token_urlsafe(32),
                typed["email"],
                actor=actor,
            )
        except StaffError as error:
            return self._new_page(typed, {error.field or "username": error.message})
        link = await credentials.issue_reset_link(account["id"], actor, settings_of(request), created=True)
        return Template("staff/account_link.html", context={"link": link, "created": True})

    async def _account_or_404(self, user_id: int) -> dict:
        try:
            return await lifecycle.find_account(user_id)
        except lifecycle.AccountMissing as missing:
            raise NotFoundException(missing.message) from None

    async def _account_page(
        self,
        request: Request,
        account: dict,
        typed: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        refusal: str | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "staff/account.html",
            context={
                "account": account,
                "typed": typed or _typed_account(account),
                "errors": errors or {},
                "refusal": refusal,
                "done": done_message(request, DONE),
                "roles": ROLES,
                "me": (await current_staff(request))["id"] == account["id"],
            },
            status_code=status_code,
        )

    @get("/{user_id:int}", name="account")
    async def account(self, request: Request, user_id: FromPath[int]) -> Template:
        """One account: its form (name, e-mail, role) and its actions."""
        return await self._account_page(request, await self._account_or_404(user_id))

    @post("/{user_id:int}", name="edit_account")
    async def edit(self, request: Request, user_id: FromPath[int]) -> Template | Redirect:
        """Save an account's name, e-mail and role, opened on the posted ``versione``."""
        form = await read_form(request)
        typed = {name: first(form, name) for name in FIELDS[1:]}
        account = await self._account_or_404(user_id)
        typed["username"] = account["username"]
        try:
            await lifecycle.update_account(
                user_id,
                typed["nome"],
                typed["email"],
                typed["ruolo"],
                _version(form),
                await current_staff(request),
            )
        except lifecycle.AccountChanged as changed:
            return await self._account_page(
                request, changed.current, typed, refusal=changed.message, status_code=HTTP_409_CONFLICT
            )
        except StaffError as error:
            return await self._account_page(
                request,
                {**account, "version": _version(form)},
                typed,
                {error.field or "ruolo": error.message},
                status_code=HTTP_409_CONFLICT
                if isinstance(error, lifecycle.LastAdmin)
                else HTTP_400_BAD_REQUEST,
            )
        return see_other(f"{LIST}/{user_id}", fatto="modificato")

    async def _set_active(self, request: Request, user_id: int, active: bool) -> Template | Redirect:
        form = await read_form(request)
        account = await self._account_or_404(user_id)
        try:
            await lifecycle.set_active(user_id, active, _version(form), await current_staff(request))
        except lifecycle.AccountChanged as changed:
            return await self._account_page(
                request, changed.current, refusal=changed.message, status_code=HTTP_409_CONFLICT
            )
        except StaffError as error:
            return await self._account_page(
                request, account, refusal=error.message, status_code=HTTP_409_CONFLICT
            )
        return see_other(f"{LIST}/{user_id}", fatto="riattivato" if active else "disattivato")

    @post("/{user_id:int}/disattiva", name="disable_account")
    async def disable(self, request: Request, user_id: FromPath[int]) -> Template | Redirect:
        """Disable an account: its sessions end at once (never the last active admin)."""
        return await self._set_active(request, user_id, False)

    @post("/{user_id:int}/riattiva", name="enable_account")
    async def enable(self, request: Request, user_id: FromPath[int]) -> Template | Redirect:
        """Re-enable a disabled account."""
        return await self._set_active(request, user_id, True)

    @post("/{user_id:int}/link-password", name="password_link")
    async def password_link(self, request: Request, user_id: FromPath[int]) -> Template:
        """Make a one-time link to choose a new password (the previous one stops working)."""
        await read_form(request)
        account = await self._account_or_404(user_id)
        try:
            link = await credentials.issue_reset_link(
                user_id, await current_staff(request), settings_of(request)
            )
        except StaffError as error:
            return await self._account_page(
                request, account, refusal=error.message, status_code=HTTP_409_CONFLICT
            )
        return Template("staff/account_link.html", context={"link": link, "created": False})

    @post("/{user_id:int}/due-fattori/azzera", name="clear_two_factor")
    async def clear_two_factor(self, request: Request, user_id: FromPath[int]) -> Template | Redirect:
        """Turn off an account's two-factor login, for a member who lost their device and codes."""
        await read_form(request)
        account = await self._account_or_404(user_id)
        try:
            await lifecycle.clear_two_factor(user_id, await current_staff(request))
        except StaffError as error:
            return await self._account_page(
                request, account, refusal=error.message, status_code=HTTP_409_CONFLICT
            )
        return see_other(f"{LIST}/{user_id}", fatto="due_fattori")

    @post("/due-fattori", name="two_factor_policy")
    async def two_factor_policy(self, request: Request) -> Template | Redirect:
        """Require two-factor login of everyone, or stop requiring it."""
        form = await read_form(request)
        required = first(form, "obbligatoria") == "1"
        try:
            await lifecycle.set_two_factor_requirement(required, _version(form), await current_staff(request))
        except lifecycle.AccountChanged:
            message = _(
                "Nel frattempo un altro amministratore ha cambiato questa impostazione: ecco com'è ora."
            )
            return await self._list_page(request, message, HTTP_409_CONFLICT)
        return see_other(LIST, fatto="obbligatoria" if required else "facoltativa")
