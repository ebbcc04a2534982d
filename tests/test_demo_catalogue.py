"""The demo catalogue: what its conversion scripts make, and what a new user finds in it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import api_total, soup

from observatory.cli import DEMO_FILES
from observatory.settings import PROJECT_DIR

SCRIPTS = PROJECT_DIR / "scripts" / "demo"
SOURCES = SCRIPTS / "sources"
#: Each shipped demo file made by a script, from the sources kept in the repository.
CONVERSIONS = {
    "bologna": [SOURCES / "bologna_bilancio_partecipativo" / "bilancio-partecipativo.csv"],
    "palermo": [SOURCES / "palermo_patti" / "monit_patti_pa.csv"],
    "trento": [SOURCES / "trento_patti" / "patti.csv"],
    "monithon": [SOURCES / "monithon" / "monithon_reports.csv"],
}
BOLOGNA, PALERMO, TRENTO = "C037006", "C082053", "C022205"


@pytest.mark.parametrize("name", sorted(CONVERSIONS))
def test_shipped_demo_file_is_what_its_script_makes_from_the_kept_sources(name, tmp_path):
    made = tmp_path / f"{name}.json"
    script = SCRIPTS / f"build_{name}.py"
    result = subprocess.run(
        [sys.executable, str(script), *map(str, CONVERSIONS[name]), str(made)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    shipped = next(path for path in DEMO_FILES if path.stem == name)
    assert made.read_bytes() == shipped.read_bytes(), f"{shipped} differs from what {script.name} makes"


async def _slugs(client, **params) -> list[str]:
    body = (await client.get("/api/v1/processi", params={"per_pagina": "100", **params})).json()
    return [item["slug"] for item in body["items"]]


async def _territories(client, slugs: list[str]) -> list[list[str]]:
    answers = [(await client.get(f"/api/v1/processi/{slug}")).json() for slug in slugs]
    return [[t["code"] for t in answer["territories"]] for answer in answers]


@pytest.mark.anyio
async def test_demo_has_the_bologna_editions_with_their_projects_and_the_patti(reader):
    editions = await _slugs(reader, tipo="bilancio-partecipativo")
    assert len(editions) == 4
    details = [(await reader.get(f"/api/v1/processi/{slug}")).json() for slug in editions]
    assert sorted(d["title"] for d in details) == [
        f"Bilancio partecipativo di Bologna {label}" for label in ("2017", "2018", "2019/20", "2023")
    ]
    projects = [p for d in details for p in d["projects"]]
    assert len(projects) == 135  # the source's 207 rows: a row per point of each project's shape
    assert all(p["latitude"] and p["district"] for p in projects)
    assert {p["state"] for p in projects} == {"ammesso", "vincitore", "in_realizzazione", "realizzato"}
    patti = {"tipo": "patto-di-collaborazione"}
    assert await api_total(reader, patti | {"territorio": PALERMO}) == 73
    assert await api_total(reader, patti | {"territorio": TRENTO}) == 90


@pytest.mark.anyio
@pytest.mark.parametrize("text", ["bilancio partecipativo", "bilancio partecipativo bologna"])
async def test_participatory_budget_searches_put_the_bologna_editions_first(reader, text):
    first = await _slugs(reader, q=text)
    assert len(first) >= 4
    assert all(slug.startswith("bilancio-partecipativo-bologna-") for slug in first[:4]), first[:6]


@pytest.mark.anyio
async def test_patti_di_collaborazione_palermo_puts_palermos_patti_first(reader):
    first = (await _slugs(reader, q="patti di collaborazione palermo"))[:10]
    assert len(first) == 10
    assert all(codes == [PALERMO] for codes in await _territories(reader, first))


@pytest.mark.anyio
async def test_scuole_finds_processes_about_schools_not_most_of_the_catalogue(reader):
    everything = await api_total(reader, {})
    schools = await api_total(reader, {"q": "scuole"})
    assert 0 < schools < everything / 4, (schools, everything)
    page = soup(await reader.get("/processi", params={"q": "scuole"}))
    titles = [a.get_text() for a in page.select("article.card .card-title a")][:5]
    assert titles and all("scuol" in title.lower() for title in titles), titles


@pytest.mark.anyio
async def test_monitoring_state_and_monitored_work_state_are_separate_filters(reader):
    monitoring = {"tipo": "monitoraggio-civico"}
    total = await api_total(reader, monitoring)
    blocked = await api_total(reader, monitoring | {"intervento": "bloccato"})
    ongoing = await api_total(reader, monitoring | {"intervento": ["in_corso", "in_difficolta"]})
    assert blocked > 0 and ongoing > 0 and blocked + ongoing < total
    # the monitoring is over (its report is written) while the work it followed is blocked
    assert await api_total(reader, monitoring | {"stato": "concluso", "intervento": "bloccato"}) == blocked
    page = soup(await reader.get("/processi", params=monitoring | {"intervento": "bloccato"}))
    assert page.select_one("#risultati").get_text(strip=True) == f"{blocked} processi"


@pytest.mark.anyio
async def test_every_record_shows_its_source_and_licence_and_the_data_pages_list_the_sources(reader):
    from observatory.catalogue.sources import RECORD_SOURCES

    examples = {
        "bilancio-partecipativo-bologna-2023": ("Comune di Bologna – Open Data", "CC BY 4.0"),
        "riqualificazione-di-aree-di-piazza-fonderia": ("PalermoHub", "CC BY 4.0"),
        "pista-ciclabile-di-su-siccu": ("Monithon", "CC BY-SA 4.0"),
        "opencoesione": ("Scheda della redazione", "CC BY 4.0"),
    }
    for slug, (attribution, licence) in examples.items():
        page = soup(await reader.get(f"/processi/{slug}"))
        credits = page.select_one("#fonti").find_parent("section").get_text(" ", strip=True)
        assert attribution in credits and f"({licence})" in credits, (slug, credits)
    trento = (await _slugs(reader, tipo="patto-di-collaborazione", territorio=TRENTO))[0]
    credits = (
        soup(await reader.get(f"/processi/{trento}")).select_one("#fonti").find_parent("section").get_text()
    )
    assert "Comune di Trento" in credits
    for path in ("/dati", "/note-legali"):
        page = soup(await reader.get(path))
        table = page.select_one("table.sources")
        rows = {
            row.th.get_text(strip=True): row.select("td")[-1].get_text(strip=True)
            for row in table.tbody.select("tr")
        }
        assert set(rows) == {source.name for source in RECORD_SOURCES}
        assert rows["Monithon"] == "584" and rows["Comune di Trento"] == "90", rows
        assert "CC BY-SA 4.0" in table.get_text() and "ISTAT" in page.get_text()
    footer = soup(await reader.get("/")).select_one("footer")
    assert {a["href"] for a in footer.select("a")} >= {"/dati", "/note-legali"}


@pytest.mark.anyio
async def test_a_monitoring_report_shows_its_title_in_normal_case_the_work_state_and_its_credits(reader):
    slug = "ricerca-e-sviluppo-di-innovativi-prodotti-e-processi-produttivi-volti-alla-reali"
    page = soup(await reader.get(f"/processi/{slug}"))
    assert page.h1.get_text().startswith("Ricerca e sviluppo di innovativi prodotti")
    assert "vetro cavo di qualità superiore" in page.h1.get_text()
    text = page.get_text(" ", strip=True)
    assert "Stato dell'intervento In corso" in text
    assert "Team «TheAlch69863383»; istituto: Liceo delle Scienze Umane San Giovanni Bosco" in text
    assert "QUALIT? SUPERIORE" in text  # the source's title, kept beside the shown one
    found = (await reader.get("/api/v1/processi", params={"q": "qualità superiore vetro cavo"})).json()
    assert slug in [item["slug"] for item in found["items"]]
