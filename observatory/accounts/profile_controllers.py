"""Every staff member's own account (/redazione/profilo): their password, their open sessions, and
their two-factor login (enrolment, recovery codes, turning it off).

A refused form is shown again with the error next to its field; passwords are never written back.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_429_TOO_MANY_REQUESTS

from observatory.accounts import credentials, login, two_factor
from observatory.accounts.guards import (
    LOGIN_PATH,
    SESSION_COOKIE,
    StaffPages,
    current_staff,
    enrolment_allowed,
)
from observatory.accounts.services import MIN_PASSWORD, StaffError
from observatory.i18n import N_, _
from observatory.web import done_message, read_form, see_other, settings_of

PROFILE = "/redazione/profilo"
SESSIONS = "/redazione/profilo/sessioni"
TWO_FACTOR = "/redazione/profilo/due-fattori"
#: Confirmations shown after a redirect (``?fatto=...``): a fixed text, never one from the address.
DONE = {
    "password": N_("Password cambiata. Le tue altre sessioni sono state chiuse."),
    "terminata": N_("Sessione terminata: quel browser dovrà entrare di nuovo."),
    "disattivata": N_("Verifica in due passaggi disattivata: per entrare basta la password."),
}
#: Browsers and systems named on the sessions page, the first that matches the User-Agent.
_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def browser_description(user_agent: str) -> str:
    """ "Firefox su Linux" from a User-Agent, or "browser sconosciuto"."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), None)
    if browser and system:
        return f"{browser} su {system}"
    return browser or system or "browser sconosciuto"


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _first(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0]  # passwords as typed: spaces count


class ProfilePages(StaffPages):
    """A member's own password and sessions."""

    @staticmethod
    def _profile_page(
        request: Request,
        staff: dict,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Template:
        return Template(
            "staff/profile.html",
            context={
                "staff": staff,
                "errors": errors or {},
                "done": done_message(request, DONE),
                "min_password": MIN_PASSWORD,
            },
            status_code=status_code,
            headers=headers,
        )

    @get("/profilo", name="profile")
    async def profile(self, request: Request) -> Template:
        """The member's account: name, role, two-factor state, and the form to change the password."""
        return self._profile_page(request, await current_staff(request))

    @post("/profilo/password", name="change_password")
    async def change_password(self, request: Request) -> Template | Redirect:
        """Change the member's own password (the current one is required); their other sessions end."""
        form = await read_form(request)
        staff = await current_staff(request)
        try:
            await credentials.change_own_password(
                staff,
                _first(form, "password_attuale"),
                _first(form, "nuova_password"),
                _first(form, "conferma_password"),
                _address(request),
                settings_of(request).secret_key,
            )
        except login.LoginRefused as refused:
            return self._profile_page(
                request,
                staff,
                {"password_attuale": refused.message},
                HTTP_429_TOO_MANY_REQUESTS,
                {"Retry-After": str(refused.retry_after_seconds)},
            )
        except StaffError as error:
            return self._profile_page(
                request, staff, {error.field or "nuova_password": error.message}, HTTP_400_BAD_REQUEST
            )
        return see_other(PROFILE, fatto="password")

    @get("/profilo/sessioni", name="own_sessions")
    async def sessions(self, request: Request) -> Template:
        """The member's open sessions: when each started and was last used, in which browser, and
        which one is this one."""
        staff = await current_staff(request)
        rows = await credentials.own_sessions(staff["id"])
        sessions = [
            {
                **row,
                "browser": browser_description(row["user_agent"]),
                "current": row["id"] == staff["session_id"],
            }
            for row in rows
        ]
        return Template(
            "staff/sessions.html", context={"sessions": sessions, "done": done_message(request, DONE)}
        )

    @post("/profilo/sessioni/{session_id:int}/termina", name="end_own_session")
    async def end_session(self, request: Request, session_id: FromPath[int]) -> Redirect:
        """End one of the member's sessions; ending this one logs out."""
        staff = await current_staff(request)
        if not await credentials.end_own_session(staff["id"], session_id):
            raise NotFoundException(_("Questa sessione non c'è più, o non è tua."))
        if session_id != staff["session_id"]:
            return see_other(SESSIONS, fatto="terminata")
        response = see_other(LOGIN_PATH, fatto="sessione")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


class TwoFactorPages(StaffPages):
    """A member's two-factor login: the only pages open to a member who must still enrol."""

    guards = [enrolment_allowed]

    @staticmethod
    async def _page(
        request: Request,
        staff: dict,
        errors: dict[str, str] | None = None,
        refusal: str | None = None,
        status_code: int = 200,
    ) -> Template:
        context = {
            "staff": staff,
            "errors": errors or {},
            "refusal": refusal,
            "done": done_message(request, DONE),
            "required": await login.two_factor_required(),
        }
        if staff["two_factor"]:
            context["codes_left"] = await two_factor.recovery_codes_left(staff["id"])
        else:
            context["enrolment"] = await two_factor.enrolment(staff)
        return Template("staff/two_factor.html", context=context, status_code=status_code)

    @staticmethod
    def _codes_page(codes: list[str], first: bool) -> Template:
        return Template("staff/recovery_codes.html", context={"codes": codes, "first": first})

    @get("/profilo/due-fattori", name="two_factor")
    async def two_factor_page(self, request: Request) -> Template:
        """Enrolment (the secret as text and as a QR code, and the confirmation), or the state of the
        member's two-factor login with new recovery codes and turning it off."""
        return await self._page(request, await current_staff(request))

    @post("/profilo/due-fattori", name="confirm_two_factor")
    async def confirm(self, request: Request) -> Template:
        """Turn two-factor login on with a first code; show the recovery codes, once."""
        form = await read_form(request)
        staff = await current_staff(request)
        try:
            codes = await two_factor.confirm_enrolment(staff, _first(form, "codice")[:40])
        except StaffError as error:
            errors = {"codice": error.message} if error.field else None
            return await self._page(
                request, staff, errors, None if error.field else error.message, HTTP_400_BAD_REQUEST
            )
        return self._codes_page(codes, first=True)

    @post("/profilo/due-fattori/codici", name="new_recovery_codes")
    async def new_codes(self, request: Request) -> Template:
        """New recovery codes, after the password; the old ones stop working."""
        form = await read_form(request)
        staff = await current_staff(request)
        try:
            codes = await two_factor.replace_recovery_codes(staff, _first(form, "password"))
        except StaffError as error:
            return await self._page(
                request, staff, {"password_codici": error.message}, None, HTTP_400_BAD_REQUEST
            )
        return self._codes_page(codes, first=False)

    @post("/profilo/due-fattori/disattiva", name="turn_off_two_factor")
    async def turn_off(self, request: Request) -> Template | Redirect:
        """Turn two-factor login off, after the password (refused while the office requires it)."""
        form = await read_form(request)
        staff = await current_staff(request)
        try:
            await two_factor.turn_off(staff, _first(form, "password"))
        except StaffError as error:
            if error.field:
                return await self._page(
                    request, staff, {"password_disattiva": error.message}, None, HTTP_400_BAD_REQUEST
                )
            return await self._page(request, staff, None, error.message, HTTP_400_BAD_REQUEST)
        return see_other(TWO_FACTOR, fatto="disattivata")
