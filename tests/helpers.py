"""Small helpers shared by the test modules: HTML parsing, import files, and the demo data as an oracle."""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from functools import cache, partial
from pathlib import Path
from typing import Any

import httpx
from bs4 import BeautifulSoup

from observatory.accounts.tables import AuditEntry
from observatory.catalogue.reference import ISTAT_FILE
from observatory.catalogue.tables import (
    Process,
    ProcessOrganisation,
    ProcessTerm,
    ProcessTerritory,
    Territory,
)
from observatory.cli import DEMO_FILES
from observatory.settings import PROJECT_DIR
from observatory.submissions.tables import Submission
from observatory.text import fold

PATTI = "patti-per-l-amministrazione-condivisa-in-piemonte"
OPENCOESIONE = "opencoesione"
CHIERI = "C001078"


def run_in_app(client, function, *args, **kwargs):
    """Await ``function(*args, **kwargs)`` on the app's event loop and return its result.

    The test client runs the app in a thread of its own (an anyio blocking portal). A PostgreSQL
    connection pool belongs to the loop that opened it, so code that touches the database while the
    client is up must run on that loop; on SQLite this makes no difference.
    """
    return client.blocking_portal.call(partial(function, *args, **kwargs))


def refresh_index(client) -> int:
    """Bring pending changes into the app's search index now (the app does it every few seconds)."""
    from observatory.catalogue.indexing import apply_pending

    return run_in_app(client, apply_pending, client.app.state.search_index)


def command_environment(db_url: str, index_dir: Path, poll: float = 0.2) -> dict[str, str]:
    """The environment of an `observatory` process on ``db_url`` with its index in ``index_dir``."""
    return {
        **os.environ,
        "OBSERVATORY_DATABASE_URL": db_url,
        "OBSERVATORY_INDEX_DIR": str(index_dir),
        "OBSERVATORY_SECRET_KEY": "test-secret",
        "OBSERVATORY_INDEX_POLL": str(poll),
    }


async def observatory_command(
    db_url: str, index_dir: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Run `observatory ARGS` (with ``env`` on top of the usual environment) in a process of its
    own; return its exit code and output."""
    command = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "observatory",
        *args,
        env=command_environment(db_url, index_dir) | (env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await command.communicate()
    return command.returncode, output.decode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@asynccontextmanager
async def serving(db_url: str, index_dir: Path, log: Path, workers: int = 1, **env: str):
    """Run `observatory serve` (with ``workers`` processes and ``env`` on top of the usual
    environment) on a free port until the block ends; yield an httpx client on it."""
    port = free_port()
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "observatory", "serve", "--port", str(port), "--workers", str(workers)],
            env=command_environment(db_url, index_dir) | env,
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_DIR,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 90
            while True:
                assert server.poll() is None, log.read_text()
                try:
                    if (await http.get("/salute")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.2)
            yield http
    finally:
        server.terminate()
        server.wait(timeout=30)


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def heading_count(page: BeautifulSoup) -> int:
    """The number at the start of the results heading ("761 processi")."""
    return int(page.find(id="risultati").get_text(" ", strip=True).split()[0])


def card_slugs(page: BeautifulSoup) -> list[str]:
    """Slugs of the process cards of a list page, in order."""
    return [a["href"].removeprefix("/processi/") for a in page.select("article.card .card-title a")]


async def api_total(client, params) -> int:
    response = await client.get("/api/v1/processi", params=params)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def record(**fields: Any) -> dict:
    """A valid process record for import files, with ``fields`` on top."""
    return {"title": "Processo di prova", **fields}


def write_import(
    directory: Path, processes: list, organisations: list | None = None, name: str = "import.json"
) -> Path:
    data: dict[str, Any] = {"format": "osservatorio/processi", "version": 1, "processes": processes}
    if organisations is not None:
        data["organisations"] = organisations
    path = directory / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# --- the demo catalogue, read straight from its files: what the app should show -----------------


@cache
def demo_processes() -> tuple[dict, ...]:
    processes: list[dict] = []
    for path in DEMO_FILES:
        processes += json.loads(path.read_text(encoding="utf-8"))["processes"]
    return tuple(processes)


@cache
def demo_redazione() -> tuple[dict, ...]:
    return tuple(json.loads(DEMO_FILES[0].read_text(encoding="utf-8"))["processes"])


@cache
def territory_ancestors() -> dict[str, frozenset[str]]:
    """Every ISTAT code with the codes of the units containing it, itself and IT included."""
    result: dict[str, frozenset[str]] = {"IT": frozenset({"IT"})}
    with ISTAT_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            region = "R" + row["Codice Regione"]
            province = "P" + row["Codice dell'Unità territoriale sovracomunale (valida a fini statistici)"]
            comune = "C" + row["Codice Comune formato alfanumerico"]
            result[region] = frozenset({"IT", region})
            result[province] = frozenset({"IT", region, province})
            result[comune] = frozenset({"IT", region, province, comune})
    return result


def _years(process: dict) -> tuple[int | None, float | None]:
    start, end = process.get("start_year"), process.get("end_year")
    low = start if start is not None else end
    high = end if end is not None else (float("inf") if process.get("ongoing") else start)
    return low, high


def demo_matches(process: dict, params: dict[str, list[str]]) -> bool:
    """Whether a demo record passes list filters: OR inside a filter, AND across filters."""
    checks = {
        "ambito": lambda values: process.get("theme") in values,
        "tipo": lambda values: process.get("kind") in values,
        "fonte": lambda values: process.get("reporting_source") in values,
        "stato": lambda values: process.get("state") in values,
        "livello": lambda values: process.get("participation_level") in values,
        "tematica": lambda values: bool(set(process.get("topics") or []) & set(values)),
        "territorio": lambda values: any(
            set(values) & territory_ancestors()[code] for code in process.get("territories") or []
        ),
        "ente": lambda values: bool(
            _organisation_keys(process) & {fold(v.replace("-", " ")) for v in values}
        ),
        "anno_da": lambda values: _years(process)[1] is not None and _years(process)[1] >= int(values[0]),
        "anno_a": lambda values: _years(process)[0] is not None and _years(process)[0] <= int(values[0]),
    }
    return all(checks[name](values) for name, values in params.items())


def _organisation_keys(process: dict) -> set[str]:
    names = list(process.get("decision_holders") or [])
    names += [item["name"] for item in process.get("organisations") or []]
    return {fold(name) for name in names}


def demo_count(params: dict[str, list[str]]) -> int:
    return sum(1 for process in demo_processes() if demo_matches(process, params))


# --- submissions -------------------------------------------------------------------------------

SUBMITTER = {"nome": "Maria Rossi", "ente": "Comune di Chieri", "email": "maria.rossi@comune.chieri.example"}


async def csrf_token(client, path: str = "/segnala") -> str:
    """The CSRF token of the form at ``path``; the GET also sets the cookie a form post needs."""
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return soup(response).select_one("input[name=_csrf_token]")["value"]


def submission_form(token: str, fields: dict[str, str] | None = None, **more: str) -> dict[str, str]:
    """The post of a valid submission form: a title, the submitter, the privacy accepted, and the
    CSRF token; ``fields`` (names with dots, "phases.1.title") and ``more`` go on top."""
    return {
        "_csrf_token": token,
        "title": "Orti condivisi di Borgoquercia",
        **SUBMITTER,
        "privacy": "1",
        **(fields or {}),
        **more,
    }


def rows(client, table, *conditions, order=None) -> list[dict]:
    """The rows of ``table`` matching ``conditions``, by ``order`` (their id by default), JSON parsed,
    read in the app's database."""
    select = table.select().where(*conditions).order_by(order or table.id).output(load_json=True)
    return run_in_app(client, lambda: select)


def stored_submissions(client) -> list[dict]:
    """Every Submission row, oldest first, ``data`` as a dict."""
    return rows(client, Submission)


# --- the editorial office ------------------------------------------------------------------------

#: The name the editorial office's tests use for csrf_token: ``await form_token(client, path)``.
form_token = csrf_token
STAFF_PASSWORD = "una password abbastanza lunga"
_staff_numbers = itertools.count(1)


async def login_as(client, role: str = "redattore", username: str | None = None) -> dict:
    """Create a staff member with ``role`` and log in through the real form (the client keeps the
    session cookie); return the staff dict (id, username, display_name, role, email, active)."""
    from observatory.accounts.services import create_staff

    username = username or f"{role}{next(_staff_numbers)}"
    staff = run_in_app(client, create_staff, username, f"Prova {username.title()}", role, STAFF_PASSWORD)
    await log_in(client, username)
    return staff


async def log_in(client, username: str) -> None:
    """Log ``username`` (with STAFF_PASSWORD) in through the real form; the client keeps the cookie."""
    token = await form_token(client, "/redazione/accesso")
    response = await client.post(
        "/redazione/accesso",
        data={"_csrf_token": token, "username": username, "password": STAFF_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def form_values(page: BeautifulSoup, selector: str = "form") -> dict[str, str | list[str]]:
    """What a browser would post for the form ``selector`` as it is shown: inputs, textareas, selected
    options and checked boxes (several checked boxes of one name as a list); buttons left out."""
    values: dict[str, str | list[str]] = {}
    for control in page.select_one(selector).select("input[name], textarea[name], select[name]"):
        name, kind = control["name"], control.get("type", "text")
        if kind == "checkbox" or kind == "radio":
            if control.has_attr("checked"):
                values.setdefault(name, []).append(control.get("value", "on"))
        elif control.name == "textarea":
            values[name] = control.get_text().removeprefix("\n")
        elif control.name == "select":
            chosen = control.find("option", selected=True)
            values[name] = chosen["value"] if chosen else ""
        elif kind not in ("submit", "button"):
            values[name] = control.get("value", "")
    return values


def process_row(client, slug: str) -> dict:
    """The Process row with ``slug``, read in the app's database."""
    return run_in_app(client, lambda: Process.select().where(Process.slug == slug).first())


def audit_entries(client, action: str) -> list[dict]:
    """The audit log entries of ``action``, oldest first, with before/after parsed."""
    return rows(client, AuditEntry, AuditEntry.action == action)


# --- the database as an oracle for the index ----------------------------------------------------

#: The vocabulary each filter of a single term takes its values from, and its Process column.
_TERM_FILTERS = {
    "ambito": "theme",
    "tipo": "kind",
    "livello": "participation_level",
    "fonte": "reporting_source",
}


async def database_count(name: str, value: str) -> int:
    """How many published processes filter ``name`` finds for ``value``, counted in the tables
    with SQL of its own (the catalogue itself filters in the search index)."""
    published = Process.publication == "published"
    if name in _TERM_FILTERS:
        column = getattr(Process, _TERM_FILTERS[name])
        return await Process.count().where(published, column.slug == value)
    if name == "stato":
        return await Process.count().where(published, Process.state == value)
    if name == "tematica":
        tagged = ProcessTerm.select(ProcessTerm.process).where(
            ProcessTerm.term.vocabulary == "tematica", ProcessTerm.term.slug == value
        )
        return await Process.count().where(published, Process.id.is_in(tagged))
    if name == "territorio":
        inside = Territory.select(Territory.code)
        if value != "IT":
            inside = inside.where(
                (Territory.code == value)
                | (Territory.region_code == value)
                | (Territory.province_code == value)
            )
        placed = ProcessTerritory.select(ProcessTerritory.process).where(
            ProcessTerritory.territory.is_in(inside)
        )
        return await Process.count().where(published, Process.id.is_in(placed))
    members = ProcessOrganisation.select(ProcessOrganisation.process).where(
        ProcessOrganisation.organisation.slug == value
    )
    if name == "titolare":
        members = members.where(ProcessOrganisation.role == "titolare")
    return await Process.count().where(published, Process.id.is_in(members))
