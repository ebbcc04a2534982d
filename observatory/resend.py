"""Form posts refused before their page could look at them keep what was typed.

A CSRF token that does not match the cookie (the page stayed open too long, the cookies were
cleared: 403) and a body over the size limit (413) are refused before any page reads the form.
The answer is then a page with every posted field, editable, a fresh token, and a button that
sends it again to the same address. Passwords are never written back into a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.exceptions import HTTPException
from litestar.middleware.csrf import generate_csrf_hash, generate_csrf_token
from litestar.response import Template
from litestar.status_codes import HTTP_403_FORBIDDEN, HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState

from observatory.catalogue.forms import GROUPS, INPUTS, ROW_KEY
from observatory.i18n import N_, _, url
from observatory.web import CSRF_FAILED, MAX_BODY, error_response, wants_json

#: Labels of the posted names that are not process fields.
OTHER_LABELS = {
    "nome": N_("Nome e cognome"),
    "ente": N_("Ente o organizzazione"),
    "email": N_("Email"),
    "nota": N_("Nota per la redazione"),
    "motivo": N_("Motivo"),
    "messaggio": N_("Messaggio"),
    "oggetto": N_("Oggetto"),
    "messaggio_duplicato": N_("Messaggio"),
    "etichetta": N_("Etichetta"),
    "descrizione": N_("Descrizione"),
    "username": N_("Nome utente"),
}
#: Names never written back into a page.
SECRET_NAMES = ("password",)
MESSAGES = {
    HTTP_403_FORBIDDEN: N_(
        "Per sicurezza il modulo non è stato accettato: la pagina era aperta da molto tempo o i cookie "
        "di questo sito sono stati cancellati. Quello che hai scritto è qui sotto: controllalo e invialo "
        "di nuovo."
    ),
    HTTP_413_REQUEST_ENTITY_TOO_LARGE: N_(
        "Il modulo è troppo grande: al massimo {size} kB. Quello che hai scritto è qui "
        "sotto: accorcia i testi più lunghi e invialo di nuovo."
    ),
}


@dataclass
class PostedField:
    """One posted value, as the page shows it again."""

    name: str
    value: str
    label: str | None  # None: sent back as a hidden input

    @property
    def rows(self) -> int:
        """Lines of the textarea showing it."""
        return min(12, max(2, len(self.value) // 70 + 1 + self.value.count("\n")))


def label_of(name: str) -> str | None:
    """What a posted name is called on its form, None for a name no person typed into."""
    if name in INPUTS:
        return INPUTS[name].label
    row = ROW_KEY.match(name)
    part = INPUTS.get(f"{row['group']}.{row['sub']}") if row else None
    if row and part and row["group"] in GROUPS:
        return f"{GROUPS[row['group']].row_label} {row['row']}: {part.label}"
    label = OTHER_LABELS.get(name)
    return _(label) if label else None


def _secret(name: str) -> bool:
    return any(secret in name for secret in SECRET_NAMES)


def _kept_form(request: Request) -> list[tuple[str, str]] | None:
    """The pairs of the urlencoded form the request carried, when its body was read."""
    body = value_or_default(ScopeState.from_scope(request.scope).body, None)
    if body is None or request.content_type[0] != "application/x-www-form-urlencoded":
        return None
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        return None


def _refused_status(request: Request, exc: Exception) -> int | None:
    if request.method != "POST" or wants_json(request) or not isinstance(exc, HTTPException):
        return None
    if exc.status_code == HTTP_403_FORBIDDEN and exc.detail == CSRF_FAILED:
        return HTTP_403_FORBIDDEN
    if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        return HTTP_413_REQUEST_ENTITY_TOO_LARGE
    return None


def _valid_cookie_token(request: Request) -> str | None:
    """The CSRF cookie when it is one this site signed (other tabs keep working with it)."""
    token = request.cookies.get(request.app.csrf_config.cookie_name) or ""
    secret, signature = token[:32], token[32:]
    if len(token) > 32 and generate_csrf_hash(secret, request.app.csrf_config.secret) == signature:
        return token
    return None


def refused_post_response(request: Request, exc: Exception) -> Response:
    """The page that sends a refused form post again with what was typed; any other error as usual."""
    status = _refused_status(request, exc)
    pairs = _kept_form(request) if status else None
    if pairs is None:
        return error_response(request, exc)
    config = request.app.csrf_config
    token = _valid_cookie_token(request)
    fresh = token is None
    if fresh:
        token = generate_csrf_token(config.secret)
    ScopeState.from_scope(request.scope).csrf_token = token
    fields = [
        PostedField(name, value, label_of(name))
        for name, value in pairs
        if name != "_csrf_token" and not _secret(name)
    ]
    cookies = []
    if fresh:
        cookies.append(
            Cookie(
                key=config.cookie_name,
                value=token,
                path=config.cookie_path,
                secure=config.cookie_secure,
                httponly=config.cookie_httponly,
                samesite=config.cookie_samesite,
                domain=config.cookie_domain,
            )
        )
    return Template(
        "resend.html",
        context={
            "status": status,
            "message": _(MESSAGES[status]).format(size=MAX_BODY // 1024),
            "action": url(request.url.path),
            "fields": fields,
            "secrets": sorted({name for name, _ in pairs if _secret(name)}),
        },
        status_code=status,
        cookies=cookies,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
