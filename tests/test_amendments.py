"""Moderation clarity through the real app: what a submitter's amendment changed, amended
submissions in the queue, a status line that tells how each submission got where it is, and open
submissions that likely duplicate each other."""

from __future__ import annotations

import asyncio
import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from browsing import PASSWORD, TIMEOUT_MS, wcag_violations
from helpers import (
    PATTI,
    form_token,
    login_as,
    rows,
    run_in_app,
    soup,
    submission_form,
)

from observatory.submissions import moderation
from observatory.submissions.services import find_by_token
from observatory.submissions.tables import Submission, SubmissionVersion

pytest_plugins = ["browsing", "smtp_server"]

MONTHS = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre".split()
)
TITLE = "Orti condivisi di Borgoquercia"
FIRST = {
    "title": TITLE,
    "description": "Un orto condiviso nato da un patto.",
    "decision_holders": "Comune di Chieri",
    "territories": "Chieri (TO)",
    "start_year": "2022",
}


async def _submit(client, path: str = "/segnala", **fields: str) -> str:
    """Send the public form (past the duplicate warning); return the private tracking token."""
    token = await form_token(client, path)
    response = await client.post(
        path, data=submission_form(token, fields, conferma="1", azione="invia"), follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return re.fullmatch(r"/segnala/([A-Za-z0-9_-]+)\?inviata=1", response.headers["location"]).group(1)


async def _amend(client, tracking: str, **fields: str) -> None:
    """Amend a submission on its tracking page, sending ``fields`` as the whole form."""
    token = await form_token(client, f"/segnala/{tracking}")
    data = submission_form(token, fields, azione="modifica")
    response = await client.post(f"/segnala/{tracking}", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text


def _submission(client, tracking: str) -> dict:
    return run_in_app(client, find_by_token, tracking)


async def _staff_post(client, path: str, data: dict | None = None):
    token = await form_token(client, "/redazione")
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


async def _review(client, submission_id: int):
    response = await client.get(f"/redazione/segnalazioni/{submission_id}")
    assert response.status_code == 200, response.text
    return soup(response)


def _diff_rows(table) -> dict[str, list[str]]:
    return {
        row.th.get_text(strip=True): [td.get_text(" ", strip=True) for td in row.find_all("td")]
        for row in table.select("tbody tr")
    }


def _italian(moment: datetime.datetime) -> str:
    local = moment.astimezone(ZoneInfo("Europe/Rome"))
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} alle {local.hour:02d}:{local.minute:02d}"


def _status(page) -> str:
    return page.select_one("#stato").find_next("dd").get_text(" ", strip=True)


# --- what the amendment changed --------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_review_shows_exactly_the_fields_the_submitter_changed(client):
    tracking = await _submit(client, **FIRST)
    submission = _submission(client, tracking)
    await login_as(client)
    review = await _review(client, submission["id"])
    assert review.select_one("#modifiche-segnalante") is None  # nothing amended yet
    asked = await _staff_post(
        client,
        f"/redazione/segnalazioni/{submission['id']}/richiedi-modifiche",
        {"messaggio": "Indicate l'anno di chiusura."},
    )
    assert asked.status_code == 303

    await _amend(
        client,
        tracking,
        **{
            **FIRST,
            "description": "Un orto condiviso nato da un patto di collaborazione.",
            "territories": "Chieri (TO)\nTorino",
            "end_year": "2023",
        },
    )
    review = await _review(client, submission["id"])
    section = review.select_one("section[aria-labelledby=modifiche-segnalante]")
    changed = _diff_rows(section.select_one("table.diff"))
    assert set(changed) == {"Descrizione", "Territori interessati", "Anno di chiusura"}
    assert changed["Descrizione"] == [
        "Un orto condiviso nato da un patto.",
        "Un orto condiviso nato da un patto di collaborazione.",
    ]
    assert changed["Anno di chiusura"] == ["—", "2023"]
    assert changed["Territori interessati"] == ["nessun elemento tolto", "aggiunto: Torino (C001272)"]
    assert "dopo la richiesta di modifiche" in section.get_text()
    assert section.select("details") == []

    # a second amendment: the newest shows what it changed alone, the first one stays below
    await _amend(
        client,
        tracking,
        **{
            **FIRST,
            "title": "Orti condivisi di Borgoquercia e Pessione",
            "description": "Un orto condiviso nato da un patto di collaborazione.",
            "territories": "Chieri (TO)\nTorino",
            "end_year": "2023",
        },
    )
    section = (await _review(client, submission["id"])).select_one(
        "section[aria-labelledby=modifiche-segnalante]"
    )
    assert _diff_rows(section.select_one("table.diff")) == {
        "Titolo": ["Orti condivisi di Borgoquercia", "Orti condivisi di Borgoquercia e Pessione"]
    }
    (older,) = section.select("details")
    assert set(_diff_rows(older.select_one("table.diff"))) == {
        "Descrizione",
        "Territori interessati",
        "Anno di chiusura",
    }

    kept = rows(client, SubmissionVersion, SubmissionVersion.submission == submission["id"])
    assert [(k["version"], k["state"]) for k in kept] == [(2, "modifiche_richieste"), (3, "in_attesa")]
    assert kept[0]["data"] == submission["data"]  # the first version, exactly as it was sent
    assert kept[1]["data"]["process"]["end_year"] == 2023


@pytest.mark.anyio
async def test_an_amended_correction_shows_its_note_and_fields_changed(client):
    path = f"/processi/{PATTI}/correzione"
    tracking = await _submit(
        client, path, title="Patti in Piemonte", summary="Sintesi proposta.", nota="Titolo."
    )
    await _amend(
        client, tracking, title="Patti in Piemonte", summary="Sintesi ripensata.", nota="Titolo e sintesi."
    )
    await login_as(client)
    review = await _review(client, _submission(client, tracking)["id"])
    changed = _diff_rows(review.select_one("section[aria-labelledby=modifiche-segnalante] table.diff"))
    assert changed == {
        "Sintesi": ["Sintesi proposta.", "Sintesi ripensata."],
        "Cosa correggi e perché": ["Titolo.", "Titolo e sintesi."],
    }


@pytest.mark.anyio
async def test_two_amendments_at_once_keep_one_replaced_version(client):
    tracking = await _submit(client, **FIRST)
    submission = _submission(client, tracking)
    sent = submission["data"]["process"]

    async def both():
        return await asyncio.gather(
            moderation.amend(submission, {**sent, "end_year": 2023}, version=submission["version"]),
            moderation.amend(submission, {**sent, "end_year": 2024}, version=submission["version"]),
            return_exceptions=True,
        )

    outcomes = run_in_app(client, both)
    assert sorted(type(o).__name__ for o in outcomes) == ["SubmissionChanged", "dict"]
    (kept,) = rows(client, SubmissionVersion, SubmissionVersion.submission == submission["id"])
    assert kept["data"] == submission["data"] and kept["version"] == 1
    assert _submission(client, tracking)["version"] == 2


# --- the queue -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_queue_marks_amended_submissions_and_filters_them(client):
    untouched = _submission(client, await _submit(client, title="Consulta dei giovani di Pessione"))
    tracking = await _submit(client, **FIRST)
    amended = _submission(client, tracking)
    await _amend(client, tracking, **{**FIRST, "end_year": "2023"})
    await login_as(client)

    queue = soup(await client.get("/redazione"))

    def row_of(page, submission_id):
        link = page.find("a", href=f"/redazione/segnalazioni/{submission_id}")
        return link.find_parent("tr") if link else None

    assert "Modificata dal segnalante" in row_of(queue, amended["id"]).get_text()
    assert "Modificata dal segnalante" not in row_of(queue, untouched["id"]).get_text()
    assert queue.select_one("#filtro-modificate:not([checked])") is not None

    only = await client.get("/redazione", params={"modificate": "1"})
    page = soup(only)
    assert row_of(page, amended["id"]) is not None and row_of(page, untouched["id"]) is None
    assert page.select_one("#filtro-modificate[checked]") is not None
    assert (
        page.find("h2", attrs={"aria-live": "polite"}).get_text(" ", strip=True).startswith("1 segnalazione")
    )

    api = await client.get("/api/v1/redazione/segnalazioni", params={"modificate": "1"})
    assert api.status_code == 200
    (item,) = api.json()["items"]
    kept = rows(client, SubmissionVersion, SubmissionVersion.submission == amended["id"])
    assert item["id"] == amended["id"]
    assert datetime.datetime.fromisoformat(item["amended_at"]) == kept[0]["replaced_at"]
    everything = (await client.get("/api/v1/redazione/segnalazioni")).json()["items"]
    assert {i["id"]: i["amended_at"] is None for i in everything} == {
        untouched["id"]: True,
        amended["id"]: False,
    }
    wrong = await client.get("/api/v1/redazione/segnalazioni", params={"modificate": "si"})
    assert wrong.status_code == 400 and wrong.json()["fields"][0]["field"] == "modificate"


# --- the status line ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_status_line_tells_how_each_submission_got_to_its_state(client):
    editor = await login_as(client)
    name = editor["display_name"]
    tracking = await _submit(client, **FIRST)
    submission = _submission(client, tracking)
    assert _status(await _review(client, submission["id"])) == "In attesa"

    await _staff_post(
        client, f"/redazione/segnalazioni/{submission['id']}/richiedi-modifiche", {"messaggio": "L'anno?"}
    )
    asked = _submission(client, tracking)["decided_at"]
    assert _status(await _review(client, submission["id"])) == (
        f"Modifiche richieste (chieste il {_italian(asked)} da {name}: "
        "si attendono le modifiche di chi l'ha inviata)"
    )

    await _amend(client, tracking, **{**FIRST, "end_year": "2023"})
    (kept,) = rows(client, SubmissionVersion, SubmissionVersion.submission == submission["id"])
    status = _status(await _review(client, submission["id"]))
    assert status == (
        f"In attesa (modificata dal segnalante il {_italian(kept['replaced_at'])}, dopo la richiesta di "
        f"modifiche del {_italian(asked)} di {name}) Modificata dal segnalante"
    )
    assert "deciso" not in status

    assert (
        await _staff_post(client, f"/redazione/segnalazioni/{submission['id']}/approva")
    ).status_code == 303
    approved = _submission(client, tracking)["decided_at"]
    assert _status(await _review(client, submission["id"])) == (
        f"Approvata (il {_italian(approved)} da {name}) Modificata dal segnalante"
    )

    # amended while still waiting, with nothing asked: no request to mention
    other = await _submit(client, title="Consulta dei giovani di Pessione")
    await _amend(client, other, title="Consulta dei giovani di Pessione", start_year="2020")
    other_id = _submission(client, other)["id"]
    (kept,) = rows(client, SubmissionVersion, SubmissionVersion.submission == other_id)
    assert _status(await _review(client, other_id)) == (
        f"In attesa (modificata dal segnalante il {_italian(kept['replaced_at'])}) Modificata dal segnalante"
    )

    for path, form, said in (
        ("respingi", {"motivo": "Non è un processo."}, "Respinta (il {} da {})"),
        ("duplicato", {"processo_altro": PATTI}, "Duplicato (segnata il {} da {})"),
    ):
        closed = _submission(client, await _submit(client, title=f"Segnalazione da chiudere: {path}"))
        assert (
            await _staff_post(client, f"/redazione/segnalazioni/{closed['id']}/{path}", form)
        ).status_code == 303
        (decided,) = rows(client, Submission, Submission.id == closed["id"])
        assert _status(await _review(client, closed["id"])) == said.format(
            _italian(decided["decided_at"]), name
        )


# --- open submissions that duplicate each other --------------------------------------------------------


@pytest.mark.anyio
async def test_two_identical_open_submissions_flag_each_other_in_the_review_and_the_queue(client):
    first = _submission(client, await _submit(client, **FIRST))
    second = _submission(client, await _submit(client, **FIRST))
    near = _submission(client, await _submit(client, **{**FIRST, "title": "Orti condivisi a Borgoquercia"}))
    unrelated = _submission(client, await _submit(client, title="Consulta dei giovani di Pessione"))
    await login_as(client)

    def flagged(page) -> dict[int, str]:
        return {
            int(a["href"].rsplit("/", 1)[1]): a.find_parent("li").get_text(" ", strip=True)
            for a in page.select("ul.pending-duplicates a[href^='/redazione/segnalazioni/']")
        }

    review = flagged(await _review(client, first["id"]))
    assert set(review) == {second["id"], near["id"]}
    assert "titolo simile" in review[second["id"]] and "stesso titolare" in review[second["id"]]
    assert set(flagged(await _review(client, second["id"]))) == {first["id"], near["id"]}
    assert set(flagged(await _review(client, near["id"]))) == {first["id"], second["id"]}
    lone = await _review(client, unrelated["id"])
    assert flagged(lone) == {} and "Nessun'altra segnalazione aperta somiglia a questa." in lone.get_text()

    queue = soup(await client.get("/redazione"))
    for submission, twins in ((first, (second, near)), (unrelated, ())):
        row = queue.find("a", href=f"/redazione/segnalazioni/{submission['id']}").find_parent("tr")
        cell = row.find_all("td")[-1]
        assert {int(a["href"].rsplit("/", 1)[1]) for a in cell.select("a")} == {t["id"] for t in twins}
    items = {i["id"]: i for i in (await client.get("/api/v1/redazione/segnalazioni")).json()["items"]}
    assert {d["id"] for d in items[second["id"]]["pending_duplicates"]} == {first["id"], near["id"]}
    assert "titolo simile" in items[second["id"]]["pending_duplicates"][0]["reasons"]

    # a closed submission is no longer an open duplicate
    rejected = await _staff_post(
        client, f"/redazione/segnalazioni/{second['id']}/respingi", {"motivo": "Doppia."}
    )
    assert rejected.status_code == 303
    assert set(flagged(await _review(client, first["id"]))) == {near["id"]}


# --- in a browser ------------------------------------------------------------------------------------


def _visitor_submits(browser, server: str, title: str) -> str:
    """A visitor sends the public form; return the private tracking address."""
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(server + "/segnala")
    page.fill("#campo-title", title)
    page.fill("#campo-decision-holders", "Comune di Chieri")
    page.fill("#campo-territories", "Chieri (TO)")
    page.fill("#campo-nome", "Lucia Bianchi")
    page.fill("#campo-ente", "Comune di Chieri")
    page.fill("#campo-email", "lucia.bianchi@comune.chieri.example")
    page.check("#campo-privacy")
    page.get_by_role("button", name="Invia la segnalazione").click()
    if page.locator("#duplicati").count():
        page.get_by_role("button", name="Invia comunque").first.click()
    page.wait_for_selector("text=Segnalazione ricevuta")
    return page.url.removesuffix("?inviata=1")


#: The elements wider than their box that let their content out (what makes a page scroll sideways).
OVERFLOWING = """[...document.querySelectorAll('*')]
    .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX == 'visible')
    .map(e => `${e.tagName}.${e.className} ${e.scrollWidth}/${e.clientWidth}`)"""


def _no_violation_and_no_sideways_scroll(page, path: str) -> None:
    """axe finds no WCAG 2.1 A/AA violation at 1280 and 320 px, and at 320 px nothing scrolls sideways."""
    problems = []
    for width in (1280, 320):
        page.set_viewport_size({"width": width, "height": 900})
        problems += [f"{path} at {width} px: {line}" for line in wcag_violations(page)]
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    assert scrolled <= 320, f"{path} is {scrolled} px wide at 320 px: {page.evaluate(OVERFLOWING)[:8]}"
    assert not problems, "\n".join(problems)


def test_the_amended_review_the_queue_and_the_public_history_pass_axe_in_a_browser(server, browser):
    """The new pages in Chromium, with what they show filled in: WCAG 2.1 AA, reflow at 320 px."""
    title = "Orti condivisi per la prova del browser"
    tracking = _visitor_submits(browser, server, title)
    _visitor_submits(browser, server, title)
    editor = browser.new_context().new_page()
    editor.set_default_timeout(TIMEOUT_MS)
    editor.goto(server + "/redazione/accesso")
    editor.fill("#username", "rita")
    editor.fill("#password", PASSWORD)
    editor.get_by_role("button", name="Entra").click()
    editor.wait_for_url(server + "/redazione")
    editor.get_by_role("link", name=title).first.click()
    review = editor.url
    editor.fill("#campo-messaggio", "Indicate l'anno di avvio.")
    editor.get_by_role("button", name="Chiedi modifiche").click()
    editor.wait_for_selector("text=Richiesta di modifiche inviata")

    submitter = browser.new_context().new_page()
    submitter.set_default_timeout(TIMEOUT_MS)
    submitter.goto(tracking)
    submitter.fill("#campo-start-year", "2024")
    submitter.get_by_role("button", name="Invia le modifiche").click()
    submitter.wait_for_selector("text=Modifiche ricevute")

    editor.goto(review)
    assert editor.locator("#modifiche-segnalante").count() == 1
    assert editor.locator("ul.pending-duplicates li").count() == 1
    _no_violation_and_no_sideways_scroll(editor, review)
    editor.goto(server + "/redazione?modificate=1")
    assert editor.locator("table.queue .tag", has_text="Modificata dal segnalante").count() == 1
    _no_violation_and_no_sideways_scroll(editor, "/redazione?modificate=1")

    # an edit of a published process, then its public history
    editor.goto(server + "/redazione/processi?q=Patti+per+l")
    editor.get_by_role("link", name="Modifica «Patti per l'Amministrazione condivisa in Piemonte»").click()
    editor.fill("#campo-summary", "Una sintesi nuova per la storia pubblica.")
    editor.get_by_role("button", name="Salva e pubblica").click()
    editor.wait_for_selector("text=Modifiche salvate e pubblicate")
    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(TIMEOUT_MS)
    visitor.goto(server + f"/processi/{PATTI}")
    visitor.get_by_role("link", name="Le versioni pubblicate di questa scheda").click()
    assert visitor.url == f"{server}/processi/{PATTI}/storia"
    assert visitor.locator("table.diff ins", has_text="Una sintesi nuova").count() == 0  # a text, not a list
    assert visitor.locator("table.diff td", has_text="Una sintesi nuova per la storia pubblica.").count() == 1
    _no_violation_and_no_sideways_scroll(visitor, f"/processi/{PATTI}/storia")
