"""HTTP hardening of every answer, whatever produced it (a page, the API, an error, a static file,
a 404 of the router): security headers, and HEAD answered wherever GET is.

It wraps the application's ASGI handler, outside routing and the exception handlers, so nothing
escapes it.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

#: The pages load their scripts, styles and images from this site only, and run no inline code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
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
                for name, value in headers.items():
                    if name not in answer:
                        answer[name] = value
                allowed = answer.get("allow")
                if allowed is not None and "GET" in allowed and "HEAD" not in allowed:
                    answer["allow"] = f"{allowed}, HEAD"
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await handler(scope, receive, send_hardened)

    return app
