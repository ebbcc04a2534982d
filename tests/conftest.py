"""Fixtures: a real database on SQLite and on PostgreSQL, the real app, the real CLI.

Every test that asks for ``db_url`` (or for a fixture built on it) runs once per backend.
PostgreSQL runs when it answers at OBSERVATORY_TEST_POSTGRES_URL (default: the local server's
``test`` database); with OBSERVATORY_TEST_POSTGRES=required (as in .ci/run) a missing server is
an error instead of a skip.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import os
import shutil
import uuid
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
from observatory.catalogue.reference import load_territories, load_vocabularies
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
    """One database server: builds template databases once and clones them per test."""

    def __init__(self, name: str, workdir: Path):
        self.name = name
        self.workdir = workdir
        self.run_id = uuid.uuid4().hex[:8]
        self.templates: dict[str, str] = {}
        self.created: list[str] = []

    def _url(self, label: str) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.workdir / f'{label}.db'}"
        return _with_database(POSTGRES_URL, f"osv_{self.run_id}_{label}")

    def _create(self, url: str, template: str | None = None) -> None:
        if self.name == "postgres":
            name = urlparse(url).path.lstrip("/")
            clause = f' TEMPLATE "{urlparse(template).path.lstrip("/")}"' if template else ""
            asyncio.run(_admin(f'CREATE DATABASE "{name}"{clause}'))
            self.created.append(name)
        elif template:
            shutil.copyfile(urlparse(template).path, urlparse(url).path)

    def template(self, kind: str) -> str:
        """A database (and its search index) built once per session: ``empty`` or ``demo``."""
        if kind not in self.templates:
            url = self._url(f"template_{kind}")
            self._create(url)
            asyncio.run(_build(url, self.workdir / f"index_{kind}", with_demo=kind == "demo"))
            self.templates[kind] = url
        return self.templates[kind]

    def clone(self, kind: str, index_dir: Path) -> str:
        """A fresh copy of a template database, for one test; its index is copied to ``index_dir``."""
        template = self.template(kind)
        url = self._url(f"{kind}_{next(_counter)}")
        self._create(url, template)
        shutil.copytree(self.workdir / f"index_{kind}", index_dir)
        return url

    def blank(self) -> str:
        """A new database with no table at all, for one test."""
        url = self._url(f"blank_{next(_counter)}")
        self._create(url)
        return url

    def drop_all(self) -> None:
        for name in reversed(self.created):
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
def backend(request, tmp_path_factory):
    if request.param == "postgres" and not _postgres_available():
        if POSTGRES_REQUIRED:
            pytest.fail(f"PostgreSQL is required but does not answer at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL does not answer at {POSTGRES_URL}")
    backend = Backend(request.param, tmp_path_factory.mktemp(request.param))
    yield backend
    backend.drop_all()


@pytest.fixture
def demo_db_url(backend, tmp_path) -> str:
    """A database of its own holding the reference data and the shipped demo catalogue,
    with its search index in ``tmp_path / "index"``."""
    return backend.clone("demo", tmp_path / "index")


@pytest.fixture
def empty_db_url(backend, tmp_path) -> str:
    """A database of its own with reference data (territories, vocabularies) and no process,
    with its (empty) search index in ``tmp_path / "index"``."""
    return backend.clone("empty", tmp_path / "index")


@pytest.fixture
def blank_db_url(backend) -> str:
    """A database of its own with no table at all (to restore a backup into)."""
    return backend.blank()


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
