"""Search benchmark: loading, indexing, in-process and HTTP search speed on synthetic catalogues.

For each size N it builds a fresh SQLite catalogue of N published processes, replicated from real
Monithon reports with varied titles, places, years, vocabulary terms and decision holders; builds
the Whoosh index; times ``run_search`` with and without facet filters; times the same queries on an
SQLite FTS5 table as a reference; and measures ``GET /processi?q=...`` on the real server.

    .venv/bin/python bench/search.py [--sizes 10000,100000] [--queries 200] [--http-seconds 15]

It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime
import functools
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np
from whoosh.lang import stemmer_for_language
from whoosh.support.charset import accent_map

from observatory import database
from observatory.catalogue.indexing import rebuild
from observatory.catalogue.reference import load_territories, load_vocabularies
from observatory.catalogue.tables import (
    Organisation,
    OrganisationName,
    Process,
    ProcessOrganisation,
    ProcessTerm,
    ProcessTerritory,
    Term,
    Territory,
)
from observatory.search.analysis import STOP_WORDS
from observatory.search.index import SearchIndex
from observatory.search.query import SearchRequest, run_search
from observatory.settings import DATA_DIR, PROJECT_DIR
from observatory.text import fold, slugify

MONITHON_CSV = PROJECT_DIR.parent / "shared" / "data" / "processi" / "monithon_reports.csv"
MONITHON_DEMO = DATA_DIR / "demo" / "monithon.json"
BATCH = 500
WARM_UP = 20
COMUNE_ORGANISATIONS = 3000
FIRST_YEAR, LAST_YEAR = 1995, 2025
#: Words appended to replicated titles, so that copies of one report differ.
TITLE_WORDS = (
    "quartiere periferia biblioteca parco piazza mercato lungomare scuola palestra teatro museo "
    "stazione ciclovia acquedotto depuratore ospedale asilo oratorio cascina borgo frazione porto "
    "castello convento mulino fiume collina montagna valle bosco orto giardino cortile rione"
).split()
TARGETS = (
    "10k: p95 with facets <= 30 ms, >= 100 req/s",
    "100k: p95 with facets <= 150 ms, full reindex < 180 s",
)


# --- source records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A real report the synthetic processes are copied from."""

    title: str
    summary: str | None
    description: str | None
    results: str | None
    programme: str | None
    beneficiary: str | None
    organisations: tuple[str, ...]

    @property
    def body(self) -> str:
        """The text fields, as the index body holds them."""
        parts = (self.summary, self.description, self.results, self.programme, self.beneficiary)
        return "\n".join(part for part in parts if part)


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def read_sources() -> tuple[list[Source], str]:
    """The Monithon reports of the shared data folder, else the shipped demo copy; and which it was."""
    if MONITHON_CSV.exists():
        with MONITHON_CSV.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        sources = [
            Source(
                title=row["titolo"].strip(),
                summary=_text(row["giudizio_sintetico"]),
                description=_text(row["descrizione"]),
                results=_text(row["risultato_progetto"]),
                programme=_text(row["oc_descrizione_programma"]),
                beneficiary=_text(row["oc_beneficiario"]),
                organisations=tuple(
                    name for key in ("oc_beneficiario", "oc_attuatore", "autore") if (name := _text(row[key]))
                ),
            )
            for row in rows
            if row["titolo"].strip()
        ]
        return sources, str(MONITHON_CSV)
    records = json.loads(MONITHON_DEMO.read_text(encoding="utf-8"))["processes"]
    sources = [
        Source(
            title=record["title"],
            summary=record["summary"],
            description=record["description"],
            results=record["results"],
            programme=(record["funding"] or {}).get("programme"),
            beneficiary=(record["funding"] or {}).get("beneficiary"),
            organisations=tuple([*record["decision_holders"], *(o["name"] for o in record["organisations"])]),
        )
        for record in records
    ]
    return sources, str(MONITHON_DEMO)


# --- the synthetic catalogue ------------------------------------------------------------------


@dataclass
class Document:
    """What the FTS5 reference needs of one process."""

    pid: int
    source: int
    title: str
    extra: str  # names, places and vocabulary labels
    comuni: list[str]
    theme: str
    regions: list[str]
    start_year: int
    end_year: int | None
    ongoing: bool


@dataclass
class Corpus:
    """The loaded catalogue, seen from the benchmark: documents and words to search for."""

    sources: list[Source]
    documents: list[Document]
    comune_names: list[str]
    themes: list[str]


@dataclass
class Reference:
    """Territories, organisations and vocabulary terms the processes are drawn from."""

    comuni: list[dict]
    names: dict[str, str]  # territory code → name
    terms: dict[str, list[dict]]  # vocabulary → terms
    organisations: list[dict] = field(default_factory=list)


async def load_reference(rng: random.Random, sources: list[Source]) -> Reference:
    """Territories and vocabularies, then a pool of organisations: comuni and the real ones."""
    with contextlib.redirect_stdout(io.StringIO()):  # Piccolo prints every migration
        await database.migrate()
    await load_vocabularies()
    await load_territories()
    territories = await Territory.select(
        Territory.code, Territory.name, Territory.level, Territory.region_code, Territory.province_code
    )
    terms: dict[str, list[dict]] = {}
    for term in await Term.select(Term.id, Term.vocabulary, Term.slug, Term.label):
        terms.setdefault(term["vocabulary"], []).append(term)
    reference = Reference(
        comuni=[t for t in territories if t["level"] == "comune"],
        names={t["code"]: t["name"] for t in territories},
        terms=terms,
    )
    candidates = [
        (f"Comune di {comune['name']}", "comune", comune["code"])
        for comune in rng.sample(reference.comuni, COMUNE_ORGANISATIONS)
    ] + [(name, "altro", None) for source in sources for name in source.organisations]
    organisations, names, keys = [], [], set()
    for name, kind, territory in candidates:
        if fold(name) in keys:
            continue
        keys.add(fold(name))
        oid = len(organisations) + 1
        slug = f"{slugify(name, 100)}-{oid}"
        organisations.append(Organisation(id=oid, slug=slug, name=name, kind=kind, territory=territory))
        names.append(OrganisationName(organisation=oid, name=name, name_key=fold(name)))
        reference.organisations.append({"id": oid, "name": name})
    async with Organisation._meta.db.transaction():
        for table, rows in ((Organisation, organisations), (OrganisationName, names)):
            for start in range(0, len(rows), BATCH):
                await table.insert(*rows[start : start + BATCH])
    return reference


def _ancestor_names(reference: Reference, comune: dict) -> list[str]:
    return [reference.names[code] for code in ("IT", comune["region_code"], comune["province_code"])]


def make_process(
    pid: int, sources: list[Source], reference: Reference, rng: random.Random
) -> tuple[Process, list, Document]:
    """One synthetic process: its Process row, join rows and FTS5 document."""
    index = (pid - 1) % len(sources)
    source = sources[index]
    comuni = rng.sample(reference.comuni, rng.choice((1, 1, 1, 2)))
    label = rng.choice(TITLE_WORDS) if rng.random() < 0.5 else comuni[0]["name"]
    title = f"{source.title} ({label} {(pid - 1) // len(sources) + 1})"
    start = rng.randint(FIRST_YEAR, LAST_YEAR)
    ongoing = start >= 2020 and rng.random() < 0.5
    end = None if ongoing else min(LAST_YEAR, start + rng.randint(0, 4))
    chosen = {name: rng.choice(reference.terms[name]) for name in ("tipo", "ambito", "livello", "fonte")}
    tags = rng.sample(reference.terms["tematica"], rng.randint(1, 3))
    tags += rng.sample(reference.terms["metodo"], rng.randint(0, 2))
    holder = rng.choice(reference.organisations)
    process = Process(
        id=pid,
        slug=f"{slugify(title, 140)}-{pid}",
        title=title[:300],
        title_key=fold(title)[:300],
        kind=chosen["tipo"]["id"],
        theme=chosen["ambito"]["id"],
        participation_level=chosen["livello"]["id"],
        reporting_source=chosen["fonte"]["id"],
        summary=source.summary,
        description=source.description,
        results=source.results,
        funding_programme=source.programme,
        funding_beneficiary=source.beneficiary,
        start_year=start,
        end_year=end,
        ongoing=ongoing,
        state="in_corso" if ongoing else "concluso",
        publication="published",
        published_at=datetime.datetime.now(datetime.UTC),
    )
    joins = [
        *(ProcessTerritory(process=pid, territory=c["code"], position=i) for i, c in enumerate(comuni)),
        *(ProcessTerm(process=pid, term=t["id"], position=i) for i, t in enumerate(tags)),
        ProcessOrganisation(process=pid, organisation=holder["id"], role="titolare", position=0),
    ]
    places = [name for comune in comuni for name in (*_ancestor_names(reference, comune), comune["name"])]
    labels = [term["label"] for term in (*chosen.values(), *tags)]
    document = Document(
        pid=pid,
        source=index,
        title=title,
        extra="\n".join([holder["name"], *places, *labels]),
        comuni=[comune["name"] for comune in comuni],
        theme=chosen["ambito"]["slug"],
        regions=sorted({comune["region_code"] for comune in comuni}),
        start_year=start,
        end_year=end,
        ongoing=ongoing,
    )
    return process, joins, document


async def load_catalogue(size: int, sources: list[Source], rng: random.Random) -> Corpus:
    """Migrate, load reference data and ``size`` processes in bulk; print how long it took."""
    started = time.perf_counter()
    reference = await load_reference(rng, sources)
    print(f"  reference data: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    documents: list[Document] = []
    for first in range(1, size + 1, BATCH):
        processes, joins = [], {ProcessTerritory: [], ProcessTerm: [], ProcessOrganisation: []}
        for pid in range(first, min(size, first + BATCH - 1) + 1):
            process, rows, document = make_process(pid, sources, reference, rng)
            processes.append(process)
            documents.append(document)
            for row in rows:
                joins[type(row)].append(row)
        async with Process._meta.db.transaction():
            await Process.insert(*processes)
            for table, rows in joins.items():
                for start in range(0, len(rows), BATCH):
                    await table.insert(*rows[start : start + BATCH])
    print(f"  {size:,} processes loaded in {time.perf_counter() - started:.1f} s")
    return Corpus(
        sources=sources,
        documents=documents,
        comune_names=sorted({name for document in documents for name in document.comuni}),
        themes=[term["slug"] for term in reference.terms["ambito"]],
    )


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """A reader's search text and the facet filters of its "with facets" variant."""

    text: str
    region: str
    theme: str
    year_from: int


def _content_words(text: str) -> list[str]:
    """Lower-case words of four letters or more that are not stop words, in order, once each."""
    words = (w.lower() for w in re.findall(r"[^\W\d_]{4,}", text))
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS))


def _some_words(words: list[str], most: int, rng: random.Random) -> str:
    return " ".join(rng.sample(words, min(len(words), rng.randint(1, most))))


def _phrase(title: str, rng: random.Random) -> str:
    """Two neighbouring words of a title, in quotes (empty when it has no such pair)."""
    words = re.findall(r"\w+", title.lower())
    pairs = [
        (a, b)
        for a, b in zip(words, words[1:], strict=False)
        if len(a) > 2 and len(b) > 2 and a not in STOP_WORDS and b not in STOP_WORDS
    ]
    return '"{} {}"'.format(*rng.choice(pairs)) if pairs else ""


def make_queries(corpus: Corpus, count: int, rng: random.Random) -> list[Query]:
    """Queries from the corpus's own words, as readers search for things that exist.

    1-3 words of one title, 1-2 words of one description, a comune name, or a quoted pair of
    neighbouring title words; each with a region, theme and first year for the faceted variant.
    """
    makers = (
        lambda source: _some_words(_content_words(source.title), 3, rng),
        lambda source: _some_words(_content_words(source.body), 2, rng),
        lambda source: rng.choice(corpus.comune_names),
        lambda source: _phrase(source.title, rng),
    )
    queries = []
    while len(queries) < count:
        maker = rng.choices(makers, weights=(35, 25, 20, 20))[0]
        text = maker(rng.choice(corpus.sources))
        if fts_terms(text):
            queries.append(
                Query(
                    text=text,
                    region=f"R{rng.randint(1, 20):02d}",
                    theme=rng.choice(corpus.themes),
                    year_from=rng.randint(FIRST_YEAR, 2020),
                )
            )
    return queries


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    p50, p95 = np.percentile(np.array(seconds) * 1000, [50, 95])
    return float(p50), float(p95)


def time_queries(run: Callable[[Query], object], queries: list[Query]) -> tuple[float, float]:
    """Run the first queries untimed to warm up, then time every query once; p50 and p95 in ms."""
    for query in queries[:WARM_UP]:
        run(query)
    timings = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        timings.append(time.perf_counter() - started)
    return percentiles(timings)


def whoosh_request(query: Query, facets: bool) -> SearchRequest:
    """The index search of a query, plain or with region, theme and year filters."""
    if not facets:
        return SearchRequest(text=query.text, page_size=20)
    return SearchRequest(
        text=query.text,
        filters={"territorio": [query.region], "ambito": [query.theme]},
        year_from=query.year_from,
        page_size=20,
    )


# --- the SQLite FTS5 reference ----------------------------------------------------------------

_STEM = stemmer_for_language("it")


@functools.cache
def _term(word: str) -> str:
    return _STEM(word).translate(accent_map)


def fts_terms(text: str) -> list[str]:
    """Words of ``text`` as the Whoosh analyzer sees them: lower case, no stop words, stemmed, folded."""
    return [_term(word) for word in re.findall(r"\w+", text.lower()) if word not in STOP_WORDS]


def fts_match(text: str) -> str:
    """An FTS5 MATCH expression: every word required, quoted phrases kept as phrases."""
    parts = []
    for phrase, words in re.findall(r'"([^"]*)"|(\S+)', text):
        terms = fts_terms(phrase or words)
        if terms:
            parts.append('"' + " ".join(terms) + '"')
    return " AND ".join(parts)


YEARS_SQL = "(m.end_year >= :year OR (m.end_year IS NULL AND (m.ongoing OR m.start_year >= :year)))"
REGION_SQL = "EXISTS (SELECT 1 FROM place p WHERE p.id = f.rowid AND p.region = :region)"
FTS_PAGE = "SELECT f.rowid FROM fts f WHERE fts MATCH :match ORDER BY bm25(fts, 6.0, 1.0) LIMIT 20"
FTS_FACET_PAGE = f"""
    SELECT f.rowid FROM fts f JOIN meta m ON m.id = f.rowid
    WHERE fts MATCH :match AND m.theme = :theme AND {YEARS_SQL} AND {REGION_SQL}
    ORDER BY bm25(fts, 6.0, 1.0) LIMIT 20"""
FTS_THEME_COUNTS = f"""
    SELECT m.theme, count(*) FROM fts f JOIN meta m ON m.id = f.rowid
    WHERE fts MATCH :match AND {YEARS_SQL} AND {REGION_SQL} GROUP BY m.theme"""
FTS_REGION_COUNTS = f"""
    SELECT p.region, count(*) FROM fts f JOIN meta m ON m.id = f.rowid JOIN place p ON p.id = f.rowid
    WHERE fts MATCH :match AND m.theme = :theme AND {YEARS_SQL} GROUP BY p.region"""


def build_fts(path: Path, corpus: Corpus) -> sqlite3.Connection:
    """An SQLite database with the corpus in an FTS5 table (title, body) and facet tables."""
    connection = sqlite3.connect(path)
    connection.executescript(
        """
        CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 0');
        CREATE TABLE meta (id INTEGER PRIMARY KEY, theme TEXT, start_year INT, end_year INT, ongoing INT);
        CREATE TABLE place (id INTEGER, region TEXT, PRIMARY KEY (id, region)) WITHOUT ROWID;
        """
    )
    bodies = [" ".join(fts_terms(source.body)) for source in corpus.sources]
    with connection:
        connection.executemany(
            "INSERT INTO fts (rowid, title, body) VALUES (?, ?, ?)",
            (
                (d.pid, " ".join(fts_terms(d.title)), bodies[d.source] + " " + " ".join(fts_terms(d.extra)))
                for d in corpus.documents
            ),
        )
        connection.executemany(
            "INSERT INTO meta VALUES (?, ?, ?, ?, ?)",
            ((d.pid, d.theme, d.start_year, d.end_year, d.ongoing) for d in corpus.documents),
        )
        connection.executemany(
            "INSERT INTO place VALUES (?, ?)",
            ((d.pid, region) for d in corpus.documents for region in d.regions),
        )
    return connection


def fts_search(connection: sqlite3.Connection, query: Query, facets: bool) -> None:
    """A page of 20 by bm25; with facets, filtered by region, theme and years, with 2 facet counts."""
    if not facets:
        connection.execute(FTS_PAGE, {"match": fts_match(query.text)}).fetchall()
        return
    params = {
        "match": fts_match(query.text),
        "theme": query.theme,
        "region": query.region,
        "year": query.year_from,
    }
    for sql in (FTS_FACET_PAGE, FTS_THEME_COUNTS, FTS_REGION_COUNTS):
        connection.execute(sql, params).fetchall()


# --- HTTP -------------------------------------------------------------------------------------

WRK_SCRIPT = """
paths = {%(paths)s}
limit = %(limit)d
counter = 0
answered = 0

function request()
  counter = counter %% #paths + 1
  return wrk.format("GET", paths[counter])
end

function response(status, headers, body)
  answered = answered + 1
  if answered >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout, latency:percentile(50)))
end
"""


@dataclass(frozen=True)
class HttpFigures:
    """Throughput of one load run."""

    requests: int
    seconds: float
    p50_ms: float
    errors: int
    tool: str

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_server(database_url: str, index_dir: Path, log: Path) -> Iterator[str]:
    """``observatory serve`` (one worker) on a free loopback port; yield its base URL, always stop it."""
    with server_process(database_url, index_dir, log) as (base, _server):
        yield base


@contextlib.contextmanager
def server_process(database_url: str, index_dir: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """As :func:`running_server`, yielding the server process too (it serves: one worker, no fork)."""
    port = _free_port()
    env = {**os.environ, "OBSERVATORY_DATABASE_URL": database_url, "OBSERVATORY_INDEX_DIR": str(index_dir)}
    command = [sys.executable, "-m", "observatory", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited with {server.returncode}:\n{log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/processi", timeout=60).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer in 60 s:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def load_with_wrk(base: str, paths: list[str], seconds: float, limit: int, folder: Path) -> HttpFigures:
    """wrk, one thread and 8 connections, stopped after ``seconds`` or ``limit`` answers."""
    lua_paths = ", ".join(json.dumps(path) for path in paths)
    script = folder / "processi.lua"
    script.write_text(WRK_SCRIPT % {"paths": lua_paths, "limit": limit})
    command = ["wrk", "-t1", "-c8", f"-d{seconds:g}s", "--timeout", "30s", "-s", str(script), base]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if result is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    requests, micros, status_errors, socket_errors, p50 = map(int, result.groups())
    return HttpFigures(requests, micros / 1e6, p50 / 1000, status_errors + socket_errors, "wrk")


async def load_with_httpx(base: str, paths: list[str], seconds: float, limit: int) -> HttpFigures:
    """8 concurrent httpx clients, stopped after ``seconds`` or ``limit`` requests."""
    timings: list[float] = []
    errors = 0
    sent = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors, sent
        while sent < limit and time.perf_counter() < deadline:
            path = paths[sent % len(paths)]
            sent += 1
            begun = time.perf_counter()
            response = await client.get(path)
            timings.append(time.perf_counter() - begun)
            errors += response.status_code != 200

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(8)))
    return HttpFigures(len(timings), time.perf_counter() - started, percentiles(timings)[0], errors, "httpx")


def measure_http(
    database_url: str, index_dir: Path, queries: list[Query], args: argparse.Namespace, folder: Path
) -> HttpFigures:
    """Requests per second of GET /processi?q=... on the real server."""
    paths = [f"/processi?q={quote(query.text)}" for query in queries]
    with running_server(database_url, index_dir, folder / "server.log") as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            for path in paths[:WARM_UP]:
                client.get(path).raise_for_status()
        use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk"))
        if use_wrk:
            return load_with_wrk(base, paths, args.http_seconds, args.http_max_requests, folder)
        return asyncio.run(load_with_httpx(base, paths, args.http_seconds, args.http_max_requests))


# --- one size ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """Every figure of one catalogue size."""

    size: int
    load_s: float = 0.0
    build_s: float = 0.0
    index_mb: float = 0.0
    plain: tuple[float, float] = (0.0, 0.0)
    facets: tuple[float, float] = (0.0, 0.0)
    fts_plain: tuple[float, float] = (0.0, 0.0)
    fts_facets: tuple[float, float] = (0.0, 0.0)
    http: HttpFigures | None = None


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def bench_size(size: int, sources: list[Source], args: argparse.Namespace, folder: Path) -> Figures:
    """Load, index, search in process, search FTS5, search over HTTP: the figures of one size."""
    rng = random.Random(args.seed)
    figures = Figures(size)
    database_url = f"sqlite:///{folder / 'osservatorio.db'}"
    database.configure(database_url)
    started = time.perf_counter()
    corpus = asyncio.run(load_catalogue(size, sources, rng))
    figures.load_s = time.perf_counter() - started

    search_index = SearchIndex(folder / "index")
    started = time.perf_counter()
    indexed = asyncio.run(rebuild(search_index))
    figures.build_s = time.perf_counter() - started
    figures.index_mb = folder_mb(search_index.folder)
    print(f"  index of {indexed:,} built in {figures.build_s:.1f} s, {figures.index_mb:.0f} MB")

    queries = make_queries(corpus, args.queries, rng)
    started = time.perf_counter()
    search_index.searcher()
    print(f"  searcher and facet arrays opened in {time.perf_counter() - started:.2f} s")
    figures.plain = time_queries(lambda q: run_search(search_index, whoosh_request(q, False)), queries)
    figures.facets = time_queries(lambda q: run_search(search_index, whoosh_request(q, True)), queries)
    search_index.close()
    print(
        "  Whoosh p50/p95 ms: plain {:.1f}/{:.1f}, with facets {:.1f}/{:.1f}".format(
            *figures.plain, *figures.facets
        )
    )

    started = time.perf_counter()
    connection = build_fts(folder / "fts.db", corpus)
    print(f"  FTS5 reference built in {time.perf_counter() - started:.1f} s")
    figures.fts_plain = time_queries(lambda q: fts_search(connection, q, False), queries)
    figures.fts_facets = time_queries(lambda q: fts_search(connection, q, True), queries)
    connection.close()
    print(
        "  FTS5 p50/p95 ms: plain {:.1f}/{:.1f}, with facets {:.1f}/{:.1f}".format(
            *figures.fts_plain, *figures.fts_facets
        )
    )

    figures.http = measure_http(database_url, search_index.folder, queries, args, folder)
    print(
        f"  HTTP ({figures.http.tool}): {figures.http.requests} requests in {figures.http.seconds:.1f} s, "
        f"{figures.http.per_second:.1f} req/s, p50 {figures.http.p50_ms:.0f} ms, {figures.http.errors} errors"
    )
    return figures


def print_table(rows: list[Figures]) -> None:
    """The final table, one line per size, then the targets."""
    header = (
        "size",
        "load s",
        "index build s",
        "index MB",
        "p50/p95 plain ms",
        "p50/p95 facets ms",
        "FTS5 p50/p95 ms",
        "FTS5+facets p50/p95",
        "HTTP req/s",
    )
    lines = [
        (
            f"{f.size:,}",
            f"{f.load_s:.1f}",
            f"{f.build_s:.1f}",
            f"{f.index_mb:.0f}",
            "{:.1f}/{:.1f}".format(*f.plain),
            "{:.1f}/{:.1f}".format(*f.facets),
            "{:.1f}/{:.1f}".format(*f.fts_plain),
            "{:.1f}/{:.1f}".format(*f.fts_facets),
            f"{f.http.per_second:.1f}" if f.http else "-",
        )
        for f in rows
    ]
    widths = [max(len(line[i]) for line in (header, *lines)) for i in range(len(header))]
    print()
    for line in (header, *lines):
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    print("targets: " + "; ".join(TARGETS))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[10_000, 100_000],
        help="catalogue sizes, comma separated (default: 10000,100000)",
    )
    parser.add_argument("--queries", type=int, default=200, help="queries per measure (default: 200)")
    parser.add_argument("--http-seconds", type=float, default=15, help="HTTP load duration (default: 15)")
    parser.add_argument(
        "--http-max-requests", type=int, default=20_000, help="HTTP load request cap (default: 20000)"
    )
    parser.add_argument(
        "--load",
        choices=("auto", "wrk", "httpx"),
        default="auto",
        help="HTTP load generator: wrk when installed, else httpx (default: auto)",
    )
    parser.add_argument("--seed", type=int, default=2024, help="random seed (default: 2024)")
    return parser.parse_args()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # clean up: stop the server
    args = parse_args()
    sources, origin = read_sources()
    print(f"{len(sources)} source reports from {origin}")
    rows = []
    for size in args.sizes:
        print(f"\n== {size:,} processes")
        with tempfile.TemporaryDirectory(prefix=f"osservatorio-bench-{size}-") as folder:
            rows.append(bench_size(size, sources, args, Path(folder)))
    print_table(rows)


if __name__ == "__main__":
    main()
