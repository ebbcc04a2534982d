"""The editors' form asks for every field of a process, through the real app: the fields the public
cannot propose (notes, reporting source, credits, slug), a slug change that keeps the old address
as a redirect and refuses a taken one, and the reason of an edit shown in the versions and the
audit log."""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter

import httpx
import pytest
from helpers import (
    OPENCOESIONE,
    PATTI,
    STAFF_PASSWORD,
    audit_entries,
    form_values,
    log_in,
    login_as,
    process_row,
    rows,
    run_in_app,
    serving,
    soup,
)

from observatory.accounts.services import create_staff
from observatory.catalogue import fields
from observatory.catalogue.form_view import field_id
from observatory.catalogue.tables import Process, SlugRedirect, Term
from observatory.curation.services import REASON_LIMIT
from observatory.curation.tables import ProcessRevision

pytestmark = pytest.mark.anyio

#: The fields only the editorial office sets: in the editors' form, never in the public one.
EDITORS_ONLY = [name for name in fields.EDITORIAL_FIELDS if name not in fields.PUBLIC_FIELDS]


async def _edit(client, process_id: int, **changes: str):
    """Open the editors' form of a process, change some fields, post it."""
    path = f"/redazione/processi/{process_id}/modifica"
    page = await client.get(path)
    assert page.status_code == 200
    data = form_values(soup(page), "form.process-form")
    data.update(changes, azione="salva")
    return await client.post(path, data=data, follow_redirects=False)


def _latest_changes(page) -> dict[str, list[str]]:
    """The rows of the newest version's differences: label -> [before, after]."""
    return {
        row.th.get_text(strip=True): [td.get_text(" ", strip=True) for td in row.find_all("td")]
        for row in page.select_one("section.revision").select("table.diff tbody tr")
    }


def _term_id(client, vocabulary: str, slug: str) -> int:
    return run_in_app(
        client,
        lambda: Term.select(Term.id).where(Term.vocabulary == vocabulary, Term.slug == slug).first(),
    )["id"]


async def test_the_editors_form_asks_for_every_field_and_the_public_form_does_not(client):
    assert {"slug", "reporting_source", "quality_notes", "regional_call_notes"} <= set(EDITORS_ONLY)
    assert set(fields.BY_NAME) - set(fields.EDITORIAL_FIELDS) == {"created_at", "updated_at", "published_at"}
    process = process_row(client, PATTI)
    await login_as(client)
    form = soup(await client.get(f"/redazione/processi/{process['id']}/modifica")).select_one(
        "form.process-form"
    )
    for name in [*EDITORS_ONLY, "credits", "reported_by", "title"]:
        control = form.find(attrs={"name": name})
        assert control is not None, name
        label = form.find("label", attrs={"for": field_id(name)})
        assert label.get_text(" ", strip=True).startswith(fields.LABELS[name]), name
    assert form.find(attrs={"name": "slug"})["value"] == PATTI
    assert form.select_one("fieldset#sezione-redazione legend").get_text(strip=True) == "Dati della redazione"
    sources = [o["value"] for o in form.select("select[name=reporting_source] option") if o["value"]]
    assert "segnalazione-web-nazionale" in sources
    assert form.find(attrs={"name": "motivo"})["maxlength"] == str(REASON_LIMIT)

    public = soup(await client.get("/segnala")).select_one("form#modulo-segnalazione")
    for name in EDITORS_ONLY:
        assert public.find(attrs={"name": name}) is None, name
    assert public.select_one("fieldset#sezione-redazione") is None
    assert public.find(attrs={"name": "credits"}) is not None  # the public may propose credits


async def test_each_field_the_form_lacked_is_saved_and_shown_in_the_versions(client):
    process = process_row(client, PATTI)
    await login_as(client)
    response = await _edit(
        client,
        process["id"],
        quality_notes="Certificato dal Tecnico di Garanzia il 3 marzo 2020.",
        regional_call_notes="Ammesso al bando regionale 2019, graduatoria n. 4.",
        reporting_source="bando-regionale",
        credits="Laboratorio di cittadinanza del liceo Monti",
        source_ref="redazione:patti-1",
    )
    assert response.status_code == 303, response.text
    saved = process_row(client, PATTI)
    assert saved["quality_notes"] == "Certificato dal Tecnico di Garanzia il 3 marzo 2020."
    assert saved["regional_call_notes"] == "Ammesso al bando regionale 2019, graduatoria n. 4."
    assert saved["reporting_source"] == _term_id(client, "fonte", "bando-regionale")
    assert saved["credits"] == "Laboratorio di cittadinanza del liceo Monti"
    assert saved["source_ref"] == "redazione:patti-1"

    changes = _latest_changes(soup(await client.get(f"/redazione/processi/{process['id']}/versioni")))
    assert changes["Certificazione di qualità del Tecnico di Garanzia"][1] == (
        "Certificato dal Tecnico di Garanzia il 3 marzo 2020."
    )
    assert changes["Adesione al bando regionale annuale"][1] == (
        "Ammesso al bando regionale 2019, graduatoria n. 4."
    )
    assert changes["Processo segnalato da"][1] == "Bando regionale"
    assert changes["Autori e crediti"][1] == "Laboratorio di cittadinanza del liceo Monti"
    assert changes["Riferimento nella fonte"][1] == "redazione:patti-1"
    assert "Indirizzo (slug)" not in changes

    reopened = form_values(
        soup(await client.get(f"/redazione/processi/{process['id']}/modifica")), "form.process-form"
    )
    assert reopened["reporting_source"] == "bando-regionale"
    assert reopened["quality_notes"] == "Certificato dal Tecnico di Garanzia il 3 marzo 2020."
    detail = (await client.get(f"/api/v1/processi/{PATTI}")).json()
    assert detail["reporting_source"]["slug"] == "bando-regionale"
    assert detail["credits"] == "Laboratorio di cittadinanza del liceo Monti"
    page = (await client.get(f"/processi/{PATTI}")).text
    assert "Ammesso al bando regionale 2019" in page and "Bando regionale" in page


async def test_a_new_slug_redirects_the_old_address_on_the_page_and_the_api(client):
    process = process_row(client, PATTI)
    await login_as(client)
    response = await _edit(client, process["id"], slug="patti-collaborazione-piemonte")
    assert response.status_code == 303, response.text
    assert process_row(client, "patti-collaborazione-piemonte")["id"] == process["id"]

    page = await client.get(f"/processi/{PATTI}", follow_redirects=False)
    assert page.status_code == 301 and page.headers["location"] == "/processi/patti-collaborazione-piemonte"
    api = await client.get(f"/api/v1/processi/{PATTI}", follow_redirects=False)
    assert api.status_code == 301
    assert api.headers["location"] == "/api/v1/processi/patti-collaborazione-piemonte"
    assert (await client.get("/processi/patti-collaborazione-piemonte")).status_code == 200
    found = await client.get("/api/v1/processi", params={"q": "Patti amministrazione condivisa Piemonte"})
    slugs = [item["slug"] for item in found.json()["items"]]
    assert "patti-collaborazione-piemonte" in slugs and PATTI not in slugs
    changes = _latest_changes(soup(await client.get(f"/redazione/processi/{process['id']}/versioni")))
    assert changes["Indirizzo (slug)"] == [PATTI, "patti-collaborazione-piemonte"]

    # back to the first slug: it is the process's own old slug, so it is free for it
    assert (await _edit(client, process["id"], slug=PATTI)).status_code == 303
    assert (await client.get(f"/processi/{PATTI}", follow_redirects=False)).status_code == 200
    back = await client.get("/processi/patti-collaborazione-piemonte", follow_redirects=False)
    assert back.status_code == 301 and back.headers["location"] == f"/processi/{PATTI}"


async def test_a_taken_or_malformed_slug_is_refused_and_the_form_keeps_what_was_typed(client):
    patti, opencoesione = process_row(client, PATTI), process_row(client, OPENCOESIONE)
    await login_as(client)
    typed = {"summary": "Una sintesi scritta mentre si sceglie l'indirizzo."}
    for slug, message in (
        (OPENCOESIONE, f"L'indirizzo «{OPENCOESIONE}» è già usato dal processo «{opencoesione['title']}»"),
        ("Patti Nuovi!", "Solo lettere minuscole, cifre e trattini"),
        ("patti--doppio-trattino", "Solo lettere minuscole, cifre e trattini"),
        ("p" * 161, "al massimo 160 caratteri"),
    ):
        response = await _edit(client, patti["id"], slug=slug, **typed)
        assert response.status_code == 400, slug
        page = soup(response)
        error = page.select_one(f"#{field_id('slug')}-errore")
        assert message in error.get_text(), (slug, error.get_text())
        assert page.select_one(f"#{field_id('slug')}")["aria-invalid"] == "true"
        shown = form_values(page, "form.process-form")
        assert shown["slug"] == slug and shown["summary"] == typed["summary"]
        assert page.select_one(".error-summary a[href='#campo-slug']")
    assert process_row(client, PATTI)["summary"] == patti["summary"]
    assert run_in_app(client, lambda: ProcessRevision.count()) == 0

    # an old slug of another process still leads there: it is not given to this one
    renamed = await _edit(client, opencoesione["id"], slug="opencoesione-portale")
    assert renamed.status_code == 303
    response = await _edit(client, patti["id"], slug=OPENCOESIONE)
    assert response.status_code == 400
    error = soup(response).select_one(f"#{field_id('slug')}-errore").get_text()
    assert f"era del processo «{opencoesione['title']}» e rimanda ancora a quello" in error
    old = await client.get(f"/processi/{OPENCOESIONE}", follow_redirects=False)
    assert old.headers["location"] == "/processi/opencoesione-portale"
    assert process_row(client, PATTI)["slug"] == PATTI


async def test_the_reason_of_an_edit_is_shown_in_the_versions_and_the_audit_log(client):
    process = process_row(client, PATTI)
    await login_as(client)
    reason = "Corretto l'anno di avvio secondo la delibera 12/2016"
    response = await _edit(client, process["id"], start_year="2016", motivo=f"  {reason} ")
    assert response.status_code == 303, response.text
    revision = rows(client, ProcessRevision, ProcessRevision.process == process["id"])[-1]
    assert revision["reason"] == reason
    history = soup(await client.get(f"/redazione/processi/{process['id']}/versioni"))
    latest = history.select_one("section.revision")
    assert latest.select_one(".revision-reason").get_text(" ", strip=True) == f"Motivo: {reason}"
    assert len(history.select(".revision-reason")) == 1  # the version before has none
    entry = audit_entries(client, "processo.modifica")[-1]
    assert entry["summary"] == f"Modifica della redazione. Motivo: {reason}"

    # without a reason: none shown, the summary as before
    assert (await _edit(client, process["id"], start_year="2015")).status_code == 303
    assert audit_entries(client, "processo.modifica")[-1]["summary"] == "Modifica della redazione"
    assert rows(client, ProcessRevision, ProcessRevision.process == process["id"])[-1]["reason"] is None


async def test_a_reason_too_long_or_with_control_characters_is_refused_keeping_the_form(client):
    process = process_row(client, PATTI)
    await login_as(client)
    for reason, message in (
        ("x" * (REASON_LIMIT + 1), f"al massimo {REASON_LIMIT}"),
        ("Motivo con un campanello \x07", "caratteri di controllo"),
    ):
        response = await _edit(client, process["id"], title="Patti rinominati per prova", motivo=reason)
        assert response.status_code == 400
        page = soup(response)
        assert message in page.select_one(f"#{field_id('motivo')}-errore").get_text()
        assert page.select_one(".error-summary").get_text(" ", strip=True).count("Motivo della modifica") == 1
        shown = form_values(page, "form.process-form")
        assert shown["title"] == "Patti rinominati per prova"
    assert process_row(client, PATTI)["title"] == process["title"]
    assert run_in_app(client, lambda: ProcessRevision.count()) == 0


async def test_editors_giving_two_processes_one_slug_at_once_get_one_saved_and_errors(
    client, demo_db_url, tmp_path
):
    """Six editors, each on a different process, save the same new slug at the same moment on a
    server with two workers: one is saved, the others are told the slug is taken; no error 500."""
    slugs = run_in_app(
        client,
        lambda: Process.select(Process.slug).order_by(Process.id).limit(6).output(as_list=True),
    )
    for n in range(6):
        run_in_app(client, create_staff, f"redattore{n}", f"Prova {n}", "redattore", STAFF_PASSWORD)
    shutil.copytree(tmp_path / "index", tmp_path / "server-index")
    async with serving(demo_db_url, tmp_path / "server-index", tmp_path / "server.log", workers=2) as server:
        editors = []
        for n, slug in enumerate(slugs):
            browser = httpx.AsyncClient(base_url=server.base_url, timeout=60)
            await log_in(browser, f"redattore{n}")
            process_id = process_row(client, slug)["id"]
            path = f"/redazione/processi/{process_id}/modifica"
            editors.append((browser, path, form_values(soup(await browser.get(path)), "form.process-form")))
        answers = await asyncio.gather(
            *(
                browser.post(
                    path, data={**form, "slug": "processo-conteso", "azione": "salva"}, follow_redirects=False
                )
                for browser, path, form in editors
            )
        )
        for browser, _, _ in editors:
            await browser.aclose()
    assert Counter(answer.status_code for answer in answers) == {303: 1, 400: 5}
    for answer in answers:
        if answer.status_code == 400:
            error = soup(answer).select_one(f"#{field_id('slug')}-errore").get_text()
            assert "L'indirizzo «processo-conteso» è già usato dal processo" in error
    owners = run_in_app(client, lambda: Process.count().where(Process.slug == "processo-conteso"))
    assert owners == 1
    assert (
        run_in_app(client, lambda: SlugRedirect.count().where(SlugRedirect.old_slug == "processo-conteso"))
        == 0
    )
