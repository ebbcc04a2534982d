"""The JSON API under /api/v1: shapes, filters, errors, exact amounts, look-ups, schema, CORS, redirects."""

import datetime
import json
from decimal import Decimal

import pytest
from helpers import (
    CHIERI,
    OPENCOESIONE,
    PATTI,
    demo_count,
    demo_processes,
    demo_redazione,
    heading_count,
    record,
    refresh_index,
    run_in_app,
    soup,
    territory_ancestors,
)

from observatory.catalogue.checks import References
from observatory.catalogue.editing import save_process
from observatory.catalogue.schemas import ProcessOut, ProcessSummaryOut
from observatory.catalogue.tables import Process
from observatory.catalogue.transfer import import_records
from observatory.catalogue.validation import validate_process
from observatory.database import write_transaction

pytestmark = pytest.mark.anyio

ERROR_KEYS = {"status", "error", "message", "fields"}


def _fields(struct) -> set[str]:
    return set(struct.__struct_fields__)


def _assert_error(response, status: int, error: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["status"] == status
    assert body["error"] == error
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], list)
    return body


# --- the list ----------------------------------------------------------------------------------


async def test_process_list_has_items_total_page_and_page_size(reader):
    response = await reader.get("/api/v1/processi")
    assert response.status_code == 200
    body = response.json()
    assert {"items", "total", "page", "page_size"} <= set(body)
    assert body["total"] == len(demo_processes()) == 761
    assert body["page"] == 1
    assert body["page_size"] == 20
    assert len(body["items"]) == 20
    for item in body["items"]:
        assert set(item) == _fields(ProcessSummaryOut)
        assert isinstance(item["territories"], list) and isinstance(item["decision_holders"], list)


async def test_process_list_page_and_page_size_parameters(reader):
    body = (await reader.get("/api/v1/processi", params={"pagina": "3", "per_pagina": "7"})).json()
    assert (body["page"], body["page_size"], len(body["items"])) == (3, 7, 7)
    assert len((await reader.get("/api/v1/processi", params={"per_pagina": "100"})).json()["items"]) == 100
    last = (await reader.get("/api/v1/processi", params={"pagina": "8", "per_pagina": "100"})).json()
    assert len(last["items"]) == 61
    beyond = await reader.get("/api/v1/processi", params={"pagina": "9", "per_pagina": "100"})
    assert beyond.status_code == 200
    assert beyond.json()["items"] == [] and beyond.json()["total"] == 761


@pytest.mark.parametrize("size", ["0", "101", "-1", "dieci"])
async def test_page_size_out_of_bounds_is_refused(reader, size):
    body = _assert_error(
        await reader.get("/api/v1/processi", params={"per_pagina": size}), 400, "bad_request"
    )
    assert [field["field"] for field in body["fields"]] == ["per_pagina"]


PARITY_CASES = [
    {},
    {"ambito": "ambiente"},
    {"tematica": ["energia", "istruzione"]},
    {"territorio": "R01", "stato": "concluso"},
    {"territorio": ["R15", "R16"], "ambito": ["cultura-istruzione", "ambiente"]},
    {"ente": "comune-di-torino"},
    {"tipo": "monitoraggio-civico", "anno_da": "2016", "anno_a": "2017"},
    {"fonte": "redazione", "tematica": "politiche-di-coesione"},
    {"territorio": CHIERI},
    {"anno_a": "2013"},
]


@pytest.mark.parametrize("params", PARITY_CASES, ids=[json.dumps(p) for p in PARITY_CASES])
async def test_api_and_page_give_the_same_totals_and_items(reader, params):
    api = (await reader.get("/api/v1/processi", params=params)).json()
    page = soup(await reader.get("/processi", params=params))
    assert (
        api["total"]
        == heading_count(page)
        == demo_count({k: v if isinstance(v, list) else [v] for k, v in params.items()})
    )
    cards = [a["href"].removeprefix("/processi/") for a in page.select("article.card .card-title a")]
    assert cards == [item["slug"] for item in api["items"]]


async def test_list_items_satisfy_every_filter(reader):
    params = {"ambito": ["ambiente", "salute"], "territorio": "R15", "anno_da": "2017", "per_pagina": "100"}
    body = (await reader.get("/api/v1/processi", params=params)).json()
    assert body["items"]
    for item in body["items"]:
        assert item["theme"]["slug"] in ("ambiente", "salute")
        assert (item["end_year"] or item["start_year"]) >= 2017 or item["ongoing"]
        assert any("R15" in territory_ancestors()[t["code"]] for t in item["territories"])


INVALID = {
    "ambito": "astrologia",
    "tematica": "astrologia",
    "tipo": "astrologia",
    "fonte": "astrologia",
    "stato": "finito",
    "territorio": "X99",
    "ente": "ente-inesistente",
    "anno_da": "abc",
    "anno_a": "3000",
    "ordine": "casuale",
    "pagina": "0",
}


@pytest.mark.parametrize("name, value", INVALID.items(), ids=INVALID.keys())
async def test_unknown_filter_value_answers_400_naming_the_parameter(reader, name, value):
    body = _assert_error(await reader.get("/api/v1/processi", params={name: value}), 400, "bad_request")
    assert [field["field"] for field in body["fields"]] == [name]
    assert body["fields"][0]["message"]


async def test_unknown_vocabulary_value_message_lists_the_allowed_values(reader):
    body = (await reader.get("/api/v1/processi", params={"ambito": "astrologia"})).json()
    assert "astrologia" in body["message"]
    assert "ambiente" in body["message"] and "assetto-istituzionale" in body["message"]


# --- one process -------------------------------------------------------------------------------


async def test_process_detail_has_every_field(reader):
    response = await reader.get(f"/api/v1/processi/{OPENCOESIONE}")
    assert response.status_code == 200
    assert set(response.json()) == _fields(ProcessOut)


async def test_process_detail_gives_amounts_as_exact_decimal_strings(reader):
    response = await reader.get(f"/api/v1/processi/{OPENCOESIONE}")
    funding = response.json()["funding"]
    # msgspec encodes Decimal as a JSON string: no binary floating point on the way
    assert funding["total_investment"] == "1580579.61"
    assert funding["cofinancing"] == "675434.71"
    first, second = funding["phases"]
    assert first["investment"] == "900579.61" and first["cofinancing"] == "675434.71"
    assert second["investment"] == "680000.00" and second["cofinancing"] is None
    assert '"investment":"900579.61"' in response.text
    assert Decimal(first["investment"]) + Decimal(second["investment"]) == Decimal(
        funding["total_investment"]
    )


async def test_process_detail_gives_dates_in_iso_format(reader):
    body = (await reader.get(f"/api/v1/processi/{OPENCOESIONE}")).json()
    first = body["funding"]["phases"][0]
    assert (first["start_date"], first["end_date"]) == ("2012-10-08", "2015-12-31")
    created = datetime.datetime.fromisoformat(body["created_at"])
    assert created == datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC)
    patti = (await reader.get(f"/api/v1/processi/{PATTI}")).json()
    assert datetime.datetime.fromisoformat(patti["updated_at"]) == datetime.datetime(
        2020, 4, 18, tzinfo=datetime.UTC
    )


def _term_slug(value):
    return value["slug"] if value else None


@pytest.mark.parametrize("expected", demo_redazione(), ids=[p["slug"] for p in demo_redazione()])
async def test_process_detail_matches_the_editorial_record(reader, expected):
    body = (await reader.get(f"/api/v1/processi/{expected['slug']}")).json()
    for name in (
        "title",
        "summary",
        "description",
        "start_year",
        "end_year",
        "ongoing",
        "state",
        "goals",
        "results",
        "participants_count",
        "participants_kind",
        "reported_by",
        "quality_notes",
        "regional_call_notes",
        "source_licence",
    ):
        assert body[name] == expected[name], name
    for name in ("kind", "theme", "participation_level", "reporting_source"):
        assert _term_slug(body[name]) == expected[name], name
    assert [t["slug"] for t in body["topics"]] == expected["topics"]
    assert [t["slug"] for t in body["methods"]] == expected["methods"]
    assert [t["code"] for t in body["territories"]] == expected["territories"]
    assert [o["name"] for o in body["decision_holders"]] == expected["decision_holders"]
    assert all(o["role"] == "titolare" for o in body["decision_holders"])
    assert [{"name": o["name"], "role": o["role"]} for o in body["organisations"]] == expected[
        "organisations"
    ]
    assert body["phases"] == expected["phases"]
    assert body["links"] == expected["links"]
    assert body["url"] == f"http://127.0.0.1:8000/processi/{expected['slug']}"
    for name in ("created_at", "updated_at", "published_at"):
        assert datetime.datetime.fromisoformat(body[name]) == datetime.datetime.fromisoformat(expected[name])
    if expected["funding"] is None:
        assert body["funding"] is None
    else:
        for name in ("programme", "fund", "beneficiary", "cup"):
            assert body["funding"][name] == expected["funding"][name]
        for name in ("total_investment", "cofinancing"):
            got, want = body["funding"][name], expected["funding"][name]
            assert (got is None and want is None) or Decimal(got) == Decimal(want)


async def test_unknown_process_answers_404_json(reader):
    body = _assert_error(await reader.get("/api/v1/processi/processo-inesistente"), 404, "not_found")
    assert "processo-inesistente" in body["message"]


@pytest.mark.parametrize("path", ["/api/v1/inesistente", "/api/v1/enti/ente-inesistente", "/api/v2/processi"])
async def test_unknown_api_address_answers_404_json(reader, path):
    _assert_error(await reader.get(path), 404, "not_found")


async def test_post_to_the_api_answers_405_json(reader):
    _assert_error(await reader.post("/api/v1/processi", json={}), 405, "method_not_allowed")


# --- organisations -----------------------------------------------------------------------------


async def test_organisation_search_matches_names_and_alternative_names(reader):
    for q in ("torino", "TORINO", "Comune di Torino", "Città di Torino", "citta di torino"):
        body = (await reader.get("/api/v1/enti", params={"q": q})).json()
        assert {"items", "total", "page", "page_size"} <= set(body)
        assert "comune-di-torino" in [item["slug"] for item in body["items"]], q
        assert body["total"] == len(body["items"]), q


async def test_organisation_search_by_alternative_name_finds_only_that_organisation(reader):
    body = (await reader.get("/api/v1/enti", params={"q": "Città di Torino"})).json()
    assert [item["name"] for item in body["items"]] == ["Comune di Torino"]
    acronym = (await reader.get("/api/v1/enti", params={"q": "DG REGIO"})).json()
    assert [item["slug"] for item in acronym["items"]] == [
        "direzione-generale-politica-regionale-e-urbana-della-commissione-europea"
    ]


async def test_organisation_detail_lists_its_processes(reader):
    response = await reader.get("/api/v1/enti/comune-di-torino")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Comune di Torino"
    assert body["kind"] == "comune"
    assert body["territory"] == {"code": "C001272", "name": "Torino", "level": "comune"}
    assert body["alt_names"] == ["Città di Torino"]
    slugs = [p["slug"] for p in body["processes"]]
    assert PATTI in slugs
    assert body["process_count"] == len(slugs) == demo_count({"ente": ["comune-di-torino"]})
    listed = (await reader.get("/api/v1/processi", params={"ente": "comune-di-torino"})).json()
    assert listed["total"] == body["process_count"]


# --- territories -------------------------------------------------------------------------------


async def test_territory_search_finds_the_comune(reader):
    items = (await reader.get("/api/v1/territori", params={"q": "chieri"})).json()["items"]
    assert items[0] == {
        "code": CHIERI,
        "name": "Chieri",
        "level": "comune",
        "plate": "TO",
        "parent_name": "Città metropolitana di Torino",
    }


async def test_territory_search_ignores_accents(reader):
    items = (await reader.get("/api/v1/territori", params={"q": "citta"})).json()["items"]
    assert {"code": "P201", "name": "Città metropolitana di Torino"} in [
        {"code": i["code"], "name": i["name"]} for i in items
    ]


async def test_territory_search_puts_the_exact_name_first(reader):
    items = (await reader.get("/api/v1/territori", params={"q": "torino"})).json()["items"]
    assert (items[0]["code"], items[0]["name"]) == ("C001272", "Torino")
    assert "P201" in [item["code"] for item in items]
    assert all("torino" in item["name"].lower() for item in items)


async def test_territory_search_by_level(reader):
    regions = (await reader.get("/api/v1/territori", params={"livello": "regione"})).json()
    assert regions["total"] == len(regions["items"]) == 20
    assert {item["level"] for item in regions["items"]} == {"regione"}
    provinces = (await reader.get("/api/v1/territori", params={"q": "torino", "livello": "provincia"})).json()
    assert [item["code"] for item in provinces["items"]] == ["P201"]
    country = (await reader.get("/api/v1/territori", params={"livello": "paese"})).json()
    assert [item["code"] for item in country["items"]] == ["IT"]


async def test_territory_search_refuses_an_unknown_level(reader):
    body = _assert_error(
        await reader.get("/api/v1/territori", params={"livello": "quartiere"}), 400, "bad_request"
    )
    assert [field["field"] for field in body["fields"]] == ["livello"]


# --- vocabularies, schema, CORS -----------------------------------------------------------------


async def test_vocabularies_lists_all_six_in_order(reader):
    from observatory.catalogue.reference import VOCABULARY_FILE

    shipped = json.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))
    body = (await reader.get("/api/v1/vocabolari")).json()
    assert list(body) == ["tipo", "ambito", "tematica", "livello", "metodo", "fonte"]
    for name, terms in body.items():
        assert [(t["slug"], t["label"], t["label_en"]) for t in terms] == [
            tuple(entry) for entry in shipped[name]
        ]


async def test_openapi_schema_documents_the_process_endpoints(reader):
    response = await reader.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/api/v1/processi", "/api/v1/processi/{slug}", "/api/v1/enti", "/api/v1/territori"} <= set(
        schema["paths"]
    )
    assert "get" in schema["paths"]["/api/v1/processi"]
    properties = schema["components"]["schemas"]["ProcessOut"]["properties"]
    assert _fields(ProcessOut) <= set(properties)
    detail = json.dumps(schema["paths"]["/api/v1/processi/{slug}"]["get"]["responses"])
    assert "#/components/schemas/ProcessOut" in detail
    assert not any(path.startswith("/processi") for path in schema["paths"])


async def test_get_requests_are_open_to_every_origin(reader):
    for path in ("/api/v1/processi", f"/api/v1/processi/{PATTI}", "/api/v1/vocabolari"):
        response = await reader.get(path, headers={"Origin": "https://esempio.example"})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] in ("*", "https://esempio.example")


# --- renamed processes -------------------------------------------------------------------------


async def _rename_with_editing(demo_slug: str, current_slug: str, new_slug: str) -> None:
    """Rename a demo process the way an editor's form would: validate, then save over the same id."""
    row = (
        await Process.select(Process.id, Process.slug, Process.created_at, Process.published_at)
        .where(Process.slug == current_slug)
        .first()
    )
    exported = next(p for p in demo_processes() if p["slug"] == demo_slug)
    refs = await References.load()
    values = validate_process({**exported, "slug": new_slug}, refs)
    async with write_transaction():
        await save_process(values, refs, existing=row)


async def _assert_redirects(client, old_slug: str, new_slug: str) -> None:
    page = await client.get(f"/processi/{old_slug}", follow_redirects=False)
    assert page.status_code == 301
    assert page.headers["location"] == f"/processi/{new_slug}"
    api = await client.get(f"/api/v1/processi/{old_slug}", follow_redirects=False)
    assert api.status_code == 301
    assert api.headers["location"] == f"/api/v1/processi/{new_slug}"
    assert (await client.get(f"/processi/{new_slug}")).status_code == 200
    assert (await client.get(f"/api/v1/processi/{new_slug}")).json()["slug"] == new_slug


async def test_renamed_process_old_slug_redirects_after_an_update_by_source_reference(client):
    original = next(p for p in demo_processes() if p.get("source_ref") == "monithon:752")
    renamed = {**original, "slug": "pista-ciclabile-su-siccu-cagliari"}
    report = run_in_app(client, import_records, [], [renamed])
    assert (report.created, report.updated) == (0, 1)
    refresh_index(client)
    await _assert_redirects(client, original["slug"], "pista-ciclabile-su-siccu-cagliari")
    listed = (await client.get("/api/v1/processi", params={"territorio": "R20", "per_pagina": "100"})).json()
    slugs = [item["slug"] for item in listed["items"]]
    assert "pista-ciclabile-su-siccu-cagliari" in slugs and original["slug"] not in slugs
    assert listed["total"] == len(slugs) == demo_count({"territorio": ["R20"]})
    assert (await client.get("/api/v1/processi")).json()["total"] == 761


async def test_renamed_process_old_slugs_keep_redirecting_after_two_renames(client):
    run_in_app(client, _rename_with_editing, PATTI, PATTI, "patti-piemonte")
    run_in_app(client, _rename_with_editing, PATTI, "patti-piemonte", "patti-amministrazione-condivisa")
    refresh_index(client)
    await _assert_redirects(client, PATTI, "patti-amministrazione-condivisa")
    await _assert_redirects(client, "patti-piemonte", "patti-amministrazione-condivisa")


async def test_renaming_back_to_an_old_slug_serves_the_process_again(client):
    run_in_app(client, _rename_with_editing, OPENCOESIONE, OPENCOESIONE, "opencoesione-portale")
    run_in_app(client, _rename_with_editing, OPENCOESIONE, "opencoesione-portale", OPENCOESIONE)
    assert (await client.get(f"/api/v1/processi/{OPENCOESIONE}")).status_code == 200
    await _assert_redirects(client, "opencoesione-portale", OPENCOESIONE)


async def test_new_process_gets_a_slug_from_its_title(client):
    report = run_in_app(client, import_records, [], [record(title="Bilancio partecipativo di Chieri 2024")])
    assert report.created == 1
    body = (await client.get("/api/v1/processi/bilancio-partecipativo-di-chieri-2024")).json()
    assert body["title"] == "Bilancio partecipativo di Chieri 2024"
