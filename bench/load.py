"""Submissions, searches and approvals all at once: is every accepted submission stored, and does none fail?

For each database and each run: builds the demo catalogue in a new PostgreSQL database (or a new
SQLite file) with the `observatory` command, starts `observatory serve --workers 2`, files 20
submissions through the API and logs an editor in. Then it sends at once, from asyncio: 200
submissions through the API (each from its own X-Forwarded-For address, believed because the bench is
on loopback, a trusted proxy, so the limit of 5 an hour per address does not refuse them), 200
searches (/api/v1/processi and /processi) and the approval of the 20 waiting submissions through the
editors' review form. Afterwards it looks up every accepted submission's token in the database, and
searches the API for every approved one until it shows as a published process.

Prints one line per run and, per database, the median run time and burst time, the submissions
accepted (201), refused (4xx, by status) and failed, the searches and approvals, whether every
accepted submission was stored (target: yes, in every run) and the errors (target 0: a 5xx or a
transport error, timeouts included). Exits with 1 when anything failed or went missing. Each run's
server log is kept in a new folder under the temporary directory (printed at the start).

    .venv/bin/python bench/load.py [--database both] [--runs 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from bs4 import BeautifulSoup

from observatory.digests import token_digest

PASSWORD = "una password abbastanza lunga"
POSTGRES = os.environ.get("OBSERVATORY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
OBSERVATORY = [sys.executable, "-m", "observatory"]
WAITING, SUBMISSIONS, SEARCHES = 20, 200, 200
#: Seconds a request may take before it counts as an error (the machine may be busy).
TIMEOUT = 120.0
#: How long an approved process may take to be found by a search on both workers.
GRACE = 60.0
#: What the searches look for: words of the demo catalogue, a misspelling, words not in it.
QUERIES = (
    "patti",
    "opencoesione",
    "opencoesine",
    "scuola",
    "monitoraggio civico",
    "amministrazione condivisa",
    "piemonte",
    "fondi europei ambiente",
    "laboratorio",
    "assemblea quartiere",
    "bilancio partecipativo",
    "zzzquasi",
)


def _environment(database_url: str, index_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OBSERVATORY_DATABASE_URL": database_url,
        "OBSERVATORY_INDEX_DIR": str(index_dir),
        "OBSERVATORY_SECRET_KEY": "bench-load",
        "OBSERVATORY_STAFF_PASSWORD": PASSWORD,
    }


def _word(number: int) -> str:
    """A word found in one title only: letters (the analyzer keeps them whole), ending in a consonant."""
    letters = ""
    for _ in range(4):
        number, digit = divmod(number, 26)
        letters += string.ascii_lowercase[digit]
    return f"caric{letters}k"


def _submission(title: str) -> dict:
    return {
        "segnalante": {"nome": "Maria Rossi", "ente": "Comune di Chieri", "email": "m@comune.example"},
        "privacy_accettata": True,
        "processo": {"title": title, "description": "Prova di carico: una segnalazione tra tante."},
    }


def _address(number: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"10.{number // 62500}.{number // 250 % 250}.{number % 250 + 1}"}


def _token(response: httpx.Response, selector: str = "input[name=_csrf_token]") -> str:
    return BeautifulSoup(response.text, "html.parser").select_one(selector)["value"]


@dataclass
class Run:
    """What one run saw: the outcome of each request by kind ("201", "503", "ReadTimeout"), the
    accepted tokens, the approved words, and the checks made afterwards."""

    outcomes: dict[str, Counter] = field(default_factory=dict)
    tokens: list[str] = field(default_factory=list)
    approved: list[str] = field(default_factory=list)
    slowest: float = 0.0
    burst: float = 0.0
    seconds: float = 0.0
    rows: int = 0
    missing: int = 0
    unfound: int = 0

    async def send(self, kind: str, request) -> httpx.Response | None:
        """Await ``request`` and note its outcome under ``kind``; None for a transport error."""
        started = time.monotonic()
        try:
            response = await request
        except httpx.HTTPError as exc:
            self.outcomes.setdefault(kind, Counter())[type(exc).__name__] += 1
            return None
        finally:
            self.slowest = max(self.slowest, time.monotonic() - started)
        self.outcomes.setdefault(kind, Counter())[str(response.status_code)] += 1
        return response

    def count(self, kind: str, which) -> int:
        return sum(n for outcome, n in self.outcomes.get(kind, Counter()).items() if which(outcome))

    def errors(self) -> int:
        return sum(self.count(kind, _failed) for kind in self.outcomes)


def _failed(outcome: str) -> bool:
    return not outcome.isdigit() or outcome.startswith("5")


def _refused(outcome: str) -> bool:
    return outcome.startswith("4")


@asynccontextmanager
async def serving(database_url: str, index_dir: Path, log: Path):
    """Run `observatory serve --workers 2` on a free port; yield its address once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with log.open("w") as output:
        server = subprocess.Popen(
            [*OBSERVATORY, "serve", "--port", str(port), "--workers", "2"],
            env=_environment(database_url, index_dir),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as http:
            deadline = time.monotonic() + TIMEOUT
            while True:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {log}")
                try:
                    if (await http.get("/salute")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=60)


async def _stored(database_url: str) -> dict[str, int]:
    """Every stored submission: its token's digest and its id, read from the database itself."""
    query = "SELECT token_hash, id FROM submission"
    if database_url.startswith("sqlite"):
        with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as connection:
            return dict(connection.execute(query).fetchall())
    connection = await asyncpg.connect(database_url)
    try:
        return {row["token_hash"]: row["id"] for row in await connection.fetch(query)}
    finally:
        await connection.close()


async def _submit(run: Run, http: httpx.AsyncClient, kind: str, number: int, title: str) -> str | None:
    """Send a submission from its own address; return its token when accepted."""
    response = await run.send(
        kind, http.post("/api/v1/segnalazioni", json=_submission(title), headers=_address(number))
    )
    if response is None or response.status_code != 201:
        return None
    run.tokens.append(response.json()["token"])
    return run.tokens[-1]


async def _search(run: Run, http: httpx.AsyncClient, number: int) -> None:
    text = QUERIES[number % len(QUERIES)]
    path = "/processi" if number % 4 == 3 else "/api/v1/processi"
    await run.send("searches", http.get(path, params={"q": text}))


async def _approve(run: Run, editor: httpx.AsyncClient, submission_id: int, word: str) -> None:
    """Open the review of a submission and post its approval form, as an editor's browser does."""
    review = await run.send("reviews", editor.get(f"/redazione/segnalazioni/{submission_id}"))
    if review is None or review.status_code != 200:
        return
    form = f"form[action='/redazione/segnalazioni/{submission_id}/approva'] input[name=_csrf_token]"
    approval = editor.post(
        f"/redazione/segnalazioni/{submission_id}/approva",
        data={"_csrf_token": _token(review, form)},
        follow_redirects=False,
    )
    answer = await run.send("approvals", approval)
    if answer is not None and answer.status_code == 303:
        run.approved.append(word)


async def _log_in(editor: httpx.AsyncClient) -> None:
    login = await editor.get("/redazione/accesso")
    logged = await editor.post(
        "/redazione/accesso",
        data={"_csrf_token": _token(login), "username": "carico", "password": PASSWORD},
        follow_redirects=False,
    )
    if logged.status_code != 303:
        raise SystemExit(f"the editor could not log in: {logged.status_code} {logged.text[:300]}")


async def _findable(http: httpx.AsyncClient, word: str) -> bool:
    """Whether a search for ``word`` finds its published process within GRACE seconds."""
    deadline = time.monotonic() + GRACE
    while time.monotonic() < deadline:
        try:
            if (await http.get("/api/v1/processi", params={"q": word})).json()["total"] == 1:
                return True
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    return False


async def _load(run: Run, database_url: str, base_url: str) -> None:
    """File the submissions to approve, then send the burst. The prepared ones go on connections of
    their own, closed before the burst: each burst request opens its own, as 200 submitters would."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT, limits=limits) as http,
        httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as editor,
    ):
        words = [_word(number) for number in range(WAITING)]
        async with httpx.AsyncClient(base_url=base_url, timeout=TIMEOUT) as prepare:
            tokens = await asyncio.gather(
                *(
                    _submit(run, prepare, "prepared", n, f"Laboratorio {w} di quartiere")
                    for n, w in enumerate(words)
                )
            )
        ids = await _stored(database_url)
        waiting = [(ids[token_digest(t)], w) for t, w in zip(tokens, words, strict=True) if t is not None]
        await _log_in(editor)
        burst = [
            *(
                _submit(run, http, "submissions", WAITING + n, f"Assemblea {_word(WAITING + n)} cittadina")
                for n in range(SUBMISSIONS)
            ),
            *(_search(run, http, n) for n in range(SEARCHES)),
            *(_approve(run, editor, submission_id, word) for submission_id, word in waiting),
        ]
        random.shuffle(burst)
        started = time.monotonic()
        await asyncio.gather(*burst)
        run.burst = time.monotonic() - started
        stored = await _stored(database_url)
        run.rows = len(stored)
        run.missing = sum(1 for token in run.tokens if token_digest(token) not in stored)
        found = await asyncio.gather(*(_findable(http, word) for word in run.approved))
        run.unfound = found.count(False)


async def _postgres_database() -> tuple[str, str]:
    name = f"osv_bench_load_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(POSTGRES)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}", name


async def _drop(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


async def one_run(database: str, log: Path) -> Run:
    """Set up a fresh database and a server on it, send the load, check what was stored."""
    started = time.monotonic()
    run = Run()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        name = None
        if database == "sqlite":
            database_url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            database_url, name = await _postgres_database()
        try:
            env = _environment(database_url, workdir / "index")
            for command in (
                ["migrate"],
                ["demo"],
                ["create-staff", "carico", "--name", "Misura Carico", "--role", "redattore"],
            ):
                subprocess.run([*OBSERVATORY, *command], env=env, check=True, capture_output=True)
            async with serving(database_url, workdir / "index", log) as base_url:
                await _load(run, database_url, base_url)
        finally:
            if name:
                await _drop(name)
    run.seconds = time.monotonic() - started
    return run


def _outcomes(counter: Counter) -> str:
    return ", ".join(f"{outcome}: {n}" for outcome, n in sorted(counter.items())) or "none"


def _totals(runs: list[Run]) -> dict[str, Counter]:
    total: dict[str, Counter] = {}
    for run in runs:
        for kind, counter in run.outcomes.items():
            total.setdefault(kind, Counter()).update(counter)
    return total


def _line(number: int, run: Run) -> str:
    accepted = run.count("submissions", lambda o: o == "201")
    refused = run.count("submissions", _refused)
    searched = run.count("searches", lambda o: o == "200")
    approval_errors = run.count("reviews", _failed) + run.count("approvals", _failed)
    return (
        f"run {number}: {run.seconds:.1f} s (burst {run.burst:.1f} s, slowest answer {run.slowest:.1f} s); "
        f"submissions {accepted} accepted, {refused} refused, {run.count('submissions', _failed)} errors; "
        f"stored {len(run.tokens) - run.missing}/{len(run.tokens)} accepted (rows {run.rows}); "
        f"searches {searched} ok, {run.count('searches', _failed)} errors; "
        f"approvals {len(run.approved)} ok, {approval_errors} errors, "
        f"{len(run.approved) - run.unfound} findable; errors in all {run.errors()}"
    )


def summary(database: str, runs: list[Run]) -> bool:
    """Print the figures of ``runs``; return whether they met the targets."""
    total = _totals(runs)
    errors = sum(run.errors() for run in runs)
    missing = sum(run.missing for run in runs)
    unfound = sum(run.unfound for run in runs)
    stored = sum(1 for run in runs if run.missing == 0)
    print(f"== {database}: {len(runs)} runs")
    print(
        f"median run {statistics.median(r.seconds for r in runs):.1f} s, "
        f"median burst {statistics.median(r.burst for r in runs):.1f} s "
        f"({SUBMISSIONS} submissions, {SEARCHES} searches, {WAITING} approvals at once), "
        f"slowest answer {max(r.slowest for r in runs):.1f} s"
    )
    for kind in ("prepared", "submissions", "searches", "reviews", "approvals"):
        print(f"{kind}: {_outcomes(total.get(kind, Counter()))}")
    print(f"accepted submissions: {sum(len(r.tokens) for r in runs)}, missing from the database: {missing}")
    print(f"every accepted submission stored: {'yes' if missing == 0 else 'no'} ({stored}/{len(runs)} runs)")
    approved = sum(len(r.approved) for r in runs)
    print(f"approved: {approved}, not found by a search after {GRACE:.0f} s: {unfound} (target 0)")
    print(f"errors (5xx, transport errors and timeouts): {errors} (target 0)")
    return errors == missing == unfound == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=1, help="runs per database, each on a fresh one")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="osservatorio-load-"))
    print(f"server logs in {logs}")
    databases = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    met = True
    for database in databases:
        runs = []
        for number in range(1, args.runs + 1):
            log = logs / f"{database}-{number}.log"
            runs.append(asyncio.run(one_run(database, log)))
            seen = f" (see {log})" if runs[-1].errors() else ""
            print(f"{database} {_line(number, runs[-1])}{seen}", flush=True)
        met = summary(database, runs) and met
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
