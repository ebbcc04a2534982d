"""Two instances on one database: does every change reach the other one, and how fast?

Builds the demo catalogue in a new PostgreSQL database (or an SQLite file), starts two
`observatory serve` instances on it, each with its own index folder and the default
OBSERVATORY_INDEX_POLL, logs an editor in on A and, for --seconds, approves submissions through A
(and withdraws every fifth process it approved) while `observatory reindex` rebuilds A's and B's
index in turn every --reindex-every seconds. Meanwhile it searches B (and A) for every change until
the change shows. At the end it waits for the stragglers, restarts B, and checks every change
once more on both.

Prints the changes made, the 5xx answers (target 0), the changes lost (target 0: an approved
process not found, or a withdrawn one still found, on either instance after the end and after
B's restart), and the delay from the editor's answer to the change being searchable on B
(target: p95 <= 5 s) and on A.

    .venv/bin/python bench/instances.py [--seconds 60] [--database postgres|sqlite]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
from bs4 import BeautifulSoup

PASSWORD = "una password abbastanza lunga"
POSTGRES = os.environ.get("OBSERVATORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OBSERVATORY = [sys.executable, "-m", "observatory"]
#: How long a change may take before it counts as lost at the end.
GRACE = 30.0


def _environment(database_url: str, index_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OBSERVATORY_DATABASE_URL": database_url,
        "OBSERVATORY_INDEX_DIR": str(index_dir),
        "OBSERVATORY_SECRET_KEY": "bench-instances",
        "OBSERVATORY_STAFF_PASSWORD": PASSWORD,
    }


def _word(number: int) -> str:
    """A word found in one title only: letters (the analyzer keeps them whole), ending in a consonant."""
    letters = ""
    for _ in range(4):
        number, digit = divmod(number, 26)
        letters += string.ascii_lowercase[digit]
    return f"istanz{letters}k"


def _token(response) -> str:
    return BeautifulSoup(response.text, "html.parser").select_one("input[name=_csrf_token]")["value"]


@dataclass
class Change:
    """One change made through A: the word of the process's title, how many processes a search for
    it must find once the change shows (1 approved, 0 withdrawn), when the editor got the answer."""

    word: str
    expected: int
    at: float
    #: A later change of the same process came before this one showed: it is not timed.
    superseded: bool = False


class Tally:
    """What the run saw: answers by status, the changes made, and when each showed on each instance."""

    def __init__(self):
        self.statuses: dict[int, int] = {}
        self.changes: list[Change] = []
        self.seen: dict[str, dict[int, float]] = {"A": {}, "B": {}}

    def answered(self, response: httpx.Response) -> httpx.Response:
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response

    def made(self, word: str, expected: int) -> None:
        for change in self.changes:
            if change.word == word:
                change.superseded = True
        self.changes.append(Change(word, expected, time.monotonic()))

    def waiting(self, name: str) -> list[int]:
        return [n for n, c in enumerate(self.changes) if not c.superseded and n not in self.seen[name]]

    def final(self) -> dict[str, int]:
        """What a search for each word must find at the end."""
        return {change.word: change.expected for change in self.changes}

    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


@asynccontextmanager
async def serving(name: str, database_url: str, index_dir: Path, log: Path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with log.open("a") as output:
        server = subprocess.Popen(
            [*OBSERVATORY, "serve", "--port", str(port)],
            env=_environment(database_url, index_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
            while True:
                if server.poll() is not None:
                    raise SystemExit(f"instance {name} stopped; see {log}")
                try:
                    if (await http.get("/salute")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            print(f"instance {name} ready in {time.perf_counter() - started:.1f} s (index {index_dir})")
            yield http
    finally:
        server.terminate()
        server.wait(timeout=60)


async def _searchable(http: httpx.AsyncClient, tally: Tally, word: str) -> int:
    return tally.answered(await http.get("/api/v1/processi", params={"q": word})).json()["total"]


async def watch(name: str, http: httpx.AsyncClient, tally: Tally, stop: asyncio.Event) -> None:
    """Search the instance for every change not yet seen there, and note when it shows."""
    while not stop.is_set() or tally.waiting(name):
        for number in tally.waiting(name):
            change = tally.changes[number]
            if await _searchable(http, tally, change.word) == change.expected:
                tally.seen[name][number] = time.monotonic()
        await asyncio.sleep(0.05)


async def _prepare(database_url: str, count: int, workdir: Path) -> list[int]:
    """Store ``count`` pending submissions as the public form does (from distinct addresses)."""
    from observatory import database
    from observatory.search.index import SearchIndex
    from observatory.settings import Settings
    from observatory.submissions.services import submit
    from observatory.submissions.tables import Submission

    engine = database.configure(database_url)
    await database.start(engine)
    try:
        settings = Settings(
            database_url=database_url, index_dir=workdir / "unused", secret_key="bench-instances"
        )
        submitter = {
            "nome": "Maria Rossi",
            "ente": "Comune di Chieri",
            "email": "m@comune.example",
            "privacy": True,
        }
        for number in range(count):
            record = {
                "title": f"Assemblea {_word(number)} di quartiere",
                "description": "Prova di più istanze.",
            }
            address = f"10.{number // 62500}.{number // 250 % 250}.{number % 250}"
            await submit(
                record, submitter, None, None, address, "web", settings, SearchIndex(workdir / "unused")
            )
        rows = (
            await Submission.select(Submission.id)
            .where(Submission.state == "in_attesa")
            .order_by(Submission.id)
        )
        return [row["id"] for row in rows]
    finally:
        await database.stop(engine)


async def edit(a: httpx.AsyncClient, tally: Tally, submissions: list[int], seconds: float) -> None:
    """Approve submissions through A one after the other; withdraw every fifth approved process."""
    login = tally.answered(await a.get("/redazione/accesso"))
    logged = await a.post(
        "/redazione/accesso",
        data={"_csrf_token": _token(login), "username": "misura", "password": PASSWORD},
        follow_redirects=False,
    )
    assert tally.answered(logged).status_code == 303, logged.text[:300]
    token = _token(tally.answered(await a.get("/segnala")))
    deadline = time.monotonic() + seconds
    for number, submission in enumerate(submissions):
        if time.monotonic() > deadline:
            break
        word = _word(number)
        approved = await a.post(
            f"/redazione/segnalazioni/{submission}/approva",
            data={"_csrf_token": token},
            follow_redirects=False,
        )
        if tally.answered(approved).status_code == 303:
            tally.made(word, 1)
        if number % 5 == 4:
            found = tally.answered(await a.get("/redazione/processi", params={"q": word}))
            link = re.search(r"/redazione/processi/(\d+)/", found.text)
            if link:
                withdrawn = await a.post(
                    f"/redazione/processi/{link.group(1)}/ritira",
                    data={"_csrf_token": token, "motivo": "Prova di ritiro."},
                    follow_redirects=False,
                )
                if tally.answered(withdrawn).status_code == 303:
                    tally.made(word, 0)
        await asyncio.sleep(0.1)


async def reindex(database_url: str, folders: list[Path], every: float, stop: asyncio.Event) -> list[float]:
    """Rebuild the instances' indexes in turn with `observatory reindex`; return how long each took."""
    took: list[float] = []
    turn = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), every)
            break
        except TimeoutError:
            pass
        started = time.perf_counter()
        done = await asyncio.create_subprocess_exec(
            *OBSERVATORY,
            "reindex",
            env=_environment(database_url, folders[turn % len(folders)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, errors = await done.communicate()
        if done.returncode != 0:
            raise SystemExit(f"observatory reindex failed: {errors.decode()}")
        took.append(time.perf_counter() - started)
        turn += 1
    return took


async def _lost(http: httpx.AsyncClient, tally: Tally) -> set[str]:
    return {
        word for word, expected in tally.final().items() if await _searchable(http, tally, word) != expected
    }


def _delays(tally: Tally, name: str) -> list[float]:
    return sorted(when - tally.changes[number].at for number, when in tally.seen[name].items())


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


async def run(database_url: str, seconds: float, every: float, workdir: Path) -> None:
    folders = {"A": workdir / "index-a", "B": workdir / "index-b"}
    log = workdir / "instances.log"
    env = _environment(database_url, folders["A"])
    subprocess.run([*OBSERVATORY, "demo"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*OBSERVATORY, "create-staff", "misura", "--name", "Misura Istanze", "--role", "redattore"],
        env=env,
        check=True,
        capture_output=True,
    )
    submissions = await _prepare(database_url, int(seconds * 8) + 50, workdir)
    tally = Tally()
    async with (
        serving("A", database_url, folders["A"], log) as a,
        serving("B", database_url, folders["B"], log) as b,
    ):
        stop = asyncio.Event()
        watchers = [asyncio.create_task(watch(n, h, tally, stop)) for n, h in (("A", a), ("B", b))]
        rebuilds = asyncio.create_task(reindex(database_url, list(folders.values()), every, stop))
        await edit(a, tally, submissions, seconds)
        stop.set()
        took = await rebuilds
        with suppress(TimeoutError):  # what has not shown by then counts as lost below
            await asyncio.wait_for(asyncio.gather(*watchers), GRACE)
        lost = await _lost(a, tally) | await _lost(b, tally)
    async with serving("B", database_url, folders["B"], log) as b:
        lost |= await _lost(b, tally)
    withdrawals = sum(1 for change in tally.changes if change.expected == 0)
    print(f"database: {database_url.split('://')[0]}; {seconds:.0f} s of changes through A")
    approvals = len(tally.changes) - withdrawals
    print(f"changes: {len(tally.changes)} ({approvals} approvals, {withdrawals} withdrawals)")
    print(
        f"reindex rounds: {len(took)} (median {statistics.median(took):.1f} s)"
        if took
        else "reindex rounds: 0"
    )
    print(f"answers: {sum(tally.statuses.values())}, by status {dict(sorted(tally.statuses.items()))}")
    print(f"5xx: {tally.server_errors()} (target 0)")
    print(f"lost changes: {len(lost)} (target 0) {sorted(lost) if lost else ''}")
    for name in ("B", "A"):
        delays = _delays(tally, name)
        print(
            f"delay until searchable on {name}: p50 {_percentile(delays, 0.5):.2f} s, "
            f"p95 {_percentile(delays, 0.95):.2f} s, max {max(delays, default=float('nan')):.2f} s"
            + (" (target p95 <= 5 s)" if name == "B" else " (the instance the editor used)")
        )


async def _postgres_database() -> tuple[str, str]:
    name = f"osv_bench_instances_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(POSTGRES)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}", name


async def _drop(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long changes are made")
    parser.add_argument("--reindex-every", type=float, default=10, help="seconds between two reindex rounds")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        if args.database == "sqlite":
            asyncio.run(run(f"sqlite:///{workdir / 'bench.db'}", args.seconds, args.reindex_every, workdir))
            return
        url, name = asyncio.run(_postgres_database())
        try:
            asyncio.run(run(url, args.seconds, args.reindex_every, workdir))
        finally:
            asyncio.run(_drop(name))


if __name__ == "__main__":
    main()
