"""Statistics benchmark: /statistiche, its charts, /mappa and territory maps at 100,000 processes.

It builds an SQLite catalogue of N published processes with bench/search.py's builder (replicated
from real Monithon reports), gives each the investment and fund of the report it copies (so that
the charts of amounts have bars) and indexes it, once: both are kept in ``--folder`` and reused by
the next run of the same size and seed. Each page family (/statistiche, a chart embedded, a chart's
CSV, /mappa by region and by province, region and province pages) is measured on a fresh
``observatory serve`` (one worker): one request with a filter not measured loads its templates and
map shapes; then the first request of each of its addresses, whose figures are not cached yet for
the index generation (cold); then ``--requests`` requests round-robin over the same addresses, from
one client and from ``--concurrency`` clients (warm). The addresses combine filters of real values
of the catalogue. Then, in this process, it times the steps of /statistiche (the tallies of the
index, computed then cached; the charts built from them) and, as a reference, the equivalent
aggregate queries in SQLite on the same database.

    .venv/bin/python bench/statistics.py [--size 100000] [--requests 200] [--concurrency 4] [--folder DIR]

This file's name is also the standard library's ``statistics``: the script looks in its own folder
last. Prints a table with the target (p95 <= 100 ms); exits with 1 when it is missed. It prints
figures; it is not a test.
"""

from __future__ import annotations

import sys

sys.path.append(sys.path.pop(0))  # the standard library's statistics before this file

import argparse
import asyncio
import csv
import io
import random
import re
import signal
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
from exports import Catalogue
from search import (
    MONITHON_CSV,
    _content_words,
    folder_mb,
    load_catalogue,
    percentiles,
    read_sources,
    server_process,
)

from observatory import database
from observatory.catalogue import searching
from observatory.catalogue.indexing import rebuild
from observatory.catalogue.queries import parse_process_query
from observatory.search.index import SearchIndex
from observatory.statistics import charts

TARGET_MS = 100
#: Funds named in a programme, as scripts/demo/build_monithon.py reads them.
FUNDS = re.compile(r"\b(FESR|FSE|FSC|FEASR)\b")
REFERENCE_RUNS = 20
PUBLISHED = "p.publication = 'published'"
#: Aggregates in SQLite equivalent to the charts, by what they count.
REFERENCE_QUERIES = {
    "per region (process_territory ⋈ territory, GROUP BY region)": f"""
        SELECT t.region_code, count(DISTINCT pt.process) FROM process_territory pt
        JOIN territory t ON t.code = pt.territory JOIN process p ON p.id = pt.process
        WHERE {PUBLISHED} GROUP BY t.region_code""",
    "per province of R08 (the same, one region)": f"""
        SELECT t.province_code, count(DISTINCT pt.process) FROM process_territory pt
        JOIN territory t ON t.code = pt.territory JOIN process p ON p.id = pt.process
        WHERE {PUBLISHED} AND t.region_code = 'R08' GROUP BY t.province_code""",
    "per theme (process ⋈ term, GROUP BY)": f"""
        SELECT t.slug, count(*) FROM process p JOIN term t ON t.id = p.theme
        WHERE {PUBLISHED} GROUP BY t.slug""",
    "per kind (process ⋈ term, GROUP BY)": f"""
        SELECT t.slug, count(*) FROM process p JOIN term t ON t.id = p.kind
        WHERE {PUBLISHED} GROUP BY t.slug""",
    "per topic (process_term ⋈ term, GROUP BY)": f"""
        SELECT t.slug, count(DISTINCT pt.process) FROM process_term pt JOIN term t ON t.id = pt.term
        JOIN process p ON p.id = pt.process
        WHERE {PUBLISHED} AND t.vocabulary = 'tematica' GROUP BY t.slug""",
    "per start year, with those in progress": f"""
        SELECT p.start_year, count(*), sum(p.state = 'in_corso') FROM process p
        WHERE {PUBLISHED} GROUP BY p.start_year""",
    "investment per programme": f"""
        SELECT p.funding_programme, sum(p.total_investment_cents), count(*) FROM process p
        WHERE {PUBLISHED} AND p.total_investment_cents IS NOT NULL GROUP BY p.funding_programme""",
}


# --- the catalogue ------------------------------------------------------------------------------


def add_funding(database_file: Path, sources: int) -> None:
    """Give every process the total investment and fund of the Monithon report it copies."""
    if not MONITHON_CSV.exists():
        print("  no Monithon CSV: the processes keep no investment")
        return
    with MONITHON_CSV.open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["titolo"].strip()]  # as read_sources()
    assert len(rows) == sources, (len(rows), sources)
    funding = []
    for index, row in enumerate(rows):
        try:
            euro = Decimal(row["oc_finanz_tot_pub_netto"].strip())
        except InvalidOperation:
            euro = Decimal(-1)
        funds = dict.fromkeys(FUNDS.findall(row["oc_descrizione_programma"]))
        funding.append((index, int(euro * 100) if euro >= 0 else None, ", ".join(funds) or None))
    connection = sqlite3.connect(database_file)
    with connection:
        connection.execute("CREATE TEMP TABLE funding (source INTEGER PRIMARY KEY, cents INTEGER, fund TEXT)")
        connection.executemany("INSERT INTO funding VALUES (?, ?, ?)", funding)
        source = "(SELECT {} FROM funding WHERE source = (process.id - 1) % :sources)"
        connection.execute(
            f"UPDATE process SET total_investment_cents = {source.format('cents')}, "
            f"funding_fund = {source.format('fund')}",
            {"sources": sources},
        )
    connection.close()


def prepare_catalogue(size: int, seed: int, folder: Path) -> Catalogue:
    """The catalogue of ``size`` processes with their funding, indexed, in ``folder``: reused when a
    previous run completed it (its index rebuilt when an older version wrote it)."""
    catalogue = Catalogue(folder / f"catalogue-{size}-{seed}")
    complete = catalogue.folder / "complete"
    if complete.exists():
        print(f"reusing the catalogue in {catalogue.folder}")
        search_index = SearchIndex(catalogue.index_dir)
        live = search_index.current_generation()
        if live is None or search_index.is_outdated(live):  # written by an older version
            database.configure(catalogue.database_url)
            started = time.perf_counter()
            indexed = asyncio.run(rebuild(search_index))
            print(f"  index of {indexed:,} rebuilt in {time.perf_counter() - started:.1f} s")
        return catalogue
    catalogue.folder.mkdir(parents=True, exist_ok=True)
    for leftover in catalogue.folder.glob("osservatorio.db*"):
        leftover.unlink()
    sources, origin = read_sources()
    print(f"building {size:,} processes from {len(sources)} reports of {origin} in {catalogue.folder}")
    database.configure(catalogue.database_url)
    asyncio.run(load_catalogue(size, sources, random.Random(seed)))
    add_funding(catalogue.database_file, len(sources))
    started = time.perf_counter()
    indexed = asyncio.run(rebuild(SearchIndex(catalogue.index_dir)))
    print(f"  index of {indexed:,} built in {time.perf_counter() - started:.1f} s")
    complete.touch()
    return catalogue


# --- the addresses ------------------------------------------------------------------------------


def most_used(connection: sqlite3.Connection, column: str) -> list[str]:
    """The slugs of the terms in a term column of process, most used first."""
    sql = f"SELECT t.slug FROM process p JOIN term t ON t.id = p.{column} GROUP BY 1 ORDER BY count(*) DESC"
    return [slug for (slug,) in connection.execute(sql)]


def filter_sets(catalogue: Catalogue, programme: str) -> list[list[tuple[str, str]]]:
    """Filters of the pages measured, none first, from values the catalogue has."""
    connection = sqlite3.connect(catalogue.database_file)
    kinds, themes, levels = (most_used(connection, c) for c in ("kind", "theme", "participation_level"))
    topics = [
        slug
        for (slug,) in connection.execute(
            "SELECT t.slug FROM process_term pt JOIN term t ON t.id = pt.term "
            "WHERE t.vocabulary = 'tematica' GROUP BY t.slug ORDER BY count(*) DESC"
        )
    ]
    titles = [title for (title,) in connection.execute("SELECT title FROM process")]
    connection.close()
    counted = Counter(word for title in titles for word in _content_words(title))
    words = [word for word, _ in counted.most_common(4) if word != "scuola"]
    return [
        [],
        [("territorio", "R08")],
        [("tipo", kinds[0])],
        [("q", "scuola")],
        *([("q", word)] for word in words[:3]),
        [("ambito", themes[0]), ("stato", "concluso")],
        [("avvio_da", "2010"), ("avvio_a", "2015")],
        [("territorio", "P201")],
        [("tematica", topics[0])],
        [("programma", programme)],
        [("territorio", "R03"), ("tipo", kinds[1])],
        [("q", words[0]), ("territorio", "R12")],
        [("ambito", themes[1]), ("avvio_da", "2018")],
        [("tematica", topics[1]), ("stato", "in_corso")],
        [("livello", levels[0]), ("territorio", "R15")],
    ]


def address(path: str, pairs: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(pairs)}" if pairs else path


@dataclass(frozen=True)
class Family:
    """Pages measured together: their addresses, and the request that loads what they all use."""

    name: str
    paths: list[str]
    warm_up: str


def families(catalogue: Catalogue, filters: list[list[tuple[str, str]]]) -> list[Family]:
    """Every page family measured; the first address of each is its page with no filter."""
    unmeasured = [("territorio", "R20")]
    pages = (
        ("/statistiche", "/statistiche", []),
        ("/statistiche/regioni?incorpora=1", "/statistiche/regioni", [("incorpora", "1")]),
        ("/statistiche/anni/dati.csv", "/statistiche/anni/dati.csv", []),
        ("/mappa", "/mappa", []),
        ("/mappa?dettaglio=provincia", "/mappa", [("dettaglio", "provincia")]),
    )
    found = [
        Family(name, [address(path, fixed + pairs) for pairs in filters], address(path, fixed + unmeasured))
        for name, path, fixed in pages
    ]
    connection = sqlite3.connect(catalogue.database_file)
    provinces = [  # P201 (Torino, the most comuni) first
        code
        for (code,) in connection.execute(
            "SELECT province_code FROM territory WHERE level = 'comune' "
            "GROUP BY province_code ORDER BY count(*) DESC LIMIT 5"
        )
    ]
    connection.close()
    territories = ["R01", "R03", "R08", "R12", "R19", *provinces]
    found.append(
        Family("/territori/R01, /territori/P201…", [f"/territori/{c}" for c in territories], "/territori/R20")
    )
    return found


# --- measuring ----------------------------------------------------------------------------------


def timed_get(client: httpx.Client, path: str) -> tuple[float, int]:
    """Seconds to answer ``path`` (200 expected) and the answer's size in bytes."""
    started = time.perf_counter()
    response = client.get(path)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds, len(response.content)


async def round_robin(base: str, paths: list[str], requests: int, clients: int) -> tuple[list[float], float]:
    """``requests`` requests over ``paths`` in turn from ``clients`` concurrent clients: the seconds of
    each and of them all."""
    timings: list[float] = []
    sent = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal sent
        while sent < requests:
            path = paths[sent % len(paths)]
            sent += 1
            started = time.perf_counter()
            response = await client.get(path)
            timings.append(time.perf_counter() - started)
            response.raise_for_status()

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    return timings, time.perf_counter() - started


@dataclass
class Figures:
    """What one page family measured."""

    family: Family
    start_s: float
    first_s: float  #: the warm-up request
    size_kb: float  #: the page with no filter
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    busy: list[float] = field(default_factory=list)  #: warm, concurrent clients
    busy_per_s: float = 0.0


def measure_family(catalogue: Catalogue, family: Family, args: argparse.Namespace, log: Path) -> Figures:
    """Cold, then warm, requests of ``family`` on a server started for it."""
    started = time.perf_counter()
    with server_process(catalogue.database_url, catalogue.index_dir, log) as (base, _server):
        start_s = time.perf_counter() - started
        with httpx.Client(base_url=base, timeout=120) as client:
            first_s, _ = timed_get(client, family.warm_up)
            answers = [timed_get(client, path) for path in family.paths]
        figures = Figures(family, start_s, first_s, answers[0][1] / 1000, cold=[s for s, _ in answers])
        figures.warm, _ = asyncio.run(round_robin(base, family.paths, args.requests, 1))
        figures.busy, seconds = asyncio.run(round_robin(base, family.paths, args.requests, args.concurrency))
        figures.busy_per_s = len(figures.busy) / seconds
    return figures


def top_programme(catalogue: Catalogue, log: Path) -> tuple[str, float]:
    """The first programme of /statistiche/programma/dati.csv, from a server of its own (its figures
    are then not cached for the pages measured), and that server's start time."""
    started = time.perf_counter()
    with server_process(catalogue.database_url, catalogue.index_dir, log) as (base, _server):
        start_s = time.perf_counter() - started
        response = httpx.get(f"{base}/statistiche/programma/dati.csv", timeout=120)
        response.raise_for_status()
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    if not rows:
        sys.exit("/statistiche/programma/dati.csv has no programme: the processes have no investment")
    return rows[0]["valore"], start_s


def steps_in_process(catalogue: Catalogue, filters: list[list[tuple[str, str]]]) -> dict[str, list[float]]:
    """Seconds of the steps of /statistiche in this process, for each filter set: the tallies computed
    (first request), the tallies again (from the cache), the charts built from them."""
    database.configure(catalogue.database_url)
    search_index = SearchIndex(catalogue.index_dir)
    search_index.searcher()
    steps: dict[str, list[float]] = {"tallies": [], "tallies cached": [], "charts.statistics": []}

    async def run() -> None:
        for pairs in filters:
            params: dict[str, list[str]] = {}
            for name, value in pairs:
                params.setdefault(name, []).append(value)
            query = parse_process_query(params, 20)
            for step in ("tallies", "tallies cached"):
                started = time.perf_counter()
                tallies = await searching.tally_processes(search_index, query, charts.SUMMED, charts.ONGOING)
                steps[step].append(time.perf_counter() - started)
            started = time.perf_counter()
            charts.statistics(tallies, query)
            steps["charts.statistics"].append(time.perf_counter() - started)

    asyncio.run(run())
    search_index.close()
    return steps


def reference_ms(catalogue: Catalogue) -> dict[str, float]:
    """The median milliseconds of each reference query in SQLite (after one untimed run)."""
    connection = sqlite3.connect(catalogue.database_file)
    medians = {}
    for label, sql in REFERENCE_QUERIES.items():
        connection.execute(sql).fetchall()
        timings = []
        for _ in range(REFERENCE_RUNS):
            started = time.perf_counter()
            connection.execute(sql).fetchall()
            timings.append(time.perf_counter() - started)
        medians[label] = float(np.median(timings) * 1000)
    connection.close()
    return medians


# --- the report ---------------------------------------------------------------------------------


def print_table(rows: list[Figures], concurrency: int) -> bool:
    """One line per page family with the target; whether every family met it."""
    header = (
        "page",
        "URLs",
        "kB",
        "cold n",
        "cold p50/p95 ms",
        "warm n",
        "warm p50/p95 ms",
        f"×{concurrency} p50/p95 ms",
        f"×{concurrency} req/s",
        f"p95 <= {TARGET_MS} ms",
    )
    lines, passed = [], True
    for f in rows:
        measured = {"cold": f.cold, "warm": f.warm, f"×{concurrency}": f.busy}
        p95 = {name: percentiles(timings)[1] for name, timings in measured.items()}
        missed = [name for name, ms in p95.items() if ms > TARGET_MS]
        passed &= not missed
        lines.append(
            (
                f.family.name,
                str(len(f.family.paths)),
                f"{f.size_kb:.0f}",
                str(len(f.cold)),
                "{:.0f}/{:.0f}".format(*percentiles(f.cold)),
                str(len(f.warm)),
                "{:.0f}/{:.0f}".format(*percentiles(f.warm)),
                "{:.0f}/{:.0f}".format(*percentiles(f.busy)),
                f"{f.busy_per_s:.1f}",
                "FAIL: " + ", ".join(missed) if missed else "pass",
            )
        )
    widths = [max(len(line[i]) for line in (header, *lines)) for i in range(len(header))]
    print()
    for line in (header, *lines):
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    return passed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="processes (default: 100000)")
    parser.add_argument(
        "--requests", type=int, default=200, help="warm requests per family and client count (default: 200)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="concurrent warm clients (default: 4)")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path(tempfile.gettempdir()) / "osservatorio-bench-statistics",
        help="where the catalogue is kept between runs (default: under the temp dir)",
    )
    parser.add_argument("--seed", type=int, default=2024, help="random seed (default: 2024)")
    return parser.parse_args()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # clean up: stop the server
    args = parse_args()
    catalogue = prepare_catalogue(args.size, args.seed, args.folder)
    database_mb = catalogue.database_file.stat().st_size / 1e6
    print(f"catalogue: database {database_mb:.0f} MB, index {folder_mb(catalogue.index_dir):.0f} MB")
    logs = catalogue.folder / "logs"
    logs.mkdir(exist_ok=True)
    programme, first_start_s = top_programme(catalogue, logs / "server-programme.log")
    print(f"first server start (index opened, /processi answered): {first_start_s:.1f} s")
    print(f"programme filtered by: {programme}")
    filters = filter_sets(catalogue, programme)
    rows = []
    for number, family in enumerate(families(catalogue, filters)):
        figures = measure_family(catalogue, family, args, logs / f"server-{number}.log")
        print(
            f"  {family.name}: server started in {figures.start_s:.1f} s, first request"
            f" {figures.first_s * 1000:.0f} ms ({family.warm_up}),"
            f" slowest cold {max(figures.cold) * 1000:.0f} ms ({family.paths[int(np.argmax(figures.cold))]})"
        )
        rows.append(figures)
    passed = print_table(rows, args.concurrency)
    starts = [first_start_s, *(f.start_s for f in rows)]
    print(f"server start: first {first_start_s:.1f} s, median {np.median(starts):.1f} s of {len(starts)}")
    print(f"\n/statistiche's steps in this process, over {len(filters)} filter sets:")
    for step, timings in steps_in_process(catalogue, filters).items():
        print("  {:20} p50 {:6.1f} ms, p95 {:6.1f} ms".format(step, *percentiles(timings)))
    print(f"\nSQLite reference on the same database, medians of {REFERENCE_RUNS} runs:")
    medians = reference_ms(catalogue)
    for label, ms in medians.items():
        print(f"  {label:60} {ms:7.1f} ms")
    print(f"  {'all of them (about one /statistiche page of charts)':60} {sum(medians.values()):7.1f} ms")
    print(f"catalogue kept in {catalogue.folder}")
    if not passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
