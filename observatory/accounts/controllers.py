"""Pages of the editorial office's accounts: login, logout and the audit log (admins only)."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

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
    admin_required,
    safe_next,
    session_cookie,
)
from observatory.accounts.tables import ROLES
from observatory.web import Page, list_page, number_parameter, page_number, settings_of

AUDIT_PAGE_SIZE = 50
#: The highest id a staff member may have (a filter beyond it is a mistake).
MAX_ID = 1_000_000_000
#: Where the audit log links an object, by object type ("{}" is its object_id).
OBJECT_PAGES = {
    "segnalazione": "/redazione/segnalazioni/{}",
    "processo": "/redazione/processi/{}/versioni",
    "ente": "/enti/{}",
}
#: Times in the audit log are shown in Italian local time.
LOCAL_TIME = ZoneInfo("Europe/Rome")


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


def _shown(value: Any) -> str:
    """A JSON value for people: empty, sì/no, a list joined by commas, or compact JSON."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "sì" if value else "no"
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ", ".join(str(item) for item in value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _audit_entry(row: dict) -> dict:
    changes = services.compare_fields(row["before"], row["after"])
    pattern = OBJECT_PAGES.get(row["object_type"])
    return {
        **row,
        "at_local": row["at"].astimezone(LOCAL_TIME),
        "link": pattern.format(row["object_id"]) if pattern else None,
        "changes": [{**c, "before": _shown(c["before"]), "after": _shown(c["after"])} for c in changes],
    }


class AccountPages(Controller):
    """Login, logout and the audit log, under /redazione."""

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

    @get("/registro", name="audit_log", guards=[admin_required])
    async def audit_log(self, request: Request) -> Template:
        """The audit log, newest first, by action and by staff member: who, when, what, before and after."""
        action = (request.query_params.get("azione") or "").strip()[:60] or None
        actor_id = number_parameter(request, "autore", "Autore", MAX_ID)
        number = page_number(request)
        rows, total = await services.list_audit(action, actor_id, number, AUDIT_PAGE_SIZE)
        page = Page(
            items=[_audit_entry(row) for row in rows], total=total, page=number, page_size=AUDIT_PAGE_SIZE
        )
        return list_page(
            "staff/audit_log.html",
            request,
            page,
            action=action,
            actor_id=actor_id,
            actions=await services.audit_actions(),
            members=await services.staff_members(),
            roles=ROLES,
        )
