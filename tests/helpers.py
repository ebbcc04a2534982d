"""Small helpers shared by the test modules: HTML parsing, import files, and the demo data as an oracle."""

from __future__ import annotations

import csv
import json
from functools import cache, partial
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from observatory.catalogue.reference import ISTAT_FILE
from observatory.cli import DEMO_FILES
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


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def heading_count(page: BeautifulSoup) -> int:
    """The number at the start of the results heading ("594 processi")."""
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
