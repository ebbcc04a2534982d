"""Curating the published catalogue through the real app: edits and their revisions, reverts,
withdrawals, organisation merges, vocabulary terms, and the audit log."""

from __future__ import annotations

import httpx
import pytest
from helpers import (
    OPENCOESIONE,
    PATTI,
    audit_entries,
    card_slugs,
    form_token,
    form_values,
    login_as,
    process_row,
    run_in_app,
    soup,
)

from observatory.accounts.tables import AuditEntry
from observatory.catalogue import services, transfer
from observatory.catalogue.checks import References
from observatory.catalogue.editing import save_process
from observatory.catalogue.records import to_record
from observatory.catalogue.tables import Organisation, Process, ProcessOrganisation, Term
from observatory.catalogue.validation import validate_process
from observatory.curation.tables import ProcessRevision
from observatory.database import write_transaction

pytestmark = pytest.mark.anyio


async def _post(client, path: str, data: dict | None = None):
    token = await form_token(client)
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


async def _edit(client, process_id: int, **changes: str):
    """Open the edit form of a process, change some fields, post it."""
    path = f"/redazione/processi/{process_id}/modifica"
    page = await client.get(path)
    assert page.status_code == 200
    data = form_values(soup(page), "form.process-form")
    data.update(changes, azione="salva")
    return await client.post(path, data=data, follow_redirects=False)


async def _api_slugs(client, **params) -> list[str]:
    response = await client.get("/api/v1/processi", params={"per_pagina": "100", **params})
    assert response.status_code == 200
    return [item["slug"] for item in response.json()["items"]]


# --- editing, revisions, reverting --------------------------------------------------------------------


async def test_edit_publishes_at_once_and_records_a_revision_with_its_differences(client):
    process = process_row(client, PATTI)
    editor = await login_as(client)
    form = soup(await client.get(f"/redazione/processi/{process['id']}/modifica"))
    assert form.find(attrs={"name": "title"})["value"] == process["title"]
    assert "Chieri (TO)" in form.find(attrs={"name": "territories"}).get_text()

    response = await _edit(
        client, process["id"], summary="Sintesi rivista dalla redazione quinquefoglio.", start_year="2016"
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/redazione/processi/{process['id']}/versioni?fatto=modificato"
    edited = process_row(client, PATTI)
    assert (edited["summary"], edited["start_year"], edited["title"]) == (
        "Sintesi rivista dalla redazione quinquefoglio.",
        2016,
        process["title"],
    )
    assert edited["updated_at"] > process["updated_at"]
    assert [
        i["slug"]
        for i in (await client.get("/api/v1/processi", params={"q": "quinquefoglio"})).json()["items"]
    ] == [PATTI]

    history = soup(await client.get(f"/redazione/processi/{process['id']}/versioni"))
    assert [h.get_text(" ", strip=True) for h in history.select("section.revision h2")] == [
        "Versione 2 attuale",
        "Versione 1",
    ]
    rows = {
        row.th.get_text(strip=True): [td.get_text(" ", strip=True) for td in row.find_all("td")]
        for row in history.select_one("section.revision").select("table.diff tbody tr")
    }
    assert set(rows) == {"Sintesi", "Anno di avvio"}
    assert rows["Anno di avvio"] == ["2017", "2016"]
    assert rows["Sintesi"][1] == "Sintesi rivista dalla redazione quinquefoglio."
    assert history.find("form", action=f"/redazione/processi/{process['id']}/versioni/1/ripristina")
    assert history.find("form", action=f"/redazione/processi/{process['id']}/versioni/2/ripristina") is None
    revisions = run_in_app(
        client,
        lambda: (
            ProcessRevision.select()
            .where(ProcessRevision.process == process["id"])
            .order_by(ProcessRevision.number)
        ),
    )
    assert [(r["number"], r["actor"]) for r in revisions] == [(1, None), (2, editor["id"])]
    entry = audit_entries(client, "processo.modifica")[-1]
    assert entry["before"]["summary"] == process["summary"] and entry["after"]["start_year"] == 2016


async def test_edit_with_errors_keeps_what_was_typed_and_changes_nothing(client):
    process = process_row(client, PATTI)
    await login_as(client)
    response = await _edit(client, process["id"], title="", end_year="1800")
    assert response.status_code == 400
    page = soup(response)
    assert page.select_one(".error-summary")
    assert page.find(attrs={"name": "end_year"})["value"] == "1800"
    assert process_row(client, PATTI)["title"] == process["title"]
    assert run_in_app(client, lambda: ProcessRevision.count()) == 0


async def test_revert_restores_the_old_values_as_a_new_revision(client):
    process = process_row(client, PATTI)
    await login_as(client)
    assert (
        await _edit(client, process["id"], title="Patti: titolo sbagliato", end_year="2019")
    ).status_code == 303
    assert (await client.get(f"/processi/{PATTI}")).status_code == 200  # the slug stays
    response = await _post(client, f"/redazione/processi/{process['id']}/versioni/1/ripristina")
    assert response.status_code == 303
    restored = process_row(client, PATTI)
    assert (restored["title"], restored["end_year"]) == (process["title"], process["end_year"])
    history = soup(await client.get(f"/redazione/processi/{process['id']}/versioni"))
    latest = history.select_one("section.revision")
    assert "Versione 3" in latest.h2.get_text() and "Ripristinata la versione 1" in latest.get_text()
    changed = {row.th.get_text(strip=True) for row in latest.select("table.diff tbody tr")}
    assert changed == {"Titolo", "Anno di chiusura"}
    assert audit_entries(client, "processo.ripristina")[-1]["after"]["title"] == process["title"]
    missing = await _post(client, f"/redazione/processi/{process['id']}/versioni/9/ripristina")
    assert missing.status_code == 409 and "La versione 9 di questo processo non esiste." in missing.text


# --- withdrawing ------------------------------------------------------------------------------------------


async def test_withdrawn_process_disappears_everywhere_and_its_page_says_why(client):
    process = process_row(client, PATTI)
    query = {"q": "Patti amministrazione condivisa Piemonte"}
    assert PATTI in await _api_slugs(client, **query)
    await login_as(client)
    refused = await _post(client, f"/redazione/processi/{process['id']}/ritira", {"motivo": "  "})
    assert refused.status_code == 400 and process_row(client, PATTI)["publication"] == "published"

    response = await _post(
        client,
        f"/redazione/processi/{process['id']}/ritira",
        {"motivo": "Scheda doppia di un altro processo."},
    )
    assert response.status_code == 303
    page = await client.get(f"/processi/{PATTI}")
    assert page.status_code == 410 and "Scheda doppia di un altro processo." in page.text
    assert (await client.get(f"/api/v1/processi/{PATTI}")).status_code == 410
    assert PATTI not in card_slugs(soup(await client.get("/processi", params=query)))
    assert PATTI not in await _api_slugs(client, **query)
    assert PATTI not in await _api_slugs(client, titolare="comune-di-chieri")
    assert PATTI not in {p["slug"] for p in run_in_app(client, transfer.export_catalogue)["processes"]}
    organisation = soup(await client.get("/enti/comune-di-chieri"))
    assert PATTI not in card_slugs(organisation)
    entry = audit_entries(client, "processo.ritira")[-1]
    assert entry["after"] == {
        "publication": "withdrawn",
        "withdrawal_reason": "Scheda doppia di un altro processo.",
    }
    assert (await _edit_form_status(client, process["id"])) == 409
    again = await _post(client, f"/redazione/processi/{process['id']}/ritira", {"motivo": "Di nuovo."})
    assert again.status_code == 409


async def _edit_form_status(client, process_id: int) -> int:
    return (await client.get(f"/redazione/processi/{process_id}/modifica")).status_code


# --- organisations ---------------------------------------------------------------------------------------


def _organisation_processes(client, slug: str) -> list[tuple[int, str]]:
    return run_in_app(
        client,
        lambda: ProcessOrganisation.select(ProcessOrganisation.process, ProcessOrganisation.role).where(
            ProcessOrganisation.organisation.slug == slug
        ),
    )


async def test_merging_organisations_moves_processes_without_doubles_and_redirects(client):
    chieri = {(r["process"], r["role"]) for r in _organisation_processes(client, "comune-di-chieri")}
    torino = {(r["process"], r["role"]) for r in _organisation_processes(client, "comune-di-torino")}
    patti = process_row(client, PATTI)["id"]
    assert (patti, "titolare") in chieri & torino
    union = {process for process, _ in chieri | torino}
    await login_as(client, "amministratore")

    confirm = await _post(
        client, "/redazione/enti/unisci", {"da": "Comune di Chieri", "in": "comune-di-torino"}
    )
    assert confirm.status_code == 200
    text = soup(confirm).select_one("#conferma").find_parent("section").get_text(" ", strip=True)
    moving = len({p for p, _ in chieri} - {p for p, _ in torino})
    assert f"{moving} process" in text and f"partecipa a {len(union)} process" in text
    assert run_in_app(client, lambda: Organisation.exists().where(Organisation.slug == "comune-di-chieri"))

    response = await _post(
        client,
        "/redazione/enti/unisci",
        {"da": "comune-di-chieri", "in": "comune-di-torino", "conferma": "1"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/redazione/enti/unisci?fatto=uniti&ente=comune-di-torino"
    assert not run_in_app(
        client, lambda: Organisation.exists().where(Organisation.slug == "comune-di-chieri")
    )
    merged = {(r["process"], r["role"]) for r in _organisation_processes(client, "comune-di-torino")}
    assert merged == chieri | torino  # as a set: no doubled link
    assert len(_organisation_processes(client, "comune-di-torino")) == len(merged)
    holders = (await client.get(f"/api/v1/processi/{PATTI}")).json()["decision_holders"]
    assert [h["slug"] for h in holders].count("comune-di-torino") == 1
    assert "comune-di-chieri" not in [h["slug"] for h in holders]

    old = await client.get("/enti/comune-di-chieri", follow_redirects=False)
    assert old.status_code == 301 and old.headers["location"] == "/enti/comune-di-torino"
    api_old = await client.get("/api/v1/enti/comune-di-chieri", follow_redirects=False)
    assert api_old.status_code == 301
    organisation = (await client.get("/api/v1/enti/comune-di-torino")).json()
    assert organisation["process_count"] == len(union)
    assert "Comune di Chieri" in organisation["alt_names"]
    assert (await client.get("/api/v1/processi", params={"titolare": "comune-di-torino"})).json()[
        "total"
    ] == len({p for p, role in merged if role == "titolare"})
    entry = audit_entries(client, "ente.unisci")[-1]
    assert entry["before"]["source"]["slug"] == "comune-di-chieri"
    assert entry["after"]["target"]["processes"] == len(union)

    again = await _post(
        client,
        "/redazione/enti/unisci",
        {"da": "comune-di-torino", "in": "comune-di-torino", "conferma": "1"},
    )
    assert again.status_code == 400 and "non si può unire a sé stesso" in again.text


async def test_merged_organisation_is_still_found_by_its_old_name(client):
    query = {"q": "Lazio Innova"}
    moved = {r["process"] for r in _organisation_processes(client, "lazio-innova-s-p-a")}
    slugs = run_in_app(
        client, lambda: Process.select(Process.slug).where(Process.id.is_in(list(moved))).output(as_list=True)
    )
    assert len(slugs) == 8 and set(slugs) <= set(await _api_slugs(client, **query))
    await login_as(client, "amministratore")
    response = await _post(
        client, "/redazione/enti/unisci", {"da": "lazio-innova-s-p-a", "in": "Regione Lazio", "conferma": "1"}
    )
    assert response.status_code == 303, response.text
    assert set(slugs) <= set(await _api_slugs(client, **query))
    assert set(slugs) <= set(await _api_slugs(client, ente="regione-lazio"))


# --- vocabularies ----------------------------------------------------------------------------------------


def _term(client, vocabulary: str, slug: str) -> dict | None:
    return run_in_app(
        client, lambda: Term.select().where(Term.vocabulary == vocabulary, Term.slug == slug).first()
    )


async def test_vocabulary_terms_are_created_renamed_reordered_and_deleted_only_when_unused(client):
    await login_as(client, "amministratore")
    page = soup(await client.get("/redazione/vocabolari"))
    assert page.select_one("#vocabolario-ambito")
    response = await _post(
        client,
        "/redazione/vocabolari",
        {"vocabolario": "tematica", "etichetta": "Orti urbani", "descrizione": ""},
    )
    assert response.status_code == 303
    created = _term(client, "tematica", "orti-urbani")
    assert created["label"] == "Orti urbani"
    doubled = await _post(
        client, "/redazione/vocabolari", {"vocabolario": "tematica", "etichetta": "orti  URBANI"}
    )
    assert doubled.status_code == 400 and "c'è già" in soup(doubled).select_one(".alert").get_text()
    assert "orti-urbani" in [t["slug"] for t in (await client.get("/api/v1/vocabolari")).json()["tematica"]]

    # reorder: up one place
    terms = [t["slug"] for t in (await client.get("/api/v1/vocabolari")).json()["tematica"]]
    assert terms[-1] == "orti-urbani"
    assert (
        await _post(client, f"/redazione/vocabolari/{created['id']}/sposta", {"direzione": "su"})
    ).status_code == 303
    terms = [t["slug"] for t in (await client.get("/api/v1/vocabolari")).json()["tematica"]]
    assert terms[-2] == "orti-urbani"

    # rename a term in use: the search facets show the new label at once
    theme = _term(client, "ambito", "assetto-istituzionale")
    response = await _post(
        client,
        f"/redazione/vocabolari/{theme['id']}",
        {"etichetta": "Istituzioni e governo", "descrizione": ""},
    )
    assert response.status_code == 303
    facets = (await client.get("/api/v1/processi", params={"ambito": "assetto-istituzionale"})).json()[
        "facets"
    ]
    labels = {option["value"]: option["label"] for option in facets["ambito"]}
    assert labels["assetto-istituzionale"] == "Istituzioni e governo"
    page = soup(await client.get("/processi"))
    assert "Istituzioni e governo" in page.select_one(".filters").get_text()
    assert (await client.get(f"/api/v1/processi/{PATTI}")).json()["theme"]["label"] == "Istituzioni e governo"

    # delete: refused while used unless the processes move to another term, done when unused
    used = run_in_app(client, lambda: Process.count().where(Process.theme == theme["id"]))
    refused = await _post(client, f"/redazione/vocabolari/{theme['id']}/elimina", {"conferma": "1"})
    assert refused.status_code == 400
    assert f"è usato da {used} processi" in soup(refused).select_one(".alert").get_text()
    assert _term(client, "ambito", "assetto-istituzionale") is not None
    deleted = await _post(client, f"/redazione/vocabolari/{created['id']}/elimina", {"conferma": "1"})
    assert deleted.status_code == 303
    assert _term(client, "tematica", "orti-urbani") is None
    actions = [
        e["action"]
        for e in run_in_app(client, lambda: AuditEntry.select(AuditEntry.action).order_by(AuditEntry.id))
    ]
    assert actions[-4:] == ["termine.crea", "termine.ordina", "termine.modifica", "termine.elimina"]
    rename = audit_entries(client, "termine.modifica")[-1]
    assert rename["before"]["label"] != rename["after"]["label"] == "Istituzioni e governo"


# --- the audit log ---------------------------------------------------------------------------------------


async def test_audit_log_shows_before_and_after_to_admins_only(client):
    process = process_row(client, PATTI)
    await login_as(client, "redattore", username="giulia")
    assert (
        await _edit(client, process["id"], summary="Una sintesi nuova per il registro.")
    ).status_code == 303
    assert (await client.get("/redazione/registro")).status_code == 403
    await login_as(client, "amministratore")
    page = soup(await client.get("/redazione/registro", params={"azione": "processo.modifica"}))
    entry = page.select_one("article.audit-entry")
    assert entry.h3.get_text() == "Processo modificato" and "Prova Giulia" in entry.get_text()
    changes = {row.th.get_text(strip=True): row for row in entry.select("table tbody tr")}
    assert changes["Sintesi"].select_one(".before").get_text(strip=True) == process["summary"]
    assert (
        changes["Sintesi"].select_one(".after").get_text(strip=True) == "Una sintesi nuova per il registro."
    )


async def test_a_save_returns_the_record_the_database_then_holds(client):
    """Revisions and audit entries store the record a save returns, without reading it back: it
    must be the one the tables then give, organisations under their preferred names."""
    published = process_row(client, OPENCOESIONE)

    async def save_and_read() -> tuple[dict, dict]:
        refs = await References.load()
        detail = await services.process_detail(published["id"])
        record = to_record(detail) | {
            "decision_holders": ["Città di Torino", "Comune di Torino", "Un Ente Mai Visto Prima"],
            "organisations": [{"name": "Comune di Chieri", "role": "partner"}, "Comune di Chieri"],
            "territories": ["C001078", "R01"],
            "links": [{"url": "https://www.esempio.example/pagina"}],
            "topics": [],
            "updated_at": None,
        }
        async with write_transaction():
            _, saved = await save_process(validate_process(record, refs), refs, existing=detail)
        return saved, to_record(await services.process_detail(published["id"]))

    saved, read_back = run_in_app(client, save_and_read)
    assert saved == read_back
    assert saved["decision_holders"] == ["Comune di Torino", "Un Ente Mai Visto Prima"]
    assert saved["organisations"] == [{"name": "Comune di Chieri", "role": "partner"}]
    assert saved["links"] == [{"label": "www.esempio.example", "url": "https://www.esempio.example/pagina"}]
    assert saved["funding"]["phases"], "the funded phases of OpenCoesione are kept"


# --- two editors at once ------------------------------------------------------------------------------


async def _session(client, role: str = "redattore") -> httpx.Cookies:
    """Log a new staff member in; return the session's cookies (the client's are then replaced)."""
    client.cookies.clear()
    await login_as(client, role)
    return httpx.Cookies(client.cookies)


async def _open_form(client, cookies, process_id: int) -> dict:
    client.cookies = cookies
    page = await client.get(f"/redazione/processi/{process_id}/modifica")
    assert page.status_code == 200
    return form_values(soup(page), "form.process-form")


async def _save(client, cookies, process_id: int, form: dict, **changes):
    client.cookies = cookies
    data = {**form, **changes, "azione": "salva"}
    return await client.post(f"/redazione/processi/{process_id}/modifica", data=data, follow_redirects=False)


async def test_a_save_against_an_older_version_is_merged_not_lost(client):
    process = process_row(client, PATTI)
    anna, bruno = await _session(client), await _session(client)
    form_a = await _open_form(client, anna, process["id"])
    form_b = await _open_form(client, bruno, process["id"])
    assert form_a["versione"] == form_b["versione"] == str(process["version"])

    saved = await _save(client, anna, process["id"], form_a, title="Patti torrefatti di Anna")
    assert saved.status_code == 303
    refused = await _save(client, bruno, process["id"], form_b, summary="La sintesi riscritta da Bruno.")
    assert refused.status_code == 409
    page = soup(refused)
    assert "ha salvato una nuova versione" in page.get_text() and "nulla è stato salvato" in page.get_text()
    assert "Il modulo ha già le sue modifiche a: Titolo" in page.get_text()
    assert page.select_one("section.conflicts") is None  # nothing changed on both sides
    shown = form_values(page, "form.process-form")
    assert shown["title"] == "Patti torrefatti di Anna"  # Anna's change, merged in
    assert shown["summary"] == "La sintesi riscritta da Bruno."  # Bruno's typing, kept
    assert shown["versione"] == str(process["version"] + 1)
    assert process_row(client, PATTI)["summary"] == process["summary"]  # nothing saved yet

    again = await _save(client, bruno, process["id"], shown)
    assert again.status_code == 303
    now = process_row(client, PATTI)
    assert (now["title"], now["summary"]) == ("Patti torrefatti di Anna", "La sintesi riscritta da Bruno.")
    assert now["version"] == process["version"] + 2


async def test_a_field_both_editors_changed_is_a_conflict_they_choose(client):
    process = process_row(client, PATTI)
    anna, bruno = await _session(client), await _session(client)
    form_a = await _open_form(client, anna, process["id"])
    form_b = await _open_form(client, bruno, process["id"])
    assert (await _save(client, anna, process["id"], form_a, title="Titolo di Anna")).status_code == 303
    refused = await _save(client, bruno, process["id"], form_b, title="Titolo di Bruno", start_year="2015")
    assert refused.status_code == 409
    page = soup(refused)
    rows = page.select("section.conflicts table.diff tbody tr")
    assert [row.th.label.get_text(strip=True) for row in rows] == ["Titolo"]
    assert [td.get_text(strip=True) for td in rows[0].find_all("td")][1:] == [
        "Titolo di Anna",
        "Titolo di Bruno",
    ]
    checkbox = rows[0].select_one("input[name=usa_salvato]")
    assert checkbox["value"] == "title" and not checkbox.has_attr("checked")
    shown = form_values(page, "form.process-form")
    assert shown["title"] == "Titolo di Bruno" and shown["start_year"] == "2015"

    # Bruno keeps Anna's title and his own year
    again = await _save(client, bruno, process["id"], {**shown, "usa_salvato": ["title"]})
    assert again.status_code == 303
    now = process_row(client, PATTI)
    assert (now["title"], now["start_year"]) == ("Titolo di Anna", 2015)


async def test_a_save_without_the_version_it_was_opened_on_is_refused(client):
    process = process_row(client, PATTI)
    cookies = await _session(client)
    form = await _open_form(client, cookies, process["id"])
    del form["versione"]
    refused = await _save(client, cookies, process["id"], form, title="Titolo senza versione")
    assert refused.status_code == 409
    assert process_row(client, PATTI)["title"] == process["title"]


async def test_withdrawing_or_reverting_a_process_changed_meanwhile_is_refused(client):
    process = process_row(client, PATTI)
    anna, bruno = await _session(client), await _session(client)
    client.cookies = bruno
    withdraw_page = soup(await client.get(f"/redazione/processi/{process['id']}/ritira"))
    withdraw_form = form_values(withdraw_page, "form[action$='/ritira']")
    assert (await _edit(client, process["id"], title="Patti: prima modifica")).status_code == 303
    history = soup(await client.get(f"/redazione/processi/{process['id']}/versioni"))
    revert_form = form_values(history, "form[action$='/versioni/1/ripristina']")

    form_a = await _open_form(client, anna, process["id"])
    assert (
        await _save(client, anna, process["id"], form_a, title="Patti: titolo di Anna")
    ).status_code == 303

    client.cookies = bruno
    path = f"/redazione/processi/{process['id']}"
    refused = await client.post(
        f"{path}/ritira", data={**withdraw_form, "motivo": "Scheda doppia."}, follow_redirects=False
    )
    assert refused.status_code == 409
    page = soup(refused)
    assert "è cambiato da quando hai aperto questa pagina" in page.get_text()
    shown = form_values(page, "form[action$='/ritira']")
    assert shown["motivo"] == "Scheda doppia." and shown["versione"] == str(process["version"] + 2)
    assert process_row(client, PATTI)["publication"] == "published"

    reverted = await client.post(f"{path}/versioni/1/ripristina", data=revert_form, follow_redirects=False)
    assert reverted.status_code == 409 and "è cambiato da quando hai aperto" in reverted.text
    assert process_row(client, PATTI)["title"] == "Patti: titolo di Anna"

    assert (await client.post(f"{path}/ritira", data=shown, follow_redirects=False)).status_code == 303


async def test_editor_changes_a_project_of_a_participatory_budget_and_the_revision_shows_it(client):
    slug = "bilancio-partecipativo-bologna-2019-20"
    process = process_row(client, slug)
    await login_as(client)
    form = soup(await client.get(f"/redazione/processi/{process['id']}/modifica"))
    first_title = form.find(attrs={"name": "projects.1.title"})["value"]
    assert first_title and form.find(attrs={"name": "projects.32.title"}) is not None
    response = await _edit(
        client, process["id"], **{"projects.1.amount": "12.345,67", "projects.1.state": "realizzato"}
    )
    assert response.status_code == 303, response.text
    project = (await client.get(f"/api/v1/processi/{slug}")).json()["projects"][0]
    assert (project["title"], str(project["amount"]), project["state"]) == (
        first_title,
        "12345.67",
        "realizzato",
    )
    history = soup(await client.get(f"/redazione/processi/{process['id']}/versioni")).get_text(
        " ", strip=True
    )
    assert "Progetti e proposte" in history
    refused = await _edit(
        client, process["id"], **{"projects.1.latitude": "45.4642", "projects.1.longitude": "9.19"}
    )
    assert refused.status_code == 400
    assert "cade nel comune di Milano, fuori dai territori del processo" in refused.text
