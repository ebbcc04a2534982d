"""Which database the catalogue lives in: engines, migrations, the write transaction, backups.

SQLite (the embedded default) and PostgreSQL (production) are both first-class: a URL chooses.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import weakref
from collections.abc import Awaitable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

os.environ.setdefault("PICCOLO_CONF", "observatory.piccolo_conf")


class DatabaseURLError(ValueError):
    """The database URL is not one Osservatorio can use."""


def engine_from_url(url: str) -> Engine:
    """Build a Piccolo engine from ``sqlite:///path`` or ``postgresql://user@host:port/db``."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if parsed.netloc:  # sqlite://relative/path
            path = parsed.netloc + path
        if not path or path == "/":
            raise DatabaseURLError(f"SQLite URL without a file path: {url!r}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path=path, timeout=30)
    if parsed.scheme in {"postgres", "postgresql"}:
        config = {
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "database": unquote(parsed.path.lstrip("/")) or "postgres",
            "user": unquote(parsed.username) if parsed.username else "postgres",
        }
        if parsed.password:
            config["password"] = unquote(parsed.password)
        return PostgresEngine(config=config, log_queries=False)
    raise DatabaseURLError(
        f"Unsupported database URL {url!r}: use sqlite:///path/to/file.db or postgresql://user@host/db"
    )


def configure(url: str) -> Engine:
    """Make ``url`` the database of every table and of Piccolo's migrations; return its engine."""
    return use(engine_from_url(url))


def use(engine: Engine) -> Engine:
    """Make ``engine`` (one :func:`configure` made) the database of every table again; return it."""
    from piccolo.apps.migrations.tables import Migration

    from observatory import piccolo_conf

    piccolo_conf.DB = engine
    tables = [table for app in piccolo_conf.APP_REGISTRY.app_configs.values() for table in app.table_classes]
    for table in (*tables, Migration):  # Piccolo's own table of applied migrations too
        table._meta.db = engine
    return engine


async def migrate() -> None:
    """Apply every pending migration to the configured database."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    response = await run_forwards(app_name="all", fake=False)
    if not response.success:
        raise RuntimeError(f"Migrations failed: {response.message}")


async def start(engine: Engine) -> None:
    """Open a connection pool where the engine has one (PostgreSQL); put SQLite in WAL mode, where
    readers never block the writer nor the writer them (the mode stays with the file)."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=10)
    else:
        await engine.run_querystring(QueryString("PRAGMA journal_mode=WAL"))


T = TypeVar("T")

#: Seconds that closing the PostgreSQL pool waits for its connections to come back before it ends them.
POOL_CLOSE_TIMEOUT = 10.0

logger = logging.getLogger("observatory")


async def stop(engine: Engine) -> None:
    """Close the pool opened by :func:`start`: its connections are given POOL_CLOSE_TIMEOUT seconds
    to come back, then ended, so that a connection never given back cannot hold a shutdown for ever."""
    if isinstance(engine, PostgresEngine) and engine.pool is not None:
        try:
            await asyncio.wait_for(engine.pool.close(), POOL_CLOSE_TIMEOUT)
        except TimeoutError:
            logger.warning("Database connections still in use after %.0f s: ended", POOL_CLOSE_TIMEOUT)
            engine.pool.terminate()
        engine.pool = None


async def to_the_end(work: Awaitable[T]) -> T:
    """Await ``work`` to its end even when the task awaiting it is cancelled meanwhile (the
    cancellation is raised after): a background round cancelled at shutdown in the middle of a
    transaction could otherwise keep its connection."""
    round_ = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(round_)
    except asyncio.CancelledError:
        await asyncio.wait([round_])
        raise


def configured() -> Engine:
    """The engine :func:`configure` chose."""
    from observatory import piccolo_conf

    if piccolo_conf.DB is None:
        raise RuntimeError("No database is configured: call observatory.database.configure(url) first")
    return piccolo_conf.DB


#: The write queue of each event loop (one per worker) on SQLite, and whether this task holds it.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)
_HOLDS_SQLITE_QUEUE: ContextVar[bool] = ContextVar("holds_sqlite_queue", default=False)


@asynccontextmanager
async def _queued(transaction):
    """``transaction`` (SQLite), entered in turn by the writers of this process: SQLite lets
    waiters for its file lock in in no order, so with hundreds of them one could wait past the
    busy timeout; queued first, at most one writer per worker waits for the file."""
    if _HOLDS_SQLITE_QUEUE.get():  # nested in a write this task already runs
        async with transaction:
            yield
        return
    queue = _SQLITE_WRITERS.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with queue:
        token = _HOLDS_SQLITE_QUEUE.set(True)
        try:
            async with transaction:
                yield
        finally:
            _HOLDS_SQLITE_QUEUE.reset(token)


def write_transaction():
    """The transaction every write runs in; on SQLite it takes the write lock at once, after the
    other writers of this process.

    A deferred SQLite transaction that reads and then writes can fail with "database is locked"
    when another one does the same; PostgreSQL locks the rows it updates.
    """
    engine = configured()
    if isinstance(engine, SQLiteEngine):
        return _queued(engine.transaction(transaction_type=TransactionType.immediate))
    return engine.transaction()


ADVISORY_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended({}, 0))"


async def lock(*keys: str) -> None:
    """Make the current write transaction wait for any other that holds one of ``keys``, until it
    ends: a check followed by an insert (a limit, a free slug or name) is then atomic.

    PostgreSQL: advisory transaction locks, taken in one order so that two transactions never wait
    for each other. SQLite: nothing to do, a write transaction already waits for the one before.
    """
    engine = configured()
    if isinstance(engine, SQLiteEngine):
        return
    for key in sorted(set(keys)):
        await engine.run_querystring(QueryString(ADVISORY_LOCK, key))


SQLITE_HEADER = b"SQLite format 3\x00"
PG_DUMP_HEADER = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or a restore cannot be done as asked; the message says why."""


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent copy while other connections keep reading and writing."""
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        copy.close()
        origin.close()


def _file_start(path: Path, size: int) -> bytes:
    with path.open("rb") as file:
        return file.read(size)


async def _tables(engine: Engine) -> int:
    if isinstance(engine, SQLiteEngine):
        rows = await engine.run_querystring(
            QueryString("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'")
        )
    else:
        rows = await engine.run_querystring(
            QueryString("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'")
        )
    return rows[0]["n"]


async def _run(*command: str) -> None:
    try:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
    except FileNotFoundError:
        raise BackupError(f"{command[0]} manca: servono i programmi client di PostgreSQL") from None
    _, errors = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{command[0]} non è riuscito: {errors.decode(errors='replace').strip()}")


async def backup(url: str, target: Path) -> None:
    """Write a consistent snapshot of the whole database of ``url`` to ``target``: with SQLite's
    online backup (the site keeps working meanwhile), or with ``pg_dump --format=custom``."""
    engine = configured()
    if target.exists():
        raise BackupError(f"{target} esiste già: scegli un file nuovo")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(engine, SQLiteEngine):
        await asyncio.to_thread(_copy_sqlite, Path(engine.path), target)
    else:
        await _run("pg_dump", "--format=custom", "--no-owner", "--file", str(target), url)


async def restore(url: str, source: Path) -> None:
    """Put the snapshot ``source`` (made by :func:`backup`) into the empty database of ``url``."""
    engine = configured()
    expected = SQLITE_HEADER if isinstance(engine, SQLiteEngine) else PG_DUMP_HEADER
    if not source.is_file() or _file_start(source, len(expected)) != expected:
        kind = "SQLite" if isinstance(engine, SQLiteEngine) else "pg_dump --format=custom"
        raise BackupError(f"{source} non è una copia di sicurezza {kind} (il tipo del database configurato)")
    if await _tables(engine):
        raise BackupError("il database non è vuoto: ripristina in un database nuovo e vuoto")
    if isinstance(engine, SQLiteEngine):
        await asyncio.to_thread(_copy_sqlite, source, Path(engine.path))
    else:
        await _run("pg_restore", "--no-owner", "--exit-on-error", "--dbname", url, str(source))
