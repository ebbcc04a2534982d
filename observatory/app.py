"""The Litestar application: ``create_app(settings)`` builds it; nothing is built at import time."""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
from decimal import Decimal
from http import HTTPStatus
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment
from litestar import Litestar, Request, Response
from litestar.config.cors import CORSConfig
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.template import TemplateConfig

from observatory import __version__, database
from observatory.accounts.controllers import AccountPages
from observatory.accounts.guards import LoginRequired, StaffMiddleware, login_redirect, staff_in_template
from observatory.accounts.tables import ROLES
from observatory.catalogue.controllers import ApiError, CatalogueApi, CataloguePages
from observatory.catalogue.indexing import keep_index_current, open_index
from observatory.redazione.controllers import RedazioneApi, RedazionePages
from observatory.search.index import SearchIndex
from observatory.settings import PROJECT_DIR, Settings
from observatory.submissions.controllers import SubmissionApi, SubmissionPages

logger = logging.getLogger("observatory")

MONTHS = (
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
)
YEAR_PARAMS = ("anno_da", "anno_a", "pagina")
STATUS_TITLES = {
    400: "Richiesta non valida",
    403: "Accesso negato",
    404: "Pagina non trovata",
    405: "Metodo non consentito",
    413: "Richiesta troppo grande",
    429: "Troppe richieste",
    500: "Errore del server",
}
#: Posts that carry no browser cookie (bodies sending from their own systems) skip the CSRF check.
CSRF_EXEMPT = ["^/api/v1/segnalazioni$"]
CSRF_FAILED = "CSRF token verification failed"  # Litestar's message, replaced by an Italian one
STATUS_MESSAGES = {
    404: "L'indirizzo richiesto non corrisponde a nessuna pagina del catalogo.",
    405: "Questo indirizzo non accetta il metodo usato.",
    413: "La richiesta supera la dimensione massima consentita.",
}
MSGSPEC_MESSAGES = (
    (re.compile(r"^Expected `(.+)`, got `(.+)`"), "tipo non valido: atteso {}, ricevuto {}."),
    (re.compile(r"^Object contains unknown field `(.+)`"), "campo sconosciuto «{}»."),
    (re.compile(r"^Object missing required field `(.+)`"), "manca il campo obbligatorio «{}»."),
)
API_ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    410: "gone",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
}


def euro(value: Decimal | None) -> str:
    """An amount in the Italian way: € 1.580.579,61."""
    if value is None:
        return ""
    whole, _, cents = f"{value:,.2f}".partition(".")
    return f"€ {whole.replace(',', '.')},{cents}"


def italian_date(value: datetime.date | datetime.datetime | None) -> str:
    """A date in words: 18 aprile 2020."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def years(process: dict) -> str:
    """The years of a process: "2017", "2015–2019", "dal 2013, in corso", or an empty string."""
    start, end = process.get("start_year"), process.get("end_year")
    if process.get("ongoing"):
        return f"dal {start}, in corso" if start else "in corso"
    if start and end and end != start:
        return f"{start}–{end}"
    return str(start or end or "")


def replace_years(query_string: str, year_from: int, year_to: int) -> str:
    """The query string with the year range replaced (and the page reset)."""
    kept = [(k, v) for k, v in parse_qsl(query_string, keep_blank_values=False) if k not in YEAR_PARAMS]
    return urlencode([*kept, ("anno_da", str(year_from)), ("anno_a", str(year_to))])


def _configure_templates(engine: JinjaTemplateEngine) -> None:
    env: Environment = engine.engine
    env.filters.update(euro=euro, italian_date=italian_date, years=years, replace_years=replace_years)
    env.globals.update(version=__version__, current_staff=staff_in_template, staff_roles=ROLES)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.startswith("/schema")


def _italian_detail(message: str) -> str:
    """msgspec's English word on a wrong JSON value, in Italian."""
    for pattern, italian in MSGSPEC_MESSAGES:
        match = pattern.match(message)
        if match:
            return italian.format(*match.groups())
    return message


def _error_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, LoginRequired) and not _wants_json(request):
        return login_redirect(request)
    if isinstance(exc, ApiError) and _wants_json(request):
        return exc.to_response()
    if isinstance(exc, HTTPException):
        status, message = exc.status_code, exc.detail
    else:
        logger.exception("Unhandled error on %s", request.url.path, exc_info=exc)
        status, message = HTTP_500_INTERNAL_SERVER_ERROR, "Si è verificato un errore imprevisto."
    if isinstance(exc, ValidationException):
        message = "Parametri della richiesta non validi."
    elif isinstance(exc.__cause__, SerializationException):  # a body that is not JSON
        message = "Il corpo della richiesta non è un documento JSON valido."
    elif message == CSRF_FAILED:
        message = "Il modulo è scaduto o non proviene da questo sito: ricarica la pagina e invialo di nuovo."
    elif message in (None, "", HTTPStatus(status).phrase):  # Litestar's English default
        message = STATUS_MESSAGES.get(status, STATUS_TITLES.get(status, "Errore."))
    if _wants_json(request):
        fields = []
        if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
            fields = [
                {"field": str(e.get("key", "")), "message": _italian_detail(str(e.get("message", "")))}
                for e in exc.extra
            ]
        return ApiError(status, API_ERRORS.get(status, "error"), message, fields).to_response()
    title = STATUS_TITLES.get(status, "Errore")
    return Template(
        "error.html", context={"status": status, "title": title, "message": message}, status_code=status
    )


def create_app(settings: Settings) -> Litestar:
    """Build the application for ``settings`` (database, templates, routes, error pages)."""
    engine = database.configure(settings.database_url)
    search_index = SearchIndex(settings.index_dir)
    background: list[asyncio.Task] = []

    async def open_database(app: Litestar) -> None:
        await database.start(engine)
        await open_index(search_index)  # rebuilt if outdated; changes a crash left out applied
        background.append(asyncio.create_task(keep_index_current(search_index)))

    async def close_database(app: Litestar) -> None:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        search_index.close()
        await database.stop(engine)

    app = Litestar(
        route_handlers=[
            CataloguePages,
            CatalogueApi,
            SubmissionPages,
            SubmissionApi,
            AccountPages,
            RedazionePages,
            RedazioneApi,
            create_static_files_router(
                path="/static", directories=[PROJECT_DIR / "static"], include_in_schema=False
            ),
        ],
        template_config=TemplateConfig(
            directory=PROJECT_DIR / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=_configure_templates,
        ),
        openapi_config=OpenAPIConfig(
            title="Osservatorio API",
            version=__version__,
            description="Catalogo aperto dei processi partecipativi e di amministrazione condivisa.",
            path="/schema",
        ),
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="osservatorio_csrf",
            cookie_httponly=True,
            cookie_samesite="lax",
            exclude=CSRF_EXEMPT,
        ),
        cors_config=CORSConfig(allow_origins=["*"], allow_methods=["GET"], allow_credentials=False),
        exception_handlers={Exception: _error_response},
        middleware=[StaffMiddleware()],
        on_startup=[open_database],
        on_shutdown=[close_database],
        debug=settings.debug,
        request_max_body_size=2 * 1024 * 1024,
    )
    app.state.settings = settings
    app.state.search_index = search_index
    return app


def create_app_from_env() -> Litestar:
    """Factory for uvicorn: settings from the environment."""
    return create_app(Settings.from_env())
