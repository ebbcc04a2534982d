"""The English interface: /en/ pages, the language switcher and hreflang alternates, English
vocabulary labels, the API's messages by Accept-Language, and a catalogue that is complete."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from helpers import login_as, rows, soup

from observatory.catalogue.tables import Term

pytestmark = pytest.mark.anyio
PATTI = "patti-per-l-amministrazione-condivisa-in-piemonte"


def _alternates(page) -> dict[str, str]:
    return {
        link["hreflang"]: urlsplit(link["href"]).path
        for link in page.select('link[rel="alternate"][hreflang]')
    }


async def test_english_pages_are_english_and_point_to_the_italian_ones(client):
    for italian, english in (
        ("/", "/en/"),
        ("/processi", "/en/processi"),
        (f"/processi/{PATTI}", f"/en/processi/{PATTI}"),
    ):
        it_page, en_page = soup(await client.get(italian)), soup(await client.get(english))
        assert it_page.html["lang"] == "it" and en_page.html["lang"] == "en"
        for page in (it_page, en_page):
            assert _alternates(page) == {"it": italian, "en": english, "x-default": italian}
        assert it_page.select_one(".language-switch a")["href"] == english
        assert en_page.select_one(".language-switch a")["href"] == italian
        assert en_page.select_one(".language-switch a")["lang"] == "it"
        menu = [a.get_text() for a in en_page.select("nav .nav a")]
        assert "Processes" in menu and "Processi" not in menu
        assert en_page.select_one('nav .nav a[href="/en/processi"]')
        assert en_page.select_one(".skip-link").get_text() == "Skip to content"


async def test_english_addresses_keep_query_and_error_pages_in_english(client):
    page = soup(await client.get("/en/processi", params={"tipo": "patto-di-collaborazione"}))
    assert _alternates(page)["it"] == "/processi"
    assert page.select_one(".language-switch a")["href"] == "/processi?tipo=patto-di-collaborazione"
    missing = await client.get("/en/processi/nessun-processo-con-questo-nome")
    assert missing.status_code == 404
    assert soup(missing).select_one("h1").get_text(strip=True) == "Page not found"
    assert (
        soup(await client.get("/processi/nessun-processo-con-questo-nome"))
        .select_one("h1")
        .get_text(strip=True)
        == "Pagina non trovata"
    )


async def test_api_errors_follow_accept_language(client):
    italian = (await client.get("/api/v1/processi", params={"pagina": "x"})).json()
    english = (
        await client.get(
            "/api/v1/processi", params={"pagina": "x"}, headers={"Accept-Language": "en-GB,en;q=0.9"}
        )
    ).json()
    assert italian["message"] == "Pagina: «x» non è un numero intero."
    assert english["message"] == "Page: “x” is not a whole number."
    assert english["fields"] == [{"field": "pagina", "message": "Page: “x” is not a whole number."}]
    assert (
        (english["status"], english["error"]) == (italian["status"], italian["error"]) == (400, "bad_request")
    )
    preferring_italian = await client.get(
        "/api/v1/processi", params={"pagina": "x"}, headers={"Accept-Language": "en;q=0.5, it"}
    )
    assert preferring_italian.json()["message"] == italian["message"]


async def test_editors_give_terms_an_english_label_shown_on_english_pages(client):
    shipped = {row["slug"]: row for row in rows(client, Term, Term.vocabulary == "tipo")}
    assert shipped["patto-di-collaborazione"]["label_en"] == "Collaboration pact"
    assert all(row["label_en"] for row in rows(client, Term))
    await login_as(client, "amministratore")
    page = soup(await client.get("/redazione/vocabolari"))
    term = shipped["patto-di-collaborazione"]
    field = page.select_one(f"#etichetta-en-{term['id']}")
    assert field["value"] == "Collaboration pact" and field["lang"] == "en"
    token = page.select_one('input[name="_csrf_token"]')["value"]
    response = await client.post(
        f"/redazione/vocabolari/{term['id']}",
        data={
            "_csrf_token": token,
            "etichetta": term["label"],
            "etichetta_en": "Pact of collaboration",
            "descrizione": "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    kind = 'a.tag[href$="tipo=patto-di-collaborazione"]'
    english = soup(await client.get(f"/en/processi/{PATTI}")).select_one(kind)
    italian = soup(await client.get(f"/processi/{PATTI}")).select_one(kind)
    assert (english.get_text(), italian.get_text()) == ("Pact of collaboration", "Patto di collaborazione")
    vocabularies = (await client.get("/api/v1/vocabolari")).json()
    assert {"slug": "patto-di-collaborazione", "label_en": "Pact of collaboration"}.items() <= next(
        t for t in vocabularies["tipo"] if t["slug"] == "patto-di-collaborazione"
    ).items()
