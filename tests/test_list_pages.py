"""Lists of processes as a visitor moves through them: clean addresses, numbered pages, a page past
the last, long facets, and territory pages with the filters of /processi and their counts."""

from urllib.parse import parse_qsl, urlsplit

import pytest
from helpers import api_total, card_slugs, soup

pytestmark = pytest.mark.anyio


def _pairs(address: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(address).query, keep_blank_values=True)


@pytest.mark.parametrize(
    ("asked", "clean"),
    [
        ("/processi?q=bilancio&anno_da=&anno_a=&ordine=rilevanza", "/processi?q=bilancio"),
        ("/processi?ordine=recenti&pagina=1&tipo=", "/processi"),
        ("/processi?q=+&ambito=ambiente&ordine=titolo&anno_a=", "/processi?ambito=ambiente&ordine=titolo"),
        (
            "/territori/R01?tipo=bilancio-partecipativo&anno_da=&pagina=1",
            "/territori/R01?tipo=bilancio-partecipativo",
        ),
    ],
)
async def test_an_address_with_empty_or_default_parameters_leads_to_the_clean_one(reader, asked, clean):
    response = await reader.get(asked, follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == clean
    assert (await reader.get(clean, follow_redirects=False)).status_code == 200


async def test_links_the_list_builds_carry_only_the_parameters_in_use(reader):
    asked = {"ambito": "ambiente", "ordine": "titolo", "pagina": "3"}
    page = soup(await reader.get("/processi", params=asked))
    links = [a["href"] for a in page.main.select("a[href^='?'], a[href^='/processi?']")]
    assert len(links) > 10
    for link in links:
        pairs = _pairs(link)
        assert all(value for _, value in pairs), link
        assert ("pagina", "1") not in pairs and ("ordine", "recenti") not in pairs, link
    chips = {a.get_text(" ", strip=True): a["href"] for a in page.select("ul.chips a")}
    assert chips["Ambito di intervento: Ambiente × (rimuovi filtro)"] == "?ordine=titolo"
    single = soup(await reader.get("/processi", params={"ambito": "ambiente"}))
    assert single.select_one("ul.chips a")["href"] == "/processi"


async def test_pagination_numbers_pages_around_this_one_with_first_and_last(reader):
    pages = -(-(await api_total(reader, {})) // 20)
    nav = soup(await reader.get("/processi", params={"pagina": "7"})).find("nav", class_="pagination")
    assert nav["aria-label"] == "Paginazione"
    items = [li.get_text(" ", strip=True).removeprefix("Pagina ") for li in nav.find_all("li")]
    assert items == [
        "« Prima pagina",
        "‹ Precedente",
        "1",
        "…",
        "5",
        "6",
        "7",
        "8",
        "9",
        "…",
        str(pages),
        "Successiva ›",
        "Ultima pagina »",
    ]
    current = nav.select('a[aria-current="page"]')
    assert [a.get_text(" ", strip=True) for a in current] == ["Pagina 7"]
    hrefs = {a.get_text(" ", strip=True): a["href"] for a in nav.find_all("a")}
    assert hrefs["« Prima pagina"] == "/processi"
    assert hrefs["‹ Precedente"] == "?pagina=6" and hrefs["Successiva ›"] == "?pagina=8"
    assert hrefs["Ultima pagina »"] == f"?pagina={pages}" and hrefs["Pagina 1"] == "/processi"
    first = soup(await reader.get("/processi")).find("nav", class_="pagination")
    assert [a.get_text(" ", strip=True) for a in first.select('[aria-current="page"]')] == ["Pagina 1"]
    assert first.find(string="« Prima") is None and first.find("a", rel="prev") is None


async def test_a_page_past_the_last_is_not_found_and_links_to_the_last(client):
    pages = -(-(await api_total(client, {"ambito": "ambiente"})) // 20)
    organisations = soup(await client.get("/enti")).select_one("nav.pagination .page-status").get_text()
    for asked, last in [
        ("/processi?pagina=999", "/processi?pagina=39"),
        ("/processi?ambito=ambiente&pagina=99", f"/processi?ambito=ambiente&pagina={pages}"),
        ("/enti?pagina=999", f"/enti?pagina={organisations.split()[-1]}"),
        ("/territori/C001272?pagina=50", "/territori/C001272"),
    ]:
        response = await client.get(asked)
        assert response.status_code == 404, asked
        page = soup(response)
        assert "non esiste" in page.main.get_text(" ", strip=True)
        assert page.main.find("a", string="Vai all'ultima pagina")["href"] == last, asked
        assert (await client.get(last)).status_code == 200


async def test_long_facets_show_their_top_values_and_the_rest_behind_mostra_tutti(reader):
    facets = (await reader.get("/api/v1/processi", params={"per_pagina": "1"})).json()["facets"]
    page = soup(await reader.get("/processi"))
    fieldset = page.find("input", attrs={"name": "ambito"}).find_parent("fieldset")
    shown = fieldset.find("ul", class_="checks", recursive=False).find_all("input")
    more = fieldset.find("details", class_="more-values")
    assert len(facets["ambito"]) > 8 and len(shown) == 8
    assert more.summary.get_text(" ", strip=True).startswith(f"Mostra tutti ({len(facets['ambito'])})")
    every = [box["value"] for box in fieldset.find_all("input")]
    assert every == [option["value"] for option in facets["ambito"]]
    assert page.select_one("details.filters-disclosure > summary").get_text(strip=True) == "Filtri"


async def test_the_results_come_right_after_the_filters_disclosure(reader):
    """On a phone the filters are one line ("Filtri") before the results heading."""
    page = soup(await reader.get("/processi", params={"ambito": "ambiente"}))
    layout = page.find("div", class_="with-sidebar")
    aside, results = layout.find_all(recursive=False)
    assert aside.details.summary.get_text(" ", strip=True) == "Filtri (1 attivo)"
    assert results.find("h2")["id"] == "risultati"
    assert page.find("script", src="/static/js/facets.js") is not None
    assert aside.find("button", string="Applica i filtri") is not None


async def test_a_territory_page_filters_its_processes_and_links_to_the_same_search(reader):
    plain = soup(await reader.get("/territori/R19"))
    form = plain.find("form", attrs={"data-facets": True})
    assert form["action"] == "/territori/R19"
    assert form.find("input", attrs={"name": "territorio"}) is None
    assert plain.find("a", string="Cerca questi processi")["href"] == "/processi?territorio=R19"
    kinds = [box["value"] for box in form.find_all("input", attrs={"name": "tipo"})]
    assert kinds
    filtered = soup(await reader.get("/territori/R19", params={"tipo": kinds[0]}))
    expected = await api_total(reader, {"territorio": "R19", "tipo": kinds[0], "per_pagina": "100"})
    assert filtered.find(id="processi-territorio").get_text().startswith(f"{expected} process")
    link = filtered.find("a", string="Cerca questi processi")["href"]
    assert sorted(_pairs(link)) == sorted([("territorio", "R19"), ("tipo", kinds[0])])
    search = soup(await reader.get(link))
    assert card_slugs(search) == card_slugs(soup(await reader.get("/processi", params=_pairs(link))))
    assert search.find(id="risultati").get_text().startswith(f"{expected} process")
    chips = [a.get_text(" ", strip=True) for a in filtered.select("ul.chips a")]
    assert len(chips) == 2 and chips[-1] == "Rimuovi tutti i filtri"  # the territory is the page's own


async def test_territories_page_counts_processes_per_region_and_province_by_name(reader):
    page = soup(await reader.get("/territori"))
    listed = page.find("ul", class_="region-counts")
    for code in ("R01", "R19", "P201", "P282"):
        link = listed.find("a", href=f"/territori/{code}")
        expected = await api_total(reader, {"territorio": code})
        counted = link.find_next("span", class_="count").get_text()
        assert counted == f"{expected} processi", code
    text = page.main.get_text(" ", strip=True)
    assert "R01" not in text and "P201" not in text
    region = soup(await reader.get("/territori/R01")).select_one("main p.meta").get_text(" ", strip=True)
    assert region == "Regione · codice ISTAT 01"
