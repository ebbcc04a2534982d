"""When the published catalogue last changed, and conditional GET on what is derived from it.

Every change of a process notes an IndexChange row in its own transaction (catalogue/outbox.py),
vocabulary and organisation changes included, so the outbox tells when the catalogue changed: the
*stamp* is its row count, its last id and its last moment, with the count and last change of the
processes beside them for when old rows have been pruned. The count matters on PostgreSQL, where a
transaction that took a lower id may commit later without moving the highest one.

:class:`ConditionalGetMiddleware` gives the answers listed in :data:`COVERED` an ``ETag`` (the stamp,
the address and the version of the software) and a ``Last-Modified``, and answers 304 Not Modified
to a request that already holds them, without running the handler.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime

from litestar.datastructures import Headers, MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from piccolo.query.functions.aggregate import Count, Max

from observatory import __version__
from observatory.catalogue.tables import IndexChange, Process

#: The GET answers derived from the published catalogue alone: the API's lists and records, the
#: downloads, feeds, the open-data files and the sitemap.
COVERED = re.compile(
    r"^/api/v1/(processi|enti|territori)(/[^/]+)?$"
    r"|^/processi\.(csv|xlsx|json|jsonl|atom)$"
    r"|^/(processi/[^/]+/)?progetti\.csv$"
    r"|^/dati/.+"
    r"|^/sitemap\.xml$"
)


@dataclass(frozen=True)
class CatalogueStamp:
    """What changes whenever the published catalogue does."""

    changes: int
    last_change: int
    processes: int
    modified: datetime.datetime

    def etag(self, path: str, query: bytes) -> str:
        """The strong entity tag of the answer at ``path?query`` for this state of the catalogue."""
        key = f"{__version__}|{self.changes}|{self.last_change}|{self.processes}|{self.modified}|{path}|"
        return '"' + hashlib.blake2b(key.encode() + query, digest_size=12).hexdigest() + '"'

    @property
    def last_modified(self) -> str:
        """``modified`` as an HTTP date."""
        return format_datetime(self.modified.astimezone(datetime.UTC), usegmt=True)


_EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def aggregate_moment(value: datetime.datetime | str) -> datetime.datetime:
    """An aggregate's moment: SQLite answers MAX() of a timestamp column with its text."""
    moment = datetime.datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


async def catalogue_stamp() -> CatalogueStamp:
    """The stamp of the catalogue as it is now (two small aggregate queries)."""
    outbox = await IndexChange.select(
        Count(IndexChange.id, alias="n"),
        Max(IndexChange.id, alias="last"),
        Max(IndexChange.created_at, alias="at"),
    ).first()
    processes = await Process.select(
        Count(Process.id, alias="n"), Max(Process.updated_at, alias="at")
    ).first()
    moments = [aggregate_moment(m) for m in (outbox["at"], processes["at"]) if m is not None]
    modified = max(moments, default=_EPOCH).replace(microsecond=0)
    return CatalogueStamp(outbox["n"], outbox["last"] or 0, processes["n"], modified)


def _tags(header: str | None) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in (header or "").split(",") if tag.strip()}


def not_modified(headers: Headers, stamp: CatalogueStamp, etag: str) -> bool:
    """Whether a request with ``headers`` already holds the answer tagged ``etag`` (RFC 9110 13.2.2:
    If-None-Match decides when present, If-Modified-Since otherwise)."""
    if "if-none-match" in headers:
        tags = _tags(headers.get("if-none-match"))
        return "*" in tags or etag in tags
    since = headers.get("if-modified-since")
    if not since:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return stamp.modified <= moment


class ConditionalGetMiddleware(ASGIMiddleware):
    """ETag and Last-Modified on the answers in :data:`COVERED`, and 304 to a conditional GET."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope["method"] != "GET" or not COVERED.match(scope["path"]):
            await next_app(scope, receive, send)
            return
        stamp = await catalogue_stamp()
        etag = stamp.etag(scope["path"], scope.get("query_string", b""))
        validators = [(b"etag", etag.encode()), (b"last-modified", stamp.last_modified.encode())]
        if not_modified(Headers.from_scope(scope), stamp, etag):
            await send({"type": "http.response.start", "status": 304, "headers": validators})
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_validators(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                headers = MutableScopeHeaders.from_message(message)
                headers["ETag"] = etag
                headers["Last-Modified"] = stamp.last_modified
            await send(message)

        await next_app(scope, receive, send_with_validators)
