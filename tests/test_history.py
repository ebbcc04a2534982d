"""Undoing and showing changes through the real app: republishing a withdrawn process, the version
every process has before its first change (imported ones included), withdrawing only after a
confirmation, and the public history of a process (public fields only, with Italian dates)."""

from __future__ import annotations

import asyncio
import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from conftest import app_client
from helpers import (
    PATTI,
    SUBMITTER,
    audit_entries,
    card_slugs,
    form_token,
    form_values,
    login_as,
    observatory_command,
    process_row,
    record,
    rows,
    run_in_app,
    soup,
    write_import,
)

from observatory.catalogue import services, transfer
from observatory.curation import services as curation
from observatory.curation.revisions import import_file
from observatory.curation.tables import ProcessRevision
from observatory.database import write_transaction
from observatory.submissions.tables import Submission

pytestmark = pytest.mark.anyio

MONTHS = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre".split()
)
#: Values put in fields the public never sees: none may reach the public history.
SECRET_NOTE = "Nota riservata ventisettequercia"
SECRET_REFERENCE = "rif-riservato-42"


async def _post(client, path: str, data: dict | None = None):
    token = await form_token(client)
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


async def _edit(client, process_id: int, **changes: str):
    """Open the edit form of a process, change some fields, post it."""
    path = f"/redazione/processi/{process_id}/modifica"
    data = form_values(soup(await client.get(path)), "form.process-form")
    data.update(changes, azione="salva")
    return await client.post(path, data=data, follow_redirects=False)


def _revisions(client, process_id: int) -> list[dict]:
    return rows(client, ProcessRevision, ProcessRevision.process == process_id, order=ProcessRevision.number)


async def _api_slugs(client, **params) -> list[str]:
    response = await client.get("/api/v1/processi", params={"per_pagina": "100", **params})
    assert response.status_code == 200
    return [item["slug"] for item in response.json()["items"]]


def _italian(moment: datetime.datetime) -> str:
    local = moment.astimezone(ZoneInfo("Europe/Rome"))
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} alle {local.hour:02d}:{local.minute:02d}"


def _save_editors_fields(client, process_id: int, staff: dict, **changes) -> None:
    """Change fields of a process the public form does not have, as the editors' services do."""

    async def save():
        async with write_transaction():
            detail = await services.process_detail(process_id)
            await curation.save_change(detail, changes, staff, "processo.modifica", "Note della redazione")

    run_in_app(client, save)


# --- republishing ------------------------------------------------------------------------------------


async def test_withdrawn_process_is_republished_and_found_everywhere_again(client):
    process = process_row(client, PATTI)
    query = {"q": "Patti amministrazione condivisa Piemonte"}
    assert _revisions(client, process["id"]) == []  # imported before versions were kept at import
    editor = await login_as(client)
    withdrawn = await _post(
        client, f"/redazione/processi/{process['id']}/ritira", {"motivo": "Scheda doppia."}
    )
    assert withdrawn.status_code == 303
    assert (await client.get(f"/processi/{PATTI}")).status_code == 410
    assert (await client.get(f"/processi/{PATTI}/storia")).status_code == 410
    assert PATTI not in await _api_slugs(client, **query)

    # the version before the withdrawal is kept, so nothing is lost
    revisions = _revisions(client, process["id"])
    assert [(r["number"], r["actor"]) for r in revisions] == [(1, None), (2, editor["id"])]
    assert revisions[0]["data"]["title"] == process["title"]
    assert revisions[1]["summary"] == "Ritirato dal catalogo: Scheda doppia."

    listing = soup(await client.get("/redazione/processi", params={"q": "Patti per l"}))
    link = listing.find("a", href=f"/redazione/processi/{process['id']}/ripubblica")
    assert link is not None and link.get_text(" ", strip=True).startswith("Ripubblica")
    page = soup(await client.get(f"/redazione/processi/{process['id']}/ripubblica"))
    assert "Scheda doppia." in page.get_text()
    confirm = form_values(page, "form[action$='/ripubblica']")
    assert confirm["versione"] == str(process["version"] + 1)

    response = await client.post(
        f"/redazione/processi/{process['id']}/ripubblica", data=confirm, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/redazione/processi/{process['id']}/versioni?fatto=ripubblicato"
    # back at once, before any background round: page, history, API, search, lists, exports
    assert (await client.get(f"/processi/{PATTI}")).status_code == 200
    assert (await client.get(f"/processi/{PATTI}/storia")).status_code == 200
    assert (await client.get(f"/api/v1/processi/{PATTI}")).status_code == 200
    assert PATTI in await _api_slugs(client, **query)
    assert PATTI in card_slugs(soup(await client.get("/processi", params=query)))
    assert PATTI in card_slugs(soup(await client.get("/enti/comune-di-chieri")))
    assert PATTI in {p["slug"] for p in run_in_app(client, transfer.export_catalogue)["processes"]}
    now = process_row(client, PATTI)
    assert (now["publication"], now["withdrawal_reason"], now["title"]) == (
        "published",
        None,
        process["title"],
    )

    entry = audit_entries(client, "processo.ripubblica")[-1]
    assert entry["actor"] == editor["id"] and entry["object_id"] == str(process["id"])
    assert entry["before"] == {"publication": "withdrawn", "withdrawal_reason": "Scheda doppia."}
    assert entry["after"] == {"publication": "published", "withdrawal_reason": None}
    assert _revisions(client, process["id"])[-1]["summary"] == "Ripubblicato nel catalogo"

    # published already: refused, nothing changes; an older version can be restored again
    again = await client.post(
        f"/redazione/processi/{process['id']}/ripubblica", data=confirm, follow_redirects=False
    )
    assert again.status_code == 409 and len(audit_entries(client, "processo.ripubblica")) == 1
    assert (await _edit(client, process["id"], title="Patti dopo la ripubblicazione")).status_code == 303
    restored = await _post(client, f"/redazione/processi/{process['id']}/versioni/1/ripristina")
    assert restored.status_code == 303 and process_row(client, PATTI)["title"] == process["title"]


async def test_republishing_from_a_page_opened_before_another_change_is_refused(client):
    process = process_row(client, PATTI)
    path = f"/redazione/processi/{process['id']}"
    await login_as(client)

    async def opened(action: str) -> dict:
        return form_values(soup(await client.get(f"{path}/{action}")), f"form[action$='/{action}']")

    withdraw = {**await opened("ritira"), "motivo": "Doppia."}
    assert (await client.post(f"{path}/ritira", data=withdraw, follow_redirects=False)).status_code == 303
    stale, fresh = await opened("ripubblica"), await opened("ripubblica")
    assert (await client.post(f"{path}/ripubblica", data=fresh, follow_redirects=False)).status_code == 303
    withdraw = {**await opened("ritira"), "motivo": "Di nuovo doppia."}
    assert (await client.post(f"{path}/ritira", data=withdraw, follow_redirects=False)).status_code == 303

    refused = await client.post(f"{path}/ripubblica", data=stale, follow_redirects=False)
    assert refused.status_code == 409
    assert "è cambiato da quando hai aperto questa pagina" in refused.text
    assert process_row(client, PATTI)["publication"] == "withdrawn"
    assert len(audit_entries(client, "processo.ripubblica")) == 1


async def test_two_editors_republishing_at_once_republish_once(client):
    process = process_row(client, PATTI)
    editor = await login_as(client)
    run_in_app(client, curation.withdraw, process["id"], "Doppia.", editor)
    version = process_row(client, PATTI)["version"]

    async def both():
        return await asyncio.gather(
            curation.republish(process["id"], editor, version=version),
            curation.republish(process["id"], editor, version=version),
            return_exceptions=True,
        )

    outcomes = run_in_app(client, both)
    assert sorted(type(o).__name__ for o in outcomes) == ["CurationRefused", "NoneType"]
    assert len(audit_entries(client, "processo.ripubblica")) == 1
    assert [r["summary"] for r in _revisions(client, process["id"])][-2:] == [
        "Ritirato dal catalogo: Doppia.",
        "Ripubblicato nel catalogo",
    ]
    assert process_row(client, PATTI)["publication"] == "published"


# --- withdrawing asks first ----------------------------------------------------------------------------


async def test_withdrawing_needs_the_confirmation_page_and_stands_apart_in_every_row(client):
    process = process_row(client, PATTI)
    await login_as(client)
    listing = soup(await client.get("/redazione/processi"))
    assert not listing.select("form[action$='/ritira']")  # no one-click withdrawal
    for row in listing.select("table tbody tr"):
        withdraw = row.select_one("a[href$='/ritira']")
        if withdraw is None:
            continue
        harmless = row.select_one("a[href$='/versioni']")
        # in a cell of its own, the row's last, styled as a danger, apart from "Versioni"
        assert withdraw.find_parent("td") is row.find_all("td")[-1]
        assert harmless.find_parent("td") is not withdraw.find_parent("td")
        assert "danger-action" in withdraw["class"]
        names = [a.get_text(" ", strip=True) for a in row.select("a")]
        assert len(names) == len(set(names))
    names = [a.get_text(" ", strip=True) for a in listing.select("a[href$='/ritira']")]
    assert len(names) == len(set(names)) and all(n.startswith("Ritira") for n in names)

    versions = soup(await client.get(f"/redazione/processi/{process['id']}/versioni"))
    assert not versions.select("form[action$='/ritira']")
    page = soup(await client.get(f"/redazione/processi/{process['id']}/ritira"))
    form = page.select_one("form[action$='/ritira']")
    assert form.select_one("textarea[name=motivo][required]") is not None
    assert "danger" in form.select_one("button[type=submit]")["class"]
    refused = await _post(client, f"/redazione/processi/{process['id']}/ritira", {"motivo": ""})
    assert refused.status_code == 400 and "motivo del ritiro: compare sulla scheda" in refused.text
    assert process_row(client, PATTI)["publication"] == "published"


# --- a version before the first change ---------------------------------------------------------------


async def test_an_imported_process_has_its_version_1_at_once_and_reverting_to_it_restores_it(
    empty_db_url, tmp_path
):
    imported = record(
        title="Consulta dei giovani di Chieri",
        summary="La sintesi importata.",
        start_year=2019,
        territories=["C001078"],
        quality_notes="Note di qualità importate.",
        source_ref="consulta-chieri",
    )
    code, output = await observatory_command(
        empty_db_url, tmp_path / "index", "import", str(write_import(tmp_path, [imported]))
    )
    assert code == 0, output
    async with app_client(empty_db_url, tmp_path) as client:
        process = process_row(client, "consulta-dei-giovani-di-chieri")
        first = _revisions(client, process["id"])
        assert [(r["number"], r["summary"], r["actor"]) for r in first] == [(1, "Importato", None)]
        assert first[0]["data"]["summary"] == "La sintesi importata."
        assert first[0]["data"]["quality_notes"] == "Note di qualità importate."
        assert first[0]["version"] == process["version"]

        editor = await login_as(client)
        edited = await _edit(client, process["id"], summary="Sintesi della redazione.", start_year="2020")
        assert edited.status_code == 303, edited.text
        _save_editors_fields(client, process["id"], editor, quality_notes="Note cambiate.")
        assert [r["number"] for r in _revisions(client, process["id"])] == [1, 2, 3]

        restored = await _post(client, f"/redazione/processi/{process['id']}/versioni/1/ripristina")
        assert restored.status_code == 303
        now = process_row(client, "consulta-dei-giovani-di-chieri")
        assert (now["summary"], now["start_year"], now["quality_notes"]) == (
            "La sintesi importata.",
            2019,
            "Note di qualità importate.",
        )
        detail = (await client.get("/api/v1/processi/consulta-dei-giovani-di-chieri")).json()
        assert detail["summary"] == "La sintesi importata." and detail["start_year"] == 2019

    # importing it again is a change too: recorded as the next version
    again = record(**{**imported, "summary": "La sintesi importata di nuovo."})
    again_file = write_import(tmp_path, [again], name="di-nuovo.json")
    code, output = await observatory_command(empty_db_url, tmp_path / "index", "import", str(again_file))
    assert code == 0, output
    async with app_client(empty_db_url, tmp_path) as client:
        last = _revisions(client, process["id"])[-1]
        assert (last["number"], last["summary"]) == (5, "Aggiornato da un'importazione")
        assert last["data"]["summary"] == "La sintesi importata di nuovo."


async def test_a_process_imported_without_versions_keeps_its_state_before_every_first_change(
    client, tmp_path
):
    """The demo catalogue was imported without versions, as databases from before versions at import:
    the first edit, withdrawal or import of each process stores its state before as version 1."""
    edited, withdrawn, reimported = (
        process_row(client, slug)
        for slug in (PATTI, "opencoesione", "bilancio-partecipativo-bologna-2019-20")
    )
    for process in (edited, withdrawn, reimported):
        assert _revisions(client, process["id"]) == []
    await login_as(client)
    assert (await _edit(client, edited["id"], title="Patti: titolo nuovo")).status_code == 303
    assert (
        await _post(client, f"/redazione/processi/{withdrawn['id']}/ritira", {"motivo": "Doppia."})
    ).status_code == 303
    exported = {p["slug"]: p for p in run_in_app(client, transfer.export_catalogue)["processes"]}
    changed = {**exported[reimported["slug"]], "summary": "Sintesi da un'altra importazione."}
    report = run_in_app(client, import_file, write_import(tmp_path, [changed]))  # as the command does
    assert report.written and report.updated == 1

    for process, summary in (
        (edited, "Modifica della redazione"),
        (withdrawn, "Ritirato dal catalogo: Doppia."),
        (reimported, "Aggiornato da un'importazione"),
    ):
        revisions = _revisions(client, process["id"])
        assert [r["number"] for r in revisions] == [1, 2] and revisions[1]["summary"] == summary
        assert revisions[0]["data"]["title"] == process["title"]
        assert revisions[0]["data"]["summary"] == process["summary"]
        assert revisions[0]["at"] == process["updated_at"]


# --- the public history ------------------------------------------------------------------------------


async def test_public_history_lists_published_versions_with_public_fields_only(client):
    process = process_row(client, PATTI)
    editor = await login_as(client)
    # a correction from the public, approved: the submitter's data stays with the editors
    path = f"/processi/{PATTI}/correzione"
    token = await form_token(client, path)
    data = form_values(soup(await client.get(path)), "form#modulo-segnalazione")
    data.update(_csrf_token=token, **SUBMITTER, privacy="1", azione="invia", nota="Nota del segnalante.")
    data.update(summary="Sintesi corretta dal comune.")
    assert (await client.post(path, data=data, follow_redirects=False)).status_code == 303
    submission = run_in_app(
        client, lambda: Submission.select().order_by(Submission.id, ascending=False).first()
    )
    approved = await _post(
        client,
        f"/redazione/segnalazioni/{submission['id']}/approva",
        {"correzione": "1", "campi": ["summary"]},
    )
    assert approved.status_code == 303, approved.text
    # fields the public never sees, changed alone and then together with a public one
    _save_editors_fields(
        client, process["id"], editor, quality_notes=SECRET_NOTE, source_ref=SECRET_REFERENCE
    )
    _save_editors_fields(client, process["id"], editor, quality_notes=SECRET_NOTE + " (bis)", start_year=2016)
    assert (
        await _edit(client, process["id"], title="Patti per i beni comuni in Piemonte")
    ).status_code == 303

    response = await client.get(f"/processi/{PATTI}/storia")
    assert response.status_code == 200
    html = response.text
    for private in (
        SECRET_NOTE,
        SECRET_REFERENCE,
        SUBMITTER["nome"],
        SUBMITTER["email"],
        editor["display_name"],
        "Nota del segnalante.",
    ):
        assert private not in html
    page = soup(response)
    sections = page.select("section.revision")
    changed = [[row.th.get_text(strip=True) for row in s.select("table.diff tbody tr")] for s in sections]
    # the version that changed only editors' fields is not a published change
    assert changed == [["Titolo"], ["Anno di avvio"], ["Sintesi"], []]
    assert "Prima versione" in sections[-1].h2.get_text()
    cells = [td.get_text(" ", strip=True) for td in sections[0].select("table.diff tbody td")]
    assert cells == [process["title"], "Patti per i beni comuni in Piemonte"]
    assert "attuale" in sections[0].h2.get_text()

    # dates: each version's moment, in Italian local time
    revisions = _revisions(client, process["id"])
    shown = [r for r in revisions if r["number"] in (1, 2, 4, 5)][::-1]
    for section, revision in zip(sections, shown, strict=True):
        time = section.h2.find("time")
        assert datetime.datetime.fromisoformat(time["datetime"]) == revision["at"]
        assert time.get_text(strip=True) == _italian(revision["at"])
    assert re.fullmatch(r"\d{1,2} [a-z]+ \d{4} alle \d{2}:\d{2}", sections[0].h2.time.get_text(strip=True))

    # the process page links it; no JavaScript needed
    process_page = soup(await client.get(f"/processi/{PATTI}"))
    link = process_page.select_one("section[aria-labelledby=storia] a[href]")
    assert link["href"] == f"/processi/{PATTI}/storia"
    assert not page.select("script:not([type='application/ld+json'])[src*='storia']")


async def test_public_history_of_an_unchanged_process_says_when_it_was_published(client):
    process = process_row(client, PATTI)
    response = await client.get(f"/processi/{PATTI}/storia")
    assert response.status_code == 200
    text = soup(response).select_one("main").get_text(" ", strip=True)
    assert f"è stata pubblicata, il {_italian(process['published_at'])}" in text
    assert (await client.get("/processi/nessun-processo-con-questo-nome/storia")).status_code == 404


async def test_public_history_follows_an_old_slug_and_answers_410_once_withdrawn(client):
    process = process_row(client, PATTI)
    editor = await login_as(client)
    _save_editors_fields(client, process["id"], editor, slug="patti-piemonte")
    moved = await client.get(f"/processi/{PATTI}/storia", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == "/processi/patti-piemonte/storia"
    assert (
        await _post(client, f"/redazione/processi/{process['id']}/ritira", {"motivo": "Doppia."})
    ).status_code == 303
    gone = await client.get("/processi/patti-piemonte/storia")
    assert gone.status_code == 410 and "Doppia." in gone.text
