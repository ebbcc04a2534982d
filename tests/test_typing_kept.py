"""Nothing typed is lost: every refused form post (an expired CSRF cookie, a body too large, a
process withdrawn meanwhile, a decision or an amendment made meanwhile; the rate limit is in
test_submission_limits.py) answers with the person's text and says what happened; and a correction
or an edited submission written against an older version is compared with that version, not
applied over the changes made since."""

from __future__ import annotations

import re

import httpx
import pytest
from helpers import (
    PATTI,
    SUBMITTER,
    form_token,
    form_values,
    login_as,
    process_row,
    run_in_app,
    soup,
    submission_form,
)

from observatory.catalogue.tables import Process
from observatory.submissions.services import find_by_token

pytestmark = pytest.mark.anyio

DESCRIPTION = "Un orto condiviso nato da un patto di collaborazione,\ncon due assemblee pubbliche."


async def _jar(client) -> httpx.Cookies:
    return httpx.Cookies(client.cookies)


async def _send(client, path: str, data: dict):
    return await client.post(path, data=data, follow_redirects=False)


def _tracking_token(response) -> str:
    assert response.status_code == 303, response.text
    return re.fullmatch(r"/segnala/([A-Za-z0-9_-]+)\?inviata=1", response.headers["location"]).group(1)


async def _submit(client, **fields: str) -> str:
    token = await form_token(client, "/segnala")
    data = submission_form(token, fields, conferma="1", azione="invia")
    return _tracking_token(await _send(client, "/segnala", data))


def _submission(client, tracking: str) -> dict:
    return run_in_app(client, find_by_token, tracking)


def _shown_text(response) -> str:
    return soup(response).get_text(" ", strip=True)


# --- refused before the page reads the form: CSRF, size ------------------------------------------


async def test_a_post_with_an_expired_csrf_cookie_comes_back_with_the_typing(client):
    token = await form_token(client, "/segnala")
    typed = submission_form(token, description=DESCRIPTION, conferma="1", azione="invia")
    client.cookies.clear()  # the browser was closed: the CSRF cookie is gone
    refused = await _send(client, "/segnala", typed)
    assert refused.status_code == 403
    assert "Per sicurezza il modulo non è stato accettato" in _shown_text(refused)
    assert "osservatorio_csrf=" in refused.headers.get("set-cookie", "")
    page = soup(refused)
    form = page.select_one("form.resend-form")
    assert form["action"] == "/segnala"
    kept = form_values(page, "form.resend-form")
    assert kept["description"] == DESCRIPTION and kept["title"] == typed["title"]
    assert kept["_csrf_token"] != token
    label = page.find("label", attrs={"for": form.find("textarea", attrs={"name": "description"})["id"]})
    assert label.get_text(strip=True) == "Descrizione"

    tracking = _tracking_token(await _send(client, "/segnala", kept))  # sent again, as it was
    assert _submission(client, tracking)["data"]["process"]["description"] == DESCRIPTION


async def test_a_login_refused_for_csrf_keeps_the_username_and_never_writes_the_password_back(client):
    await login_as(client)  # creates a staff member and a session
    client.cookies.clear()
    await client.get("/redazione/accesso")
    refused = await _send(
        client,
        "/redazione/accesso",
        {"_csrf_token": "falso", "username": "mario", "password": "segreta12345"},
    )
    assert refused.status_code == 403
    assert "segreta12345" not in refused.text
    page = soup(refused)
    assert form_values(page, "form.resend-form")["username"] == "mario"
    assert not page.select_one("form.resend-form input[type=password][name=password]").has_attr("value")


async def test_an_editors_save_refused_for_csrf_keeps_the_typing(client):
    process = process_row(client, PATTI)
    await login_as(client)
    path = f"/redazione/processi/{process['id']}/modifica"
    form = form_values(soup(await client.get(path)), "form.process-form")
    refused = await _send(client, path, {**form, "_csrf_token": "scaduto", "summary": "Sintesi riscritta."})
    assert refused.status_code == 403
    kept = form_values(soup(refused), "form.resend-form")
    assert kept["summary"] == "Sintesi riscritta." and kept["versione"] == form["versione"]
    assert (await _send(client, path, kept)).status_code == 303
    assert process_row(client, PATTI)["summary"] == "Sintesi riscritta."


async def test_a_form_too_large_comes_back_with_the_typing_to_shorten(client):
    token = await form_token(client, "/segnala")
    typed = submission_form(token, description="x" * 300_000, conferma="1", azione="invia")
    refused = await _send(client, "/segnala", typed)
    assert refused.status_code == 413
    assert "Il modulo è troppo grande: al massimo 256 kB" in _shown_text(refused)
    kept = form_values(soup(refused), "form.resend-form")
    assert kept["description"] == "x" * 300_000 and kept["nome"] == typed["nome"]
    tracking = _tracking_token(await _send(client, "/segnala", {**kept, "description": "x" * 4_000}))
    assert _submission(client, tracking)["data"]["process"]["description"] == "x" * 4_000

    huge = await _send(client, "/segnala", {**typed, "description": "x" * 1_100_000})
    assert huge.status_code == 413 and "dimensione massima" in huge.text  # too big to read at all


# --- refused by the page: withdrawal, decisions and amendments meanwhile ----------------------


async def test_a_correction_of_a_process_withdrawn_meanwhile_keeps_the_typing(client):
    path = f"/processi/{PATTI}/correzione"
    page = soup(await client.get(path))
    typed = form_values(page, "form.process-form") | {
        "title": "Patti con il titolo giusto",
        "nota": "Il titolo è cambiato nel 2020.",
        "nome": "Lucia Verdi",
        "email": "lucia@example.org",
        "privacy": "1",
    }
    visitor = await _jar(client)
    await login_as(client)
    process = process_row(client, PATTI)
    token = await form_token(client)
    withdrawn = await _send(
        client, f"/redazione/processi/{process['id']}/ritira", {"_csrf_token": token, "motivo": "Doppione."}
    )
    assert withdrawn.status_code == 303
    client.cookies = visitor
    refused = await _send(client, path, typed)
    assert refused.status_code == 410
    text = _shown_text(refused)
    assert "è stato ritirato dal catalogo (Doppione.)" in text and "nuova segnalazione" in text
    page = soup(refused)
    assert page.select_one("form.process-form")["action"] == "/segnala"
    kept = form_values(page, "form.process-form")
    assert kept["title"] == "Patti con il titolo giusto" and kept["nome"] == "Lucia Verdi"
    assert page.select_one("#nota-conservata").get_text() == "Il titolo è cambiato nel 2020."


async def test_an_amendment_after_a_rejection_keeps_the_typing(client):
    tracking = await _submit(client, title="Orti di Borgoquercia")
    page = soup(await client.get(f"/segnala/{tracking}"))
    typed = form_values(page, "form.process-form") | {"description": DESCRIPTION}
    submitter = await _jar(client)
    await login_as(client)
    submission = _submission(client, tracking)
    token = await form_token(client)
    rejected = await _send(
        client,
        f"/redazione/segnalazioni/{submission['id']}/respingi",
        {"_csrf_token": token, "motivo": "Non è un processo partecipativo."},
    )
    assert rejected.status_code == 303
    client.cookies = submitter
    refused = await _send(client, f"/segnala/{tracking}", typed)
    assert refused.status_code == 409
    assert "non si può più modificare" in _shown_text(refused)
    page = soup(refused)
    assert page.select_one("form.process-form")["action"] == "/segnala"
    assert form_values(page, "form.process-form")["description"] == DESCRIPTION
    assert _submission(client, tracking)["data"]["process"].get("description") is None


async def test_an_amendment_from_an_older_page_is_refused_and_kept(client):
    tracking = await _submit(client, title="Orti di Borgoquercia")
    page = soup(await client.get(f"/segnala/{tracking}"))
    first_tab = form_values(page, "form.process-form")
    second_tab = dict(first_tab)
    saved = await _send(client, f"/segnala/{tracking}", {**first_tab, "start_year": "2021"})
    assert saved.status_code == 303
    refused = await _send(client, f"/segnala/{tracking}", {**second_tab, "description": DESCRIPTION})
    assert refused.status_code == 409 and "modificata da un'altra pagina" in _shown_text(refused)
    kept = form_values(soup(refused), "form.process-form")
    assert kept["description"] == DESCRIPTION and kept["versione"] == str(int(first_tab["versione"]) + 1)
    assert (await _send(client, f"/segnala/{tracking}", kept)).status_code == 303
    proposed = _submission(client, tracking)["data"]["process"]
    assert proposed["description"] == DESCRIPTION and proposed.get("start_year") is None  # the tab's own


# --- corrections against the version they were written on ---------------------------------------


async def _correction_against_old_version(client) -> tuple[dict, dict, dict]:
    """A visitor opens the correction form of PATTI; an editor then changes its title and summary;
    the visitor sends a new title and a new start year. Return (process, submission, editor cookies)."""
    process = process_row(client, PATTI)
    path = f"/processi/{PATTI}/correzione"
    typed = form_values(soup(await client.get(path)), "form.process-form")
    assert typed["versione"] == str(process["version"])
    visitor = await _jar(client)
    await login_as(client)
    editor = await _jar(client)
    edit = f"/redazione/processi/{process['id']}/modifica"
    form = form_values(soup(await client.get(edit)), "form.process-form")
    edited = {**form, "title": "Patti: il titolo della redazione", "summary": "Sintesi della redazione."}
    assert (await _send(client, edit, {**edited, "azione": "salva"})).status_code == 303
    client.cookies = visitor
    typed |= {
        "title": "Patti: il titolo di chi segnala",
        "start_year": "2014",
        "nota": "Titolo e anno.",
        **SUBMITTER,
        "privacy": "1",
        "azione": "invia",
    }
    tracking = _tracking_token(await _send(client, path, typed))
    client.cookies = editor
    return process, _submission(client, tracking), editor


async def test_a_correction_proposes_only_what_its_sender_changed_and_flags_conflicts(client):
    process, submission, _ = await _correction_against_old_version(client)
    assert submission["data"]["base_version"] == process["version"]
    review = soup(await client.get(f"/redazione/segnalazioni/{submission['id']}"))
    rows = review.select("#modulo-approva-correzione table.diff tbody tr")
    shown = {row.th.label.get_text(strip=True): row for row in rows}
    assert set(shown) == {"Titolo", "Anno di avvio"}  # the summary the editor changed is not proposed
    title, year = shown["Titolo"], shown["Anno di avvio"]
    assert "conflict" in title["class"] and "Conflitto" in title.get_text()
    assert process["title"] in title.th.get_text()  # the value the sender started from
    assert not title.select_one("input[name=campi]").has_attr("checked")
    assert year.select_one("input[name=campi]").has_attr("checked")

    form = form_values(review, "#modulo-approva-correzione")
    approved = await _send(client, f"/redazione/segnalazioni/{submission['id']}/approva", form)
    assert approved.status_code == 303
    now = process_row(client, PATTI)
    assert (now["title"], now["summary"], now["start_year"]) == (
        "Patti: il titolo della redazione",
        "Sintesi della redazione.",
        2014,
    )


async def test_approving_a_correction_after_the_process_changed_again_is_refused(client):
    process, submission, editor = await _correction_against_old_version(client)
    review = soup(await client.get(f"/redazione/segnalazioni/{submission['id']}"))
    form = form_values(review, "#modulo-approva-correzione")
    edit = f"/redazione/processi/{process['id']}/modifica"
    current = form_values(soup(await client.get(edit)), "form.process-form")
    assert (
        await _send(client, edit, {**current, "start_year": "2013", "azione": "salva"})
    ).status_code == 303
    refused = await _send(client, f"/redazione/segnalazioni/{submission['id']}/approva", form)
    assert refused.status_code == 409
    assert "La scheda pubblicata è cambiata mentre esaminavi la correzione" in _shown_text(refused)
    assert process_row(client, PATTI)["start_year"] == 2013
    rows = soup(refused).select("#modulo-approva-correzione table.diff tbody tr")
    year = next(row for row in rows if "Anno di avvio" in row.th.get_text())
    assert "conflict" in year["class"] and not year.select_one("input").has_attr("checked")


async def test_edit_and_approve_refuses_a_submission_amended_since_and_keeps_the_typing(client):
    tracking = await _submit(client, title="Orti di Borgoquercia")
    submitter = await _jar(client)
    await login_as(client)
    submission = _submission(client, tracking)
    path = f"/redazione/segnalazioni/{submission['id']}/modifica"
    editors_form = form_values(soup(await client.get(path)), "form.process-form")
    assert editors_form["versione"] == str(submission["version"])
    editor = await _jar(client)

    client.cookies = submitter
    amend = form_values(soup(await client.get(f"/segnala/{tracking}")), "form.process-form")
    assert (await _send(client, f"/segnala/{tracking}", {**amend, "start_year": "2021"})).status_code == 303

    client.cookies = editor
    typed = {**editors_form, "description": "La descrizione della redazione.", "azione": "salva"}
    refused = await _send(client, path, typed)
    assert refused.status_code == 409
    assert "Chi l'ha inviata ha modificato la segnalazione" in _shown_text(refused)
    assert _submission(client, tracking)["state"] == "in_attesa"
    page = soup(refused)
    kept = form_values(page, "form.process-form")
    assert kept["description"] == "La descrizione della redazione."
    compared = {row.th.label.get_text(strip=True) for row in page.select("section.conflicts tbody tr")}
    assert compared == {"Descrizione", "Anno di avvio"}

    again = await _send(client, path, {**kept, "usa_salvato": ["start_year"], "azione": "salva"})
    assert again.status_code == 303
    process_id = _submission(client, tracking)["process"]
    published = run_in_app(client, lambda: Process.select().where(Process.id == process_id).first())
    assert (published["description"], published["start_year"]) == ("La descrizione della redazione.", 2021)
