"""Fixtures: a real database on SQLite and on PostgreSQL, the real app, the real CLI.

Every test that asks for ``db_url`` (or for a fixture built on it) runs once per backend.
PostgreSQL runs when it answers at OBSERVATORY_TEST_POSTGRES_URL (default: the local server's
``test`` database); with OBSERVATORY_TEST_POSTGRES=required (as in .ci/run) a missing server is
an error instead of a skip.
"""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import asyncpg
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from observatory import database
from observatory.app import create_app
from observatory.catalogue.indexing import rebuild
from observatory.catalogue.reference import load_english_labels, load_territories, load_vocabularies
from observatory.catalogue.transfer import import_file
from observatory.cli import DEMO_FILES, main
from observatory.curation.synonyms import load_shipped_synonyms
from observatory.search.index import SearchIndex
from observatory.settings import Settings

POSTGRES_URL = os.environ.get("OBSERVATORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
POSTGRES_REQUIRED = os.environ.get("OBSERVATORY_TEST_POSTGRES", "") == "required"
_counter = itertools.count()


@pytest.fixture(scope="session")
def anyio_backend():
    return "asyncio"


def _postgres_available() -> bool:
    async def probe() -> None:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    return True


def _with_database(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class Backend:
    """One database server: template databases built once per test run (shared by the xdist
    workers) and cloned per test."""

    def __init__(self, name: str, shared: Path, run_id: str, worker: str):
        self.name = name
        self.shared = shared
        self.run_id = run_id
        self.worker = worker
        self.created: list[str] = []
        self._dropper = ThreadPoolExecutor(max_workers=1)
        self._dropping: list[Future] = []

    def _url(self, label: str) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.shared / f'{label}.db'}"
        return _with_database(POSTGRES_URL, f"osv_{self.run_id}_{label}")

    def _create(self, url: str, template: str | None = None) -> None:
        if self.name == "postgres":
            name = urlparse(url).path.lstrip("/")
            # a file copy of the template: writing it all to the WAL (the default) took 3 times as long
            clause = (
                f' TEMPLATE "{urlparse(template).path.lstrip("/")}" STRATEGY FILE_COPY' if template else ""
            )
            asyncio.run(_admin(f'CREATE DATABASE "{name}"{clause}'))
        elif template:
            shutil.copyfile(urlparse(template).path, urlparse(url).path)

    def discard(self, url: str) -> None:
        """Drop a test's database in the background, while the next tests run."""
        if self.name == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(urlparse(url).path + suffix).unlink(missing_ok=True)
            return
        name = urlparse(url).path.lstrip("/")
        if name in self.created:
            self.created.remove(name)
            self._dropping.append(
                self._dropper.submit(asyncio.run, _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            )

    def template(self, kind: str) -> str:
        """A database (and its search index) built once per test run: ``empty`` or ``demo``.
        The first worker to need it builds it; the others wait for it and reuse it."""
        url = self._url(f"template_{kind}")
        built = self.shared / f"template_{kind}.built"
        with open(self.shared / f"template_{kind}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not built.exists():
                self._create(url)
                asyncio.run(_build(url, self.shared / f"index_{kind}", with_demo=kind == "demo"))
                built.touch()
        return url

    def _test_url(self, label: str) -> str:
        url = self._url(f"{label}_{self.worker}_{next(_counter)}")
        if self.name == "postgres":
            self.created.append(urlparse(url).path.lstrip("/"))
        return url

    def clone(self, kind: str, index_dir: Path) -> str:
        """A fresh copy of a template database, for one test; its index is copied to ``index_dir``."""
        template = self.template(kind)
        url = self._test_url(kind)
        self._create(url, template)
        shutil.copytree(self.shared / f"index_{kind}", index_dir)
        return url

    def blank(self) -> str:
        """A new database with no table at all, for one test."""
        url = self._test_url("blank")
        self._create(url)
        return url

    def drop_tests(self) -> None:
        """Drop this worker's test databases (the templates go when the whole run ends)."""
        for dropping in self._dropping:
            dropping.result()
        self._dropper.shutdown()
        for name in reversed(self.created):
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def pytest_configure(config) -> None:
    """Name the run once, in the first process: the xdist workers inherit it and so share the
    PostgreSQL templates it names."""
    os.environ.setdefault("OBSERVATORY_TEST_RUN", uuid.uuid4().hex[:12])


def _run_id() -> str:
    return os.environ["OBSERVATORY_TEST_RUN"]


def pytest_sessionfinish(session) -> None:
    """After the last worker: drop this run's PostgreSQL databases (the templates)."""
    if hasattr(session.config, "workerinput") or not _postgres_available():
        return

    async def drop_run_databases() -> None:
        connection = await asyncpg.connect(POSTGRES_URL)
        try:
            names = await connection.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1", f"osv_{_run_id()}_%"
            )
            for (name,) in names:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop_run_databases())


async def _build(url: str, index_dir: Path, with_demo: bool) -> None:
    database.configure(url)
    await database.migrate()
    await load_vocabularies()
    await load_shipped_synonyms()
    await load_territories()
    if with_demo:
        for path in DEMO_FILES:
            report = await import_file(path)
            assert not report.problems, [line for p in report.problems for line in p.lines()]
    await rebuild(SearchIndex(index_dir))


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request, tmp_path_factory, worker_id):
    if request.param == "postgres" and not _postgres_available():
        if POSTGRES_REQUIRED:
            pytest.fail(f"PostgreSQL is required but does not answer at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL does not answer at {POSTGRES_URL}")
    # under xdist the base temporary folder is one per worker; its parent is the run's own
    run_folder = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        run_folder = run_folder.parent
    shared = run_folder / f"backend-{request.param}"
    shared.mkdir(exist_ok=True)
    backend = Backend(request.param, shared, _run_id(), worker_id)
    yield backend
    backend.drop_tests()


@pytest.fixture
def demo_db_url(backend, tmp_path) -> Iterator[str]:
    """A database of its own holding the reference data and the shipped demo catalogue,
    with its search index in ``tmp_path / "index"``."""
    url = backend.clone("demo", tmp_path / "index")
    yield url
    backend.discard(url)


@pytest.fixture
def empty_db_url(backend, tmp_path) -> Iterator[str]:
    """A database of its own with reference data (territories, vocabularies) and no process,
    with its (empty) search index in ``tmp_path / "index"``."""
    url = backend.clone("empty", tmp_path / "index")
    yield url
    backend.discard(url)


@pytest.fixture
def blank_db_url(backend) -> Iterator[str]:
    """A database of its own with no table at all (to restore a backup into)."""
    url = backend.blank()
    yield url
    backend.discard(url)


def make_settings(db_url: str, tmp_path: Path) -> Settings:
    # the tests apply index changes themselves (refresh_index): no background round in between
    return Settings(
        database_url=db_url,
        index_dir=tmp_path / "index",
        secret_key="test-secret",
        page_size=20,
        index_poll=3600,
    )


@asynccontextmanager
async def app_client(db_url: str, tmp_path: Path, poll: float = 3600):
    """An HTTP client on a real app of its own over ``db_url``, its index in ``tmp_path / "index"``,
    applying changes from other instances every ``poll`` seconds."""
    app = create_app(dataclasses.replace(make_settings(db_url, tmp_path), index_poll=poll))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def client(demo_db_url, tmp_path):
    """An HTTP client on the real app over the demo catalogue."""
    app = create_app(make_settings(demo_db_url, tmp_path))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
async def _shared_reader(backend, tmp_path_factory):
    """One real app over a demo catalogue of its own, per worker and backend, for :func:`reader`."""
    folder = tmp_path_factory.mktemp(f"reader-{backend.name}")
    url = await asyncio.to_thread(backend.clone, "demo", folder / "index")  # it runs its own loop
    app = create_app(make_settings(url, folder))
    engine = database.configured()
    async with AsyncTestClient(app=app) as test_client:
        yield test_client, engine
    backend.discard(url)


async def _set_back(engine) -> dict[str, int]:
    """Make ``engine`` the tables' database and reload its English labels; count every table's rows."""
    from observatory import piccolo_conf

    database.use(engine)  # another test's app made its own database the tables' one
    await load_english_labels()
    tables = [table for app in piccolo_conf.APP_REGISTRY.app_configs.values() for table in app.table_classes]
    return {table._meta.tablename: await table.count() for table in tables}


@pytest.fixture
def reader(_shared_reader):
    """An HTTP client on the real app over the demo catalogue, shared by the tests that only read:
    building a database, an index and an app for each test took most of such a test's time. The
    tables' engine, the English labels and the cookies are set back before each test; a test that
    adds or removes a row fails (it must use ``client``)."""
    test_client, engine = _shared_reader
    on_the_apps_loop = test_client.blocking_portal.call  # where its connection pool lives
    test_client.cookies.clear()
    rows = on_the_apps_loop(_set_back, engine)
    yield test_client
    assert on_the_apps_loop(_set_back, engine) == rows, "a test on the shared `reader` wrote: use `client`"


@pytest.fixture
async def empty_client(empty_db_url, tmp_path):
    """An HTTP client on the real app over a catalogue with no process."""
    app = create_app(make_settings(empty_db_url, tmp_path))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
def cli(tmp_path):
    """Run ``observatory`` commands against a database: cli(db_url, "import", path)."""
    runner = CliRunner()

    def run(db_url: str, *args: str):
        env = {"OBSERVATORY_DATABASE_URL": db_url, "OBSERVATORY_INDEX_DIR": str(tmp_path / "index")}
        return runner.invoke(main, list(args), env=env, catch_exceptions=False)

    return run
