"""The public Italian pages: home, process list and filters, process, organisation and territory pages,
error pages, withdrawal, accessibility landmarks and escaping of content."""

import datetime
import json
import re

import pytest
from helpers import (
    CHIERI,
    OPENCOESIONE,
    PATTI,
    api_total,
    card_slugs,
    demo_count,
    demo_processes,
    demo_redazione,
    heading_count,
    record,
    refresh_index,
    run_in_app,
    soup,
)

from observatory.catalogue.editing import withdraw_process
from observatory.catalogue.fields import LABELS
from observatory.catalogue.tables import Process
from observatory.catalogue.transfer import import_records
from observatory.text import fold

pytestmark = pytest.mark.anyio


def _withdraw_now(client, slug: str, reason: str | None = None) -> None:
    """Withdraw a process as an editor does, then let the search index catch up."""

    async def withdraw() -> None:
        row = await Process.select(Process.id).where(Process.slug == slug).first()
        await withdraw_process(row["id"], reason)

    run_in_app(client, withdraw)
    refresh_index(client)


def _import(client, *records) -> None:
    report = run_in_app(client, import_records, [], list(records))
    assert report.written, [line for p in report.problems for line in p.lines()]
    refresh_index(client)


def _dd_after(page, term: str):
    """The <dd> that follows the <dt> whose text is ``term``."""
    dt = page.find("dt", string=term)
    assert dt is not None, f"no <dt>{term}</dt>"
    return dt.find_next_sibling("dd")


# --- home ------------------------------------------------------------------------------------


async def test_home_total_equals_api_total(reader):
    page = soup(await reader.get("/"))
    shown = int(page.select_one(".figures strong").get_text())
    assert shown == await api_total(reader, {}) == 761


async def test_home_theme_counts_link_to_filtered_lists_with_the_same_totals(reader):
    page = soup(await reader.get("/"))
    items = page.find(id="per-ambito").find_parent("section").select("li")
    assert len(items) >= 5
    for item in items:
        href = item.a["href"]
        assert href.startswith("/processi?ambito=")
        shown = int(item.select_one(".count").get_text())
        listed = soup(await reader.get(href))
        assert heading_count(listed) == shown, href
        assert shown == demo_count({"ambito": [href.split("=", 1)[1]]})


async def test_home_region_counts_link_to_territory_pages_with_the_same_totals(reader):
    page = soup(await reader.get("/"))
    items = page.find(id="per-regione").find_parent("section").select("li")
    regions = [item for item in items if item.a["href"].startswith("/territori/")]
    assert len(regions) >= 10
    for item in regions:
        href = item.a["href"]
        assert re.fullmatch(r"/territori/R\d\d", href)
        shown = int(item.select_one(".count").get_text())
        territory = soup(await reader.get(href))
        assert int(territory.find(id="processi-territorio").get_text().split()[0]) == shown, href
        assert shown == demo_count({"territorio": [href.rsplit("/", 1)[1]]})


async def test_home_national_count_matches_the_page_it_links_to(reader):
    page = soup(await reader.get("/"))
    link = page.find(id="per-regione").find_parent("section").find("a", href="/processi?scala=nazionale")
    shown = int(link.find_next_sibling(class_="count").get_text())
    national = sum(1 for process in demo_processes() if "IT" in (process.get("territories") or []))
    assert shown == national > 0
    linked = soup(await reader.get("/processi?scala=nazionale"))
    assert heading_count(linked) == shown


async def test_home_latest_list_shows_the_most_recently_published_first(client):
    _import(
        client,
        record(
            slug="pubblicato-per-ultimo",
            title="Pubblicato per ultimo",
            published_at="2030-01-01T00:00:00+00:00",
            created_at="2030-01-01T00:00:00+00:00",
        ),
    )
    page = soup(await client.get("/"))
    latest = page.find(id="ultimi").find_parent("section")
    slugs = card_slugs(latest)
    assert slugs[0] == "pubblicato-per-ultimo"
    assert 1 < len(slugs) <= 6
    published = [(await client.get(f"/api/v1/processi/{slug}")).json()["published_at"] for slug in slugs]
    stamps = [datetime.datetime.fromisoformat(value) for value in published]
    assert stamps == sorted(stamps, reverse=True)


async def test_home_search_form_submits_to_the_process_list(reader):
    form = soup(await reader.get("/")).find("form", role="search")
    assert form["action"] == "/processi"
    assert form.find("input", type="search")["name"]


# --- /processi: filters ------------------------------------------------------------------------

FILTER_CASES = {
    "ambito": {"ambito": ["ambiente"]},
    "tematica": {"tematica": ["energia"]},
    "tipo": {"tipo": ["patto-di-collaborazione"]},
    "territorio-regione": {"territorio": ["R01"]},
    "territorio-provincia": {"territorio": ["P201"]},
    "territorio-comune": {"territorio": [CHIERI]},
    "ente": {"ente": ["comune-di-torino"]},
    "stato": {"stato": ["in_corso"]},
    "fonte": {"fonte": ["redazione"]},
    "anno_da": {"anno_da": ["2019"]},
    "anno_a": {"anno_a": ["2014"]},
    "anno_da-anno_a": {"anno_da": ["2015"], "anno_a": ["2016"]},
    "ambito-or": {"ambito": ["ambiente", "salute", "assetto-istituzionale"]},
    "territorio-or": {"territorio": [CHIERI, "R20"]},
    "tematica-or": {"tematica": ["energia", "istruzione"]},
    "stato-or": {"stato": ["in_corso", "in_progetto"]},
    "ambito-and-territorio": {"ambito": ["ambiente"], "territorio": ["R15"]},
    "tipo-or-and-anno": {"tipo": ["monitoraggio-civico", "open-government"], "anno_da": ["2018"]},
    "tematica-and-fonte-and-stato": {
        "tematica": ["politiche-di-coesione"],
        "fonte": ["redazione"],
        "stato": ["in_corso"],
    },
}


@pytest.mark.parametrize("params", FILTER_CASES.values(), ids=FILTER_CASES.keys())
async def test_process_list_filters_find_exactly_the_matching_processes(reader, params):
    expected = demo_count(params)
    response = await reader.get("/processi", params=params)
    assert response.status_code == 200
    page = soup(response)
    assert heading_count(page) == expected
    assert await api_total(reader, params) == expected
    assert page.find(role="alert") is None


async def test_process_list_filter_values_can_be_comma_separated(reader):
    separate = await api_total(reader, {"territorio": [CHIERI, "R20"]})
    page = soup(await reader.get("/processi", params={"territorio": f"{CHIERI},R20"}))
    assert heading_count(page) == separate


async def test_process_list_territory_filter_includes_everything_inside(reader):
    for code in (CHIERI, "P201", "R01", "IT"):
        params = {"territorio": code, "per_pagina": "100", "ordine": "titolo"}
        slugs = []
        for number in range(1, 10):
            items = (await reader.get("/api/v1/processi", params={**params, "pagina": number})).json()[
                "items"
            ]
            slugs += [item["slug"] for item in items]
            if not items:
                break
        assert PATTI in slugs, code
    assert PATTI not in card_slugs(soup(await reader.get("/processi", params={"territorio": "R09"})))


async def test_process_list_shows_active_filters_with_links_that_remove_them(reader):
    page = soup(await reader.get("/processi", params={"ambito": "ambiente", "territorio": "R15"}))
    chips = page.find("ul", attrs={"aria-label": "Filtri attivi"})
    texts = [li.get_text(" ", strip=True) for li in chips.find_all("li")]
    assert any("Ambiente" in text for text in texts)
    assert any("Campania" in text for text in texts)
    remove_region = next(li.a["href"] for li in chips.find_all("li") if "Campania" in li.get_text())
    assert "R15" not in remove_region and "ambiente" in remove_region
    assert heading_count(soup(await reader.get("/processi" + remove_region))) == demo_count(
        {"ambito": ["ambiente"]}
    )


async def test_process_list_form_keeps_the_chosen_filters_checked(reader):
    page = soup(await reader.get("/processi", params={"ambito": "ambiente", "stato": "concluso"}))
    form = page.find("aside").form

    def checkbox(name, value):
        return form.find("input", attrs={"type": "checkbox", "name": name, "value": value})

    assert checkbox("ambito", "ambiente").has_attr("checked")
    assert checkbox("stato", "concluso").has_attr("checked")
    assert not checkbox("tipo", "monitoraggio-civico").has_attr("checked")


INVALID_FILTERS = {
    "ambito": ({"ambito": "astrologia"}, "Ambito di intervento", "astrologia"),
    "tematica": ({"tematica": "xyz"}, "Tematica specifica", "xyz"),
    "tipo": ({"tipo": "xyz"}, "Tipo di processo", "xyz"),
    "fonte": ({"fonte": "xyz"}, "Processo segnalato da", "xyz"),
    "stato": ({"stato": "finito"}, "Stato", "finito"),
    "territorio": ({"territorio": "X99"}, "Territorio", "X99"),
    "ente": ({"ente": "ente-inesistente"}, "Ente", "ente-inesistente"),
    "anno_da-not-a-number": ({"anno_da": "abc"}, "Anno da", "abc"),
    "anno_da-out-of-range": ({"anno_da": "1800"}, "Anno da", "1900"),
    "anno_a-before-anno_da": ({"anno_da": "2020", "anno_a": "2010"}, "Anno a", "precedere"),
    "ordine": ({"ordine": "casuale"}, "Ordine", "titolo"),
    "pagina": ({"pagina": "0"}, "Pagina", "1"),
    "per_pagina": ({"per_pagina": "101"}, "per pagina", "100"),
}


@pytest.mark.parametrize("params, label, detail", INVALID_FILTERS.values(), ids=INVALID_FILTERS.keys())
async def test_process_list_invalid_filter_answers_400_with_an_italian_alert(reader, params, label, detail):
    response = await reader.get("/processi", params=params)
    assert response.status_code == 400
    page = soup(response)
    assert page.html["lang"] == "it"
    alert = page.find(role="alert")
    assert alert is not None
    text = alert.get_text(" ", strip=True)
    assert label.casefold() in text.casefold()
    assert detail in text
    assert alert.find("a", href="/processi") is not None


# --- /processi: sort and pagination ------------------------------------------------------------


async def _all_items(client, ordine: str) -> list[dict]:
    items: list[dict] = []
    for number in range(1, 20):
        params = {"ordine": ordine, "per_pagina": "100", "pagina": str(number)}
        page = (await client.get("/api/v1/processi", params=params)).json()["items"]
        if not page:
            break
        items += page
    return items


async def test_sort_by_title_is_alphabetical_ignoring_case_and_accents(reader):
    items = await _all_items(reader, "titolo")
    assert len(items) == 761
    keys = [fold(item["title"]) for item in items]
    assert keys == sorted(keys)


async def test_sort_by_year_puts_newest_first_and_unknown_years_last(reader):
    years = [item["start_year"] for item in await _all_items(reader, "anno")]
    known = [year for year in years if year is not None]
    assert known == sorted(known, reverse=True)
    assert years[: len(known)] == known  # every unknown year after the known ones


async def test_sort_by_year_ascending_puts_oldest_first_and_unknown_years_last(reader):
    years = [item["start_year"] for item in await _all_items(reader, "anno_asc")]
    known = [year for year in years if year is not None]
    assert known == sorted(known)
    assert years[: len(known)] == known


async def test_sort_by_recent_changes_is_the_default_and_newest_first(reader):
    items = await _all_items(reader, "recenti")
    stamps = [datetime.datetime.fromisoformat(item["updated_at"]) for item in items]
    assert stamps == sorted(stamps, reverse=True)
    default = soup(await reader.get("/processi"))
    assert card_slugs(default) == [item["slug"] for item in items[:20]]


@pytest.mark.parametrize("ordine", ["recenti", "titolo", "anno", "anno_asc"])
async def test_pages_of_20_follow_the_same_order_as_one_page_of_100(reader, ordine):
    """The order is total: paging never repeats or skips a process (ties included, e.g. equal titles)."""
    items = (await reader.get("/api/v1/processi", params={"ordine": ordine, "per_pagina": "100"})).json()
    slugs: list[str] = []
    for number in range(1, 6):
        page = soup(await reader.get("/processi", params={"ordine": ordine, "pagina": str(number)}))
        slugs += card_slugs(page)
    assert slugs == [item["slug"] for item in items["items"]]


async def test_pagination_second_page_differs_from_the_first(reader):
    first = soup(await reader.get("/processi"))
    second = soup(await reader.get("/processi", params={"pagina": "2"}))
    assert len(card_slugs(first)) == len(card_slugs(second)) == 20
    assert not set(card_slugs(first)) & set(card_slugs(second))
    nav = first.find("nav", class_="pagination")
    assert "Pagina 1 di 39" in nav.get_text(" ", strip=True)
    next_link = nav.find("a", rel="next")["href"]
    assert card_slugs(soup(await reader.get("/processi" + next_link))) == card_slugs(second)


async def test_pagination_keeps_the_filters_in_page_links(reader):
    page = soup(await reader.get("/processi", params={"ambito": "ambiente", "ordine": "titolo"}))
    next_link = page.find("nav", class_="pagination").find("a", rel="next")["href"]
    assert "ambito=ambiente" in next_link and "ordine=titolo" in next_link and "pagina=2" in next_link


# --- the process page --------------------------------------------------------------------------


async def test_process_page_links_decision_holders_to_organisation_pages(reader):
    page = soup(await reader.get(f"/processi/{PATTI}"))
    links = _dd_after(page, "Titolari della decisione").find_all("a")
    assert [(a.get_text(), a["href"]) for a in links] == [
        ("Comune di Chieri", "/enti/comune-di-chieri"),
        ("Comune di Collegno", "/enti/comune-di-collegno"),
        ("Comune di Condove", "/enti/comune-di-condove"),
        ("Comune di Torino", "/enti/comune-di-torino"),
    ]
    for a in links:
        assert (await reader.get(a["href"])).status_code == 200
    funder = _dd_after(page, "Finanziatore").a
    assert (funder.get_text(), funder["href"]) == ("Compagnia di San Paolo", "/enti/compagnia-di-san-paolo")


async def test_process_page_links_territories_to_territory_pages(reader):
    page = soup(await reader.get(f"/processi/{PATTI}"))
    links = _dd_after(page, LABELS["territories"]).find_all("a")
    assert [a["href"] for a in links] == [
        "/territori/C001078",
        "/territori/C001090",
        "/territori/C001093",
        "/territori/C001125",
        "/territori/C001272",
    ]
    assert links[0].get_text() == "Chieri" and links[-1].get_text() == "Torino"


async def test_process_page_shows_every_section_of_the_record(reader):
    patti = next(p for p in demo_redazione() if p["slug"] == PATTI)
    page = soup(await reader.get(f"/processi/{PATTI}"))
    assert page.h1.get_text() == patti["title"]
    headings = [h2.get_text(strip=True) for h2 in page.find("article", class_="process").find_all("h2")]
    assert headings == [
        "Chi decide e chi partecipa",
        "Dove e su cosa",
        "Quando e in quali fasi",
        "Perché e con quali risultati",
        "Fonti e crediti",
        "Storia delle modifiche",
    ]
    text = page.main.get_text(" ", strip=True)
    assert patti["summary"] in text
    assert patti["goals"] in text
    assert patti["participants_kind"] in text
    assert "Concluso" in text
    assert page.find("a", class_="tag", href="/processi?tipo=patto-di-collaborazione")
    assert _dd_after(page, "Ambito di intervento").a["href"] == "/processi?ambito=assetto-istituzionale"
    topics = _dd_after(page, "Tematica specifica").find_all("a")
    assert [a["href"] for a in topics] == ["/processi?tematica=cittadinanza-attiva-beni-comuni"]
    methods = [li.get_text() for li in _dd_after(page, "Metodi e strumenti").find_all("li")]
    assert len(methods) == 4
    assert _dd_after(page, "Anno di avvio").get_text() == "2017"
    assert _dd_after(page, "Anno di chiusura").get_text() == "2017"
    assert _dd_after(page, "Processo segnalato da").get_text() == "Segnalazione web nazionale"
    assert _dd_after(page, "Segnalato da").get_text() == "Redazione Osservatorio Partecipazione"
    # every paragraph of the description, separately
    for paragraph in patti["description"].split("\n\n"):
        assert page.find("p", string=paragraph) is not None


async def test_process_page_lists_phases_in_order(reader):
    patti = next(p for p in demo_redazione() if p["slug"] == PATTI)
    page = soup(await reader.get(f"/processi/{PATTI}"))
    phases = page.find("ol", class_="phases").find_all("li", recursive=False)
    assert [li.h4.get_text() for li in phases] == [phase["title"] for phase in patti["phases"]]
    assert [li.p.get_text() for li in phases] == [phase["description"] for phase in patti["phases"]]


async def test_process_page_shows_funding_phases_in_italian_euro_format(reader):
    page = soup(await reader.get(f"/processi/{OPENCOESIONE}"))
    assert _dd_after(page, "Investimento totale").get_text() == "€ 1.580.579,61"
    assert _dd_after(page, "Cofinanziamento").get_text() == "€ 675.434,71"
    table = page.find("table")
    assert table.caption.get_text() == "Fasi finanziate"
    rows = [[cell.get_text() for cell in tr.find_all(["th", "td"])] for tr in table.tbody.find_all("tr")]
    assert rows == [
        [
            "I Fase",
            "8 ottobre 2012",
            "31 dicembre 2015",
            "€ 900.579,61",
            "€ 675.434,71",
            "Agenzia per la Coesione Territoriale",
        ],
        ["II Fase", "1 aprile 2015", "31 luglio 2017", "€ 680.000,00", "", "Studiare Sviluppo"],
    ]


async def test_process_page_lists_links_and_the_json_version(reader):
    page = soup(await reader.get(f"/processi/{OPENCOESIONE}"))
    assert page.find("a", href="https://www.opencoesione.gov.it").get_text() == "Portale OpenCoesione"
    json_link = page.main.find("a", href=f"/api/v1/processi/{OPENCOESIONE}")
    assert json_link is not None
    response = await reader.get(json_link["href"])
    assert response.status_code == 200
    assert response.json()["title"] == "OpenCoesione"


async def test_process_page_shows_the_last_modification_date(reader):
    page = soup(await reader.get(f"/processi/{PATTI}"))
    time = _dd_after(page, "Data ultima modifica").time
    assert time.get_text() == "18 aprile 2020"
    assert datetime.datetime.fromisoformat(time["datetime"]) == datetime.datetime(
        2020, 4, 18, tzinfo=datetime.UTC
    )


async def test_process_without_funding_has_no_funding_section(reader):
    page = soup(await reader.get(f"/processi/{PATTI}"))
    assert page.find(id="risorse") is None
    assert page.find("table") is None


# --- organisations and territories -------------------------------------------------------------


async def test_organisation_page_shows_the_organisation_and_its_processes(reader):
    api = (await reader.get("/api/v1/enti/comune-di-torino")).json()
    page = soup(await reader.get("/enti/comune-di-torino"))
    assert page.h1.get_text() == "Comune di Torino"
    assert _dd_after(page, "Tipo di ente").get_text() == "Comune"
    assert _dd_after(page, "Territorio").a["href"] == "/territori/C001272"
    assert "Città di Torino" in _dd_after(page, "Noto anche come").get_text()
    count = int(page.find(id="processi-ente").get_text().split()[0])
    assert count == api["process_count"] == len(api["processes"]) >= 2
    assert set(card_slugs(page)) == {p["slug"] for p in api["processes"]}
    patti_card = page.find("a", href=f"/processi/{PATTI}").find_parent("article")
    assert "Titolare della decisione" in patti_card.get_text()
    filter_link = page.find("a", href="/processi?ente=comune-di-torino")
    assert heading_count(soup(await reader.get(filter_link["href"]))) == count


async def test_organisation_list_searches_names_and_alternative_names(reader):
    for q in ("torino", "Città di Torino", "citta di torino"):
        page = soup(await reader.get("/enti", params={"q": q}))
        assert page.find("a", href="/enti/comune-di-torino") is not None, q
    page = soup(await reader.get("/enti", params={"q": "citta di torino"}))
    assert page.find("a", href="/enti/politecnico-di-torino") is None


@pytest.mark.parametrize("code", [CHIERI, "P201", "R01", "IT"])
async def test_territory_page_includes_processes_of_the_territories_inside_it(reader, code):
    expected = demo_count({"territorio": [code]})
    found = False
    for number in range(1, 40):
        page = soup(await reader.get(f"/territori/{code}", params={"pagina": str(number)}))
        if number == 1:
            assert int(page.find(id="processi-territorio").get_text().split()[0]) == expected
        slugs = card_slugs(page)
        if PATTI in slugs:
            found = True
            break
        if not slugs:
            break
    assert found, f"{PATTI} not listed on /territori/{code}"


async def test_territory_page_of_another_region_leaves_the_process_out(reader):
    page = soup(await reader.get("/territori/R09"))
    assert page.h1.get_text() == "Toscana"
    assert int(page.find(id="processi-territorio").get_text().split()[0]) == demo_count(
        {"territorio": ["R09"]}
    )
    for number in range(1, 3):
        slugs = card_slugs(soup(await reader.get("/territori/R09", params={"pagina": str(number)})))
        assert PATTI not in slugs


async def test_territory_page_shows_the_chain_of_units_above(reader):
    page = soup(await reader.get(f"/territori/{CHIERI}"))
    assert page.h1.get_text() == "Chieri"
    crumbs = page.find("nav", attrs={"aria-label": "Percorso"})
    assert [a["href"] for a in crumbs.find_all("a")] == [
        "/territori",
        "/territori/IT",
        "/territori/R01",
        "/territori/P201",
    ]


async def test_territory_code_in_lower_case_redirects_to_upper_case(reader):
    response = await reader.get("/territori/c001078", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "/territori/C001078"


async def test_territory_list_searches_by_name_without_accents(reader):
    page = soup(await reader.get("/territori", params={"q": "citta metropolitana di torino"}))
    assert page.find("a", href="/territori/P201") is not None
    regions = soup(await reader.get("/territori"))
    assert len([a for a in regions.main.find_all("a") if re.fullmatch(r"/territori/R\d\d", a["href"])]) == 20


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/processi/processo-inesistente",
        "/enti/ente-inesistente",
        "/territori/C999999",
        "/pagina-che-non-esiste",
    ],
)
async def test_not_found_pages_are_in_italian_with_a_way_back(reader, path):
    response = await reader.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    page = soup(response)
    assert page.html["lang"] == "it"
    assert page.main is not None
    assert len(page.find_all("h1")) == 1
    assert page.h1.get_text() == "Pagina non trovata"
    assert page.main.find("a", href="/") is not None
    assert "Not Found" not in response.text


async def test_not_found_page_escapes_the_requested_address(reader):
    response = await reader.get("/processi/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404
    assert soup(response).find("script") is None
    assert "<script>alert(1)</script>" not in response.text


async def test_withdrawn_process_answers_410_and_disappears_from_lists_and_api(client):
    before = await api_total(client, {})
    chieri_before = await api_total(client, {"territorio": CHIERI})
    torino_before = (await client.get("/api/v1/enti/comune-di-torino")).json()["process_count"]
    _withdraw_now(client, PATTI, "Scheda duplicata")

    response = await client.get(f"/processi/{PATTI}")
    assert response.status_code == 410
    page = soup(response)
    assert page.html["lang"] == "it" and len(page.find_all("h1")) == 1
    assert "ritirat" in page.h1.get_text()
    assert "Scheda duplicata" in page.main.get_text()
    assert page.main.find("a", href="/processi") is not None

    api = await client.get(f"/api/v1/processi/{PATTI}")
    assert api.status_code == 410
    assert api.json()["status"] == 410 and api.json()["error"] == "gone"

    assert await api_total(client, {}) == before - 1
    assert await api_total(client, {"territorio": CHIERI}) == chieri_before - 1
    home = soup(await client.get("/"))
    assert int(home.select_one(".figures strong").get_text()) == before - 1
    assert PATTI not in card_slugs(soup(await client.get(f"/territori/{CHIERI}")))
    assert PATTI not in card_slugs(soup(await client.get("/enti/comune-di-chieri")))
    torino = (await client.get("/api/v1/enti/comune-di-torino")).json()
    assert torino["process_count"] == torino_before - 1
    assert PATTI not in [p["slug"] for p in torino["processes"]]
    titles = (await client.get("/api/v1/processi", params={"ordine": "titolo", "per_pagina": "100"})).json()
    assert PATTI not in [item["slug"] for item in titles["items"]]


# --- landmarks and labels ----------------------------------------------------------------------

PAGES = [
    "/",
    "/processi",
    "/processi?ambito=ambiente&pagina=2",
    "/processi?ambito=inesistente",
    f"/processi/{PATTI}",
    f"/processi/{OPENCOESIONE}",
    "/enti",
    "/enti?q=torino",
    "/enti/comune-di-torino",
    "/territori",
    "/territori?q=torino",
    "/territori/IT",
    "/territori/R01",
    f"/territori/{CHIERI}",
    "/pagina-che-non-esiste",
]


async def test_every_page_has_landmarks_a_skip_link_and_one_h1(reader):
    for path in PAGES:
        page = soup(await reader.get(path))
        assert page.html["lang"] == "it", path
        body = page.body
        for landmark in ("header", "nav", "main", "footer"):
            assert body.find(landmark) is not None, f"{path}: no <{landmark}>"
        assert body.find("a")["href"] == "#contenuto", path
        assert page.find(id="contenuto").name == "main", path
        assert len(page.find_all("h1")) == 1, path
        assert page.title.get_text(strip=True), path


async def test_every_form_field_has_a_label(reader):
    for path in PAGES:
        page = soup(await reader.get(path))
        for field in page.find_all(["input", "select", "textarea"]):
            if field.name == "input" and field.get("type") in ("hidden", "submit", "button"):
                continue
            labelled = field.get("aria-label") or field.get("aria-labelledby")
            if not labelled and field.get("id"):
                labelled = page.find("label", attrs={"for": field["id"]})
            assert labelled, f"{path}: {field}"


async def test_current_section_is_marked_in_the_main_navigation(reader):
    for path, current in (
        ("/", []),
        ("/processi", ["/processi"]),
        (f"/processi/{PATTI}", ["/processi"]),
        ("/enti/comune-di-torino", ["/enti"]),
        ("/territori/R01", ["/territori"]),
    ):
        nav = soup(await reader.get(path)).find("nav", attrs={"aria-label": "Navigazione principale"})
        assert [a["href"] for a in nav.find_all("a", attrs={"aria-current": "page"})] == current, path


# --- escaping of content -----------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


async def test_content_with_html_is_shown_escaped_everywhere(client):
    title = f"Titolo {SCRIPT} e {IMG}"
    _import(
        client,
        record(
            slug="prova-di-escape",
            title=title,
            summary=f"Sintesi {SCRIPT} {IMG}",
            description=f"Descrizione {SCRIPT}\n\nSecondo {IMG}",
            decision_holders=[f"Ente {IMG}"],
            phases=[{"title": f"Fase {SCRIPT}", "description": f"Testo {IMG}"}],
            links=[{"label": f"Collegamento {SCRIPT}", "url": "https://example.org/"}],
            territories=[CHIERI],
            published_at="2030-01-01T00:00:00+00:00",
            updated_at="2030-01-01T00:00:00+00:00",
        ),
    )
    process_page = await client.get("/processi/prova-di-escape")
    assert process_page.status_code == 200
    page = soup(process_page)
    assert page.h1.get_text() == title
    assert page.find("h4").get_text() == f"Fase {SCRIPT}"
    assert page.find("p", string=f"Testo {IMG}") is not None
    assert page.find("p", string=f"Descrizione {SCRIPT}") is not None
    assert page.find("a", href="https://example.org/").get_text() == f"Collegamento {SCRIPT}"
    assert page.find("meta", attrs={"name": "description"})["content"].startswith("Sintesi <script>")
    holder = _dd_after(page, "Titolari della decisione").a
    assert holder.get_text() == f"Ente {IMG}"

    organisation = await client.get(holder["href"])
    listings = [
        process_page,
        await client.get("/"),
        await client.get("/processi"),
        await client.get(f"/territori/{CHIERI}"),
        await client.get("/processi", params={"q": "Descrizione Secondo"}),  # highlighted snippets
        organisation,
    ]
    for response in listings:
        assert response.status_code == 200
        parsed = soup(response)
        # the scripts a page may carry are its JSON-LD, whose text stays JSON, and the site's own files
        scripts = [script for script in parsed.find_all("script") if not script.get("src")]
        assert all(script.get("type") == "application/ld+json" for script in scripts), response.url
        assert all(json.loads(script.string) for script in scripts), response.url
        loaded = [script for script in parsed.find_all("script") if script.get("src")]
        assert all(script["src"].startswith("/static/js/") and not script.string for script in loaded)
        assert parsed.find("img") is None, response.url
        assert not parsed.find_all(attrs={"onerror": True}), response.url
        assert SCRIPT not in response.text and IMG not in response.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
        assert parsed.find("a", href="/processi/prova-di-escape") is not None or response is process_page
    assert soup(organisation).h1.get_text() == f"Ente {IMG}"


async def test_search_text_is_shown_escaped(reader):
    response = await reader.get("/processi", params={"q": f"{SCRIPT} {IMG}"})
    assert response.status_code == 200
    page = soup(response)
    # only the site's own scripts: none from the search text
    assert {script.get("src") for script in page.find_all("script")} == {
        "/static/js/suggest.js",
        "/static/js/facets.js",
    }
    assert page.find("img") is None
    assert SCRIPT not in response.text and IMG not in response.text
    assert page.find("input", attrs={"name": "q", "type": "search"})["value"] == f"{SCRIPT} {IMG}"
