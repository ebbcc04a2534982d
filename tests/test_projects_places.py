"""Projects of a process and places below the comune: stored, validated, shown, searched, exported."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from helpers import (
    csrf_token,
    refresh_index,
    run_in_app,
    soup,
    stored_submissions,
    submission_form,
    write_import,
)

from observatory.catalogue import transfer
from observatory.catalogue.form_view import field_id

BOLOGNA = "C037006"
BUDGET = {
    "slug": "bilancio-di-prova",
    "title": "Bilancio partecipativo di prova",
    "kind": "bilancio-partecipativo",
    "decision_holders": ["Comune di Bologna"],
    "territories": [BOLOGNA],
    "district": "Navile",
    "address": "Piazza dell'Unità",
    "latitude": 44.5139,
    "longitude": 11.3478,
    "projects": [
        {
            "title": "Giardino dei pettirossi",
            "description": "Un giardino ombreggiato con alberi da frutto e una fontanella.",
            "district": "Navile",
            "address": "Via Arcoveggio",
            "latitude": 44.5199,
            "longitude": 11.3512,
            "amount": "136000.00",
            "state": "realizzato",
            "votes": 1234,
            "link": "https://www.comune.bologna.it/progetto/giardino",
        },
        {"title": "Panchine in piazza", "amount": "30000.5", "state": "ammesso"},
        {"title": "Biblioteca di quartiere"},
    ],
}


def _export(cli, db_url, path):
    assert cli(db_url, "export", str(path)).exit_code == 0
    return {p["slug"]: p for p in json.loads(path.read_text(encoding="utf-8"))["processes"]}


def test_projects_and_places_survive_import_and_export(cli, empty_db_url, tmp_path):
    result = cli(empty_db_url, "import", str(write_import(tmp_path, [BUDGET])))
    assert result.exit_code == 0, result.output
    exported = _export(cli, empty_db_url, tmp_path / "out.json")["bilancio-di-prova"]
    assert (exported["district"], exported["address"]) == ("Navile", "Piazza dell'Unità")
    assert (exported["latitude"], exported["longitude"]) == (44.5139, 11.3478)
    first, second, third = exported["projects"]
    assert first == BUDGET["projects"][0]
    assert (second["title"], second["amount"], second["state"]) == (
        "Panchine in piazza",
        "30000.50",
        "ammesso",
    )
    assert third == {key: None for key in first} | {"title": "Biblioteca di quartiere"}
    assert exported["licence"] == "CC-BY-4.0"
    # the export imports again unchanged
    again = write_import(
        tmp_path, list(_export(cli, empty_db_url, tmp_path / "a.json").values()), name="b.json"
    )
    assert cli(empty_db_url, "import", str(again)).exit_code == 0
    assert _export(cli, empty_db_url, tmp_path / "c.json")["bilancio-di-prova"] == exported


@pytest.mark.parametrize(
    "change, path, message",
    [
        (
            {"latitude": 38.1193, "longitude": 13.3662},
            "latitude",
            "cade nel comune di Palermo, fuori dai territori",
        ),
        ({"latitude": 43.0, "longitude": 15.0}, "latitude", "non cade in nessun comune italiano"),
        ({"latitude": 11.34, "longitude": 44.49}, "latitude", "deve essere compresa tra 35.0 e 47.5"),
        ({"longitude": None}, "longitude", "sia la latitudine sia la longitudine"),
        ({"latitude": "nord"}, "latitude", "«nord» non è un numero in gradi decimali"),
    ],
)
def test_a_wrong_point_is_refused_with_a_clear_message(cli, empty_db_url, tmp_path, change, path, message):
    process = BUDGET | change
    output = cli(empty_db_url, "import", str(write_import(tmp_path, [process]))).output
    assert f"{path}: " in output and message in output, output
    project = BUDGET["projects"][0] | change
    output = cli(
        empty_db_url, "import", str(write_import(tmp_path, [BUDGET | {"projects": [project]}]))
    ).output
    assert f"projects.1.{path}: " in output and message in output, output


def test_a_point_in_a_comune_inside_a_province_or_region_of_the_process_is_accepted(
    cli, empty_db_url, tmp_path
):
    process = BUDGET | {"territories": ["R08"], "latitude": 44.6471, "longitude": 10.9252}  # Modena, in R08
    result = cli(empty_db_url, "import", str(write_import(tmp_path, [process])))
    assert result.exit_code == 0, result.output


@pytest.mark.anyio
async def test_process_page_shows_projects_and_places_and_search_finds_a_project(empty_client, tmp_path):
    client = empty_client
    report = run_in_app(client, transfer.import_file, write_import(tmp_path, [BUDGET]))
    assert not report.problems
    refresh_index(client)
    page = soup(await client.get("/processi/bilancio-di-prova"))
    table = page.select_one("table.projects")
    rows = [
        [cell.get_text(" ", strip=True) for cell in row.select("th, td")] for row in table.select("tbody tr")
    ]
    assert rows[0][0].startswith("Giardino dei pettirossi Un giardino ombreggiato")
    assert "Via Arcoveggio" in rows[0][1] and "44.51990, 11.35120" in rows[0][1]
    assert rows[0][2:] == ["€ 136.000,00", "Realizzato", "1.234"]
    assert rows[1][2:4] == ["€ 30.000,50", "Ammesso al voto"]
    summary = table.find_parent("section").select_one("p").get_text(" ", strip=True)
    assert "3 progetti, per un importo complessivo di € 166.000,50 (2 con l'importo indicato)" in summary
    assert "realizzato: 1" in summary and "ammesso al voto: 1" in summary
    svg = page.select_one("figure.place-map svg")
    assert (
        svg["role"] == "img"
        and svg.title.get_text() == "Mappa di Bologna: il luogo del processo e 1 progetto."
    )
    assert (
        len(svg.select("circle.main")) == 1 and len(svg.select("circle.project")) == 1
    )  # the others have no point
    english = soup(await client.get("/en/processi/bilancio-di-prova")).select_one("figure.place-map svg")
    assert english.title.get_text() == "Map of Bologna: the process's place and 1 project."
    assert [p.title.get_text() for p in svg.select("path.comune")] == ["Bologna"]
    facts = page.select_one("#dove").find_parent("section").get_text(" ", strip=True)
    assert "Navile" in facts and "Piazza dell'Unità" in facts
    assert "Creative Commons Attribuzione 4.0" in page.select_one("#fonti").find_parent("section").get_text()

    found = (await client.get("/api/v1/processi", params={"q": "pettirossi"})).json()
    assert [item["slug"] for item in found["items"]] == ["bilancio-di-prova"]
    detail = (await client.get("/api/v1/processi/bilancio-di-prova")).json()
    assert [p["title"] for p in detail["projects"]] == [p["title"] for p in BUDGET["projects"]]
    assert Decimal(str(detail["projects"][0]["amount"])) == Decimal("136000")
    assert detail["latitude"] == 44.5139


@pytest.mark.anyio
async def test_submission_form_takes_projects_and_refuses_a_point_outside_keeping_what_was_typed(client):
    typed = {
        "territories": "Bologna",
        "projects.1.title": "Orto sul tetto",
        "projects.1.amount": "45.000,00",
        "projects.1.state": "vincitore",
        "projects.1.latitude": "38,1193",
        "projects.1.longitude": "13,3662",
    }
    token = await csrf_token(client)
    response = await client.post("/segnala", data=submission_form(token, typed), follow_redirects=False)
    assert response.status_code == 400
    page = soup(response)
    error = page.find(id=f"{field_id('projects.1.latitude')}-errore").get_text(" ", strip=True)
    assert "cade nel comune di Palermo, fuori dai territori del processo" in error
    for name, value in typed.items():
        if name.startswith("projects."):
            control = page.find(attrs={"name": name})
            shown = (
                control.find("option", selected=True)["value"]
                if control.name == "select"
                else control["value"]
            )
            assert shown == value, name
    assert stored_submissions(client) == []

    typed |= {"projects.1.latitude": "44,4938", "projects.1.longitude": "11,3426"}
    token = await csrf_token(client)
    response = await client.post("/segnala", data=submission_form(token, typed), follow_redirects=False)
    assert response.status_code == 303, response.text
    [stored] = stored_submissions(client)
    [project] = stored["data"]["process"]["projects"]
    assert (project["title"], project["amount"], project["state"]) == (
        "Orto sul tetto",
        "45000.00",
        "vincitore",
    )
    assert (project["latitude"], project["longitude"]) == (44.4938, 11.3426)


@pytest.mark.anyio
async def test_projects_csv_has_one_row_per_project_of_the_processes_a_search_finds(empty_client, tmp_path):
    client = empty_client
    other = {"slug": "senza-progetti", "title": "Patto senza progetti", "territories": [BOLOGNA]}
    report = run_in_app(client, transfer.import_file, write_import(tmp_path, [BUDGET, other]))
    assert not report.problems
    refresh_index(client)
    response = await client.get("/progetti.csv", params={"q": "bilancio"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["title"] for row in rows] == [p["title"] for p in BUDGET["projects"]]
    first = rows[0]
    assert (first["process_slug"], first["position"], first["amount"]) == (
        "bilancio-di-prova",
        "1",
        "136000.00",
    )
    assert (first["state"], first["state_label"], first["votes"]) == ("realizzato", "Realizzato", "1234")
    assert first["licence"].startswith("Creative Commons Attribuzione 4.0")
    assert rows[2]["amount"] == rows[2]["latitude"] == ""  # unknown is empty, never "None"
    single = await client.get("/processi/bilancio-di-prova/progetti.csv")
    assert single.content == response.content
    assert (await client.get("/progetti.csv", params={"tipo": "inesistente"})).status_code == 400


@pytest.mark.anyio
async def test_home_counts_projects_and_amounts_per_state(empty_client, tmp_path):
    client = empty_client
    more = BUDGET | {
        "slug": "secondo",
        "title": "Secondo bilancio",
        "projects": [{"title": "Orto", "amount": "1000", "state": "realizzato"}],
    }
    report = run_in_app(client, transfer.import_file, write_import(tmp_path, [BUDGET, more]))
    assert not report.problems
    refresh_index(client)
    page = soup(await client.get("/"))
    section = page.select_one("#progetti").find_parent("section")
    assert "4 progetti e proposte, per € 167.000,50 in tutto" in section.get_text(" ", strip=True)
    rows = [[c.get_text(strip=True) for c in row.select("th, td")] for row in section.select("tbody tr")]
    assert rows == [
        ["Ammesso al voto", "1", "€ 30.000,50"],
        ["Realizzato", "2", "€ 137.000,00"],
        ["Stato non indicato", "1", ""],
    ]
    english = soup(await client.get("/en/")).select_one("#progetti").find_parent("section")
    assert [row.select_one("th").get_text(strip=True) for row in english.select("tbody tr")] == [
        "Admitted to the vote",
        "Completed",
        "State not given",
    ]
