"""Moderation through the real app: the whole life of a submission, refused transitions, corrections,
duplicates, who may open /redazione, CSRF, and escaping of what submitters write."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from helpers import (
    PATTI,
    SUBMITTER,
    audit_entries,
    form_token,
    form_values,
    heading_count,
    login_as,
    process_row,
    rows,
    run_in_app,
    soup,
    submission_form,
)

from observatory import database
from observatory.accounts.guards import admin_required, enrolment_allowed, staff_required
from observatory.accounts.tables import AuditEntry
from observatory.catalogue import services, transfer
from observatory.catalogue.fields import PUBLIC_FIELDS
from observatory.catalogue.records import to_record
from observatory.catalogue.tables import Process, Term
from observatory.curation.tables import ProcessRevision
from observatory.submissions import moderation
from observatory.submissions.tables import Submission

pytestmark = pytest.mark.anyio

UNIQUE = "zorbaquinto"
#: Paths of the editorial office that anybody may open: the login (and its two-factor step),
#: logout, a one-time link to choose a password.
PUBLIC_STAFF_PATHS = {
    "/redazione/accesso",
    "/redazione/accesso/codice",
    "/redazione/uscita",
    "/redazione/nuova-password/x",
}
XSS = '<script>alert("xss")</script>"><img src=x onerror=alert(1)>'


# --- helpers -------------------------------------------------------------------------------------


async def _submit(client, path: str = "/segnala", **fields: str) -> str:
    """Send the public form (past the duplicate warning); return the private tracking token."""
    token = await form_token(client, path)
    data = submission_form(token, fields, conferma="1", azione="invia")
    response = await client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return re.fullmatch(r"/segnala/([A-Za-z0-9_-]+)\?inviata=1", response.headers["location"]).group(1)


def _submission(client, tracking: str) -> dict:
    from observatory.submissions.services import find_by_token

    return run_in_app(client, find_by_token, tracking)


async def _staff_post(client, path: str, data: dict | None = None):
    token = await form_token(client)
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


async def _found(client, text: str) -> tuple[int, int]:
    """How many processes /processi and /api/v1/processi find for ``text`` (both read the index)."""
    page = await client.get("/processi", params={"q": text})
    api = await client.get("/api/v1/processi", params={"q": text})
    assert page.status_code == 200 and api.status_code == 200
    return heading_count(soup(page)), api.json()["total"]


def _exported_titles(client) -> set[str]:
    return {p["title"] for p in run_in_app(client, transfer.export_catalogue)["processes"]}


def _count(client, table, *conditions) -> int:
    return run_in_app(client, lambda: table.count().where(*conditions))


def _revisions(client, process_id: int) -> list[dict]:
    return rows(client, ProcessRevision, ProcessRevision.process == process_id, order=ProcessRevision.number)


# --- the whole life -------------------------------------------------------------------------------


async def test_submission_lives_from_pending_to_published_and_found(client):
    title = f"Orti {UNIQUE} di Borgoquercia"
    tracking = await _submit(
        client,
        title=title,
        description="Un orto condiviso nato da un patto.",
        decision_holders="Comune di Chieri",
        territories="Chieri (TO)",
        start_year="2022",
    )
    submission = _submission(client, tracking)
    assert submission["state"] == "in_attesa"

    # pending: invisible in pages, API, search and exports
    assert await _found(client, UNIQUE) == (0, 0)
    assert title not in _exported_titles(client)
    assert _count(client, Process, Process.title == title) == 0
    assert (await client.get("/processi/orti-zorbaquinto-di-borgoquercia")).status_code == 404

    editor = await login_as(client)
    queue = soup(await client.get("/redazione"))
    row = queue.find("a", href=f"/redazione/segnalazioni/{submission['id']}")
    assert row is not None and row.get_text(strip=True) == title
    assert SUBMITTER["ente"] in row.find_parent("tr").get_text()
    review = await client.get(f"/redazione/segnalazioni/{submission['id']}")
    assert review.status_code == 200
    assert SUBMITTER["email"] in review.text  # staff see who sent it

    # the editor asks for changes
    response = await _staff_post(
        client,
        f"/redazione/segnalazioni/{submission['id']}/richiedi-modifiche",
        {"messaggio": "Indicate l'anno di chiusura, per favore."},
    )
    assert response.status_code == 303
    assert (
        response.headers["location"]
        == f"/redazione/segnalazioni/{submission['id']}?fatto=modifiche-richieste"
    )
    tracking_page = soup(await client.get(f"/segnala/{tracking}"))
    assert tracking_page.select_one(".state").get_text(strip=True) == "Modifiche richieste"
    assert "Indicate l'anno di chiusura" in tracking_page.get_text()

    # the submitter amends it through the tracking page
    token = await form_token(client, f"/segnala/{tracking}")
    amended = submission_form(token, title=title, start_year="2022", end_year="2023", azione="modifica")
    amended.update(
        description=f"Un orto condiviso nato da un patto: parola chiave {UNIQUE}.",
        decision_holders="Comune di Chieri",
        territories="Chieri (TO)",
    )
    response = await client.post(f"/segnala/{tracking}", data=amended, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert _submission(client, tracking)["state"] == "in_attesa"
    assert await _found(client, UNIQUE) == (0, 0)

    # the editor approves: published, found at once, in the API and the export
    response = await _staff_post(client, f"/redazione/segnalazioni/{submission['id']}/approva")
    assert response.status_code == 303
    decided = _submission(client, tracking)
    assert decided["state"] == "approvata"
    assert decided["decided_by"] == editor["id"] and decided["decided_at"] is not None
    process = run_in_app(client, lambda: Process.select().where(Process.id == decided["process"]).first())
    assert process["title"] == title and process["end_year"] == 2023
    page = await client.get(f"/processi/{process['slug']}")
    assert page.status_code == 200 and soup(page).h1.get_text(strip=True) == title
    assert await _found(client, UNIQUE) == (1, 1)
    detail = (await client.get(f"/api/v1/processi/{process['slug']}")).json()
    assert detail["reporting_source"]["slug"] == moderation.WEB_SOURCE
    assert detail["reported_by"] == SUBMITTER["ente"]
    assert [t["code"] for t in detail["territories"]] == ["C001078"]
    assert title in _exported_titles(client)
    for private in (SUBMITTER["email"], SUBMITTER["nome"]):
        assert private not in page.text
        assert private not in json.dumps(detail)
        assert private not in json.dumps(run_in_app(client, transfer.export_catalogue))
    tracking_page = soup(await client.get(f"/segnala/{tracking}"))
    assert tracking_page.select_one(".state").get_text(strip=True) == "Approvata"

    # a revision and the audit trail
    revisions = _revisions(client, process["id"])
    assert [(r["number"], r["submission"], r["actor"]) for r in revisions] == [
        (1, submission["id"], editor["id"])
    ]
    assert revisions[0]["data"]["title"] == title
    asked, approved = (
        audit_entries(client, "segnalazione.richiedi_modifiche"),
        audit_entries(client, "segnalazione.approva"),
    )
    assert asked[-1]["before"]["state"] == "in_attesa"
    assert asked[-1]["after"] == {
        "state": "modifiche_richieste",
        "editor_message": "Indicate l'anno di chiusura, per favore.",
    }
    assert approved[-1]["actor"] == editor["id"] and approved[-1]["object_id"] == str(submission["id"])
    assert approved[-1]["before"]["process"] is None
    assert approved[-1]["after"]["process"]["title"] == title


async def test_rejected_submission_never_appears_anywhere(client):
    title = f"Bilancio {UNIQUE} respinto"
    tracking = await _submit(client, title=title)
    submission = _submission(client, tracking)
    await login_as(client)
    response = await _staff_post(
        client, f"/redazione/segnalazioni/{submission['id']}/respingi", {"motivo": ""}
    )
    assert response.status_code == 400
    assert _submission(client, tracking)["state"] == "in_attesa"
    response = await _staff_post(
        client,
        f"/redazione/segnalazioni/{submission['id']}/respingi",
        {"motivo": "Non è un processo partecipativo."},
    )
    assert response.status_code == 303
    page = soup(await client.get(f"/segnala/{tracking}"))
    assert page.select_one(".state").get_text(strip=True) == "Respinta"
    assert "Non è un processo partecipativo." in page.get_text()
    assert page.find("form", action=f"/segnala/{tracking}") is None

    processes_before = _count(client, Process)
    response = await _staff_post(client, f"/redazione/segnalazioni/{submission['id']}/approva")
    assert response.status_code == 409
    assert (
        "Non si può approvare una segnalazione nello stato «respinta»"
        in soup(response).select_one(".alert").get_text()
    )
    assert _submission(client, tracking)["state"] == "respinta"
    assert _count(client, Process) == processes_before
    assert await _found(client, UNIQUE) == (0, 0)
    assert title not in _exported_titles(client)


async def test_approving_twice_is_refused_and_changes_nothing(client):
    tracking = await _submit(client, title=f"Patto {UNIQUE} per il parco")
    submission = _submission(client, tracking)
    await login_as(client)
    assert (
        await _staff_post(client, f"/redazione/segnalazioni/{submission['id']}/approva")
    ).status_code == 303
    counts = (_count(client, Process), _count(client, ProcessRevision), _count(client, AuditEntry))
    response = await _staff_post(client, f"/redazione/segnalazioni/{submission['id']}/approva")
    assert response.status_code == 409
    assert "nello stato «approvata»" in response.text
    for action in ("richiedi-modifiche", "respingi"):
        response = await _staff_post(
            client, f"/redazione/segnalazioni/{submission['id']}/{action}", {"messaggio": "x", "motivo": "x"}
        )
        assert response.status_code == 409, action
    assert (_count(client, Process), _count(client, ProcessRevision), _count(client, AuditEntry)) == counts
    assert _submission(client, tracking)["state"] == "approvata"


async def test_editor_can_edit_a_submission_then_approve_it(client):
    tracking = await _submit(client, title=f"Orto {UNIQUE} da correggere", start_year="2021")
    submission = _submission(client, tracking)
    await login_as(client)
    path = f"/redazione/segnalazioni/{submission['id']}/modifica"
    page = soup(await client.get(path))
    assert page.find(attrs={"name": "title"})["value"] == f"Orto {UNIQUE} da correggere"
    data = form_values(page, "form.process-form")
    data.update(title="", azione="salva")
    refused = await client.post(path, data=data, follow_redirects=False)
    assert refused.status_code == 400 and soup(refused).select_one(".error-summary")
    assert _submission(client, tracking)["state"] == "in_attesa"
    data.update(title=f"Orto {UNIQUE} corretto dalla redazione", end_year="2022")
    response = await client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    decided = _submission(client, tracking)
    assert decided["state"] == "approvata"
    process = run_in_app(client, lambda: Process.select().where(Process.id == decided["process"]).first())
    assert (process["title"], process["start_year"], process["end_year"]) == (
        f"Orto {UNIQUE} corretto dalla redazione",
        2021,
        2022,
    )
    assert decided["data"]["process"]["title"] == f"Orto {UNIQUE} da correggere"  # what was sent stays
    assert await _found(client, UNIQUE) == (1, 1)
    again = await client.get(path)
    assert again.status_code == 409 and again.text.count('name="title"') == 0


async def test_approval_that_no_longer_validates_is_refused_and_changes_nothing(client):
    tracking = await _submit(
        client, title=f"Consultazione {UNIQUE} di quartiere", kind="consultazione-pubblica"
    )
    submission = _submission(client, tracking)
    await login_as(client, "amministratore")
    term = run_in_app(client, lambda: Term.select().where(Term.slug == "consultazione-pubblica").first())
    deleted = await _staff_post(client, f"/redazione/vocabolari/{term['id']}/elimina", {"conferma": "1"})
    assert deleted.status_code == 303
    before = _count(client, Process)
    response = await _staff_post(client, f"/redazione/segnalazioni/{submission['id']}/approva")
    assert response.status_code == 400
    assert "Tipo di processo (kind): Valore sconosciuto «consultazione-pubblica»" in response.text
    assert _submission(client, tracking)["state"] == "in_attesa"
    assert _count(client, Process) == before


async def test_two_editors_approving_at_once_publish_once(client):
    tracking = await _submit(client, title=f"Consulta {UNIQUE} dei giovani")
    submission = _submission(client, tracking)
    editor = await login_as(client)

    async def both():
        return await asyncio.gather(
            moderation.approve(submission["id"], editor),
            moderation.approve(submission["id"], editor),
            return_exceptions=True,
        )

    before = _count(client, Process)
    outcomes = run_in_app(client, both)
    assert sorted(type(o).__name__ for o in outcomes) == ["Decision", "TransitionRefused"]
    assert _count(client, Process) == before + 1
    assert len(audit_entries(client, "segnalazione.approva")) == 1


async def test_correction_applies_only_the_fields_the_editor_accepted(client):
    published = process_row(client, PATTI)
    path = f"/processi/{PATTI}/correzione"
    token = await form_token(client, path)
    data = form_values(soup(await client.get(path)), "form#modulo-segnalazione")
    data.update(_csrf_token=token, **SUBMITTER, privacy="1", azione="invia", nota="Date e sintesi.")
    data.update(title="Patti in Piemonte (titolo proposto)", summary="Sintesi corretta.", start_year="2016")
    response = await client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    submission = run_in_app(
        client,
        lambda: Submission.select().order_by(Submission.id, ascending=False).first().output(load_json=True),
    )
    assert submission["kind"] == "correzione" and submission["process"] == published["id"]

    await login_as(client)
    review = soup(await client.get(f"/redazione/segnalazioni/{submission['id']}"))
    offered = [box["value"] for box in review.select("#modulo-approva-correzione input[name=campi]")]
    assert sorted(offered) == ["start_year", "summary", "title"]
    response = await _staff_post(
        client,
        f"/redazione/segnalazioni/{submission['id']}/approva",
        {"correzione": "1", "campi": ["summary"]},
    )
    assert response.status_code == 303, response.text
    after = process_row(client, PATTI)
    assert after["summary"] == "Sintesi corretta."
    assert (after["title"], after["start_year"]) == (published["title"], published["start_year"])
    revisions = _revisions(client, published["id"])
    assert [r["number"] for r in revisions] == [1, 2]
    assert revisions[0]["data"]["summary"] == published["summary"]  # the imported version, kept first
    assert (
        revisions[1]["data"]["summary"] == "Sintesi corretta."
        and revisions[1]["submission"] == submission["id"]
    )
    entry = audit_entries(client, "segnalazione.approva")[-1]
    assert entry["after"]["accepted_fields"] == ["summary"]
    assert entry["before"]["process"]["summary"] == published["summary"]
    assert (await _found(client, '"Sintesi corretta"'))[1] == 1


async def test_duplicate_is_closed_and_chosen_facts_merged_into_the_existing_process(client):
    tracking = await _submit(
        client,
        title="Patti per l'amministrazione condivisa del Piemonte",
        decision_holders="Comune di Torino",
        territories="Torino (TO)",
        start_year="2017",
        **{"links.1.label": "Relazione finale", "links.1.url": "https://esempio.example/relazione.pdf"},
        results="Trenta patti firmati.",
    )
    submission = _submission(client, tracking)
    existing = process_row(client, PATTI)
    links_before = (await client.get(f"/api/v1/processi/{PATTI}")).json()["links"]
    await login_as(client)
    review = soup(await client.get(f"/redazione/segnalazioni/{submission['id']}"))
    assert review.find("input", attrs={"name": "processo", "value": PATTI}) is not None
    response = await _staff_post(
        client,
        f"/redazione/segnalazioni/{submission['id']}/duplicato",
        {"processo": PATTI, "unisci": ["links"]},
    )
    assert response.status_code == 303, response.text
    closed = _submission(client, tracking)
    assert closed["state"] == "duplicato" and closed["duplicate_of"] == existing["id"]
    assert f"/processi/{PATTI}" in closed["editor_message"]
    detail = (await client.get(f"/api/v1/processi/{PATTI}")).json()
    assert detail["links"] == [
        *links_before,
        {"label": "Relazione finale", "url": "https://esempio.example/relazione.pdf"},
    ]
    assert detail["title"] == existing["title"] and detail["results"] == existing["results"]
    assert [r["number"] for r in _revisions(client, existing["id"])] == [1, 2]
    assert (await client.get(f"/segnala/{tracking}")).status_code == 200
    assert (
        soup(await client.get(f"/segnala/{tracking}")).select_one(".state").get_text(strip=True)
        == "Duplicato"
    )
    entry = audit_entries(client, "segnalazione.duplicato")[-1]
    assert entry["after"]["duplicate_of"] == PATTI and entry["after"]["merged_fields"] == ["links"]


async def test_staff_api_lists_the_queue(client):
    await _submit(client, title=f"Laboratorio {UNIQUE} uno")
    await _submit(client, title=f"Laboratorio {UNIQUE} due")
    assert (await client.get("/api/v1/redazione/segnalazioni")).status_code == 401
    await login_as(client)
    response = await client.get("/api/v1/redazione/segnalazioni")
    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]
    body = response.json()
    assert body["total"] == 2
    assert [item["title"] for item in body["items"]] == [
        f"Laboratorio {UNIQUE} uno",
        f"Laboratorio {UNIQUE} due",
    ]
    assert body["items"][0]["submitter_body"] == SUBMITTER["ente"]
    assert (await client.get("/api/v1/redazione/segnalazioni", params={"stato": "respinta"})).json()[
        "total"
    ] == 0
    wrong = await client.get("/api/v1/redazione/segnalazioni", params={"stato": "boh"})
    assert wrong.status_code == 400 and wrong.json()["fields"][0]["field"] == "stato"


# --- who may do what -------------------------------------------------------------------------------


def _staff_routes(app) -> list[tuple[str, str, list]]:
    """(path with sample parameters, method, guards) of every /redazione and staff API route."""
    routes = []
    for route in app.routes:
        if not (route.path.startswith("/redazione") or route.path.startswith("/api/v1/redazione")):
            continue
        path = re.sub(r"\{[a-z_]+:int\}", "1", route.path)
        path = re.sub(r"\{[a-z_]+:str\}", "x", path)
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method in ("GET", "POST"):
                    routes.append((path, method, handler.resolve_guards()))
    return routes


async def test_every_redazione_route_refuses_anonymous_visitors(reader):
    routes = _staff_routes(reader.app)
    assert len(routes) > 20
    token = await form_token(reader)
    for path, method, guards in routes:
        if path in PUBLIC_STAFF_PATHS:
            continue
        assert {staff_required, admin_required, enrolment_allowed} & set(guards), (method, path)
        response = await reader.request(
            method, path, headers={"x-csrftoken": token} if method == "POST" else {}, follow_redirects=False
        )
        if path.startswith("/api/"):
            assert response.status_code == 401, (method, path)
            assert response.json()["error"] == "unauthorized"
        else:
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/redazione/accesso"), (method, path)


async def test_admin_routes_refuse_editors(client):
    await login_as(client, "redattore")
    token = await form_token(client)
    admin_only = [
        (path, method) for path, method, guards in _staff_routes(client.app) if admin_required in guards
    ]
    assert {("/redazione/enti/unisci", "POST"), ("/redazione/vocabolari", "GET")} <= set(admin_only)
    for path, method in admin_only:
        response = await client.request(
            method, path, headers={"x-csrftoken": token} if method == "POST" else {}, follow_redirects=False
        )
        assert response.status_code == 403, (method, path, response.status_code)
    for path in (
        "/redazione",
        "/redazione/processi",
        f"/redazione/processi/{process_row(client, PATTI)['id']}/versioni",
    ):
        assert (await client.get(path)).status_code == 200, path
    await login_as(client, "amministratore")
    for path in ("/redazione/enti/unisci", "/redazione/vocabolari"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response.headers["cache-control"]
        assert soup(response).find("meta", attrs={"name": "robots"})["content"] == "noindex"


async def test_form_post_without_csrf_token_is_refused(client):
    tracking = await _submit(client, title=f"Assemblea {UNIQUE} cittadina")
    submission = _submission(client, tracking)
    await login_as(client)
    for data in ({}, {"_csrf_token": "falso"}):
        response = await client.post(
            f"/redazione/segnalazioni/{submission['id']}/approva", data=data, follow_redirects=False
        )
        assert response.status_code == 403
        assert "Per sicurezza il modulo non è stato accettato" in response.text
    assert _submission(client, tracking)["state"] == "in_attesa"
    assert _count(client, AuditEntry, AuditEntry.action == "segnalazione.approva") == 0


async def test_script_payloads_in_every_text_field_are_shown_escaped(client):
    fields = {
        name: f"{name} {XSS}"
        for name in (
            "title",
            "summary",
            "description",
            "goals",
            "results",
            "participants_kind",
            "reported_by",
        )
    }
    fields |= {
        "decision_holders": f"Comune {XSS}",
        "organisations.1.name": f"Associazione {XSS}",
        "organisations.1.role": "partner",
        "phases.1.title": f"Fase {XSS}",
        "phases.1.description": f"Descrizione {XSS}",
        "links.1.label": f"Sito {XSS}",
        "links.1.url": "https://esempio.example/pagina",
        "funding.programme": f"Programma {XSS}",
        "funding.fund": f"Fondo {XSS}",
        "funding.beneficiary": f"Beneficiario {XSS}",
        "nome": f"Maria {XSS}",
        "ente": f"Ente {XSS}",
    }
    tracking = await _submit(client, **fields)
    submission = _submission(client, tracking)
    await login_as(client)

    def assert_escaped(response, expected: int) -> None:
        assert response.status_code == 200
        page = soup(response)
        data = [s for s in page.find_all("script") if s.get("type") == "application/ld+json"]
        assert not [s for s in page.find_all("script") if "xss" in (s.string or "") and s not in data]
        assert all(json.loads(s.string) for s in data)  # the payload stays data inside the JSON-LD
        assert page.find(attrs={"onerror": True}) is None
        assert page.get_text().count('<script>alert("xss")</script>') >= expected

    review = await client.get(f"/redazione/segnalazioni/{submission['id']}")
    assert_escaped(review, len(fields))
    queue = await client.get("/redazione")
    assert_escaped(queue, 2)  # title and submitter body
    assert (
        await _staff_post(client, f"/redazione/segnalazioni/{submission['id']}/approva")
    ).status_code == 303
    process_id = _submission(client, tracking)["process"]
    slug = run_in_app(client, lambda: Process.select(Process.slug).where(Process.id == process_id).first())[
        "slug"
    ]
    assert_escaped(await client.get(f"/processi/{slug}"), 10)


async def test_approving_a_correction_reads_the_process_once(client):
    published = process_row(client, PATTI)
    record = run_in_app(client, lambda: services.process_detail(published["id"]))
    proposal = to_record(record, PUBLIC_FIELDS)
    proposal["summary"] = "Sintesi corretta una volta sola."
    body = {"segnalante": SUBMITTER, "privacy_accettata": True, "correzione_di": PATTI, "processo": proposal}
    assert (await client.post("/api/v1/segnalazioni/", json=body)).status_code == 201
    submission = run_in_app(
        client, lambda: Submission.select().order_by(Submission.id, ascending=False).first()
    )
    editor = await login_as(client)
    engine = database.configured()
    queries: list[str] = []
    kind = type(engine)
    logging, printing = engine.log_queries, kind.print_query
    engine.log_queries, kind.print_query = True, lambda _engine, **logged: queries.append(logged["query"])
    try:
        decision = run_in_app(
            client, moderation.approve, submission["id"], editor, accepted_fields=["summary"]
        )
    finally:
        engine.log_queries, kind.print_query = logging, printing
    assert decision.state == "approvata"
    whole_reads = [q for q in queries if q.startswith("SELECT ALL") and '"process"."title_key"' in q]
    assert len(whole_reads) == 1, whole_reads
    assert process_row(client, PATTI)["summary"] == "Sintesi corretta una volta sola."
