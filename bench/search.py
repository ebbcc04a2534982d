"""Search benchmark: loading, indexing, in-process and HTTP search speed on synthetic catalogues.

For each size N it builds an SQLite catalogue of N published processes, replicated from real
Monithon reports with varied titles, places, years, vocabulary terms and decision holders; builds
the Whoosh index and two SQLite FTS5 references of the same texts: one with the ``unicode61``
tokenizer over the words as the index analyses them (stemmed, accents folded), one with the
``trigram`` tokenizer over titles, names, places and labels (``remove_diacritics 1`` when SQLite
is 3.45 or later, else over the folded text). With ``--folder DIR`` all of it is kept in
``DIR/search-N-SEED`` and reused by the next run of the same size and seed (the index alone is
rebuilt when an older index FORMAT wrote it); without, it lives in a temporary folder.

Then it draws query sets from the catalogue, each reproducibly from ``--seed`` and its own name,
and times each query once, after warming up on 20 other queries of the same set:

- *plain*: 1-3 words of a report's title, 1-2 words of its description, a comune name, or a quoted
  pair of neighbouring title words;
- *phrase*: a quoted pair or triple of neighbouring title or description words;
- *typo*: 1-3 words of a report's title, one of 5 letters or more with one typo (two neighbouring
  letters swapped, one dropped, doubled or replaced: bench/quality.py's ``with_typo``);
- *prefix*: the first 2-12 letters of a title word, a comune's name or an organisation's name.

The first three run through ``run_search`` as they are and with region, theme and year filters;
beside them the same queries on FTS5, a page of 20 by bm25 (with filters, also 2 facet counts).
The plain and phrase sets use the unicode61 table with every word required and quoted phrases as
phrases. The typo set uses the trigram table: each word of 3 letters or more becomes its
trigrams OR-ed together, the words AND-ed, ranked by bm25 (title 6, names 3), so a word matches
any text sharing a trigram with it and the texts sharing most of them, the rarest above all, rank
first. For the typo set it also counts, for both, the queries whose report is found: a process
copied from it in the top 20 (the catalogue holds N/reports copies of each report, whose titles
differ only by the word and number appended). The prefix set is timed over HTTP,
``GET /api/v1/suggerimenti?q=…`` on the real server (one worker, one client, in turn; "endpoint
missing" when it answers 404); beside it, in process, FTS5's prefix query on the unicode61 table
(the words before the last required, the last stemmed as a prefix: ``"comun" AND "tor" *``), top
10 titles by bm25. Last, requests per second of ``GET /processi?q=…`` (plain set) on the server.

    .venv/bin/python bench/search.py [--sizes 10000,100000] [--queries 200] [--http-seconds 15]
        [--folder DIR] [--seed 2024]

It prints a table per size, a summary and the targets with PASS or MISS; it is not a test.
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
from quality import with_typo
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
#: What a kept folder holds; a folder written with another value is built again.
KEPT_FORMAT = "1"
SUGGESTIONS = "/api/v1/suggerimenti"
TOP = 20


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


@dataclass
class Material:
    """What queries are drawn from: the reports, and the titles and names of the catalogue."""

    sources: list[Source]
    titles: list[str]
    comune_names: list[str]
    organisation_names: list[str]
    themes: list[str]

    def report_of(self, pid: int) -> int:
        """The report process ``pid`` was copied from (see :func:`make_process`)."""
        return (pid - 1) % len(self.sources)


def read_material(database_file: Path, sources: list[Source]) -> Material:
    """The titles and names of a built catalogue, read back from its database (built now or kept)."""
    connection = sqlite3.connect(database_file)
    titles = [title for (title,) in connection.execute("SELECT title FROM process ORDER BY id")]
    comuni = connection.execute(
        "SELECT DISTINCT t.name FROM process_territory pt JOIN territory t ON t.code = pt.territory"
    )
    organisations = connection.execute("SELECT name FROM organisation ORDER BY id")
    themes = connection.execute("SELECT slug FROM term WHERE vocabulary = 'ambito' ORDER BY id")
    material = Material(
        sources=sources,
        titles=titles,
        comune_names=sorted(name for (name,) in comuni),
        organisation_names=[name for (name,) in organisations],
        themes=[slug for (slug,) in themes],
    )
    connection.close()
    return material


@dataclass(frozen=True)
class Query:
    """A reader's search text and the facet filters of its "with facets" variant."""

    text: str
    region: str
    theme: str
    year_from: int
    #: The report the words come from (typo set), whose copies the search should find.
    report: int | None = None


@dataclass
class QuerySet:
    """Queries timed together, and as many others of the same kind to warm up on."""

    name: str
    queries: list[Query]
    warm_up: list[Query]


def _content_words(text: str) -> list[str]:
    """Lower-case words of four letters or more that are not stop words, in order, once each."""
    words = (w.lower() for w in re.findall(r"[^\W\d_]{4,}", text))
    return list(dict.fromkeys(w for w in words if w not in STOP_WORDS))


def _some_words(words: list[str], most: int, rng: random.Random) -> str:
    return " ".join(rng.sample(words, min(len(words), rng.randint(1, most))))


_EDGES = '.,;:!?()[]«»"“”'


def _phrase(text: str, rng: random.Random, length: int = 2) -> str:
    """``length`` neighbouring words of ``text``, in quotes (empty when it has no such run): words of
    3 letters or more, not stop words, with only spaces and punctuation between them."""
    tokens = [token.strip(_EDGES).lower() for token in text.split()]
    usable = [w if w.isalpha() and len(w) > 2 and w not in STOP_WORDS else "" for w in tokens]
    runs = [usable[i : i + length] for i in range(len(usable) - length + 1) if all(usable[i : i + length])]
    return '"{}"'.format(" ".join(rng.choice(runs))) if runs else ""


def _misspelt(source: Source, rng: random.Random) -> str:
    """1-3 words of the title in their order, one of 5 letters or more with one typo (empty when the
    title has no such word)."""
    words = _content_words(source.title)
    long_words = [w for w in words if len(w) >= 5]
    if not long_words:
        return ""
    wrong = rng.choice(long_words)
    others = [w for w in words if w != wrong]
    chosen = {wrong, *rng.sample(others, min(len(others), rng.randint(0, 2)))}
    typo = wrong
    while typo == wrong:  # swapping two equal letters changes nothing
        typo = with_typo(wrong, rng)
    return " ".join(typo if w == wrong else w for w in words if w in chosen)


def _prefix(name: str, rng: random.Random) -> str:
    """The first 2-12 characters of ``name``."""
    if len(name) < 2:
        return ""
    return name[: rng.randint(2, min(12, len(name)))].rstrip()


#: How each set's search text is drawn: (text, the report it comes from or None).
Maker = Callable[[Material, random.Random], tuple[str, int | None]]


def _plain(material: Material, rng: random.Random) -> tuple[str, int | None]:
    report = rng.randrange(len(material.sources))
    source = material.sources[report]
    kind = rng.choices(("title", "body", "comune", "phrase"), weights=(35, 25, 20, 20))[0]
    if kind == "title":
        return _some_words(_content_words(source.title), 3, rng), None
    if kind == "body":
        return _some_words(_content_words(source.body), 2, rng), None
    if kind == "comune":
        return rng.choice(material.comune_names), None
    return _phrase(source.title, rng), None


def _phrases(material: Material, rng: random.Random) -> tuple[str, int | None]:
    source = rng.choice(material.sources)
    return _phrase(rng.choice((source.title, source.body)), rng, rng.choice((2, 3))), None


def _typos(material: Material, rng: random.Random) -> tuple[str, int | None]:
    report = rng.randrange(len(material.sources))
    return _misspelt(material.sources[report], rng), report


def _prefixes(material: Material, rng: random.Random) -> tuple[str, int | None]:
    kind = rng.choice(("title", "comune", "organisation"))
    if kind == "title":
        words = _content_words(rng.choice(material.titles))
        return (_prefix(rng.choice(words), rng) if words else ""), None
    names = material.comune_names if kind == "comune" else material.organisation_names
    return _prefix(rng.choice(names), rng), None


MAKERS: dict[str, Maker] = {"plain": _plain, "phrase": _phrases, "typo": _typos, "prefix": _prefixes}


def make_queries(name: str, material: Material, count: int, seed: int) -> QuerySet:
    """``count`` distinct queries of set ``name`` (and WARM_UP more), the same for the same catalogue
    and seed; each with a region, a theme and a first year for its faceted variant."""
    rng = random.Random(f"{seed}:{name}")
    texts: set[str] = set()
    queries: list[Query] = []
    for _ in range(100 * (count + WARM_UP)):
        text, report = MAKERS[name](material, rng)
        if text in texts or not fts_terms(text):
            continue
        texts.add(text)
        queries.append(
            Query(
                text=text,
                region=f"R{rng.randint(1, 20):02d}",
                theme=rng.choice(material.themes),
                year_from=rng.randint(FIRST_YEAR, 2020),
                report=report,
            )
        )
        if len(queries) == count + WARM_UP:
            return QuerySet(name, queries[WARM_UP:], queries[:WARM_UP])
    raise RuntimeError(f"the catalogue gives fewer than {count + WARM_UP} distinct {name} queries")


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    p50, p95 = np.percentile(np.array(seconds) * 1000, [50, 95])
    return float(p50), float(p95)


def time_queries(run: Callable[[Query], object], query_set: QuerySet) -> tuple[float, float]:
    """Run the warm-up queries untimed, then time every query once; p50 and p95 in ms."""
    for query in query_set.warm_up:
        run(query)
    timings = []
    for query in query_set.queries:
        started = time.perf_counter()
        run(query)
        timings.append(time.perf_counter() - started)
    return percentiles(timings)


def whoosh_request(query: Query, facets: bool) -> SearchRequest:
    """The index search of a query, plain or with region, theme and year filters."""
    if not facets:
        return SearchRequest(text=query.text, page_size=TOP)
    return SearchRequest(
        text=query.text,
        filters={"territorio": [query.region], "ambito": [query.theme]},
        year_from=query.year_from,
        page_size=TOP,
    )


# --- the SQLite FTS5 references ---------------------------------------------------------------

_STEM = stemmer_for_language("it")
#: The trigram tokenizer folds accents itself from SQLite 3.45; before, it is given folded text.
TRIGRAM_FOLDS = sqlite3.sqlite_version_info >= (3, 45, 0)
TRIGRAM_TOKENIZER = "trigram remove_diacritics 1" if TRIGRAM_FOLDS else "trigram"


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


def trigram_match(text: str) -> str:
    """An FTS5 MATCH expression for the trigram table: each word of 3 letters or more (not a stop
    word) as its trigrams OR-ed, the words AND-ed; bm25 then ranks first the texts sharing most."""
    groups = []
    for word in fold(text).split():
        if len(word) >= 3 and word not in STOP_WORDS:
            grams = dict.fromkeys(word[i : i + 3] for i in range(len(word) - 2))
            groups.append("(" + " OR ".join(f'"{gram}"' for gram in grams) + ")")
    return " AND ".join(groups)


def prefix_match(text: str) -> str:
    """An FTS5 MATCH expression for a prefix being typed: the words before the last required, the
    last one stemmed (which shortens it as it shortens the whole word) as the beginning of a word."""
    *words, last = fts_terms(text)
    return " AND ".join([*(f'"{word}"' for word in words), f'"{last}" *'])


@dataclass(frozen=True)
class FtsTable:
    """One FTS5 reference: its table, its bm25 weights per column and how a query is written for it."""

    name: str
    weights: str
    match: Callable[[str], str]

    def sql(self, template: str) -> str:
        return template.format(table=self.name, rank=f"bm25({self.name}, {self.weights})")


WORDS = FtsTable("fts", "6.0, 1.0", fts_match)
TRIGRAMS = FtsTable("tri", "6.0, 3.0", trigram_match)

YEARS_SQL = "(m.end_year >= :year OR (m.end_year IS NULL AND (m.ongoing OR m.start_year >= :year)))"
REGION_SQL = "EXISTS (SELECT 1 FROM place p WHERE p.id = f.rowid AND p.region = :region)"
FTS_PAGE = f"SELECT f.rowid FROM {{table}} f WHERE {{table}} MATCH :match ORDER BY {{rank}} LIMIT {TOP}"
FTS_FACET_PAGE = f"""
    SELECT f.rowid FROM {{table}} f JOIN meta m ON m.id = f.rowid
    WHERE {{table}} MATCH :match AND m.theme = :theme AND {YEARS_SQL} AND {REGION_SQL}
    ORDER BY {{rank}} LIMIT {TOP}"""
FTS_THEME_COUNTS = f"""
    SELECT m.theme, count(*) FROM {{table}} f JOIN meta m ON m.id = f.rowid
    WHERE {{table}} MATCH :match AND {YEARS_SQL} AND {REGION_SQL} GROUP BY m.theme"""
FTS_REGION_COUNTS = f"""
    SELECT p.region, count(*) FROM {{table}} f JOIN meta m ON m.id = f.rowid JOIN place p ON p.id = f.rowid
    WHERE {{table}} MATCH :match AND m.theme = :theme AND {YEARS_SQL} GROUP BY p.region"""
FTS_PREFIX = "SELECT title FROM fts WHERE fts MATCH :match ORDER BY bm25(fts, 6.0, 1.0) LIMIT 10"


def build_fts(path: Path, corpus: Corpus) -> None:
    """An SQLite database with the corpus in two FTS5 tables and facet tables: ``fts`` (unicode61,
    title and body as the index analyses them) and ``tri`` (trigram, title and the names, places
    and labels, the words typos are looked for among)."""
    connection = sqlite3.connect(path)
    connection.executescript(
        f"""
        CREATE VIRTUAL TABLE fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 0');
        CREATE VIRTUAL TABLE tri USING fts5(title, names, tokenize = '{TRIGRAM_TOKENIZER}');
        CREATE TABLE meta (id INTEGER PRIMARY KEY, theme TEXT, start_year INT, end_year INT, ongoing INT);
        CREATE TABLE place (id INTEGER, region TEXT, PRIMARY KEY (id, region)) WITHOUT ROWID;
        """
    )
    bodies = [" ".join(fts_terms(source.body)) for source in corpus.sources]
    plain = (lambda text: text) if TRIGRAM_FOLDS else fold
    with connection:
        connection.executemany(
            "INSERT INTO fts (rowid, title, body) VALUES (?, ?, ?)",
            (
                (d.pid, " ".join(fts_terms(d.title)), bodies[d.source] + " " + " ".join(fts_terms(d.extra)))
                for d in corpus.documents
            ),
        )
        connection.executemany(
            "INSERT INTO tri (rowid, title, names) VALUES (?, ?, ?)",
            ((d.pid, plain(d.title), plain(d.extra)) for d in corpus.documents),
        )
        connection.executemany(
            "INSERT INTO meta VALUES (?, ?, ?, ?, ?)",
            ((d.pid, d.theme, d.start_year, d.end_year, d.ongoing) for d in corpus.documents),
        )
        connection.executemany(
            "INSERT INTO place VALUES (?, ?)",
            ((d.pid, region) for d in corpus.documents for region in d.regions),
        )
    connection.close()


def fts_search(connection: sqlite3.Connection, table: FtsTable, query: Query, facets: bool) -> list[int]:
    """A page of 20 by bm25; with facets, filtered by region, theme and years, with 2 facet counts."""
    if not facets:
        return [pid for (pid,) in connection.execute(table.sql(FTS_PAGE), {"match": table.match(query.text)})]
    params = {
        "match": table.match(query.text),
        "theme": query.theme,
        "region": query.region,
        "year": query.year_from,
    }
    page = [pid for (pid,) in connection.execute(table.sql(FTS_FACET_PAGE), params)]
    for sql in (FTS_THEME_COUNTS, FTS_REGION_COUNTS):
        connection.execute(table.sql(sql), params).fetchall()
    return page


def fts_prefix(connection: sqlite3.Connection, query: Query) -> list[str]:
    """The 10 best titles for a prefix being typed."""
    return [title for (title,) in connection.execute(FTS_PREFIX, {"match": prefix_match(query.text)})]


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


@dataclass(frozen=True)
class SuggestionFigures:
    """Latency of the suggestions, one request at a time."""

    ms: tuple[float, float]  #: p50 and p95
    errors: int  #: answers other than 200


def time_suggestions(client: httpx.Client, prefixes: QuerySet) -> SuggestionFigures | None:
    """GET /api/v1/suggerimenti?q=<prefix> for each prefix, after the warm-up; None when the server
    has no such endpoint (it answers 404)."""

    def get(query: Query) -> httpx.Response:
        return client.get(f"{SUGGESTIONS}?q={quote(query.text)}")

    if get(prefixes.warm_up[0]).status_code == 404:
        return None
    for query in prefixes.warm_up:
        get(query)
    timings, errors = [], 0
    for query in prefixes.queries:
        started = time.perf_counter()
        response = get(query)
        timings.append(time.perf_counter() - started)
        errors += response.status_code != 200
    return SuggestionFigures(percentiles(timings), errors)


def measure_http(
    database_url: str, index_dir: Path, sets: dict[str, QuerySet], args: argparse.Namespace, folder: Path
) -> tuple[HttpFigures, SuggestionFigures | None]:
    """On the real server: the suggestions' p50 and p95 for the prefix set (None when the endpoint
    is missing), then requests per second of GET /processi?q=... for the plain set."""
    plain = sets["plain"]
    paths = [f"/processi?q={quote(query.text)}" for query in plain.queries]
    with running_server(database_url, index_dir, folder / "server.log") as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            suggestions = time_suggestions(client, sets["prefix"])
            for query in plain.warm_up:
                client.get(f"/processi?q={quote(query.text)}").raise_for_status()
        use_wrk = args.load == "wrk" or (args.load == "auto" and shutil.which("wrk"))
        if use_wrk:
            load = load_with_wrk(base, paths, args.http_seconds, args.http_max_requests, folder)
        else:
            load = asyncio.run(load_with_httpx(base, paths, args.http_seconds, args.http_max_requests))
    return load, suggestions


# --- one size ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalogue:
    """Where one size's catalogue lives: its database, its index and the FTS5 references."""

    folder: Path

    @property
    def database_file(self) -> Path:
        return self.folder / "osservatorio.db"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database_file}"

    @property
    def index_dir(self) -> Path:
        return self.folder / "index"

    @property
    def fts_file(self) -> Path:
        return self.folder / "fts.db"


@dataclass
class SetFigures:
    """One query set's figures, p50 and p95 in ms: Osservatorio's and its FTS5 reference's."""

    name: str
    queries: int
    reference: str
    ours: tuple[float, float] | None = None  #: the prefix set: over HTTP
    ours_facets: tuple[float, float] | None = None
    fts: tuple[float, float] | None = None
    fts_facets: tuple[float, float] | None = None
    #: The share of queries whose report is found in the top 20 (typo set).
    found: float | None = None
    fts_found: float | None = None
    missing: bool = False  #: the endpoint timed is not there (404)


@dataclass
class Figures:
    """Every figure of one catalogue size; the times of what was kept from a previous run are None."""

    size: int
    reused: bool = False
    load_s: float | None = None
    build_s: float | None = None
    fts_s: float | None = None
    index_mb: float = 0.0
    sets: dict[str, SetFigures] = field(default_factory=dict)
    http: HttpFigures | None = None
    suggestion_errors: int = 0


def folder_mb(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


def prepare_catalogue(
    size: int, sources: list[Source], seed: int, folder: Path, figures: Figures
) -> Catalogue:
    """The catalogue of ``size`` processes, its index and its FTS5 references in ``folder``: kept from
    a previous run of the same size and seed that completed them (the index rebuilt when another
    index FORMAT wrote it), else built, and the building timed."""
    catalogue = Catalogue(folder / f"search-{size}-{seed}")
    complete = catalogue.folder / "complete"
    signature = f"{KEPT_FORMAT} {len(sources)}\n"  # another source file: other processes
    database.configure(catalogue.database_url)
    search_index = SearchIndex(catalogue.index_dir)
    if complete.exists() and complete.read_text() == signature:
        figures.reused = True
        print(f"  reusing the catalogue, its index and the FTS5 references kept in {catalogue.folder}")
        live = search_index.current_generation()
        if live is None or search_index.is_outdated(live):  # written by an older version
            started = time.perf_counter()
            indexed = asyncio.run(rebuild(search_index))
            figures.build_s = time.perf_counter() - started
            print(f"  index of {indexed:,} rebuilt (its format was outdated) in {figures.build_s:.1f} s")
        figures.index_mb = folder_mb(catalogue.index_dir)
        return catalogue
    catalogue.folder.mkdir(parents=True, exist_ok=True)
    complete.unlink(missing_ok=True)
    for leftover in (*catalogue.folder.glob("osservatorio.db*"), *catalogue.folder.glob("fts.db*")):
        leftover.unlink()
    started = time.perf_counter()
    corpus = asyncio.run(load_catalogue(size, sources, random.Random(seed)))
    figures.load_s = time.perf_counter() - started

    started = time.perf_counter()
    indexed = asyncio.run(rebuild(search_index))
    figures.build_s = time.perf_counter() - started
    figures.index_mb = folder_mb(catalogue.index_dir)
    print(f"  index of {indexed:,} built in {figures.build_s:.1f} s, {figures.index_mb:.0f} MB")

    started = time.perf_counter()
    build_fts(catalogue.fts_file, corpus)
    figures.fts_s = time.perf_counter() - started
    print(f"  FTS5 references built in {figures.fts_s:.1f} s")
    complete.write_text(signature)
    return catalogue


def found_share(top: Callable[[Query], list[int]], query_set: QuerySet, material: Material) -> float:
    """The share of queries with a process copied from their report among the ids ``top`` gives."""
    found = sum(
        any(material.report_of(pid) == query.report for pid in top(query)) for query in query_set.queries
    )
    return found / len(query_set.queries)


def measure_set(
    search_index: SearchIndex,
    connection: sqlite3.Connection,
    table: FtsTable,
    query_set: QuerySet,
    material: Material,
) -> SetFigures:
    """``run_search`` and FTS5 ``table`` on a set, plain and with facets; for the typo set, how many
    queries find their report."""
    tokenizer = "trigram" if table is TRIGRAMS else "unicode61"
    row = SetFigures(query_set.name, len(query_set.queries), f"{table.name} ({tokenizer})")

    def ours(query: Query, facets: bool = False) -> list[int]:
        return run_search(search_index, whoosh_request(query, facets)).ids

    def theirs(query: Query, facets: bool = False) -> list[int]:
        return fts_search(connection, table, query, facets)

    row.ours = time_queries(ours, query_set)
    row.ours_facets = time_queries(lambda query: ours(query, True), query_set)
    row.fts = time_queries(theirs, query_set)
    row.fts_facets = time_queries(lambda query: theirs(query, True), query_set)
    if query_set.name == "typo":
        row.found = found_share(ours, query_set, material)  # from the result cache
        row.fts_found = found_share(theirs, query_set, material)
    print(
        "  {}: Osservatorio p50/p95 ms {:.1f}/{:.1f}, with facets {:.1f}/{:.1f}; "
        "FTS5 {:.1f}/{:.1f}, with facets {:.1f}/{:.1f}".format(
            query_set.name, *row.ours, *row.ours_facets, *row.fts, *row.fts_facets
        )
    )
    return row


def bench_size(size: int, sources: list[Source], args: argparse.Namespace, folder: Path) -> Figures:
    """Load and index (or reuse), draw the query sets, search in process, on FTS5 and over HTTP."""
    figures = Figures(size)
    catalogue = prepare_catalogue(size, sources, args.seed, folder, figures)
    material = read_material(catalogue.database_file, sources)
    sets = {name: make_queries(name, material, args.queries, args.seed) for name in MAKERS}
    for name in ("phrase", "typo", "prefix"):
        print(f"  {name} examples: " + "; ".join(query.text for query in sets[name].queries[:5]))

    search_index = SearchIndex(catalogue.index_dir)
    started = time.perf_counter()
    search_index.searcher()
    print(f"  searcher and facet arrays opened in {time.perf_counter() - started:.2f} s")
    connection = sqlite3.connect(catalogue.fts_file)
    for name, table in (("plain", WORDS), ("phrase", WORDS), ("typo", TRIGRAMS)):
        figures.sets[name] = measure_set(search_index, connection, table, sets[name], material)
    search_index.close()
    prefixes = figures.sets["prefix"] = SetFigures(
        "prefix", len(sets["prefix"].queries), "fts, word* (in process)"
    )
    prefixes.fts = time_queries(lambda query: fts_prefix(connection, query), sets["prefix"])
    connection.close()

    figures.http, suggestions = measure_http(
        catalogue.database_url, catalogue.index_dir, sets, args, catalogue.folder
    )
    if suggestions is None:
        prefixes.missing = True
        print(f"  {SUGGESTIONS}: endpoint missing (404)")
    else:
        prefixes.ours, figures.suggestion_errors = suggestions.ms, suggestions.errors
        print(
            "  {}: p50/p95 {:.1f}/{:.1f} ms, {} errors; FTS5 prefix {:.1f}/{:.1f} ms".format(
                SUGGESTIONS, *prefixes.ours, suggestions.errors, *prefixes.fts
            )
        )
    print(
        f"  HTTP ({figures.http.tool}): {figures.http.requests} requests in {figures.http.seconds:.1f} s, "
        f"{figures.http.per_second:.1f} req/s, p50 {figures.http.p50_ms:.0f} ms, {figures.http.errors} errors"
    )
    return figures


# --- the report -------------------------------------------------------------------------------


def _ms(pair: tuple[float, float] | None) -> str:
    return "{:.1f}/{:.1f}".format(*pair) if pair else "-"


def _seconds(value: float | None, reused: bool) -> str:
    if value is not None:
        return f"{value:.1f}"
    return "reused" if reused else "-"


def print_rows(header: tuple[str, ...], lines: list[tuple[str, ...]]) -> None:
    widths = [max(len(line[i]) for line in (header, *lines)) for i in range(len(header))]
    for line in (header, *lines):
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def print_size(f: Figures) -> None:
    """One size: how its catalogue was made, then a line per query set beside FTS5."""
    made = (
        "catalogue, index and FTS5 references reused"
        + (f", index rebuilt in {f.build_s:.1f} s" if f.build_s is not None else "")
        if f.reused
        else f"loaded in {f.load_s:.1f} s, index built in {f.build_s:.1f} s, FTS5 in {f.fts_s:.1f} s"
    )
    http = f"{f.http.per_second:.1f} req/s on /processi" if f.http else "no HTTP load"
    print(f"\n{f.size:,} processes: {made}; index {f.index_mb:.0f} MB; {http}")
    header = (
        "set",
        "queries",
        "p50/p95 ms",
        "facets p50/p95",
        "FTS5 table",
        "FTS5 p50/p95",
        "FTS5 facets p50/p95",
        f"in top {TOP}: ours/FTS5",
    )
    lines = []
    for row in f.sets.values():
        name, ours = row.name, _ms(row.ours)
        if row.name == "prefix":
            name = f"prefix: GET {SUGGESTIONS}"
            if row.missing:
                ours = "endpoint missing"
            elif f.suggestion_errors:
                ours += f" ({f.suggestion_errors} errors)"
        found = f"{row.found:.0%}/{row.fts_found:.0%}" if row.found is not None else "-"
        lines.append(
            (
                name,
                str(row.queries),
                ours,
                _ms(row.ours_facets),
                row.reference,
                _ms(row.fts),
                _ms(row.fts_facets),
                found,
            )
        )
    print_rows(header, lines)


def print_summary(rows: list[Figures]) -> None:
    """One line per size, the plain set's figures (the columns of README's table)."""
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
            _seconds(f.load_s, f.reused),
            _seconds(f.build_s, f.reused),
            f"{f.index_mb:.0f}",
            _ms(f.sets["plain"].ours),
            _ms(f.sets["plain"].ours_facets),
            _ms(f.sets["plain"].fts),
            _ms(f.sets["plain"].fts_facets),
            f"{f.http.per_second:.1f}" if f.http else "-",
        )
        for f in rows
    ]
    print()
    print_rows(header, lines)


def targets(f: Figures) -> list[tuple[str, str, bool | None]]:
    """The targets of size ``f.size``: what, the figure measured, met or not (None: not measured)."""
    plain, phrase, typo, prefix = (f.sets[name] for name in ("plain", "phrase", "typo", "prefix"))
    if f.size == 10_000:
        return [
            ("p95 with facets <= 30 ms", f"{plain.ours_facets[1]:.1f} ms", plain.ours_facets[1] <= 30),
            (">= 100 requests/s", f"{f.http.per_second:.1f}", f.http.per_second >= 100),
        ]
    if f.size != 100_000:
        return []
    found = [
        ("p95 with facets <= 150 ms", f"{plain.ours_facets[1]:.1f} ms", plain.ours_facets[1] <= 150),
        (
            "full reindex < 180 s",
            f"{f.build_s:.1f} s" if f.build_s is not None else "not measured: index reused",
            f.build_s < 180 if f.build_s is not None else None,
        ),
    ]
    for row in (plain, phrase):
        for label, ours, theirs in (
            ("", row.ours, row.fts),
            (" with facets", row.ours_facets, row.fts_facets),
        ):
            found.append(
                (
                    f"{row.name} queries{label}: p95 <= FTS5's",
                    f"{ours[1]:.1f} vs {theirs[1]:.1f} ms",
                    ours[1] <= theirs[1],
                )
            )
    found.append(("a misspelt word (typo set): p95 <= 50 ms", f"{typo.ours[1]:.1f} ms", typo.ours[1] <= 50))
    found.append(
        (
            f"autocomplete {SUGGESTIONS}?q=: p95 <= 10 ms",
            "endpoint missing" if prefix.missing else f"{prefix.ours[1]:.1f} ms",
            None if prefix.missing else prefix.ours[1] <= 10,
        )
    )
    return found


def print_targets(rows: list[Figures]) -> None:
    """Each target of the sizes run, PASS or MISS; the sizes with targets not run are named."""
    print("\ntargets:")
    sizes = {f.size for f in rows}
    for f in rows:
        for what, measured, met in targets(f):
            verdict = "-" if met is None else ("PASS" if met else "MISS")
            print(f"  {f.size:,}: {what}: {measured}: {verdict}")
    for size in (10_000, 100_000):
        if size not in sizes:
            print(f"  {size:,}: not run")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[10_000, 100_000],
        help="catalogue sizes, comma separated (default: 10000,100000)",
    )
    parser.add_argument("--queries", type=int, default=200, help="queries per set (default: 200)")
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
    parser.add_argument(
        "--folder",
        type=Path,
        metavar="DIR",
        help="keep each size's catalogue, index and FTS5 references in DIR/search-SIZE-SEED and reuse "
        "them on the next run (default: a temporary folder, removed)",
    )
    parser.add_argument("--seed", type=int, default=2024, help="random seed (default: 2024)")
    return parser.parse_args()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # clean up: stop the server
    args = parse_args()
    sources, origin = read_sources()
    print(f"{len(sources)} source reports from {origin}")
    folded = "" if TRIGRAM_FOLDS else " (given folded text: remove_diacritics needs 3.45)"
    print(f"SQLite {sqlite3.sqlite_version}, FTS5 trigram tokenizer '{TRIGRAM_TOKENIZER}'{folded}")
    rows = []
    for size in args.sizes:
        print(f"\n== {size:,} processes")
        if args.folder:
            rows.append(bench_size(size, sources, args, args.folder))
            continue
        with tempfile.TemporaryDirectory(prefix=f"osservatorio-bench-{size}-") as folder:
            rows.append(bench_size(size, sources, args, Path(folder)))
    for figures in rows:
        print_size(figures)
    print_summary(rows)
    print_targets(rows)


if __name__ == "__main__":
    main()
