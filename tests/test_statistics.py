"""Statistics and maps: every number equals a count made in the tables, every bar and area leads to a
search that finds what it counts, many-valued fields are counted as a reader expects, and the SVG
is well-formed, titled and described."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import make_settings
from helpers import api_total, database_count, demo_count, run_in_app, soup, write_import
from litestar.testing import AsyncTestClient

from observatory.app import create_app
from observatory.catalogue.geography import italy
from observatory.catalogue.tables import Process, ProcessTerm, ProcessTerritory, Territory

SVG = "{http://www.w3.org/2000/svg}"
#: Filter combinations the charts are checked under: none, a territory, a many-valued filter, years.
COMBINATIONS = (
    {},
    {"territorio": ["R19"]},
    {"tematica": ["cittadinanza-attiva-beni-comuni"]},
    {"tipo": ["monitoraggio-civico"], "stato": ["concluso"]},
)
#: Charts whose bars are the values of one filter, with the filter they set.
FACET_CHARTS = {"ambito": "ambito", "tipo": "tipo", "livello": "livello", "stato": "stato", "fonte": "fonte"}


async def chart_rows(client, slug: str, params: dict) -> list[dict]:
    response = await client.get(f"/statistiche/{slug}/dati.csv", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))


def search_params(address: str) -> dict[str, list[str]]:
    parts = urlsplit(address)
    assert parts.path == "/processi"
    return parse_qs(parts.query)


@pytest.mark.anyio
@pytest.mark.parametrize("params", COMBINATIONS, ids=["tutto", "territorio", "tematica", "tipo-stato"])
async def test_every_facet_chart_counts_what_the_tables_count(client, params):
    for slug, name in FACET_CHARTS.items():
        rows = await chart_rows(client, slug, params)
        assert rows or params, slug
        for row in rows:
            expected = demo_count({**{k: v for k, v in params.items() if k != name}, name: [row["valore"]]})
            assert int(row["processi"]) == expected, (slug, row)
    regions = await chart_rows(client, "regioni", params)
    for row in regions:
        if row["valore"] != "nazionale":
            rest = {k: v for k, v in params.items() if k != "territorio"}
            assert int(row["processi"]) == demo_count({**rest, "territorio": [row["valore"]]}), row
    if not params:  # nothing filtered: the tables themselves, counted with SQL of their own
        for row in await chart_rows(client, "ambito", {}):
            assert int(row["processi"]) == run_in_app(client, database_count, "ambito", row["valore"])
        for row in regions[:6]:
            if row["valore"] != "nazionale":
                expected = run_in_app(client, database_count, "territorio", row["valore"])
                assert int(row["processi"]) == expected


@pytest.mark.anyio
async def test_charts_of_a_text_search_count_the_processes_it_finds(reader):
    params = {"q": "scuola"}
    ids = []
    page = 1
    while True:
        answer = (
            await reader.get("/api/v1/processi", params={**params, "per_pagina": 100, "pagina": page})
        ).json()
        ids += [item["slug"] for item in answer["items"]]
        if page * 100 >= answer["total"]:
            break
        page += 1
    assert len(ids) > 10
    statistics = soup(await reader.get("/statistiche", params=params))
    assert f"{len(ids)} processi pubblicati" in statistics.select_one(".lead").get_text(" ", strip=True)

    async def by_theme(slug: str) -> int:
        return await Process.count().where(Process.slug.is_in(ids), Process.theme.slug == slug)

    async def by_region(code: str) -> int:
        inside = Territory.select(Territory.code).where(
            (Territory.code == code) | (Territory.region_code == code)
        )
        placed = ProcessTerritory.select(ProcessTerritory.process).where(
            ProcessTerritory.territory.is_in(inside)
        )
        return await Process.count().where(Process.slug.is_in(ids), Process.id.is_in(placed))

    async def by_topic(slug: str) -> int:
        tagged = ProcessTerm.select(ProcessTerm.process).where(
            ProcessTerm.term.vocabulary == "tematica", ProcessTerm.term.slug == slug
        )
        return await Process.count().where(Process.slug.is_in(ids), Process.id.is_in(tagged))

    for row in await chart_rows(reader, "ambito", params):
        assert int(row["processi"]) == run_in_app(reader, by_theme, row["valore"]), row
    for row in await chart_rows(reader, "regioni", params):
        if row["valore"] != "nazionale":
            assert int(row["processi"]) == run_in_app(reader, by_region, row["valore"]), row
    topics = await chart_rows(reader, "tematica", params)
    assert topics
    for row in topics:
        assert int(row["processi"]) == run_in_app(reader, by_topic, row["valore"]), row
    years = await chart_rows(reader, "anni", params)
    assert sum(int(row["processi"]) for row in years) <= len(ids)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "params", [{}, {"q": "scuola"}, {"territorio": ["R19"], "tipo": ["monitoraggio-civico"]}]
)
async def test_the_search_behind_every_bar_finds_as_many_processes_as_the_bar(reader, params):
    page = soup(await reader.get("/statistiche", params=params))
    slugs = [section["id"].removeprefix("grafico-") for section in page.select("figure.chart")]
    assert {"anni", "regioni", "scala", "ambito", "tipo", "livello", "stato", "fonte", "titolare"} <= set(
        slugs
    )
    assert {"tematica", "programma", "fondo"} <= set(slugs)
    for slug in slugs:
        rows = await chart_rows(reader, slug, params)
        for row in rows[:6]:
            assert await api_total(reader, search_params(row["ricerca"])) == int(row["processi"]), (slug, row)
            if slug == "anni" and int(row["in_corso"]):
                ongoing = {**search_params(row["ricerca"]), "stato": ["in_corso"]}
                assert await api_total(reader, ongoing) == int(row["in_corso"]), row
    # the links drawn on the bars are those of the table
    figure = page.select_one("#grafico-ambito")
    drawn = [a["href"] for a in figure.select("svg a")]
    listed = [a["href"] for a in figure.select("table a")]
    assert drawn == listed and drawn


@pytest.mark.anyio
async def test_year_chart_counts_start_years_and_the_ongoing_ones(reader):
    rows = await chart_rows(reader, "anni", {})
    by_year = {int(row["valore"]): row for row in rows}
    assert [int(row["valore"]) for row in rows] == sorted(by_year)
    year = max(by_year, key=lambda y: int(by_year[y]["processi"]))
    response = await reader.get("/api/v1/processi", params={"avvio_da": year, "avvio_a": year})
    assert response.json()["total"] == int(by_year[year]["processi"])
    ongoing = await reader.get(
        "/api/v1/processi", params={"avvio_da": year, "avvio_a": year, "stato": "in_corso"}
    )
    assert ongoing.json()["total"] == int(by_year[year]["in_corso"])
    # the search page's years say the same and lead to the same search
    page = soup(
        await reader.get("/processi", params={"avvio_da": year // 10 * 10, "avvio_a": year // 10 * 10 + 9})
    )
    link = next(a for a in page.select(".years a") if a.get_text(strip=True) == str(year))
    assert parse_qs(urlsplit(link["href"]).query)["avvio_a"] == [str(year)]
    assert link.find_next_sibling(class_="count").get_text(strip=True) == f"({by_year[year]['processi']})"


@pytest.mark.anyio
async def test_charts_are_well_formed_svg_with_title_description_and_data_table(reader):
    response = await reader.get("/statistiche", params={"territorio": "R08"})
    assert response.status_code == 200
    page = soup(response)
    figures = page.select("figure.chart")
    assert len(figures) >= 12
    assert page.select_one("#grafico-province")  # a region chosen: its provinces get a chart
    for figure in figures:
        svg = figure.find("svg")
        if svg is None:
            assert figure.select_one(".empty")
            continue
        tree = ET.fromstring(str(svg))
        assert tree.tag == f"{SVG}svg"
        title, description = tree.find(f"{SVG}title"), tree.find(f"{SVG}desc")
        assert title is not None and title.text.strip() and description.text.strip()
        labelled = svg["aria-labelledby"].split()
        assert labelled == [title.get("id"), description.get("id")]
        bars = tree.findall(f"{SVG}a")
        assert bars and all(a.get("href", "").startswith("/processi?") for a in bars)
        assert figure.select("details table tbody tr")
    assert "la somma delle tematiche supera il numero dei processi" in page.get_text(" ")


@pytest.mark.anyio
async def test_a_chart_alone_can_be_embedded_in_another_site(reader):
    page = await reader.get("/statistiche/regioni", params={"tipo": "monitoraggio-civico"})
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    code = soup(page).select_one(".embed-code").get_text()
    assert "incorpora=1" in code and "tipo=monitoraggio-civico" in code
    embedded = await reader.get(
        "/statistiche/regioni", params={"tipo": "monitoraggio-civico", "incorpora": "1"}
    )
    assert embedded.status_code == 200
    assert "x-frame-options" not in embedded.headers
    assert "frame-ancestors *" in embedded.headers["content-security-policy"]
    assert "script-src 'self'" in embedded.headers["content-security-policy"]
    framed = soup(embedded)
    assert framed.select_one("header.site-header") is None and framed.find("nav") is None
    assert framed.select_one("figure.chart svg a")
    assert (await reader.get("/statistiche/nessuno")).status_code == 404
    assert (await reader.get("/statistiche/nessuno/dati.csv")).status_code == 404


@pytest.mark.anyio
async def test_bad_filters_are_refused_in_italian(reader):
    response = await reader.get("/statistiche", params={"tipo": "inesistente"})
    assert response.status_code == 400
    assert "valore sconosciuto «inesistente»" in response.text
    assert (await reader.get("/mappa", params={"dettaglio": "quartiere"})).status_code == 400
    assert (
        await reader.get("/statistiche", params={"avvio_da": "2020", "avvio_a": "2010"})
    ).status_code == 400


# --- counting many-valued fields ---------------------------------------------------------------

FIVE_COMUNI = ["C001272", "C001078", "C001156", "C001219", "C001191"]  # Torino, Chieri, Moncalieri...
TOPICS = ["partenariato", "educazione-civica", "cultura-turismo", "trasparenza-open-data"]


@pytest.fixture
def counted_db_url(cli, empty_db_url, tmp_path) -> str:
    """A catalogue of three processes: a national one, one in five comuni, one in one comune."""
    processes = [
        {"title": "Consultazione nazionale sul clima", "territories": ["IT"], "start_year": 2021},
        {
            "title": "Patto dei cinque comuni torinesi",
            "territories": FIVE_COMUNI,
            "topics": TOPICS,
            "start_year": 2022,
            "state": "in_corso",
            "funding": {"programme": "PON Metro", "fund": "FESR", "total_investment": "1000000.00"},
        },
        {
            "title": "Bilancio partecipativo di Chieri",
            "territories": ["C001078"],
            "start_year": 2022,
            "funding": {"programme": "PON Metro", "fund": "FSE", "total_investment": "250000.50"},
        },
    ]
    result = cli(empty_db_url, "import", str(write_import(tmp_path, processes)))
    assert result.exit_code == 0, result.output
    return empty_db_url


@pytest.fixture
async def counted_client(counted_db_url, tmp_path):
    async with AsyncTestClient(app=create_app(make_settings(counted_db_url, tmp_path))) as test_client:
        yield test_client


def _numbers(rows: list[dict]) -> dict[str, int]:
    return {row["valore"]: int(row["processi"]) for row in rows}


@pytest.mark.anyio
async def test_a_national_process_and_a_five_comuni_process_are_counted_once(counted_client):
    regions = _numbers(await chart_rows(counted_client, "regioni", {}))
    assert regions == {"nazionale": 1, "R01": 2}
    scales = _numbers(await chart_rows(counted_client, "scala", {}))
    assert scales == {"nazionale": 1, "piu_comuni": 1, "comunale": 1}
    provinces = _numbers(await chart_rows(counted_client, "province", {"territorio": "R01"}))
    assert provinces == {"P201": 2}
    comuni = _numbers(await chart_rows(counted_client, "comuni", {"territorio": "P201"}))
    assert comuni == {"C001272": 1, "C001078": 2, "C001156": 1, "C001219": 1, "C001191": 1}
    topics = _numbers(await chart_rows(counted_client, "tematica", {}))
    assert topics == dict.fromkeys(TOPICS, 1)
    years = await chart_rows(counted_client, "anni", {})
    assert [(r["valore"], r["processi"], r["in_corso"]) for r in years] == [
        ("2021", "1", "0"),
        ("2022", "2", "1"),
    ]
    programmes = await chart_rows(counted_client, "programma", {})
    assert [(r["valore"], r["processi"], r["investimento_euro"]) for r in programmes] == [
        ("PON Metro", "2", "1250000.50")
    ]
    funds = await chart_rows(counted_client, "fondo", {})
    assert [(r["valore"], r["investimento_euro"]) for r in funds] == [
        ("FESR", "1000000.00"),
        ("FSE", "250000.50"),
    ]
    # the national process is in no region: neither on the map nor in the search of a region
    assert await api_total(counted_client, {"territorio": ["R01"]}) == 2
    assert await api_total(counted_client, {"scala": ["nazionale"]}) == 1
    page = soup(await counted_client.get("/mappa"))
    assert "1 processo riguarda tutta Italia" in page.get_text(" ")


# --- maps --------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("level, areas", [("regione", 20), ("provincia", 107)])
async def test_the_map_has_one_linked_area_per_region_and_province(reader, level, areas):
    response = await reader.get("/mappa", params={"dettaglio": level, "tipo": "monitoraggio-civico"})
    assert response.status_code == 200
    page = soup(response)
    svg = page.select_one("svg.choropleth")
    tree = ET.fromstring(str(svg))
    assert tree.find(f"{SVG}title").text and tree.find(f"{SVG}desc").text
    links = [a for a in page.select("svg.choropleth a.area")]
    codes = [parse_qs(urlsplit(a["href"]).query)["territorio"][0] for a in links]
    assert len(codes) == areas == len(set(codes))
    assert {code for code in codes} == {area.code for area in italy(level).areas}
    # the table says the same numbers, sorted by count, and each leads to a search that finds them
    rows = page.select(".map .chart-data tbody tr")
    numbers = [int(row.select_one("td").get_text(strip=True).replace(".", "")) for row in rows]
    assert numbers == sorted(numbers, reverse=True) and numbers
    for row in rows[:5]:
        href = row.select_one("a")["href"]
        total = await api_total(reader, search_params(href))
        assert total == int(row.select_one("td").get_text(strip=True).replace(".", ""))
    markers = page.select("svg.choropleth a.marker")
    assert markers and all(a["href"].startswith("/processi?") for a in markers)


@pytest.mark.anyio
async def test_territory_pages_show_their_own_map(reader):
    region = soup(await reader.get("/territori/R01"))
    provinces = region.select("svg.choropleth a.area")
    assert len(provinces) == 8
    assert {a["href"] for a in provinces} >= {"/territori/P201", "/territori/P002"}
    province = soup(await reader.get("/territori/P201"))
    comuni = province.select("svg.choropleth a.area")
    assert len(comuni) > 300 and "/territori/C001272" in {a["href"] for a in comuni}
    assert province.select(".map .chart-data tbody tr")


@pytest.mark.anyio
async def test_statistics_and_the_map_count_the_processes_with_most_of_the_words(reader):
    """No process has orti, bari and asl: every view counts those with some of them."""
    params = {"q": '"orti" "bari" "asl"'}
    found = (await reader.get("/api/v1/processi", params=params)).json()
    assert found["partial"] is True
    notice = "Nessun processo contiene tutte le parole: contiamo quelli che ne contengono almeno una."
    for path in ("/statistiche", "/statistiche/regioni", "/mappa"):
        page = soup(await reader.get(path, params=params))
        assert notice in [p.get_text() for p in page.select("p.notice[role=status]")], path
        assert f"{found['total']} processi" in page.select_one("p.lead").get_text(), path
