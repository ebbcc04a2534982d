"""The HTTP edge: security headers on every answer, whatever produced it (a page, the API, an
error, a static file, a 404 of the router), HEAD answered wherever GET is, and addresses whose
path or parameters hold control characters refused before any handler reads them.

:func:`hardened` wraps the application's ASGI handler, outside routing and the exception handlers,
so nothing escapes it; :class:`AddressHygieneMiddleware` runs inside, so its refusals are the
usual Italian error page or JSON error.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.middleware import ASGIMiddleware
from litestar.status_codes import HTTP_400_BAD_REQUEST
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from observatory.text import has_control_characters, printable
from observatory.web import CONTENT_SECURITY_POLICY, ApiError

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
#: HSTS for an https site: a year, subdomains included.
STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"


def security_headers(https: bool) -> dict[str, str]:
    """The headers every answer carries (a route may set a stricter Referrer-Policy of its own)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if https:
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return headers


def hardened(handler: ASGIApp, https: bool) -> ASGIApp:
    """``handler`` with the security headers on every answer, HEAD run as GET without the body,
    and HEAD named in the Allow header of a 405 wherever GET is."""
    headers = security_headers(https)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await handler(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        if head:
            scope["method"] = "GET"

        async def send_hardened(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer = MutableScopeHeaders.from_message(message)
                framed = "frame-ancestors *" in (answer.get("content-security-policy") or "")
                for name, value in headers.items():
                    if name not in answer and not (framed and name == "X-Frame-Options"):
                        answer[name] = value
                allowed = answer.get("allow")
                if allowed is not None and "GET" in allowed and "HEAD" not in allowed:
                    answer["allow"] = f"{allowed}, HEAD"
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await handler(scope, receive, send_hardened)

    return app


class AddressHygieneMiddleware(ASGIMiddleware):
    """Refuse a path holding a control character (404: no page has one) and a query parameter
    holding one (400, naming the parameter), before any handler or database sees them."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if has_control_characters(scope["path"]):
            raise NotFoundException()
        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
            if has_control_characters(name) or has_control_characters(value):
                message = f"Il parametro «{printable(name)}» contiene caratteri di controllo: toglili."
                raise ApiError(HTTP_400_BAD_REQUEST, message)
        await next_app(scope, receive, send)
