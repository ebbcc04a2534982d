"""The submission form as a municipality meets it: what is required and says so, links typed
without https://, amounts, the correction form's first question, a refused form's title and focus,
folded sections, the territory suggestions' order, and comuni missing from the territories."""

from __future__ import annotations

import re

import pytest
from browsing import TIMEOUT_MS, wcag_violations
from helpers import PATTI, csrf_token, soup, stored_submissions, submission_form

from observatory.catalogue import forms
from observatory.catalogue.fields import AMOUNT_EXAMPLE
from observatory.catalogue.form_view import field_id
from observatory.submissions.controllers import INPUTS as SUBMISSION_INPUTS

pytestmark = pytest.mark.anyio
pytest_plugins = ["browsing", "smtp_server"]

#: What the form requires, whatever else is left empty (and nothing else).
REQUIRED = {"title", "nome", "ente", "email", "privacy"}


async def _post(client, fields: dict[str, str], path: str = "/segnala", **more: str):
    token = await csrf_token(client, path)
    return await client.post(path, data=submission_form(token, fields, **more), follow_redirects=False)


def _controls(form) -> list:
    """The inputs a person fills in, in order (not the hidden ones, the honeypot or a row's template)."""
    return [
        control
        for control in form.select("input, select, textarea")
        if control.get("type") not in ("hidden", "submit")
        and control.get("name") != "sito_web"
        and control.find_parent("template") is None
    ]


def _label(page, control) -> str:
    return page.find("label", attrs={"for": control["id"]}).get_text(" ", strip=True)


async def test_required_fields_say_so_and_are_exactly_those_the_check_requires(reader):
    page = soup(await reader.get("/segnala"))
    form = page.select_one("#modulo-segnalazione")
    marked = set()
    for control in _controls(form):
        required = control.has_attr("required")
        if control.get("type") == "checkbox" and control.find_parent("fieldset", class_="choices"):
            continue  # the options of a vocabulary
        in_row = control.find_parent("fieldset", class_="row") is not None
        label = _label(page, control)
        if in_row:
            assert not required and "(obbligatorio)" not in label, control["name"]
            spec = forms.INPUTS[".".join(p for p in control["name"].split(".") if not p.isdigit())]
            assert ("(obbligatorio se compili la riga)" in label) == spec.required, control["name"]
        else:
            assert required == ("(obbligatorio)" in label), control["name"]
            if required:
                marked.add(control["name"])
    assert marked == REQUIRED
    intro = page.find(string=lambda text: "Sono obbligatori" in text).parent.get_text(" ", strip=True)
    for name in REQUIRED:
        spec = forms.INPUTS.get(name) or SUBMISSION_INPUTS[name]
        assert f"«{spec.summary_label or spec.label}»" in intro, name
    assert "Solo il titolo" not in page.get_text()

    # sent empty, the form is refused exactly on those fields
    token = await csrf_token(reader)
    response = await reader.post("/segnala", data={"_csrf_token": token, "azione": "invia"})
    assert response.status_code == 400
    refused = soup(response)
    anchors = {a["href"] for a in refused.select("#errori a")}
    assert anchors == {f"#{field_id(name)}" for name in REQUIRED}
    # a row's required input is required once the row is filled in
    response = await _post(reader, {"phases.1.description": "Una fase senza titolo"})
    assert response.status_code == 400
    assert {a["href"] for a in soup(response).select("#errori a")} == {f"#{field_id('phases.1.title')}"}


async def test_a_link_typed_without_https_gains_it_in_the_form_and_in_the_api(client):
    response = await _post(client, {"links.1.url": "www.comune.chieri.to.it/partecipa"}, conferma="1")
    assert response.status_code == 303, response.text
    link = stored_submissions(client)[-1]["data"]["process"]["links"][0]
    assert link["url"] == "https://www.comune.chieri.to.it/partecipa"
    assert link["label"] == "www.comune.chieri.to.it"
    body = {
        "segnalante": {"nome": "Maria Rossi", "ente": "Comune di Chieri", "email": "maria@comune.example"},
        "privacy_accettata": True,
        "processo": {"title": "Orti condivisi di Borgoquercia", "links": [{"url": "comune.chieri.to.it"}]},
    }
    response = await client.post("/api/v1/segnalazioni", json=body)
    assert response.status_code == 201, response.text
    state = (await client.get(f"/api/v1/segnalazioni/{response.json()['token']}")).json()
    assert state["processo"]["links"][0]["url"] == "https://comune.chieri.to.it"
    schema = (await client.get("/schema/openapi.json")).json()
    assert "riceve `https://`" in schema["paths"]["/api/v1/segnalazioni"]["post"]["description"]
    # what is not an address at all is still refused
    response = await _post(client, {"links.1.url": "comune chieri"})
    assert response.status_code == 400
    assert "non è un indirizzo web valido" in soup(response).select_one("#errori").get_text()


async def test_amounts_hint_and_error_give_the_same_example_and_both_ways_are_taken(client):
    page = soup(await client.get("/segnala"))
    hint = page.select_one(f"#{field_id('funding.total_investment')}-aiuto").get_text(strip=True)
    assert hint == f"In euro, ad esempio {AMOUNT_EXAMPLE}."
    assert AMOUNT_EXAMPLE == "1.234.567,89"
    response = await _post(client, {"funding.total_investment": "dieci euro"})
    assert response.status_code == 400
    refused = soup(response)
    error = refused.select_one(f"#{field_id('funding.total_investment')}-errore").get_text(strip=True)
    assert error.endswith(f"(esempio: {AMOUNT_EXAMPLE}).")
    assert refused.select_one("details#sezione-finanziamento").has_attr("open")  # opened on its error
    assert not refused.select_one("details#sezione-collegamenti").has_attr("open")
    for typed in (AMOUNT_EXAMPLE, "1234567.89"):
        response = await _post(client, {"funding.total_investment": typed}, conferma="1")
        assert response.status_code == 303, response.text
        funding = stored_submissions(client)[-1]["data"]["process"]["funding"]
        assert str(funding["total_investment"]) == "1234567.89"


async def test_the_correction_form_asks_what_is_corrected_and_why_first(client):
    page = soup(await client.get(f"/processi/{PATTI}/correzione"))
    first = _controls(page.select_one("#modulo-segnalazione"))[0]
    assert first["name"] == "nota"
    assert _label(page, first) == "Cosa correggi e perché"
    # prefilled sections are open, empty optional ones folded
    assert page.select_one("details#sezione-obiettivi").has_attr("open")
    assert not page.select_one("details#sezione-progetti").has_attr("open")


async def test_a_refused_form_says_error_in_its_title_and_puts_the_focus_on_the_summary(reader):
    assert not soup(await reader.get("/segnala")).title.get_text().startswith("Errore")
    response = await _post(reader, {"title": "", "email": "non-un-indirizzo"})
    assert response.status_code == 400
    page = soup(response)
    assert page.title.get_text().startswith("Errore: Segnala un processo")
    summary = page.select_one(".error-summary")
    assert summary["tabindex"] == "-1" and summary.has_attr("autofocus")
    assert page.select("[autofocus]") == [summary]
    assert page.find("script", src="/static/js/process_form.js").has_attr("defer")
    assert (await reader.get("/static/js/process_form.js")).status_code == 200
    # the page sent back does not put an old draft over what was sent
    assert not page.select_one("#modulo-segnalazione").has_attr("data-bozza-ripristina")
    assert (
        soup(await reader.get("/segnala"))
        .select_one("#modulo-segnalazione")
        .has_attr("data-bozza-ripristina")
    )


async def test_territory_suggestions_put_the_exact_name_then_the_bigger_places_first(reader):
    items = (await reader.get("/api/v1/territori", params={"q": "Chie"})).json()["items"]
    names = [item["name"] for item in items]
    assert names.index("Chieri") < names.index("Chienes")
    assert all(item["name"].lower().startswith("chie") for item in items[: names.index("Chienes")])
    chieri = items[names.index("Chieri")]
    assert (chieri["plate"], chieri["parent_name"]) == ("TO", "Città metropolitana di Torino")
    assert items[names.index("Chienes")]["plate"] == "BZ"
    exact = (await reader.get("/api/v1/territori", params={"q": "chieri"})).json()["items"]
    assert exact[0]["code"] == "C001078"
    # a name with a word that starts so, then the places that merely contain it, the bigger first
    contained = (await reader.get("/api/v1/territori", params={"q": "ieri", "livello": "comune"})).json()
    assert [item["name"] for item in contained["items"]][:3] == ["Castel di Ieri", "Moncalieri", "Chieri"]


async def test_a_comune_among_decision_holders_missing_from_territories_is_pointed_out_once(client):
    fields = {"decision_holders": "Comune di Chieri", "territories": "Chienes"}
    response = await _post(client, fields)
    assert response.status_code == 200
    page = soup(response)
    warning = page.select_one(".comuni-outside")
    assert "«Comune di Chieri»" in warning.get_text() and "Chieri non è tra i" in warning.get_text()
    assert warning.has_attr("autofocus") and warning.select_one("a[href='#campo-territories']")
    assert page.select_one("input[name=conferma]")["value"] == "1"
    assert page.select_one("[name=territories]").get_text().strip() == "Chienes"
    assert stored_submissions(client) == []
    # sent again as it is, it goes: a warning, not a refusal
    response = await _post(client, fields, conferma="1")
    assert response.status_code == 303
    assert stored_submissions(client)[-1]["data"]["process"]["decision_holders"] == ["Comune di Chieri"]


async def test_a_comune_inside_the_territories_is_not_pointed_out(client):
    for territories in ("Chieri (TO)", "Città metropolitana di Torino", "Piemonte", "Chienes\nChieri (TO)"):
        response = await _post(client, {"decision_holders": "Comune di Chieri", "territories": territories})
        assert response.status_code == 200  # the published Patti in Piemonte look alike: only that is said
        page = soup(response)
        assert page.select_one(".duplicates") and page.select_one(".comuni-outside") is None, territories


# --- in the browser ----------------------------------------------------------------------------------


def _focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_rows_are_added_where_one_types_a_draft_survives_and_a_refusal_focuses_its_summary(server, browser):
    from playwright.sync_api import expect

    # with JavaScript: the row appears in place, with the focus, and nothing is sent
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(server + "/segnala")
    page.evaluate("window.nothingReloaded = true")
    page.locator("#sezione-fasi > summary").click()
    page.fill("#campo-phases-1-title", "Assemblea di quartiere")
    page.get_by_role("button", name="Aggiungi una fase").click()
    expect(page.locator("#campo-phases-2-title")).to_be_focused()
    assert page.evaluate("window.nothingReloaded") and page.url == server + "/segnala"
    expect(page.locator("#campo-phases-riga-2 legend")).to_have_text("Fase 2")
    page.keyboard.type("Voto dei progetti")
    assert not wcag_violations(page)

    # the draft: back on the form, what was typed is there again, rows included, until thrown away
    page.fill("#campo-title", "Orti condivisi di prova")
    page.wait_for_timeout(600)
    page.goto(server + "/segnala")
    expect(page.locator(".draft-notice")).to_contain_text("Bozza ripristinata")
    expect(page.locator("#campo-title")).to_have_value("Orti condivisi di prova")
    expect(page.locator("#campo-phases-2-title")).to_have_value("Voto dei progetti")
    expect(page.locator("#sezione-fasi")).to_have_attribute("open", "")
    assert not wcag_violations(page)
    page.get_by_role("button", name="Scarta la bozza").click()
    expect(page.locator(".draft-notice")).to_have_count(0)
    expect(page.locator("#campo-title")).to_have_value("")

    # refused by the server: the title says so and the focus is on the error summary
    page.fill("#campo-title", "Orti")
    page.get_by_role("button", name="Invia la segnalazione").click()
    expect(page).to_have_title(re.compile(r"^Errore: "))
    expect(page.locator("#errori")).to_be_focused()
    assert not wcag_violations(page)

    # the correction form opens on its question, the live hint names a comune left out of the territories
    page.goto(f"{server}/processi/{PATTI}/correzione")
    page.fill("#campo-decision-holders", "Comune di Chieri")
    page.fill("#campo-territories", "Chienes (BZ)")
    expect(page.locator("#campo-decision-holders-comuni")).to_contain_text("«Comune di Chieri»")
    page.fill("#campo-territories", "Chieri (TO)")
    expect(page.locator("#campo-decision-holders-comuni")).to_have_text("")
    assert not wcag_violations(page)
    context.close()

    # without JavaScript: the button sends the form and the page comes back at the new row, focused
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(server + "/segnala")
    page.locator("#sezione-collegamenti > summary").click()
    page.fill("#campo-links-1-url", "www.comune.chieri.to.it")
    page.get_by_role("button", name="Aggiungi un collegamento").click()
    expect(page).to_have_url(server + "/segnala#campo-links-2-label")
    expect(page.locator("#campo-links-2-label")).to_be_focused()
    expect(page.locator("#campo-links-1-url")).to_have_value("www.comune.chieri.to.it")
    page.get_by_role("button", name="Invia la segnalazione").click()
    expect(page).to_have_title(re.compile(r"^Errore: "))
    expect(page.locator("#errori")).to_be_focused()
    context.close()
