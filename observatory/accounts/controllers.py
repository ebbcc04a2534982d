"""Pages of the editorial office's accounts that need no login: login with its two-factor step,
logout, and the page of a one-time link to choose a new password."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_303_SEE_OTHER,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_410_GONE,
    HTTP_429_TOO_MANY_REQUESTS,
)

from observatory.accounts import credentials, login, two_factor
from observatory.accounts.guards import (
    ENROLMENT_PATH,
    LOGIN_PATH,
    SESSION_COOKIE,
    STAFF_HOME,
    safe_next,
    session_cookie,
)
from observatory.accounts.services import StaffError
from observatory.i18n import N_, _
from observatory.web import done_message, read_form, see_other, settings_of

#: Where the second step of a two-factor login asks for the code.
CODE_PATH = "/redazione/accesso/codice"
#: Confirmations the login page shows after a redirect (``?fatto=...``).
LOGIN_DONE = {
    "password": N_("Password impostata: entra con il tuo nome utente e la nuova password."),
    "sessione": N_("Sessione terminata: per continuare entra di nuovo."),
}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _login_page(
    username: str = "",
    target: str | None = None,
    error: str | None = None,
    status_code: int = HTTP_200_OK,
    headers: dict[str, str] | None = None,
    done: str | None = None,
) -> Template:
    return Template(
        "staff/login.html",
        context={"username": username, "target": target, "error": error, "done": done},
        status_code=status_code,
        headers=headers,
    )


def _refused_login(page, refused: login.LoginRefused, **context: Any) -> Template:
    """The page again with why the attempt was refused: 400, or 429 with Retry-After when throttled."""
    if refused.retry_after_seconds is None:
        return page(error=refused.message, status_code=HTTP_400_BAD_REQUEST, **context)
    return page(
        error=refused.message,
        status_code=HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(refused.retry_after_seconds)},
        **context,
    )


def _code_page(
    target: str | None = None,
    error: str | None = None,
    status_code: int = HTTP_200_OK,
    headers: dict[str, str] | None = None,
) -> Template:
    return Template(
        "staff/login_code.html",
        context={"target": target, "error": error},
        status_code=status_code,
        headers=headers,
    )


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _reset_page(
    token: str,
    account: dict | None = None,
    refusal: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = HTTP_200_OK,
) -> Template:
    return Template(
        "staff/password_reset.html",
        context={"token": token, "account": account, "refusal": refusal, "errors": errors or {}},
        status_code=status_code,
    )


class AccountPages(Controller):
    """Login (with its two-factor step), logout and reset links, under /redazione."""

    path = "/redazione"
    include_in_schema = False

    @get("/accesso", name="login_form")
    async def login_form(self, request: Request) -> Template:
        """The login form (also to change account: a new login replaces the session)."""
        return _login_page(
            target=safe_next(request.query_params.get("dopo")), done=done_message(request, LOGIN_DONE)
        )

    @post("/accesso", name="login")
    async def login(self, request: Request) -> Template | Redirect:
        """Check name and password (throttled); on success open a session and go on to ``dopo``, or
        to the code page for a member with two-factor login."""
        form = await request.form()
        username = _text(form.get("username")).strip()[:200]
        password = _text(form.get("password"))
        target = safe_next(_text(form.get("dopo")))
        if not username or not password:
            return _login_page(
                username,
                target,
                _("Inserisci il nome utente e la password."),
                status_code=HTTP_400_BAD_REQUEST,
            )
        settings = settings_of(request)
        try:
            staff = await login.authenticate(username, password, _address(request), settings.secret_key)
        except login.LoginRefused as refused:
            return _refused_login(_login_page, refused, username=username, target=target)
        # A new session id at each login: one planted in the browser beforehand is worthless.
        await login.close_session(request.cookies.get(SESSION_COOKIE))
        user_agent = request.headers.get("user-agent", "")
        if staff["two_factor"]:
            token = await login.open_session(staff["id"], user_agent, second_factor_pending=True)
            next_page = CODE_PATH + (f"?{urlencode({'dopo': target})}" if target else "")
        else:
            token = await login.open_session(staff["id"], user_agent)
            next_page = ENROLMENT_PATH if await login.two_factor_required() else target or STAFF_HOME
        return Redirect(next_page, status_code=HTTP_303_SEE_OTHER, cookies=[session_cookie(token, settings)])

    @get("/accesso/codice", name="login_code_form")
    async def login_code_form(self, request: Request) -> Template | Redirect:
        """The second step of a two-factor login: the code of the app, or a recovery code."""
        if await login.pending_login(request.cookies.get(SESSION_COOKIE)) is None:
            return Redirect(LOGIN_PATH, status_code=HTTP_303_SEE_OTHER)
        return _code_page(safe_next(request.query_params.get("dopo")))

    @post("/accesso/codice", name="login_code")
    async def login_code(self, request: Request) -> Template | Redirect:
        """Check the code (throttled like passwords); on success the waiting session becomes a login."""
        form = await read_form(request)
        target = safe_next((form.get("dopo") or [""])[0])
        pending = await login.pending_login(request.cookies.get(SESSION_COOKIE))
        if pending is None:  # never logged in, or the five minutes have passed
            return Redirect(LOGIN_PATH, status_code=HTTP_303_SEE_OTHER)
        code = (form.get("codice") or [""])[0][:40]
        settings = settings_of(request)
        try:
            await two_factor.check_second_factor(pending, code, _address(request), settings.secret_key)
        except login.LoginRefused as refused:
            return _refused_login(_code_page, refused, target=target)
        await login.close_session(request.cookies.get(SESSION_COOKIE))
        token = await login.open_session(pending["id"], request.headers.get("user-agent", ""))
        return Redirect(
            target or STAFF_HOME, status_code=HTTP_303_SEE_OTHER, cookies=[session_cookie(token, settings)]
        )

    @get("/nuova-password/{token:str}", name="password_reset_form")
    async def password_reset_form(self, token: FromPath[str]) -> Template:
        """The page of a one-time link: choose a new password (or why the link cannot be used)."""
        try:
            account = await credentials.reset_link_account(token)
        except credentials.ResetLinkRefused as refused:
            return _reset_page(
                token,
                refusal=refused.message,
                status_code=HTTP_410_GONE if refused.known else HTTP_404_NOT_FOUND,
            )
        return _reset_page(token, account)

    @post("/nuova-password/{token:str}", name="password_reset")
    async def password_reset(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Set the new password; the link is spent and every session of the account ends."""
        form = await read_form(request)
        password = (form.get("password") or [""])[0]
        confirmation = (form.get("conferma_password") or [""])[0]
        try:
            await credentials.use_reset_link(token, password, confirmation)
        except credentials.ResetLinkRefused as refused:
            return _reset_page(
                token,
                refusal=refused.message,
                status_code=HTTP_410_GONE if refused.known else HTTP_404_NOT_FOUND,
            )
        except StaffError as error:
            account = await credentials.reset_link_account(token)
            return _reset_page(
                token,
                account,
                errors={error.field or "password": error.message},
                status_code=HTTP_400_BAD_REQUEST,
            )
        return see_other(LOGIN_PATH, fatto="password")

    @post("/uscita", name="logout")
    async def logout(self, request: Request) -> Redirect:
        """End the session on the server and forget the cookie."""
        await login.close_session(request.cookies.get(SESSION_COOKIE))
        response = Redirect("/", status_code=HTTP_303_SEE_OTHER)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
