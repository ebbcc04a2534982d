"""Open data through the real app: downloads of a search in every format, the record standard and the
import, the codebook and vocabularies, the Data Package on the bulk ZIP, conditional requests, and
what must never be published."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import zipfile
from decimal import Decimal
from functools import partial

import frictionless
import openpyxl
import pytest
from anyio import to_thread
from click.testing import CliRunner
from helpers import (
    PATTI,
    SUBMITTER,
    csrf_token,
    demo_count,
    form_token,
    login_as,
    process_row,
    refresh_index,
    run_in_app,
    soup,
    submission_form,
    write_import,
)
from jsonschema import Draft202012Validator

from observatory.catalogue.services import cents_to_decimal
from observatory.catalogue.tables import Organisation, Process, ProcessOrganisation, ProcessTerritory
from observatory.cli import main
from observatory.opendata import downloads
from observatory.opendata.columns import COLUMN_NAMES, SEPARATOR
from observatory.opendata.freshness import catalogue_stamp

pytestmark = pytest.mark.anyio

#: Piemonte: patti di collaborazione across several comuni, funded projects with their amounts.
REGION = {"territorio": ["R01"], "ordine": ["titolo"]}


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.content.startswith("\ufeff".encode())
    text = response.content.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames) == COLUMN_NAMES
    return list(reader)


async def _api_slugs(client, params: dict) -> list[str]:
    slugs, page = [], 1
    while True:
        answer = (
            await client.get("/api/v1/processi", params={**params, "per_pagina": "100", "pagina": page})
        ).json()
        slugs += [item["slug"] for item in answer["items"]]
        if len(slugs) >= answer["total"]:
            return slugs
        page += 1


def _stored(client, slug: str) -> dict:
    """What the database holds of a process, read straight from its tables."""

    async def read() -> dict:
        process = await Process.select().where(Process.slug == slug).first()
        codes = await (
            ProcessTerritory.select(ProcessTerritory.territory.code)
            .where(ProcessTerritory.process == process["id"])
            .order_by(ProcessTerritory.position)
            .output(as_list=True)
        )
        holders = await (
            ProcessOrganisation.select(ProcessOrganisation.organisation.name)
            .where(ProcessOrganisation.process == process["id"], ProcessOrganisation.role == "titolare")
            .order_by(ProcessOrganisation.position)
            .output(as_list=True)
        )
        return {**process, "codes": codes, "holders": holders}

    return run_in_app(client, read)


# --- downloads of a search -------------------------------------------------------------------------------


async def test_filtered_csv_holds_exactly_the_search_with_the_database_values(client):
    response = await client.get("/processi.csv", params=REGION)
    rows = _csv_rows(response)
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="processi-\d{4}-\d{2}-\d{2}\.csv"', disposition)
    assert 'rel="describedby"' in response.headers["link"]

    slugs = [row["slug"] for row in rows]
    assert slugs == await _api_slugs(client, REGION)  # same processes, same order, every page
    assert len(rows) == demo_count({"territorio": ["R01"]}) > 10
    for row in rows:
        assert "None" not in row.values() and "null" not in row.values()
        assert row["licence"] in {"CC-BY-4.0", "CC-BY-SA-4.0"} and row["attribution"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", row["updated_at"])
        assert row["url"] == f"http://127.0.0.1:8000/processi/{row['slug']}"

    with_money = [row for row in rows if row["funding_total_investment"]]
    many_places = [row for row in rows if SEPARATOR in row["territories"]]
    sample = [rows[0], rows[-1], *with_money[:3], *many_places[:2]]
    assert with_money and many_places
    for row in sample:
        stored = _stored(client, row["slug"])
        assert row["title"] == stored["title"]
        assert row["start_year"] == ("" if stored["start_year"] is None else str(stored["start_year"]))
        assert row["territories"].split(SEPARATOR) == stored["codes"]
        assert (row["decision_holders"].split(SEPARATOR) if row["decision_holders"] else []) == stored[
            "holders"
        ]
        cents = stored["total_investment_cents"]
        assert row["funding_total_investment"] == ("" if cents is None else f"{cents_to_decimal(cents):f}")
    for row in with_money:
        assert re.fullmatch(r"\d+(\.\d{1,2})?", row["funding_total_investment"])
        Decimal(row["funding_total_investment"])


async def test_text_search_download_and_a_bad_filter(reader):
    params = {"q": "patti collaborazione", "ordine": "rilevanza"}
    rows = _csv_rows(await reader.get("/processi.csv", params=params))
    assert [row["slug"] for row in rows] == await _api_slugs(reader, params)
    assert rows
    refused = await reader.get("/processi.csv", params={"tipo": "non-esiste"})
    assert refused.status_code == 400 and "non-esiste" in soup(refused).select_one("main").get_text()
    assert refused.headers["content-type"].startswith("text/html")
    empty = _csv_rows(await reader.get("/processi.csv", params={"q": "zxqwvj"}))
    assert empty == []


async def test_excel_download_has_typed_cells_a_frozen_header_and_the_codebook(reader, tmp_path):
    response = await reader.get("/processi.xlsx", params=REGION)
    assert response.status_code == 200
    assert (
        response.headers["content-type"]
        == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    path = tmp_path / "processi.xlsx"
    path.write_bytes(response.content)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["processi", "codebook"]
    sheet = workbook["processi"]
    assert sheet.freeze_panes == "A2"
    lines = list(sheet.iter_rows(values_only=True))
    assert lines[0] == COLUMN_NAMES
    table = [dict(zip(COLUMN_NAMES, line, strict=True)) for line in lines[1:]]
    csv_rows = _csv_rows(await reader.get("/processi.csv", params=REGION))
    assert [row["slug"] for row in table] == [row["slug"] for row in csv_rows]
    for row, text in zip(table, csv_rows, strict=True):
        assert isinstance(row["updated_at"], datetime.datetime)
        assert row["updated_at"].isoformat() + "Z" == text["updated_at"]
        if text["start_year"]:
            assert row["start_year"] == int(text["start_year"]) and isinstance(row["start_year"], int)
        if text["funding_total_investment"]:
            assert isinstance(row["funding_total_investment"], int | float)
            assert Decimal(str(row["funding_total_investment"])) == Decimal(text["funding_total_investment"])
        assert isinstance(row["ongoing"], bool | None)
        assert row["territories"] == text["territories"]
    codebook = list(workbook["codebook"].iter_rows(values_only=True))
    assert [line[0] for line in codebook[1:]] == list(COLUMN_NAMES)
    assert "CC BY 4.0" in workbook.properties.description


def _observatory(db_url: str, index_dir, *args: str):
    env = {"OBSERVATORY_DATABASE_URL": db_url, "OBSERVATORY_INDEX_DIR": str(index_dir)}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


async def test_json_and_json_lines_are_valid_records_that_import_back_the_same(client, backend, tmp_path):
    schema = (await client.get("/dati/schema/processo-v1.json")).json()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"

    jsonl = await client.get("/processi.jsonl", params=REGION)
    records = [json.loads(line) for line in jsonl.text.splitlines()]
    whole = await client.get("/processi.json", params=REGION)
    document = whole.json()
    assert document["format"] == "osservatorio/processi" and document["version"] == 1
    assert (
        document["schema"].endswith("/dati/schema/processo-v1.json")
        and "CC BY 4.0" in document["licence_notice"]
    )
    assert document["processes"] == records
    assert [r["slug"] for r in records] == await _api_slugs(client, REGION)
    for record in records:
        assert not list(validator.iter_errors(record)), record["slug"]
    everything = (await client.get("/processi.jsonl")).text.splitlines()
    assert len(everything) == demo_count({})
    assert all(validator.is_valid(json.loads(line)) for line in everything)

    # the downloaded files import into an empty catalogue and give the same records back
    # (the command and the new database run their own event loops: in a thread of their own)
    empty_db_url = await to_thread.run_sync(backend.clone, "empty", tmp_path / "elsewhere" / "index")

    async def cli(*args: str):
        return await to_thread.run_sync(
            partial(_observatory, empty_db_url, tmp_path / "elsewhere" / "index", *args)
        )

    (tmp_path / "ricerca.jsonl").write_bytes(jsonl.content)
    result = await cli("import", str(tmp_path / "ricerca.jsonl"))
    assert result.exit_code == 0, result.output
    result = await cli("export", str(tmp_path / "di-nuovo.json"))
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "di-nuovo.json").read_text(encoding="utf-8"))["processes"]
    assert sorted(again, key=lambda r: r["slug"]) == sorted(records, key=lambda r: r["slug"])
    (tmp_path / "ricerca.json").write_bytes(whole.content)
    result = await cli("import", "--dry-run", str(tmp_path / "ricerca.json"))
    assert result.exit_code == 0, result.output


def test_an_import_record_against_the_standard_is_refused_with_the_schema_path(cli, empty_db_url, tmp_path):
    path = write_import(tmp_path, [{"title": "Un processo", "territories": [12], "colore": "blu"}])
    result = cli(empty_db_url, "import", str(path))
    assert result.exit_code != 0
    assert (
        "territories.1" in result.output and "[schema: #/properties/territories/items/type]" in result.output
    )
    assert "colore" in result.output and "[schema: #/additionalProperties]" in result.output


# --- the codebook, the vocabularies, the Data Package ---------------------------------------------------


async def test_codebook_describes_every_column_with_its_allowed_values(reader):
    response = await reader.get("/dati/codebook.csv")
    assert response.status_code == 200 and response.content.startswith("\ufeff".encode())
    entries = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [entry["column"] for entry in entries] == list(COLUMN_NAMES)
    by_column = {entry["column"]: entry for entry in entries}
    assert by_column["title"]["can_be_empty"] == "false" and by_column["end_year"]["can_be_empty"] == "true"
    assert (
        by_column["territories"]["many_values"] == "true"
        and by_column["funding_total_investment"]["type"] == "number"
    )
    vocabularies = (await reader.get("/api/v1/vocabolari")).json()
    kinds = [f"{term['slug']} = {term['label']}" for term in vocabularies["tipo"]]
    assert by_column["kind"]["values"].split(SEPARATOR) == kinds and by_column["kind"]["vocabulary"] == "tipo"
    assert "CC-BY-SA-4.0 = " in by_column["licence"]["values"]

    page = soup(await reader.get("/dati/codebook"))
    rows = page.select("table.codebook tbody tr")
    assert [row.th.get_text(strip=True) for row in rows] == list(COLUMN_NAMES)
    kind_row = page.select_one("#colonna-kind")
    assert [li.code.get_text() for li in kind_row.select("li")] == [
        term["slug"] for term in vocabularies["tipo"]
    ]

    listed = (await reader.get("/dati/vocabolari.json")).json()
    assert [value["value"] for value in listed["tipo"]["values"]] == [
        term["slug"] for term in vocabularies["tipo"]
    ]
    assert {value["value"] for value in listed["licence"]["values"]} == {"CC-BY-4.0", "CC-BY-SA-4.0"}
    table = list(
        csv.DictReader(io.StringIO((await reader.get("/dati/vocabolari.csv")).content.decode("utf-8-sig")))
    )
    assert len(table) == sum(len(v["values"]) for v in listed.values())


async def _bulk_archive(client, tmp_path, name: str) -> tuple[zipfile.ZipFile, str]:
    redirect = await client.get("/dati/osservatorio.zip", follow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    day = run_in_app(client, catalogue_stamp).modified.date().isoformat()
    assert location == f"/dati/archivi/osservatorio-{day}.zip"
    response = await client.get(location)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert f'filename="osservatorio-{day}.zip"' in response.headers["content-disposition"]
    path = tmp_path / name
    path.write_bytes(response.content)
    return zipfile.ZipFile(path), location


async def test_bulk_archive_and_a_search_export_pass_the_frictionless_validator(client, tmp_path):
    archive, location = await _bulk_archive(client, tmp_path, "tutto.zip")
    names = set(archive.namelist())
    assert {"processi.csv", "processi.json", "codebook.csv", "vocabolari.csv", "datapackage.json"} <= names
    folder = tmp_path / "tutto"
    archive.extractall(folder)
    report = frictionless.validate(folder / "datapackage.json")
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    rows = {task.name: task.stats["rows"] for task in report.tasks if task.stats.get("rows") is not None}
    assert rows["processi"] == demo_count({}) and rows["codebook"] == len(COLUMN_NAMES)
    package = json.loads((folder / "datapackage.json").read_text())
    assert {licence["name"] for licence in package["licenses"]} == {"CC-BY-4.0", "CC-BY-SA-4.0"}
    assert len(json.loads((folder / "processi.json").read_text())["processes"]) == demo_count({})

    served = (await client.get("/dati/datapackage.json")).json()
    assert served["resources"][0]["path"] == "http://127.0.0.1:8000/processi.csv"
    assert served["resources"][0]["schema"] == package["resources"][0]["schema"]
    (tmp_path / "r08.csv").write_bytes((await client.get("/processi.csv", params=REGION)).content)
    resource = frictionless.Resource(
        path="r08.csv",
        basepath=str(tmp_path),
        schema=frictionless.Schema.from_descriptor(served["resources"][0]["schema"]),
    )
    report = frictionless.validate(resource)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == demo_count({"territorio": ["R01"]})

    # built once per state of the catalogue: asked again, the same file
    stored = sorted((tmp_path / "index-downloads").glob("*.zip"))
    assert len(stored) == 1
    again = await client.get(location)
    assert again.content == (tmp_path / "tutto.zip").read_bytes()
    assert sorted((tmp_path / "index-downloads").glob("*.zip")) == stored
    gone = await client.get("/dati/archivi/osservatorio-2001-01-01.zip")
    assert gone.status_code == 404 and "/dati/osservatorio.zip" in gone.text


async def test_open_data_page_links_every_file(client):
    page = soup(await client.get("/dati"))
    links = {a["href"] for a in page.select("main a[href]")}
    assert {
        "/dati/osservatorio.zip",
        "/processi.csv",
        "/processi.xlsx",
        "/processi.json",
        "/processi.jsonl",
        "/dati/codebook",
        "/dati/codebook.csv",
        "/dati/vocabolari.csv",
        "/dati/vocabolari.json",
        "/dati/schema/processo-v1.json",
        "/dati/datapackage.json",
        "/dati/catalogo.ttl",
        "/processi.atom",
    } <= links
    text = page.select_one("main").get_text(" ", strip=True)
    assert "CC BY 4.0" in text and "CC BY-SA 4.0" in text and f"{demo_count({})} processi pubblicati" in text
    for href in sorted(link for link in links if link.startswith(("/dati/", "/processi."))):
        assert (await client.get(href)).status_code == 200, href


# --- conditional requests, and what is never published ----------------------------------------------------

CONDITIONAL = [
    "/api/v1/processi",
    "/processi.csv?territorio=R08",
    "/processi.json",
    "/processi.atom",
    "/dati/datapackage.json",
    "/dati/schema/processo-v1.json",
    "/dati/catalogo.ttl",
    "/sitemap.xml",
]


async def _withdraw(client, slug: str) -> None:
    process = process_row(client, slug)
    token = await form_token(client)
    response = await client.post(
        f"/redazione/processi/{process['id']}/ritira",
        data={"_csrf_token": token, "motivo": "Scheda doppia."},
        follow_redirects=False,
    )
    assert response.status_code == 303
    refresh_index(client)


async def test_conditional_requests_answer_304_until_the_catalogue_changes(client):
    tags = {}
    for path in CONDITIONAL:
        first = await client.get(path)
        assert first.status_code == 200, path
        tag, modified = first.headers["etag"], first.headers["last-modified"]
        tags[path] = tag
        again = await client.get(path, headers={"If-None-Match": tag})
        assert (again.status_code, again.content) == (304, b""), path
        assert again.headers["etag"] == tag
        assert (await client.get(path, headers={"If-Modified-Since": modified})).status_code == 304
        assert (await client.get(path, headers={"If-None-Match": '"altro"'})).status_code == 200
    await login_as(client)
    await _withdraw(client, PATTI)
    for path in CONDITIONAL:
        changed = await client.get(path, headers={"If-None-Match": tags[path]})
        assert changed.status_code == 200 and changed.headers["etag"] != tags[path], path


async def test_withdrawn_and_unmoderated_processes_are_in_no_file(client, tmp_path):
    title = "Orti zorbaquinto di Borgoquercia"
    token = await csrf_token(client)
    data = submission_form(
        token, {"title": title, "territories": "Chieri (TO)"}, conferma="1", azione="invia"
    )
    assert (await client.post("/segnala", data=data, follow_redirects=False)).status_code == 303
    assert PATTI in (await client.get("/processi.csv")).text
    await login_as(client)
    await _withdraw(client, PATTI)
    archive, _ = await _bulk_archive(client, tmp_path, "dopo.zip")
    files = {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}
    for path in ("/processi.csv", "/processi.json", "/processi.jsonl", "/processi.atom", "/sitemap.xml"):
        files[path] = (await client.get(path)).text
    files["catalogo"] = (await client.get("/dati/catalogo.ttl")).text
    workbook = tmp_path / "tutto.xlsx"
    workbook.write_bytes((await client.get("/processi.xlsx")).content)
    files["xlsx"] = " ".join(
        str(cell)
        for line in openpyxl.load_workbook(workbook, read_only=True)["processi"].iter_rows(values_only=True)
        for cell in line
    )
    for name, text in files.items():
        for absent in (PATTI, title, "zorbaquinto", SUBMITTER["email"]):
            assert absent not in text, (name, absent)
    assert len(_csv_rows(await client.get("/processi.csv"))) == demo_count({}) - 1


async def test_an_organisation_search_download_matches_its_page(reader):
    slug = run_in_app(
        reader,
        lambda: (
            Organisation.select(Organisation.slug).where(Organisation.slug == "comune-di-bologna").first()
        ),
    )["slug"]
    rows = _csv_rows(await reader.get("/processi.csv", params={"ente": slug}))
    assert [row["slug"] for row in rows] == await _api_slugs(reader, {"ente": slug})
    assert all(
        "Comune di Bologna"
        in row["decision_holders"]
        + row["promoters"]
        + row["partners"]
        + row["funders"]
        + row["beneficiaries"]
        + row["implementers"]
        for row in rows
    )


async def test_a_large_download_written_by_two_processes_is_the_same_file(client, monkeypatch):
    alone = {path: (await client.get(path)).content for path in ("/processi.csv", "/processi.jsonl")}
    whole = (await client.get("/processi.json")).json()
    monkeypatch.setattr(downloads, "SPLIT_FROM", 100)  # the demo's 761 processes: split in two halves
    for path, content in alone.items():
        assert (await client.get(path)).content == content, path
    split = (await client.get("/processi.json")).json()
    assert split["processes"] == whole["processes"] and len(split["processes"]) == demo_count({})
