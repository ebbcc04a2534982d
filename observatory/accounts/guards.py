"""Who is asking: the staff member of the session cookie, and the guards of the /redazione routes.

``guards=[staff_required]`` lets editors and admins in, ``guards=[admin_required]`` admins only.
An anonymous page request is sent to the login page; an anonymous API call gets 401; the wrong
role gets 403. When two-factor login is required, a member without it is sent to the enrolment page
(``guards=[enrolment_allowed]``, the only one they may open). Templates call ``current_staff()``
(no database query without a session cookie).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import pass_context
from litestar import Controller, Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader, Cookie, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from observatory.accounts import login
from observatory.i18n import N_, _
from observatory.settings import Settings
from observatory.web import MAX_FORM_READ, error_response, wants_json

SESSION_COOKIE = "osservatorio_sessione"
LOGIN_PATH = "/redazione/accesso"
#: Where a member enrols in two-factor login.
ENROLMENT_PATH = "/redazione/profilo/due-fattori"
#: Where a login goes when it was not asked for by a protected page.
STAFF_HOME = "/redazione"
STAFF_ROLES = ("redattore", "amministratore")
#: Pages and API of the editorial office: never cached, never indexed.
PRIVATE_PREFIXES = (STAFF_HOME, "/api/v1/redazione")
_STATE_KEY = "osservatorio_staff"


class LoginRequired(NotAuthorizedException):
    """No staff member is logged in: pages redirect to the login page, the API answers 401."""

    def __init__(self) -> None:
        super().__init__(
            detail=_("Accesso riservato alla redazione: entra con il tuo nome utente e la password.")
        )


class EnrolmentRequired(LoginRequired):
    """Two-factor login is required and the member has none yet: pages send them to enrolment, the
    API answers 403."""

    status_code = 403

    def __init__(self) -> None:
        NotAuthorizedException.__init__(
            self,
            detail=_("La redazione richiede la verifica in due passaggi: attivala prima di continuare."),
            status_code=403,
        )


class RoleRequired(PermissionDeniedException):
    """The staff member's role does not allow this (403)."""

    def __init__(self, detail: str = N_("Il tuo ruolo non consente di aprire questa pagina.")) -> None:
        super().__init__(detail=_(detail))


async def current_staff(connection: ASGIConnection) -> dict | None:
    """The staff member logged in on this request (id, username, display_name, role), or None.

    Computed once per request and kept on its state; without the session cookie there is no query.
    """
    state = connection.scope["state"]
    if _STATE_KEY not in state:
        token = connection.cookies.get(SESSION_COOKIE)
        state[_STATE_KEY] = await login.session_staff(token) if token else None
    return state[_STATE_KEY]


@pass_context
def staff_in_template(context: Any) -> dict | None:
    """Jinja global ``current_staff()``: the logged-in staff member of the page's request, or None."""
    request = context.get("request")
    return request.scope["state"].get(_STATE_KEY) if request is not None else None


async def enrolment_allowed(connection: ASGIConnection, _: Any) -> None:
    """Guard: a staff member is logged in, with or without the two-factor login the office requires."""
    staff = await current_staff(connection)
    if staff is None:
        raise LoginRequired()
    if staff["role"] not in STAFF_ROLES:
        raise RoleRequired()


async def staff_required(connection: ASGIConnection, _: Any) -> None:
    """Guard: an editor (redattore) or an admin (amministratore) is logged in, with two-factor login
    when the office requires it."""
    await enrolment_allowed(connection, _)
    if (await current_staff(connection))["must_enrol"]:
        raise EnrolmentRequired()


async def admin_required(connection: ASGIConnection, _: Any) -> None:
    """Guard: an admin (amministratore) is logged in."""
    await staff_required(connection, _)
    if (await current_staff(connection))["role"] != "amministratore":
        raise RoleRequired(N_("Questa pagina è riservata agli amministratori della redazione."))


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path of this site ("/…", never "//…" or an absolute URL), else None."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None  # browsers read "/\evil.example" as "//evil.example"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def login_redirect(connection: ASGIConnection) -> Redirect:
    """303 to the login page, which comes back here afterwards (for a page that can be reloaded)."""
    target = connection.url.path
    if connection.url.query:
        target += "?" + connection.url.query
    if connection.scope.get("method", "GET") in ("GET", "HEAD") and safe_next(target):
        return Redirect(f"{LOGIN_PATH}?{urlencode({'dopo': target})}", status_code=HTTP_303_SEE_OTHER)
    return Redirect(LOGIN_PATH, status_code=HTTP_303_SEE_OTHER)


def login_required_response(request: Request, exc: LoginRequired) -> Response:
    """Pages send an anonymous visitor to the login page, and a member who must enrol in two-factor
    login to its page; the API answers 401 (403 for enrolment)."""
    if wants_json(request):
        return error_response(request, exc)
    if isinstance(exc, EnrolmentRequired):
        return Redirect(ENROLMENT_PATH, status_code=HTTP_303_SEE_OTHER)
    return login_redirect(request)


def session_cookie(token: str, settings: Settings) -> Cookie:
    """The session cookie: for the whole site, hidden from scripts, not sent by cross-site posts,
    only over HTTPS when the site is served over HTTPS; it ends with the browser session."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )


class StaffMiddleware(ASGIMiddleware):
    """Resolve the staff member of the session cookie before the handler and the templates run, and
    keep the editorial office's answers (PRIVATE_PREFIXES) out of caches and search engines, and
    their addresses out of Referer headers."""

    scopes = (ScopeType.HTTP,)

    @staticmethod
    def should_bypass_for_scope(scope: Scope) -> bool:
        return scope["path"].startswith("/static/")

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        await current_staff(ASGIConnection(scope))
        path = scope["path"]
        if not any(path == prefix or path.startswith(prefix + "/") for prefix in PRIVATE_PREFIXES):
            await next_app(scope, receive, send)
            return

        async def send_private(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers["Cache-Control"] = "no-store"
                headers["X-Robots-Tag"] = "noindex"
                headers["Referrer-Policy"] = "no-referrer"
            await send(message)

        await next_app(scope, receive, send_private)


class StaffPages(Controller):
    """The base of the editorial office's page controllers, under /redazione: a staff login is
    needed, answers are never cached and send no referrer, form posts are small."""

    path = STAFF_HOME
    include_in_schema = False
    guards = [staff_required]
    cache_control = CacheControlHeader(no_store=True)
    response_headers = {"Referrer-Policy": "no-referrer"}
    request_max_body_size = MAX_FORM_READ
