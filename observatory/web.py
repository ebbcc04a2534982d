"""HTTP plumbing every part of the site shares: reading form posts, the API's one error shape,
pages of a list and the links between them, redirects after a post, and the error pages.

Domains use this module; it uses none of them.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec
from litestar import Request, Response
from litestar.enums import ParamType
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_301_MOVED_PERMANENTLY,
    HTTP_303_SEE_OTHER,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from observatory.i18n import N_, _, gettext, ngettext, url
from observatory.settings import Settings

logger = logging.getLogger("observatory")

#: Largest accepted body of a form post or of an API call that sends data.
MAX_BODY = 256 * 1024
#: Largest body a form page reads: a form post over MAX_BODY but within this is refused (413)
#: with what was typed shown again; a bigger one is cut off unread.
MAX_FORM_READ = 4 * MAX_BODY
#: Most fields a form post may have.
MAX_FORM_FIELDS = 2_000
#: Highest page number of any list.
MAX_PAGE = 100_000
#: Page numbers a list links to on either side of the page shown.
PAGE_WINDOW = 2
#: The longest text a search or a look-up takes (longer ones are cut, or refused by /processi).
MAX_SEARCH_TEXT = 200
#: The API's name for each 4xx status (the ``error`` key of every error answer).
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}
STATUS_TITLES = {
    400: N_("Richiesta non valida"),
    403: N_("Accesso negato"),
    404: N_("Pagina non trovata"),
    405: N_("Metodo non consentito"),
    409: N_("Conflitto"),
    413: N_("Richiesta troppo grande"),
    415: N_("Formato non accettato"),
    429: N_("Troppe richieste"),
    500: N_("Errore del server"),
    503: N_("Servizio non disponibile"),
}
STATUS_MESSAGES = {
    404: N_("L'indirizzo richiesto non corrisponde a nessuna pagina del catalogo."),
    405: N_("Questo indirizzo non accetta il metodo usato."),
    413: N_("La richiesta supera la dimensione massima consentita."),
}
CSRF_FAILED = "CSRF token verification failed"  # Litestar's message, replaced by an Italian one
MSGSPEC_MESSAGES = (
    (re.compile(r"^Expected `(.+)`, got `(.+)`"), N_("tipo non valido: atteso {}, ricevuto {}.")),
    (re.compile(r"^Object contains unknown field `(.+)`"), N_("campo sconosciuto «{}».")),
    (re.compile(r"^Object missing required field `(.+)`"), N_("manca il campo obbligatorio «{}».")),
)
#: The start-year filters of a process list (its year facet's links set them).
START_YEAR_PARAMETERS = ("avvio_da", "avvio_a")

#: The pages load their scripts, styles and images from this site only, and run no inline code.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: The same for a page made to be embedded: any site may show it in a frame (no X-Frame-Options).
EMBEDDABLE_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")


def settings_of(request: Request) -> Settings:
    """The settings of the application serving ``request``."""
    return request.app.state.settings


def search_text(request: Request, name: str = "q") -> str:
    """The text of a look-up parameter, trimmed and cut to MAX_SEARCH_TEXT characters."""
    return (request.query_params.get(name) or "").strip()[:MAX_SEARCH_TEXT]


# --- forms ----------------------------------------------------------------------------------------


def bad_request(message: str) -> HTTPException:
    """A 400 answer with ``message`` (in Italian)."""
    return HTTPException(status_code=HTTP_400_BAD_REQUEST, detail=message)


async def read_form(request: Request) -> dict[str, list[str]]:
    """The fields of a posted form; 400 for a body that is not a well-formed UTF-8 urlencoded form,
    413 for one over MAX_BODY (read in full up to MAX_FORM_READ, so the refusal can show it again)."""
    content_type, _options = request.content_type
    if content_type != "application/x-www-form-urlencoded":
        raise bad_request(_("Il modulo deve essere inviato come application/x-www-form-urlencoded."))
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status_code=HTTP_413_REQUEST_ENTITY_TOO_LARGE, detail=STATUS_MESSAGES[413])
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise bad_request(
            _("Il modulo inviato non è leggibile: la codifica dei caratteri non è UTF-8.")
        ) from None
    if len(pairs) > MAX_FORM_FIELDS:
        raise bad_request(_("Il modulo inviato ha troppi campi."))
    form: dict[str, list[str]] = {}
    for key, value in pairs:  # control characters are refused field by field, keeping the rest
        form.setdefault(key, []).append(value)
    return form


class _RepeatedKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    found: dict = {}
    for key, value in pairs:
        if key in found:
            raise _RepeatedKey(key)
        found[key] = value
    return found


async def json_body_only(request: Request) -> None:
    """Run before a route that reads a JSON body: 415 for any other content type (so that a page
    elsewhere cannot make its visitors' browsers post a plain form to it), 400 for an object that
    names a key twice (JSON parsers disagree on which one wins) and for nesting too deep to parse."""
    content_type, _options = request.content_type
    if content_type != "application/json":
        raise ApiError(
            HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            _(
                "Il corpo della richiesta deve essere JSON, con l'intestazione "
                "Content-Type: application/json."
            ),
        )
    try:
        json.loads(await request.body(), object_pairs_hook=_unique_keys)
    except _RepeatedKey as repeated:
        message = _("La chiave «{key}» compare due volte nello stesso oggetto JSON.").format(key=repeated.key)
        raise ApiError(HTTP_400_BAD_REQUEST, message) from None
    except RecursionError:  # arrays or objects nested deeper than the parser goes
        message = _("Il documento JSON ha troppi livelli di oggetti o elenchi uno dentro l'altro.")
        raise ApiError(HTTP_400_BAD_REQUEST, message) from None
    except ValueError:  # not JSON at all: the route's own decoding says so
        pass


def first(form: Mapping[str, list[str]], name: str) -> str:
    """The first value posted for ``name``, trimmed ("" when there is none)."""
    values = form.get(name) or []
    return values[0].strip() if values else ""


def see_other(path: str, **params: str) -> Redirect:
    """303 to ``path`` with ``params`` in its query: the GET after a successful post."""
    query = f"?{urlencode(params)}" if params else ""
    return Redirect(path + query, status_code=HTTP_303_SEE_OTHER)


def done_message(request: Request, messages: Mapping[str, str]) -> str | None:
    """The confirmation that ``?fatto=`` names: a fixed text of ``messages`` (marked with N_), in the
    page's language, never one from the address."""
    message = messages.get(request.query_params.get("fatto", ""))
    return gettext(message) if message else None


# --- the API's errors -------------------------------------------------------------------------------


class ApiError(HTTPException):
    """A 4xx answer: JSON ``{"status", "error", "message", "fields"}`` on the API (with
    ``retry_after`` when it says when to try again), an error page elsewhere."""

    def __init__(
        self,
        status_code: int,
        message: str,
        fields: list[dict] | None = None,
        headers: dict[str, str] | None = None,
        retry_after: int | None = None,
    ):
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.error = ERROR_CODES.get(status_code, "error")
        self.fields = fields or []
        self.retry_after = retry_after

    @classmethod
    def for_fields(
        cls,
        errors: Iterable[Any],
        message: str | None = None,
        status_code: int = HTTP_422_UNPROCESSABLE_ENTITY,
    ) -> ApiError:
        """An answer listing field errors (objects with ``field`` and ``message``); unless
        ``message`` is given, it says how many there are."""
        fields = [{"field": error.field, "message": error.message} for error in errors]
        return cls(
            status_code,
            message
            or ngettext(
                "Richiesta non valida: {n} problema da correggere.",
                "Richiesta non valida: {n} problemi da correggere.",
                len(fields),
            ).format(n=len(fields)),
            fields,
        )

    @classmethod
    def bad_parameter(cls, name: str, message: str, field_message: str | None = None) -> ApiError:
        """400 for one query parameter: ``message`` for people, ``field_message`` on the field."""
        return cls(HTTP_400_BAD_REQUEST, message, [{"field": name, "message": field_message or message}])

    def to_response(self) -> Response:
        body = {  # a message kept in a constant is translated here, in the language of the request
            "status": self.status_code,
            "error": self.error,
            "message": gettext(self.detail),
            "fields": [dict(field, message=gettext(field["message"])) for field in self.fields],
        }
        if self.retry_after is not None:
            body["retry_after"] = self.retry_after
        return Response(body, status_code=self.status_code, headers=self.headers)


class FieldErrorOut(msgspec.Struct):
    """What is wrong with one field or parameter."""

    field: str
    message: str


class ErrorOut(msgspec.Struct):
    """The one error format of every 4xx and 5xx answer of the API."""

    status: int
    error: str
    message: str
    fields: list[FieldErrorOut]
    #: Seconds until the request may be repeated, as Retry-After says (429 only).
    retry_after: int | None = None


# --- the API in the OpenAPI schema --------------------------------------------------------------------

#: What each error status of the API means, as its schema says (the body is always ErrorOut).
ERROR_ANSWERS = {
    400: "A query parameter (or the body) is not valid, or holds control characters: `fields` names it.",
    401: "No staff member is logged in.",
    403: "The staff member's role does not allow this.",
    404: "Nothing has this slug or token.",
    410: "The process was withdrawn from the catalogue.",
    413: f"The body is over {MAX_BODY // 1024} kB.",
    415: "The body is not sent as `Content-Type: application/json`.",
    422: "The data are not valid: `fields` lists every problem, each on its path.",
    429: "Too many submissions from this address: `Retry-After` and `retry_after` say in how many seconds "
    "to try again, `message` says it in words.",
    500: "An unexpected error.",
    503: "The search index cannot answer now (it is being repaired): try again in a few minutes.",
}


def error_answers(*statuses: int) -> dict[int, ResponseSpec]:
    """The error answers of an API route for its ``responses=``: ErrorOut for each of ``statuses``,
    and for 400 and 500, which every route can give."""
    return {
        status: ResponseSpec(ErrorOut, description=ERROR_ANSWERS[status], generate_examples=False)
        for status in sorted({400, 500, *statuses})
    }


def query_parameter(name: str, description: str, schema: Schema, example: Any) -> Parameter:
    """An optional query parameter as the schema documents it: its type and allowed values
    (``schema``, with an enum when they are a fixed few) and an ``example`` the API accepts."""
    return Parameter(
        name=name, param_in=ParamType.QUERY, schema=schema, description=description, example=example
    )


def documented_query(*parameters: Parameter) -> type[Operation]:
    """An ``operation_class=`` that documents query parameters a route reads from the request itself
    (repeatable filters, the page number), after those of its signature."""

    @dataclass
    class DocumentedQuery(Operation):
        def __post_init__(self) -> None:
            self.parameters = [*(self.parameters or []), *parameters]

    return DocumentedQuery


PAGE_PARAMETER = query_parameter(
    "pagina",
    "The page asked for (1 by default).",
    Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=MAX_PAGE),
    example=2,
)


# --- numbers, pages and links -----------------------------------------------------------------------


def whole_number(raw: str, label: str, low: int, high: int) -> int:
    """``raw`` as a whole number between ``low`` and ``high``; ValueError with an Italian message."""
    try:
        value = int(raw.strip())
    except ValueError:
        message = _("{label}: «{raw}» non è un numero intero.")
        raise ValueError(message.format(label=_(label), raw=raw[:40])) from None
    if not low <= value <= high:
        message = _("{label}: deve essere compreso tra {low} e {high}.")
        raise ValueError(message.format(label=_(label), low=low, high=high))
    return value


def number_parameter(request: Request, name: str, label: str, high: int) -> int | None:
    """The whole number in query parameter ``name`` (1 to ``high``), None when absent; 400 otherwise."""
    raw = (request.query_params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return whole_number(raw, label, 1, high)
    except ValueError as exc:
        raise ApiError.bad_parameter(name, str(exc)) from None


def page_number(request: Request) -> int:
    """The page a list is asked for (``pagina``, 1 by default); 400 for anything but 1 to MAX_PAGE."""
    return number_parameter(request, "pagina", N_("Pagina"), MAX_PAGE) or 1


@dataclass
class Page:
    """One page of a list (processes, organisations, submissions, audit entries) and how many
    items there are in all."""

    items: list[dict]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def list_defaults(request: Request) -> dict[str, str]:
    """What a list's parameters mean when they are not given: page 1, the instance's page size, the
    order (relevance with a text, the latest changed without)."""
    return {
        "pagina": "1",
        "per_pagina": str(settings_of(request).page_size),
        "ordine": "rilevanza" if (request.query_params.get("q") or "").strip() else "recenti",
    }


def params_in_use(request: Request) -> list[tuple[str, str]]:
    """The query's parameters in their order, without the empty ones and those at their default."""
    defaults = list_defaults(request)
    pairs = parse_qsl(request.url.query, keep_blank_values=True)
    return [(name, value) for name, value in pairs if value.strip() and defaults.get(name) != value.strip()]


def clean_address(request: Request) -> Redirect | None:
    """A permanent redirect to the same page with only the parameters in use (a filter form sends
    its empty boxes and the default order too), or None when the address has nothing more."""
    kept = params_in_use(request)
    if kept == parse_qsl(request.url.query, keep_blank_values=True):
        return None
    address = request.url.path + ("?" + urlencode(kept) if kept else "")
    return Redirect(address, status_code=HTTP_301_MOVED_PERMANENTLY)


def page_links(request: Request, page: Page) -> dict[str, Any]:
    """Links to the neighbouring, first and last pages and to a window of PAGE_WINDOW numbers on either
    side of this one (None for a gap), keeping the other parameters in use (never ``pagina=1``)."""
    params = [(name, value) for name, value in params_in_use(request) if name != "pagina"]

    def link(number: int) -> str:
        kept = [*params, ("pagina", str(number))] if number > 1 else params
        return "?" + urlencode(kept) if kept else url(request.url.path)

    window = range(max(1, page.page - PAGE_WINDOW), min(page.pages, page.page + PAGE_WINDOW) + 1)

    def entry(number: int) -> dict:
        return {"number": number, "href": link(number), "current": number == page.page}

    numbers: list[dict | None] = []
    previous = 0
    for number in sorted({1, *window, page.pages}):
        if number == previous + 2:  # one page between: its number takes no more room than "…"
            numbers.append(entry(previous + 1))
        elif number > previous + 2:
            numbers.append(None)
        numbers.append(entry(number))
        previous = number
    return {
        "previous": link(page.page - 1) if page.page > 1 else None,
        "next": link(page.page + 1) if page.page < page.pages else None,
        "first": link(1) if page.page > 1 else None,
        "last": link(page.pages) if page.page < page.pages else None,
        "numbers": numbers,
    }


def past_the_end(request: Request, page: Page) -> Template:
    """404 for a page number past the last page of a list, with a link to that last page."""
    message = _("La pagina {page} non esiste: l'elenco ha {pages} pagine.")
    if page.pages == 1:
        message = _("La pagina {page} non esiste: l'elenco sta in una sola pagina.")
    message = message.format(page=page.page, pages=page.pages)
    last = page_links(request, Page([], page.total, page.pages, page.page_size))["numbers"][-1]["href"]
    if last.startswith("?"):
        last = url(request.url.path) + last
    return error_page(HTTP_404_NOT_FOUND, message, link=(last, _("Vai all'ultima pagina")))


#: Parameters that say where a visitor came from or what they just did, never what a page shows.
NOT_CANONICAL = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "_ga", "ref", "fatto", "inviato"}
)


def canonical_query(request: Request) -> str:
    """The query string of this page's canonical address ("" or "?…"): the parameters in use (see
    params_in_use), by name, without those of tracking (``utm_*``, NOT_CANONICAL)."""
    kept = [
        (name, value)
        for name, value in params_in_use(request)
        if name not in NOT_CANONICAL and not name.startswith("utm_")
    ]
    kept.sort(key=lambda pair: pair[0])
    return "?" + urlencode(kept) if kept else ""


def list_page(template: str, request: Request, page: Page, **context: Any) -> Template:
    """``template`` showing ``page`` of a list, with the links to its other pages; 404 past the last."""
    if page.page > page.pages:
        return past_the_end(request, page)
    return Template(template, context={"page": page, "links": page_links(request, page), **context})


def replace_years(query_string: str, year_from: int, year_to: int) -> str:
    """The query string with the range of start years replaced (and the page reset)."""
    dropped = (*START_YEAR_PARAMETERS, "pagina")
    kept = [(k, v) for k, v in parse_qsl(query_string, keep_blank_values=False) if k not in dropped]
    return urlencode([*kept, ("avvio_da", str(year_from)), ("avvio_a", str(year_to))])


# --- error pages --------------------------------------------------------------------------------------


def wants_json(request: Request) -> bool:
    """Whether errors on this path are answered in JSON (the API and its schema)."""
    return request.url.path.startswith("/api/") or request.url.path.startswith("/schema")


def _italian_detail(message: str) -> str:
    """msgspec's English word on a wrong JSON value, in Italian."""
    for pattern, italian in MSGSPEC_MESSAGES:
        match = pattern.match(message)
        if match:
            return _(italian).format(*match.groups())
    return message


def error_response(request: Request, exc: Exception) -> Response:
    """The answer to an error: the API's JSON error shape, or the Italian error page."""
    if isinstance(exc, ApiError) and wants_json(request):
        return exc.to_response()
    headers = {}
    if isinstance(exc, HTTPException):
        status, message, headers = exc.status_code, exc.detail, dict(exc.headers or {})
    else:
        logger.exception("Unhandled error on %s", request.url.path, exc_info=exc)
        status, message = HTTP_500_INTERNAL_SERVER_ERROR, _("Si è verificato un errore imprevisto.")
    if isinstance(exc, ValidationException):
        message = _("Parametri della richiesta non validi.")
    elif isinstance(exc.__cause__, SerializationException):  # a body that is not JSON
        message = _("Il corpo della richiesta non è un documento JSON valido.")
    elif message == CSRF_FAILED:
        message = _(
            "Per sicurezza il modulo non è stato accettato: la pagina era aperta da molto tempo o non "
            "proviene da questo sito. Ricarica la pagina e invialo di nuovo."
        )
    elif message in (None, "", HTTPStatus(status).phrase):  # Litestar's English default
        message = STATUS_MESSAGES.get(status, STATUS_TITLES.get(status, N_("Errore.")))
    if wants_json(request):
        fields = []
        if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
            fields = [
                {"field": str(e.get("key", "")), "message": _italian_detail(str(e.get("message", "")))}
                for e in exc.extra
            ]
        return ApiError(status, message, fields, headers=headers).to_response()
    return error_page(status, message, headers=headers)


def unavailable_response(request: Request, exc: Exception) -> Response:
    """503 for a part of the site that cannot answer now (the search index while it is rebuilt)."""
    logger.warning("Unavailable on %s: %s", request.url.path, exc)
    message = _("Questa parte del sito non è disponibile in questo momento: riprova fra qualche minuto.")
    if wants_json(request):
        return ApiError(HTTP_503_SERVICE_UNAVAILABLE, message).to_response()
    return error_page(HTTP_503_SERVICE_UNAVAILABLE, message)


def error_page(
    status: int,
    message: str,
    title: str | None = None,
    headers: dict | None = None,
    link: tuple[str, str] | None = None,
) -> Template:
    """The error page for ``status`` in the page's language, with ``link`` (address, text) as the way
    on when given."""
    title = title or STATUS_TITLES.get(status, N_("Errore"))
    return Template(
        "error.html",
        context={"link": link, "status": status, "title": gettext(title), "message": gettext(message)},
        status_code=status,
        headers=headers,
    )
