"""Export benchmark: time and peak memory of the catalogue downloads at 100,000 processes.

It builds an SQLite catalogue of N published processes with bench/search.py's builder (replicated
from real Monithon reports) and its Whoosh index, once: both are kept in ``--folder`` and reused by
the next run of the same size and seed. Then, for each download (``/processi.csv``, ``.jsonl``,
``.json``, ``.xlsx``, and the bulk ``/dati/osservatorio.zip`` built on its first request, then
served again from the built file), it starts a fresh ``observatory serve`` (one worker, so the
process that answers is the one measured), warms it with one small request, resets its peak
resident memory, streams the whole download to a file with httpx and times it. The peak memory
growth is the highest resident memory of the server and of the helper processes it starts meanwhile
(sampled every 20 ms; the server's own VmHWM when higher) less the server's VmRSS before; the CPU
time is the server's and its helpers'. Each file is
then checked: one CSV row, JSON Lines line, JSON record and Excel row per process, the expected
members in the ZIP. As a reference it times Python's ``sqlite3`` dumping the process table to CSV
(what a Datasette CSV export does) on the same database.

    .venv/bin/python bench/exports.py [--size 100000] [--runs 1] [--folder DIR] [--seed 2024]

Prints the figures of each run, then a table of medians with the targets; exits with 1 when a
target is missed. It prints figures; it is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import openpyxl
from search import folder_mb, load_catalogue, read_sources, server_process

from observatory import database
from observatory.catalogue.indexing import rebuild
from observatory.search.index import SearchIndex

#: Peak resident memory growth allowed to the server during one download.
TARGET_MB = 150
WARM_UP = "/api/v1/processi?per_pagina=1"
#: What the bulk ZIP holds (observatory/opendata/bulk.py).
ZIP_MEMBERS = "LEGGIMI.txt processi.csv processi.json codebook.csv vocabolari.csv datapackage.json".split()


@dataclass(frozen=True)
class Catalogue:
    """The benchmark's catalogue: its folder, with the database and the index in it."""

    folder: Path

    database_file = property(lambda self: self.folder / "osservatorio.db")
    database_url = property(lambda self: f"sqlite:///{self.database_file}")
    index_dir = property(lambda self: self.folder / "index")


def prepare_catalogue(size: int, seed: int, folder: Path) -> Catalogue:
    """The catalogue of ``size`` processes in ``folder``: reused when a previous run completed it."""
    catalogue = Catalogue(folder / f"catalogue-{size}-{seed}")
    complete = catalogue.folder / "complete"
    if complete.exists():
        print(f"reusing the catalogue in {catalogue.folder}")
        return catalogue
    catalogue.folder.mkdir(parents=True, exist_ok=True)
    for leftover in catalogue.folder.glob("osservatorio.db*"):
        leftover.unlink()
    sources, origin = read_sources()
    print(f"building {size:,} processes from {len(sources)} reports of {origin} in {catalogue.folder}")
    database.configure(catalogue.database_url)
    asyncio.run(load_catalogue(size, sources, random.Random(seed)))
    started = time.perf_counter()
    indexed = asyncio.run(rebuild(SearchIndex(catalogue.index_dir)))
    print(f"  index of {indexed:,} built in {time.perf_counter() - started:.1f} s")
    complete.touch()
    return catalogue


# --- checks: how many processes a downloaded file holds -----------------------------------------


def _csv_rows(file: IO[str]) -> int:
    return sum(1 for _ in csv.reader(file)) - 1  # the header


def csv_rows(path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return _csv_rows(file)


def jsonl_rows(path: Path) -> int:
    """Distinct processes (by slug), one record a line."""
    with path.open(encoding="utf-8") as file:
        return len({json.loads(line)["slug"] for line in file})


def json_rows(path: Path) -> int:
    with path.open(encoding="utf-8") as file:
        return len({record["slug"] for record in json.load(file)["processes"]})


def xlsx_rows(path: Path) -> int:
    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        return sum(1 for _ in workbook["processi"].iter_rows(values_only=True)) - 1  # the header
    finally:
        workbook.close()


def zip_rows(path: Path) -> int:
    """The CSV rows of the ZIP's process table, once its members are the expected ones."""
    with zipfile.ZipFile(path) as archive:
        if missing := set(ZIP_MEMBERS) - set(archive.namelist()):
            raise AssertionError(f"the ZIP lacks {sorted(missing)}; it holds {archive.namelist()}")
        with archive.open("processi.csv") as member:
            return _csv_rows(io.TextIOWrapper(member, encoding="utf-8-sig", newline=""))


@dataclass(frozen=True)
class Format:
    """One download: its name, address, check and time target."""

    name: str
    path: str
    rows: Callable[[Path], int]
    target_s: float

    @property
    def warm_up(self) -> str:
        """A small request of the same code path (the ZIP has none: the API, then)."""
        return f"{self.path}?q=zzzznotfound" if self.path.startswith("/processi") else WARM_UP


#: The downloads, by server: each group is measured on a fresh one (the ZIP built, then served again).
SESSIONS = (
    (Format("csv", "/processi.csv", csv_rows, 20),),
    (Format("jsonl", "/processi.jsonl", jsonl_rows, 20),),
    (Format("json", "/processi.json", json_rows, 60),),
    (Format("xlsx", "/processi.xlsx", xlsx_rows, 60),),
    (
        Format("zip (build)", "/dati/osservatorio.zip", zip_rows, 60),
        Format("zip (built)", "/dati/osservatorio.zip", zip_rows, 60),
    ),
)


# --- measuring the server -----------------------------------------------------------------------


def status_kb(pid: int, key: str) -> int:
    """A ``Vm*`` figure of /proc/<pid>/status, in kB (KeyError once the process has ended)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid``, its threads and its children (ended ones once it has waited for them)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime, stime, cutime, cstime
    for child in children(pid):
        with contextlib.suppress(OSError):
            ticks += sum(
                int(v) for v in Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[11:13]
            )
    return ticks / os.sysconf("SC_CLK_TCK")


class FamilyPeak(threading.Thread):
    """Samples the resident memory of the server and of the helper processes it starts (a download
    may be written by helpers that have ended when it is complete) every 20 ms, until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.helpers, self.done = pid, 0, set(), threading.Event()

    def run(self) -> None:
        looked_at: set[str] = set()  # processes: only a new one may be a new helper
        server_command = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        while not self.done.wait(0.02):
            for name in set(os.listdir("/proc")) - looked_at:
                looked_at.add(name)
                with contextlib.suppress(OSError, ValueError, IndexError):
                    if int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1]) == self.pid:
                        self.helpers.add(int(name))
            try:
                total = status_kb(self.pid, "VmRSS")
            except (OSError, KeyError):
                return  # the server has ended: the download fails, and says why
            for helper in self.helpers:
                with contextlib.suppress(OSError, KeyError):  # it may have ended
                    # forked but not yet exec'd, it shares the server's pages: they are not more memory
                    if Path(f"/proc/{helper}/cmdline").read_bytes() != server_command:
                        total += status_kb(helper, "VmRSS")
            self.peak_kb = max(self.peak_kb, total)

    def stop(self) -> int:
        """The highest memory seen: the sampled sum, or the server's own peak when higher."""
        self.done.set()
        self.join()
        return max(self.peak_kb, status_kb(self.pid, "VmHWM"))


@dataclass
class Download:
    """One download measured."""

    name: str
    seconds: float
    #: CPU time of the server meanwhile: on a busy machine, what the download cost beside how long it took.
    cpu_s: float
    growth_mb: float
    size: int
    rows: int


def measure(client: httpx.Client, pid: int, fmt: Format, folder: Path) -> Download:
    """Stream ``fmt`` to a file, timed, with the server's peak memory growth; then check the file.

    The growth is the highest resident memory of the server and its helpers together less the
    server's before: sampled, or the server's own VmHWM (exact) when that is higher."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM starts again from VmRSS (Linux 4.0+)
    before_kb = status_kb(pid, "VmRSS")
    target = folder / ("download-" + fmt.path.rsplit("/", 1)[1])
    size = 0
    cpu_before = cpu_seconds(pid)
    family = FamilyPeak(pid)
    family.start()
    started = time.perf_counter()
    with client.stream("GET", fmt.path) as response, target.open("wb") as file:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            file.write(chunk)
            size += len(chunk)
    seconds = time.perf_counter() - started
    peak_kb = family.stop()
    cpu_s = cpu_seconds(pid) - cpu_before
    growth_mb = (peak_kb - before_kb) / 1024
    rows = fmt.rows(target)
    print(
        f"  {fmt.name:12} {seconds:6.1f} s (server CPU {cpu_s:5.1f} s) {size / 1e6:6.1f} MB"
        f"  peak growth {growth_mb:5.1f} MB ({len(family.helpers)} helper processes)  {rows:,} rows"
        f"  (RSS before {before_kb / 1024:.0f} MB)"
    )
    return Download(fmt.name, seconds, cpu_s, growth_mb, size, rows)


def measure_on_fresh_server(
    catalogue: Catalogue, formats: tuple[Format, ...], folder: Path
) -> list[Download]:
    """``formats`` downloaded one after the other from a server started for them, warmed first."""
    with (
        server_process(catalogue.database_url, catalogue.index_dir, folder / "server.log") as (base, server),
        httpx.Client(base_url=base, timeout=600, follow_redirects=True) as client,
    ):
        client.get(formats[0].warm_up).raise_for_status()
        return [measure(client, server.pid, fmt, folder) for fmt in formats]


def forget_built_zip(catalogue: Catalogue) -> None:
    """Make the next ZIP request build the file again: remove the built ones (kept beside the index)."""
    for built in catalogue.folder.rglob("osservatorio-*.zip"):
        built.unlink()


# --- the Datasette-like reference ---------------------------------------------------------------


def sqlite_csv_seconds(catalogue: Catalogue, folder: Path) -> float:
    """Seconds for Python's sqlite3 to dump the process table to a CSV file."""
    started = time.perf_counter()
    connection = sqlite3.connect(catalogue.database_file)
    cursor = connection.execute("SELECT * FROM process")
    with (folder / "sqlite-process.csv").open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(column[0] for column in cursor.description)
        writer.writerows(cursor)
    connection.close()
    return time.perf_counter() - started


# --- the report ---------------------------------------------------------------------------------


def print_table(runs: list[list[Download]], baseline_s: float, size: int) -> bool:
    """The median of each download beside its target and the reference; whether every target held."""
    targets = {fmt.name: fmt.target_s for session in SESSIONS for fmt in session}
    header = "format|seconds|server CPU s|MB/s|peak RSS +MB|MB|rows|× sqlite3|target|result".split("|")
    lines, passed = [], True
    for name in [download.name for download in runs[0]]:
        same = [download for run in runs for download in run if download.name == name]
        seconds = statistics.median(d.seconds for d in same)
        growth = statistics.median(d.growth_mb for d in same)
        megabytes = statistics.median(d.size for d in same) / 1e6
        rows_ok = all(d.rows == size for d in same)
        ok = seconds < targets[name] and growth < TARGET_MB and rows_ok
        passed &= ok
        lines.append(
            (
                name,
                f"{seconds:.1f}",
                f"{statistics.median(d.cpu_s for d in same):.1f}",
                f"{megabytes / seconds:.1f}",
                f"{growth:.0f}",
                f"{megabytes:.1f}",
                f"{min(d.rows for d in same):,}" + ("" if rows_ok else f" of {size:,}"),
                f"{seconds / baseline_s:.1f}",
                f"< {targets[name]:g} s, < {TARGET_MB} MB",
                "pass" if ok else "FAIL",
            )
        )
    lines.append(("sqlite3 → csv", f"{baseline_s:.1f}", "", "", "", "", "", "1.0", "reference", ""))
    widths = [max(len(line[i]) for line in (header, *lines)) for i in range(len(header))]
    print(f"\n{size:,} processes, medians of {len(runs)} run(s)")
    for line in (header, *lines):
        print(" | ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))
    return passed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000, help="processes (default: 100000)")
    parser.add_argument("--runs", type=int, default=1, help="runs; the table shows medians (default: 1)")
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path(tempfile.gettempdir()) / "osservatorio-bench-exports",
        help="where the catalogue is kept between runs, and the downloads (default: under the temp dir)",
    )
    parser.add_argument("--seed", type=int, default=2024, help="random seed (default: 2024)")
    return parser.parse_args()


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # clean up: stop the server
    args = parse_args()
    catalogue = prepare_catalogue(args.size, args.seed, args.folder)
    database_mb = catalogue.database_file.stat().st_size / 1e6
    print(f"catalogue: database {database_mb:.0f} MB, index {folder_mb(catalogue.index_dir):.0f} MB")
    downloads = args.folder / "downloads"
    downloads.mkdir(exist_ok=True)
    runs = []
    for run in range(1, args.runs + 1):
        print(f"\n== run {run} of {args.runs}")
        forget_built_zip(catalogue)
        runs.append(
            [d for session in SESSIONS for d in measure_on_fresh_server(catalogue, session, downloads)]
        )
    baseline_s = statistics.median(sqlite_csv_seconds(catalogue, downloads) for _ in range(args.runs))
    if not print_table(runs, baseline_s, args.size):
        sys.exit(1)


if __name__ == "__main__":
    main()
