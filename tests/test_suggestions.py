"""Search as you type: /api/v1/suggerimenti through the real app on the demo catalogue (matching,
ranking, addresses, what is never suggested), and the search boxes' combobox in Chromium."""

from __future__ import annotations

import pytest
from browsing import TIMEOUT_MS, wcag_violations
from helpers import PATTI, form_token, login_as, process_row, submission_form

pytest_plugins = ["browsing"]

UNIQUE = "zorbaquinto"


async def _suggested(client, text: str, **params: str) -> list[dict]:
    response = await client.get("/api/v1/suggerimenti", params={"q": text, **params})
    assert response.status_code == 200, response.text
    assert response.json()["query"] == text.strip()
    return response.json()["items"]


def _labels(items: list[dict], kind: str) -> list[str]:
    return [item["label"] for item in items if item["kind"] == kind]


@pytest.mark.anyio
async def test_the_beginnings_of_words_suggest_titles_organisations_territories_and_terms(client):
    titles = await _suggested(client, "bilan parte")
    assert "Bilancio partecipativo di Bologna 2017" in _labels(titles, "processo")
    term = next(item for item in titles if item["kind"] == "termine")
    assert term["label"] == "Bilancio partecipativo"
    assert term["url"] == "/processi?tipo=bilancio-partecipativo"
    assert term["detail"].startswith("Tipo di processo · ") and term["count"] > 0

    organisation = (await _suggested(client, "compagnia san pa"))[0]
    assert organisation == {
        "kind": "ente",
        "label": "Compagnia di San Paolo",
        "detail": "1 processo",
        "url": "/enti/compagnia-di-san-paolo",
        "count": 1,
    }

    reggio = await _suggested(client, "reggio emilia")
    assert reggio[0]["kind"] == "territorio" and reggio[0]["label"] == "Reggio nell'Emilia"
    assert reggio[0]["url"] == "/territori/C035033"
    assert reggio[0]["detail"].startswith("Comune, Provincia di Reggio nell'Emilia · ")
    assert "Aeroporto di Reggio Emilia S.p.A." in _labels(reggio, "ente")


@pytest.mark.anyio
async def test_accents_and_case_do_not_matter(reader):
    typed = await _suggested(reader, "CITTÀ METROPOLITANA DI TOR")
    folded = await _suggested(reader, "citta metropolitana di tor")
    assert typed == folded
    assert _labels(typed, "territorio") == ["Città metropolitana di Torino"]
    assert "Città metropolitana di Torino" in _labels(typed, "ente")


@pytest.mark.anyio
async def test_the_whole_name_comes_before_names_that_hold_it(reader):
    items = await _suggested(reader, "torino")
    territories = [item for item in items if item["kind"] == "territorio"]
    # the comune named Torino first, though its province has more processes
    assert [t["label"] for t in territories[:2]] == ["Torino", "Città metropolitana di Torino"]
    assert territories[0]["count"] < territories[1]["count"]
    assert items[0]["label"] == "Torino", "the kind with the whole name comes first"
    assert _labels(await _suggested(reader, "patti"), "territorio") == ["Patti"]
    assert (await _suggested(reader, "patti"))[0]["label"] == "Patti"


@pytest.mark.anyio
async def test_at_most_a_few_of_each_kind_and_limite_caps_them(reader):
    items = await _suggested(reader, "co")
    for kind, most in {"territorio": 4, "ente": 4, "termine": 3, "processo": 5}.items():
        assert 0 < len(_labels(items, kind)) <= most
    capped = await _suggested(reader, "co", limite="1")
    assert sorted(item["kind"] for item in capped) == ["ente", "processo", "termine", "territorio"]
    refused = await reader.get("/api/v1/suggerimenti", params={"q": "co", "limite": "11"})
    assert refused.status_code == 400 and refused.json()["fields"][0]["field"] == "limite"


@pytest.mark.anyio
async def test_every_suggested_address_answers(reader):
    items = []
    for text in ("torino", "bilancio", "comune di", "patti", "piemonte"):
        items += await _suggested(reader, text)
    assert {item["kind"] for item in items} == {"processo", "ente", "territorio", "termine"}
    for item in items:
        response = await reader.get(item["url"])
        assert response.status_code == 200, item


@pytest.mark.anyio
async def test_under_two_characters_nothing_is_suggested(reader):
    assert await _suggested(reader, "t") == []
    assert await _suggested(reader, "  b  ") == []
    assert await _suggested(reader, "") == []
    assert await _suggested(reader, "xqzwv") == []


@pytest.mark.anyio
async def test_control_characters_and_long_texts_are_refused_in_json(reader):
    response = await reader.get("/api/v1/suggerimenti", params={"q": "tor\x1bino"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request" and "«q»" in response.json()["message"]
    response = await reader.get("/api/v1/suggerimenti", params={"q": "a" * 201})
    assert response.status_code == 400 and response.json()["fields"][0]["field"] == "q"


@pytest.mark.anyio
async def test_a_pending_submission_is_never_suggested(client):
    # Zerba is in the reference data, but no published process is there
    territories = await client.get("/api/v1/territori", params={"q": "Zerba"})
    assert [t["code"] for t in territories.json()["items"]] == ["C033047"]
    token = await form_token(client, "/segnala")
    fields = {
        "title": f"Orti condivisi {UNIQUE} di Zerba",
        "decision_holders": f"Comitato {UNIQUE}",
        "territories": "Zerba (PC)",
    }
    data = submission_form(token, fields, conferma="1", azione="invia")
    assert (await client.post("/segnala", data=data, follow_redirects=False)).status_code == 303
    assert await _suggested(client, UNIQUE) == []
    assert await _suggested(client, "orti condivisi zorba") == []
    assert await _suggested(client, "zerba") == []


@pytest.mark.anyio
async def test_a_withdrawn_process_and_what_only_it_had_are_no_longer_suggested(client):
    assert _labels(await _suggested(client, "patti per l amm"), "processo") == [
        "Patti per l'Amministrazione condivisa in Piemonte"
    ]
    assert _labels(await _suggested(client, "condove"), "territorio") == ["Condove"]
    assert _labels(await _suggested(client, "comune di chieri"), "ente") == ["Comune di Chieri"]
    torino = (await _suggested(client, "torino"))[0]
    await login_as(client)
    token = await form_token(client)
    response = await client.post(
        f"/redazione/processi/{process_row(client, PATTI)['id']}/ritira",
        data={"_csrf_token": token, "motivo": "Scheda doppia."},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await _suggested(client, "patti per l amm") == []
    assert await _suggested(client, "condove") == []
    assert _labels(await _suggested(client, "comune di chieri"), "ente") == []
    after = (await _suggested(client, "torino"))[0]
    assert after["label"] == torino["label"] == "Torino"
    assert after["count"] == torino["count"] - 1, "Torino has one process fewer"


def test_the_search_box_suggests_as_you_type_and_opens_the_chosen_page(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + "/")
    box = page.locator("#q-home")
    listbox = page.locator("#q-home-suggerimenti")
    expect(box).to_have_attribute("role", "combobox")
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).to_have_attribute("aria-autocomplete", "list")
    expect(box).to_have_attribute("aria-controls", "q-home-suggerimenti")
    box.press_sequentially("reggio emil")
    expect(listbox).to_be_visible()
    expect(listbox).to_have_attribute("role", "listbox")
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("Reggio nell'Emilia")
    count = options.count()
    expect(page.locator("[aria-live=polite]", has_text="suggeriment")).to_contain_text(f"{count} suggeriment")

    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "q-home-suggerimenti-0")
    expect(options.first).to_have_attribute("aria-selected", "true")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "q-home-suggerimenti-1")
    expect(options.first).to_have_attribute("aria-selected", "false")
    box.press("ArrowUp")
    expect(box).to_have_attribute("aria-activedescendant", "q-home-suggerimenti-0")
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).not_to_have_attribute("aria-activedescendant", "q-home-suggerimenti-0")

    box.press_sequentially("i")  # reggio emili
    expect(listbox).to_be_visible()
    box.press("ArrowDown")
    box.press("Enter")
    expect(page).to_have_url(server + "/territori/C035033")
    expect(page.locator("h1")).to_contain_text("Reggio nell'Emilia")

    # Enter with no suggestion chosen searches, as without the script
    page.goto(server + "/processi")
    page.locator("#q").press_sequentially("bilancio parte")
    expect(page.locator("#q-suggerimenti")).to_be_visible()
    page.locator("#q").press("Enter")
    expect(page).to_have_url(server + "/processi?q=bilancio+parte")

    # a click opens a suggestion too
    page.locator("#q").fill("")
    page.locator("#q").press_sequentially("compagnia di san")
    page.locator("#q-suggerimenti").get_by_role("option", name="Compagnia di San Paolo").click()
    expect(page).to_have_url(server + "/enti/compagnia-di-san-paolo")


def test_the_open_suggestions_have_no_wcag_violation(server, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    problems = []
    for path, box in (("/", "#q-home"), ("/processi", "#q")):
        page.goto(server + path)
        page.locator(box).press_sequentially("torino")
        expect(page.locator(f"{box}-suggerimenti")).to_be_visible()
        page.locator(box).press("ArrowDown")
        expect(page.locator(box)).to_have_attribute("aria-activedescendant", box[1:] + "-suggerimenti-0")
        for width in (1280, 390):
            page.set_viewport_size({"width": width, "height": 900})
            if found := wcag_violations(page):
                problems += [f"{path} at {width} px wide, suggestions open:", *found]
    assert not problems, "axe finds WCAG 2.1 A/AA violations:\n" + "\n".join(problems)
