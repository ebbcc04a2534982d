"""The process page as a reader sees it: its state said once, numbers written the Italian way,
labelled rows in the list cards, and "Processi simili" that are alike in kind, place and subject."""

from __future__ import annotations

import pytest
from helpers import CHIERI, refresh_index, run_in_app, soup

from observatory.catalogue.transfer import import_records

pytestmark = pytest.mark.anyio

MONCALIERI, BALDICHIERI, PALERMO = "C001156", "C005007", "C082053"  # Torino, Asti, Sicilia


def _import(client, *records: dict) -> None:
    report = run_in_app(client, import_records, [], list(records))
    assert report.written, [line for p in report.problems for line in p.lines()]
    refresh_index(client)


def _budget(city: str, code: str) -> dict:
    return {
        "title": f"Bilancio partecipativo di {city}",
        "kind": "bilancio-partecipativo",
        "territories": [code],
        "theme": "assetto-istituzionale",
        "topics": ["bilancio-comunale", "cittadinanza-attiva-beni-comuni"],
        "decision_holders": [f"Comune di {city}"],
        "description": f"I cittadini di {city} propongono e votano i progetti per i quartieri, "
        "finanziati con una parte del bilancio comunale.",
    }


def _works_in_chieri(title: str, slug: str) -> dict:
    """A project of another kind in Chieri whose words are like the budget's."""
    return {
        "title": title,
        "slug": slug,
        "kind": "monitoraggio-civico",
        "territories": [CHIERI],
        "theme": "sviluppo-economico",
        "topics": ["cultura-turismo"],
        "description": "Progetto finanziato a Chieri: i cittadini seguono i lavori nei quartieri e "
        "il bilancio comunale dell'intervento.",
    }


async def test_similar_processes_put_the_same_kind_and_the_nearest_territory_first(empty_client):
    _import(
        empty_client,
        _budget("Chieri", CHIERI),
        _works_in_chieri("Hotel termale di Chieri: riqualificazione", "hotel-termale"),
        _works_in_chieri("Recupero della torre di Chieri", "torre"),
        _budget("Palermo", PALERMO),
        _budget("Baldichieri d'Asti", BALDICHIERI),
        _budget("Moncalieri", MONCALIERI),
    )
    page = soup(await empty_client.get("/processi/bilancio-partecipativo-di-chieri"))
    similar = [a["href"].removeprefix("/processi/") for a in page.select("section.similar .card-title a")]
    assert (
        similar
        == [
            "bilancio-partecipativo-di-moncalieri",  # same kind, same province
            "bilancio-partecipativo-di-baldichieri-d-asti",  # same kind, same region
            "bilancio-partecipativo-di-palermo",  # same kind, elsewhere
            *similar[3:],
        ]
    )
    assert set(similar[3:]) == {"hotel-termale", "torre"}  # another kind, after every budget


async def test_a_process_shares_nothing_with_an_unrelated_one_and_lists_no_similar(empty_client):
    _import(
        empty_client,
        _budget("Chieri", CHIERI),
        {
            "title": "Rete regionale per la qualità dell'aria",
            "kind": "rete-partenariato",
            "territories": [PALERMO],
        },
    )
    page = soup(await empty_client.get("/processi/bilancio-partecipativo-di-chieri"))
    assert page.select("section.similar") == []


async def test_the_process_page_says_the_state_once_and_writes_numbers_the_italian_way(empty_client):
    _import(
        empty_client,
        {
            "title": "Bilancio partecipativo di Torino",
            "start_year": 2025,
            "ongoing": True,
            "state": "in_corso",
            "participants_count": 1234567,
            "projects": [
                {"title": "Piazza", "amount": "1234567.89", "votes": 12345},
                {"title": "Parco", "amount": None, "votes": 7},
            ],
            "decision_holders": ["Comune di Torino"],
            "territories": ["C001272"],
        },
        {"title": "Orti urbani", "participants_count": 420, "participants_kind": None, "state": "concluso"},
        {"title": "Consulta dei giovani", "participants_count": 42, "participants_kind": "studenti"},
    )
    page = soup(await empty_client.get("/processi/bilancio-partecipativo-di-torino"))
    header = page.select_one("article.process header .meta").get_text(" ", strip=True)
    assert header == "dal 2025, in corso"  # not "dal 2025, in corso · In corso"
    assert _dd_after(page, "Partecipanti") == "1.234.567"
    table = page.select_one("table.projects")
    assert [td.get_text(strip=True) for td in table.select("td.num")] == ["€ 1.234.567,89", "12.345", "", "7"]

    page = soup(await empty_client.get("/processi/orti-urbani"))
    assert _dd_after(page, "Partecipanti") == "420"  # no dangling dash
    assert page.select_one("article.process header .meta").get_text(" ", strip=True) == "Concluso"
    page = soup(await empty_client.get("/processi/consulta-dei-giovani"))
    assert _dd_after(page, "Partecipanti") == "42 — studenti"


async def test_list_cards_label_their_decision_holders_and_territories_for_everyone(empty_client):
    _import(empty_client, _budget("Chieri", CHIERI))
    card = soup(await empty_client.get("/processi")).select_one("article.card")
    rows = [p.get_text(" ", strip=True) for p in card.select("p.meta")]
    assert "Titolari: Comune di Chieri" in rows
    assert any(row.startswith("Territori: Chieri") for row in rows)
    assert card.select(".visually-hidden") == []


def _dd_after(page, term: str) -> str:
    dt = page.find("dt", string=term)
    assert dt is not None, f"no <dt>{term}</dt>"
    return dt.find_next_sibling("dd").get_text(" ", strip=True)
