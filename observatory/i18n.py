"""The interface's languages: Italian at the root addresses, English under ``/en/``.

Messages are written in Italian and looked up, on English pages, in the gettext catalogue
``observatory/locale/en/LC_MESSAGES/messages.po`` (compiled to ``messages.mo`` by ``make install``,
or here when the compiled file is missing or older). The language of a request is decided once,
by ``by_language`` around the whole application: ``/en/…`` serves the page of the same route in
English; the API (``/api/``, ``/schema``) answers its messages in the language ``Accept-Language``
prefers. Code reads it with ``current_language()`` and translates with ``gettext`` (``_``) and
``ngettext``; ``N_`` marks a message kept in a constant, translated where it is shown.

Vocabulary terms carry an English label of their own (edited by the editors); the catalogue hands
them to ``set_term_labels`` and ``term_label`` shows them on English pages.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextvars import ContextVar
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

logger = logging.getLogger("observatory")

ITALIAN, ENGLISH = "it", "en"
#: The interface's languages, the default (at the root addresses) first.
LANGUAGES = (ITALIAN, ENGLISH)
#: What each language is called in its own language (the switcher's words).
LANGUAGE_NAMES = {ITALIAN: "Italiano", ENGLISH: "English"}
#: The prefix of the English pages.
ENGLISH_PREFIX = "/en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
#: Addresses that are the same in every language: files, the API and its schema.
_UNLOCALISED = ("/static/", "/api/", "/schema", "/favicon", "/apple-touch-icon")
#: Addresses whose answer follows Accept-Language rather than the address.
_NEGOTIATED = ("/api/", "/schema")

_language: ContextVar[str] = ContextVar("language", default=ITALIAN)
_catalogues: dict[str, NullTranslations] = {}
#: English label of each vocabulary term, by its Italian label (set by the catalogue).
_term_labels: dict[str, str] = {}


# --- catalogues -----------------------------------------------------------------------------------


def catalogue_path(language: str, suffix: str = ".po") -> Path:
    """The catalogue file of ``language`` (``.po`` the source, ``.mo`` compiled)."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def _compiled(language: str) -> NullTranslations:
    source, compiled = catalogue_path(language), catalogue_path(language, ".mo")
    if compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime:
        with compiled.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    with source.open("rb") as handle:
        catalogue = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    try:  # a cache for the next start; an installation that cannot write it compiles again
        compiled.write_bytes(buffer.getvalue())
    except OSError as exc:
        logger.warning("Could not write %s (%s): the catalogue is compiled at every start", compiled, exc)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def translations(language: str) -> NullTranslations:
    """The translations of ``language`` (Italian is the language messages are written in)."""
    if language not in _catalogues:
        _catalogues[language] = NullTranslations() if language == ITALIAN else _compiled(language)
    return _catalogues[language]


def current_language() -> str:
    """The language of the request being served (Italian outside any request)."""
    return _language.get()


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(_language.get()).gettext(message) if message else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` for ``n``, in the current language and its plural rules."""
    return translations(_language.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, told apart from the same words elsewhere by ``context``."""
    return translations(_language.get()).pgettext(context, message)


_ = gettext


def in_current_language(italian: str, english: str | None) -> str:
    """``italian``, or on English pages ``english`` (a declared label; without one, the
    catalogue's translation of ``italian``)."""
    if _language.get() == ENGLISH:
        return english or gettext(italian)
    return italian


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it (a constant, translated when shown)."""
    return message


def in_language(language: str):
    """Set the current language (for code outside a request: tests, commands); returns its token."""
    return _language.set(language)


class ByLanguage(Mapping[str, Any]):
    """A mapping per language read as the current language's (field labels in templates)."""

    def __init__(self, by_language: Mapping[str, Mapping[str, Any]]):
        self._by_language = by_language

    def _current(self) -> Mapping[str, Any]:
        return self._by_language.get(_language.get()) or self._by_language[ITALIAN]

    def __getitem__(self, key: str) -> Any:
        return self._current()[key]

    def __iter__(self):
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


# --- addresses ------------------------------------------------------------------------------------


def _localised(path: str) -> bool:
    address = path.split("?", 1)[0].split("#", 1)[0]
    return (
        address.startswith("/")
        and not address.startswith("//")
        and not address.startswith(_UNLOCALISED)
        and english_prefix_removed(address) is None
        and "." not in address.rsplit("/", 1)[-1]  # a file: /dati/codebook.csv
    )


def path_in(language: str, path: str) -> str:
    """``path`` (an address of the Italian site) as the page of ``language``."""
    if language == ITALIAN or not _localised(path):
        return path
    return ENGLISH_PREFIX + path


def url(path: str) -> str:
    """``path`` in the current language: ``/processi`` is ``/en/processi`` on English pages."""
    return path_in(_language.get(), path)


def alternates(path: str, query: str = "") -> dict[str, str]:
    """The address of this page in each language (``path`` without the language prefix)."""
    suffix = f"?{query}" if query else ""
    return {language: path_in(language, path) + suffix for language in LANGUAGES}


def english_prefix_removed(path: str) -> str | None:
    """``path`` of an English page without its prefix; None for an address of the Italian site."""
    if path == ENGLISH_PREFIX or path.startswith(ENGLISH_PREFIX + "/"):
        return path[len(ENGLISH_PREFIX) :] or "/"
    return None


def preferred_language(accept_language: str) -> str:
    """The interface language an ``Accept-Language`` header prefers (Italian when it names none)."""
    best, best_weight = ITALIAN, 0.0
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        weight -= position * 1e-6  # equal weights: the first named wins
        if language in LANGUAGES and weight > best_weight:
            best, best_weight = language, weight
    return best


ASGIApp = Callable[[MutableMapping[str, Any], Callable, Callable], Awaitable[None]]


def by_language(app: ASGIApp) -> ASGIApp:
    """``app`` answering ``/en/…`` with the English page of the same route (its redirects stay
    English) and the API in the language of ``Accept-Language``; the rest in Italian."""

    async def handle(scope: MutableMapping[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        language = ITALIAN
        path = english_prefix_removed(scope["path"])
        if path is not None:
            language = ENGLISH
            scope = {**scope, "path": path, "raw_path": path.encode("utf-8")}
            send = _english_redirects(send)
        elif scope["path"].startswith(_NEGOTIATED):
            headers = dict(scope.get("headers") or [])
            language = preferred_language(headers.get(b"accept-language", b"").decode("latin-1"))
        token = _language.set(language)
        try:
            await app(scope, receive, send)
        finally:
            _language.reset(token)

    return handle


def _english_redirects(send: Callable) -> Callable:
    async def send_english(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [
                (name, path_in(ENGLISH, value.decode("latin-1")).encode("latin-1"))
                if name.lower() == b"location"
                else (name, value)
                for name, value in message.get("headers") or []
            ]
        await send(message)

    return send_english


# --- vocabulary terms -----------------------------------------------------------------------------


def set_term_labels(labels: Mapping[str, str]) -> None:
    """Keep the English label of each vocabulary term, by its Italian label."""
    _term_labels.clear()
    _term_labels.update(labels)


def term_label(label: str | None) -> str | None:
    """A vocabulary term's label in the current language (the Italian one when it has no English)."""
    if label and _language.get() == ENGLISH:
        return _term_labels.get(label, label)
    return label
