"""Pages of the editorial office's accounts: login and logout."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_303_SEE_OTHER,
    HTTP_400_BAD_REQUEST,
    HTTP_429_TOO_MANY_REQUESTS,
)

from observatory.accounts import services
from observatory.accounts.guards import (
    SESSION_COOKIE,
    STAFF_HOME,
    safe_next,
    session_cookie,
)
from observatory.web import settings_of


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _login_page(
    username: str = "",
    target: str | None = None,
    error: str | None = None,
    status_code: int = HTTP_200_OK,
    headers: dict[str, str] | None = None,
) -> Template:
    return Template(
        "staff/login.html",
        context={"username": username, "target": target, "error": error},
        status_code=status_code,
        headers=headers,
    )


class AccountPages(Controller):
    """Login and logout, under /redazione."""

    path = "/redazione"
    include_in_schema = False

    @get("/accesso", name="login_form")
    async def login_form(self, request: Request) -> Template:
        """The login form (also to change account: a new login replaces the session)."""
        return _login_page(target=safe_next(request.query_params.get("dopo")))

    @post("/accesso", name="login")
    async def login(self, request: Request) -> Template | Redirect:
        """Check name and password (throttled); on success open a session and go on to ``dopo``."""
        form = await request.form()
        username = _text(form.get("username")).strip()[:200]
        password = _text(form.get("password"))
        target = safe_next(_text(form.get("dopo")))
        if not username or not password:
            return _login_page(
                username, target, "Inserisci il nome utente e la password.", status_code=HTTP_400_BAD_REQUEST
            )
        settings = settings_of(request)
        address = request.client.host if request.client else None
        try:
            staff = await services.authenticate(username, password, address, settings.secret_key)
        except services.LoginRefused as refused:
            if refused.retry_after_seconds is None:
                return _login_page(username, target, refused.message, status_code=HTTP_400_BAD_REQUEST)
            return _login_page(
                username,
                target,
                refused.message,
                status_code=HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(refused.retry_after_seconds)},
            )
        # A new session id at each login: one planted in the browser beforehand is worthless.
        await services.close_session(request.cookies.get(SESSION_COOKIE))
        token = await services.open_session(staff["id"])
        return Redirect(
            target or STAFF_HOME, status_code=HTTP_303_SEE_OTHER, cookies=[session_cookie(token, settings)]
        )

    @post("/uscita", name="logout")
    async def logout(self, request: Request) -> Redirect:
        """End the session on the server and forget the cookie."""
        await services.close_session(request.cookies.get(SESSION_COOKIE))
        response = Redirect("/", status_code=HTTP_303_SEE_OTHER)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
