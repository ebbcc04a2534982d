"""Public submissions through the real app: the form, the tracking page, corrections, the API."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from helpers import (
    OPENCOESIONE,
    PATTI,
    SUBMITTER,
    csrf_token,
    refresh_index,
    run_in_app,
    soup,
    stored_submissions,
    submission_form,
)

from observatory.catalogue import editing, forms, services, transfer
from observatory.catalogue.checks import References
from observatory.catalogue.fields import PUBLIC_FIELDS
from observatory.catalogue.form_view import field_id
from observatory.catalogue.records import to_record
from observatory.catalogue.tables import Process, SlugRedirect
from observatory.catalogue.validation import validate_process
from observatory.search.query import SearchRequest, run_search
from observatory.submissions.tables import Submission

pytestmark = pytest.mark.anyio

XSS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
UNIQUE = "borgoquercia"


def _field_error(page, name: str) -> str | None:
    """The error shown next to form field ``name`` (and checks the input points to it)."""
    control = page.find(attrs={"name": name}) if name else None
    identifier = field_id(name)
    error = page.find(id=f"{identifier}-errore")
    if error is None:
        return None
    if control is not None:
        assert control.get("aria-invalid") == "true", name
        assert f"{identifier}-errore" in control.get("aria-describedby", "").split(), name
    return error.get_text(" ", strip=True)


def _value(page, name: str) -> str:
    control = page.find(attrs={"name": name})
    if control.name == "textarea":
        return control.get_text().lstrip("\n")
    if control.name == "select":
        selected = control.find("option", selected=True)
        return selected["value"] if selected else ""
    return control.get("value", "")


async def _submit(client, fields: dict[str, str] | None = None, path: str = "/segnala", **more: str):
    token = await csrf_token(client, path)
    return await client.post(path, data=submission_form(token, fields, **more), follow_redirects=False)


def _token_of(response) -> str:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/segnala/([A-Za-z0-9_-]+)\?inviata=1", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


def _set_state(client, submission_id: int, state: str, message: str | None = None) -> None:
    run_in_app(
        client,
        lambda: Submission.update({Submission.state: state, Submission.editor_message: message}).where(
            Submission.id == submission_id
        ),
    )


def _process_id(client, slug: str) -> int:
    return run_in_app(client, lambda: Process.select(Process.id).where(Process.slug == slug).first())["id"]


# --- the form ---------------------------------------------------------------------------------------


async def test_form_shows_every_section_with_labels(reader):
    response = await reader.get("/segnala")
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("h1").get_text(strip=True) == "Segnala un processo"
    form = page.select_one("form#modulo-segnalazione")
    assert form["method"] == "post" and form["action"] == "/segnala"
    assert form.select_one("input[name=_csrf_token]")["value"]
    for section in forms.SECTIONS:
        fieldset = form.select_one(f"#sezione-{section.id}")
        if section.optional:  # folded away until used
            assert fieldset.name == "details" and not fieldset.has_attr("open")
            assert fieldset.summary.get_text(" ", strip=True) == f"{section.title} (facoltativo)"
        else:
            assert fieldset.name == "fieldset" and fieldset.legend.get_text(strip=True) == section.title
        for item in section.items:
            if isinstance(item, forms.Group):
                assert fieldset.select(f"#{field_id(item.name)}-gruppo fieldset.row")
                names = [f"{item.name}.1.{spec.name}" for spec in item.inputs]
                specs = item.inputs
            else:
                names, specs = [item.name], [item]
            for name, spec in zip(names, specs, strict=True):
                if spec.widget == "checkboxes":
                    group = fieldset.find("fieldset", id=field_id(name))
                    assert group.legend.get_text(strip=True) == spec.label
                    assert len(group.select("input[type=checkbox]")) > 3
                    continue
                label = fieldset.find("label", attrs={"for": field_id(name)})
                assert label is not None and spec.label in label.get_text(" ", strip=True), name
                assert fieldset.find(id=field_id(name))["name"] == name
    assert [o.get_text() for o in form.select("select[name=kind] option")][1] == "Processo partecipativo"
    for name in ("nome", "ente", "email", "privacy"):
        assert form.find("label", attrs={"for": field_id(name)}), name
    honeypot = form.find("input", attrs={"name": "sito_web"})
    assert honeypot["tabindex"] == "-1" and honeypot["autocomplete"] == "off"
    assert honeypot.find_parent(class_="hp")["aria-hidden"] == "true"
    assert form.find("label", attrs={"for": honeypot["id"]}).get_text() == "Lascia vuoto questo campo"
    adding = form.select("button[name=azione][value^='aggiungi:']")
    assert sorted(button["value"] for button in adding) == sorted(f"aggiungi:{name}" for name in forms.GROUPS)
    for group in forms.GROUPS.values():  # an empty group shows one empty row: where to type
        assert len(form.select(f"#{field_id(group.name)}-gruppo > .rows > fieldset.row")) == 1
    script = page.find("script", src="/static/js/suggest.js")
    assert script.has_attr("defer")
    assert form.find(attrs={"name": "territories"})["data-suggest"] == "territori"
    assert form.find(attrs={"name": "decision_holders"})["data-suggest"] == "enti"
    assert (await reader.get("/static/js/suggest.js")).status_code == 200


def _rows(page, group: str) -> list:
    return page.select(f"#{field_id(group)}-gruppo > .rows > fieldset.row")


@pytest.mark.parametrize("group", sorted(forms.GROUPS))
async def test_a_groups_add_button_adds_one_row_to_that_group_only_and_returns_to_it(reader, group):
    fields = {
        "phases.1.title": "Assemblea",
        "phases.2.title": "",
        "phases.3.title": "Laboratorio",
        "links.1.url": "",
        "links.2.url": "x",
        "organisations.1.name": "",
        "projects.1.title": "",
        "funding.phases.1.label": "",
    }
    response = await _submit(reader, fields, azione=f"aggiungi:{group}")
    assert response.status_code == 200
    page = soup(response)
    assert _value(page, "title") == "Orti condivisi di Borgoquercia"
    assert _value(page, "phases.1.title") == "Assemblea"
    assert _value(page, "phases.2.title") == "Laboratorio"  # the rows are numbered anew
    assert _value(page, "links.1.url") == "x"
    assert _value(page, "email") == SUBMITTER["email"]
    # each group as it was sent (filled rows, and the empty ones still empty), one more in the asked one
    sent = {"phases": 2 + 1, "links": 1 + 1, "organisations": 1, "projects": 1, "funding.phases": 1}
    for name, rows in sent.items():
        assert len(_rows(page, name)) == rows + (name == group), name
    new_row = _rows(page, group)[-1]
    first_input = new_row.select_one("input, select, textarea")
    assert first_input["name"] == f"{group}.{sent[group] + 1}.{forms.GROUPS[group].inputs[0].name}"
    assert first_input.has_attr("autofocus")
    assert len(page.select("[autofocus]")) == 1
    assert new_row.find_parent("details") is None or new_row.find_parent("details").has_attr("open")
    # pressed again, the button comes back to the row after that one
    button = page.select_one(f"button[value='aggiungi:{group}']")
    following = field_id(f"{group}.{sent[group] + 2}.{forms.GROUPS[group].inputs[0].name}")
    assert button["formaction"] == f"/segnala#{following}"
    assert not page.select(".field-error") and not page.select(".error-summary")
    assert stored_submissions(reader) == []


async def test_a_new_forms_add_buttons_lead_to_the_second_row(reader):
    page = soup(await reader.get("/segnala"))
    for name, group in forms.GROUPS.items():
        button = page.select_one(f"button[value='aggiungi:{name}']")
        assert button["formaction"] == f"/segnala#{field_id(f'{name}.2.{group.inputs[0].name}')}"
        assert button.get_text(strip=True) == group.add_label
        template = page.select_one(f"template#{field_id(name)}-modello")
        assert template.select_one(f"[name='{name}.NUOVA.{group.inputs[0].name}']")
    assert not page.select("[autofocus]")


async def test_valid_submission_is_stored_pending_and_opens_its_tracking_page(client):
    fields = {
        "kind": "bilancio-partecipativo",
        "topics": "cittadinanza-attiva-beni-comuni",
        "start_year": "2021",
        "ongoing": "1",
        "decision_holders": "Comune di Chieri\n\n",
        "territories": "Chieri (TO)\nR01",
        "organisations.1.name": "Associazione Orti in Comune",
        "organisations.1.role": "promotore",
        "phases.1.title": "Assemblea pubblica",
        "phases.1.start_date": "2021-03-01",
        "funding.total_investment": "1.234.567,89",
        "links.1.label": "Sito",
        "links.1.url": "https://orti.example.org/",
    }
    response = await _submit(client, fields, conferma="1")
    token = _token_of(response)
    [row] = stored_submissions(client)
    assert row["state"] == "in_attesa" and row["kind"] == "nuovo" and row["channel"] == "web"
    assert row["process"] is None
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(row, default=str)
    assert row["submitter_email"] == SUBMITTER["email"] and row["privacy_accepted_at"] is not None
    assert re.fullmatch(r"[0-9a-f]{64}", row["address_hash"])
    process = row["data"]["process"]
    assert set(process) == set(PUBLIC_FIELDS)
    assert process["territories"] == ["C001078", "R01"]
    assert process["decision_holders"] == ["Comune di Chieri"]
    assert process["funding"]["total_investment"] == "1234567.89"
    assert process["start_year"] == 2021 and process["ongoing"] is True
    assert row["data"]["note"] is None
    validate_process(process, run_in_app(client, References.load))

    page_response = await client.get(response.headers["location"])
    assert page_response.status_code == 200
    assert page_response.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in page_response.headers["cache-control"]
    page = soup(page_response)
    assert page.find("meta", attrs={"name": "robots"})["content"] == "noindex"
    assert page.select_one("h1").get_text(strip=True) == "Segnalazione ricevuta"
    assert page.find(id="indirizzo-privato")["value"] == f"http://127.0.0.1:8000/segnala/{token}"
    text = page.get_text(" ", strip=True)
    assert "In attesa" in text and "non inviamo e-mail" in text
    assert "Chieri (TO)" in text and "1.234.567,89" in text
    assert _value(page, "territories") == "Chieri (TO)\nPiemonte"


async def test_pending_submission_is_invisible_to_the_public(client, tmp_path):
    token = _token_of(await _submit(client, conferma="1"))
    refresh_index(client)
    for path in ("/processi", f"/processi?q={UNIQUE}", "/"):
        response = await client.get(path)
        assert "Borgoquercia" not in response.text, path
    api = (await client.get("/api/v1/processi", params={"q": UNIQUE})).json()
    assert api["total"] == 0
    assert (await client.get("/api/v1/processi/orti-condivisi-di-borgoquercia")).status_code == 404
    assert (await client.get("/processi/orti-condivisi-di-borgoquercia")).status_code == 404
    assert run_search(client.app.state.search_index, SearchRequest(text=UNIQUE)).total == 0
    export = json.dumps(run_in_app(client, transfer.export_catalogue), ensure_ascii=False)
    assert "Borgoquercia" not in export and SUBMITTER["email"] not in export
    assert (await client.get(f"/api/v1/segnalazioni/{token}")).status_code == 200


# --- validation -------------------------------------------------------------------------------------


async def test_wrong_fields_get_their_own_message_and_keep_what_was_typed(reader):
    fields = {
        "title": "Ab",
        "summary": "Una sintesi da non perdere",
        "start_year": "2020",
        "end_year": "2018",
        "territories": "Torino\nCastro\nTorinoo",
        "decision_holders": "Comune di Torino",
        "organisations.1.name": "Fondazione senza ruolo",
        "phases.1.title": "Prima fase",
        "phases.1.start_date": "2020-05-01",
        "phases.1.end_date": "2020-04-01",
        "funding.total_investment": "dieci euro",
        "funding.cup": "J41B12000010007",
        "links.1.label": "Sito del progetto",
        "links.1.url": "ftp://senza-protocollo.it",
        "email": "maria.rossi@",
        "topics": "cittadinanza-attiva-beni-comuni",
    }
    response = await _submit(reader, fields)
    assert response.status_code == 400
    page = soup(response)
    expected = {
        "title": "Troppo corto: almeno 3 caratteri.",
        "end_year": "L'anno di chiusura non può precedere l'anno di avvio.",
        "territories": "Riga 2: «Castro» corrisponde a più territori",
        "organisations.1.role": "Scegli il ruolo dell'ente.",
        "phases.1.end_date": "La fine non può precedere l'inizio.",
        "funding.total_investment": "«dieci euro» non è un importo in euro",
        "links.1.url": "«ftp://senza-protocollo.it» non è un indirizzo web valido (http o https).",
        "email": "«maria.rossi@» non è un indirizzo e-mail valido",
    }
    for name, message in expected.items():
        shown = _field_error(page, name)
        assert shown is not None and message in shown, (name, shown)
    assert "Riga 3: territorio sconosciuto «Torinoo»" in _field_error(page, "territories")
    assert "«Castro (BG)», «Castro (LE)»" in _field_error(page, "territories")
    summary = page.select_one("#errori")
    assert summary["role"] == "alert"
    links = {a["href"]: a.get_text(" ", strip=True) for a in summary.select("a")}
    assert len(links) == len(expected)
    assert links["#campo-title"].startswith("Titolo: Troppo corto")
    assert links["#campo-phases-1-end-date"].startswith("Fase 1, Fine:")
    for href in links:
        assert page.find(id=href[1:]) is not None, href
    for name, value in fields.items():
        if name == "topics":
            assert page.find("input", attrs={"name": "topics", "value": value}).has_attr("checked")
        else:
            assert _value(page, name) == value, name
    assert _value(page, "nome") == SUBMITTER["nome"]
    assert _field_error(page, "summary") is None
    assert stored_submissions(reader) == []


async def test_privacy_not_accepted_is_refused(reader):
    token = await csrf_token(reader)
    form = submission_form(token)
    del form["privacy"]
    response = await reader.post("/segnala", data=form, follow_redirects=False)
    assert response.status_code == 400
    assert "devi accettare l'informativa" in _field_error(soup(response), "privacy")
    assert stored_submissions(reader) == []


async def test_missing_submitter_fields_are_refused(reader):
    response = await _submit(reader, {"nome": "", "ente": " ", "email": ""})
    page = soup(response)
    for name in ("nome", "ente", "email"):
        assert _field_error(page, name) == "Errore: Campo obbligatorio."
    assert stored_submissions(reader) == []


# --- abuse ------------------------------------------------------------------------------------------


async def test_honeypot_filled_is_refused_and_nothing_stored(reader):
    response = await _submit(reader, {"sito_web": "https://spam.example"}, conferma="1")
    assert response.status_code == 400
    assert "non può essere accettata" in response.text
    assert stored_submissions(reader) == []


async def test_post_without_csrf_token_is_refused(reader):
    form = submission_form("")
    del form["_csrf_token"]
    response = await reader.post("/segnala", data=form, follow_redirects=False)
    assert response.status_code == 403
    assert "Per sicurezza il modulo non è stato accettato" in response.text
    assert stored_submissions(reader) == []


async def test_malformed_form_bodies_are_refused_cleanly(reader):
    token = await csrf_token(reader)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    broken = f"_csrf_token={token}&title=%FF%FEabc&nome=x".encode()
    response = await reader.post("/segnala", content=broken, headers=headers)
    assert response.status_code == 400 and "UTF-8" in response.text
    response = await reader.post("/segnala", content=b'{"title": "x"}', headers={"x-csrftoken": token})
    assert response.status_code == 400 and "application/x-www-form-urlencoded" in response.text
    response = await reader.post(
        "/segnala", content=f"_csrf_token={token}&title=a%00b".encode(), headers=headers
    )
    assert response.status_code == 400
    assert stored_submissions(reader) == []


async def test_script_payloads_are_shown_escaped(client):
    text_fields = [
        name for name, spec in forms.INPUTS.items() if spec.widget in ("text", "textarea", "lines")
    ]
    for payload in XSS:
        fields = {}
        for name in text_fields:
            group = next((g for g in forms.GROUPS if name.startswith(g + ".")), None)
            key = f"{group}.1.{name.removeprefix(group + '.')}" if group else name
            fields[key] = payload
        fields["links.1.url"] = "https://example.org/"
        fields["organisations.1.role"] = "partner"
        fields["nome"] = fields["ente"] = payload
        # first with a wrong e-mail and a wrong territory: the form comes back with the payload in it
        wrong = dict(fields, email=payload, territories=payload, start_year=payload)
        response = await _submit(client, wrong)
        assert response.status_code == 400
        _assert_escaped(response, payload)
        del fields["territories"]
        fields.update(email="a@b.it", **{"funding.cup": "J41B12000010007"})
        token = _token_of(await _submit(client, fields, conferma="1"))
        response = await client.get(f"/segnala/{token}")
        assert response.status_code == 200
        _assert_escaped(response, payload)
        assert stored_submissions(client)[-1]["data"]["process"]["title"] == payload


def _assert_escaped(response, payload: str) -> None:
    assert payload not in response.text
    page = soup(response)
    assert all(s.get("src", "").startswith("/static/js/") for s in page.find_all("script"))
    assert page.find("img") is None
    assert not [tag for tag in page.find_all(True) if any(a.startswith("on") for a in tag.attrs)]
    assert payload in page.get_text()


# --- tracking and amending --------------------------------------------------------------------------


async def test_tracking_page_of_an_unknown_token_is_not_found(reader):
    for token in ("x" * 43, "abc", "../../etc"):
        assert (await reader.get(f"/segnala/{token}")).status_code == 404
    assert (await reader.get("/api/v1/segnalazioni/" + "x" * 43)).json()["status"] == 404


async def test_amending_after_changes_requested_puts_it_back_in_the_queue(client):
    token = _token_of(await _submit(client, conferma="1"))
    [row] = stored_submissions(client)
    _set_state(client, row["id"], "modifiche_richieste", "Indicate il comune e l'anno di avvio, per favore.")
    page = soup(await client.get(f"/segnala/{token}"))
    text = page.get_text(" ", strip=True)
    assert "Modifiche richieste" in text and "Indicate il comune e l'anno di avvio" in text
    form = page.find("form", action=f"/segnala/{token}")
    assert _value(form, "title") == "Orti condivisi di Borgoquercia"
    csrf = form.find("input", attrs={"name": "_csrf_token"})["value"]
    amended = {"_csrf_token": csrf, "title": "Orti condivisi di Borgoquercia", "territories": "Chieri"}
    response = await client.post(f"/segnala/{token}", data=dict(amended, start_year="19x9"))
    assert response.status_code == 400
    assert "«19x9» non è un numero intero" in _field_error(soup(response), "start_year")
    assert _value(soup(response), "start_year") == "19x9"
    response = await client.post(
        f"/segnala/{token}", data=dict(amended, start_year="2019"), follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == f"/segnala/{token}?modificata=1"
    [row] = stored_submissions(client)
    assert row["state"] == "in_attesa"
    assert row["data"]["process"]["territories"] == ["C001078"]
    assert row["data"]["process"]["start_year"] == 2019
    assert row["updated_at"] > row["created_at"]
    page = soup(await client.get(response.headers["location"]))
    assert page.select_one("h1").get_text(strip=True) == "Modifiche ricevute"


@pytest.mark.parametrize("state", ["approvata", "respinta", "duplicato"])
async def test_decided_submission_cannot_be_amended(client, state):
    token = _token_of(await _submit(client, conferma="1"))
    [row] = stored_submissions(client)
    _set_state(client, row["id"], state)
    page = soup(await client.get(f"/segnala/{token}"))
    assert page.find("form", action=f"/segnala/{token}") is None
    csrf = await csrf_token(client)
    response = await client.post(f"/segnala/{token}", data={"_csrf_token": csrf, "title": "Un altro titolo"})
    assert response.status_code == 409
    assert "non si può più modificare" in response.text
    assert stored_submissions(client)[0]["data"] == row["data"]


# --- corrections ------------------------------------------------------------------------------------


async def test_correction_form_is_prefilled_with_the_published_process(reader):
    response = await reader.get(f"/processi/{PATTI}/correzione")
    assert response.status_code == 200
    page = soup(response)
    assert _value(page, "title") == "Patti per l'Amministrazione condivisa in Piemonte"
    assert _value(page, "decision_holders").splitlines() == [
        "Comune di Chieri",
        "Comune di Collegno",
        "Comune di Condove",
        "Comune di Torino",
    ]
    assert _value(page, "territories").splitlines()[0] == "Chieri (TO)"
    assert _value(page, "organisations.1.name") == "Compagnia di San Paolo"
    assert _value(page, "organisations.1.role") == "finanziatore"
    assert _value(page, "phases.3.title") == "Laboratori itineranti ed eventi pubblici"
    assert _value(page, "state") == "concluso"
    assert page.find("input", attrs={"name": "methods", "value": "formazione"}).has_attr("checked")
    assert page.find("form", id="modulo-segnalazione")["action"] == f"/processi/{PATTI}/correzione"
    assert page.find(attrs={"name": "nota"}) is not None
    process_page = soup(await reader.get(f"/processi/{PATTI}"))
    assert process_page.find("a", href=f"/processi/{PATTI}/correzione").get_text() == "Segnala una correzione"


async def test_correction_is_stored_tied_to_the_process_and_changes_only_what_was_changed(client):
    page = soup(await client.get(f"/processi/{OPENCOESIONE}/correzione"))
    form = page.find("form", id="modulo-segnalazione")
    assert _value(form, "funding.total_investment") == "1.580.579,61"
    posted = {}
    for control in form.find_all(["input", "textarea", "select"]):
        name = control.get("name")
        if not name or control.get("type") == "submit":
            continue
        if control.get("type") == "checkbox":
            if control.has_attr("checked"):
                posted.setdefault(name, []).append(control["value"])
        else:
            posted.setdefault(name, []).append(_value(form, name))
    posted.update(
        {
            "state": ["concluso"],
            "nota": ["Il progetto si è concluso: vedi la relazione finale."],
            "azione": ["invia"],
            **{k: [v] for k, v in SUBMITTER.items()},
            "privacy": ["1"],
        }
    )
    response = await client.post(f"/processi/{OPENCOESIONE}/correzione", data=posted, follow_redirects=False)
    _token_of(response)
    [row] = stored_submissions(client)
    detail = run_in_app(client, services.process_detail, _process_id(client, OPENCOESIONE))
    assert row["kind"] == "correzione" and row["process"] == detail["id"]
    assert row["data"]["note"] == "Il progetto si è concluso: vedi la relazione finale."
    published = to_record(detail, PUBLIC_FIELDS)
    proposed = row["data"]["process"]
    for name in ("topics", "methods"):  # checkboxes come back in vocabulary order
        assert set(proposed[name]) == set(published[name])
        proposed[name] = published[name]
    changed = {k for k in published if published[k] != proposed[k]}
    assert changed == ({"state"} if published["state"] != "concluso" else set())


async def test_correction_of_missing_withdrawn_or_renamed_processes(client):
    assert (await client.get("/processi/non-esiste/correzione")).status_code == 404
    process_id = _process_id(client, PATTI)
    run_in_app(
        client, lambda: SlugRedirect.insert(SlugRedirect(old_slug="patti-vecchio", process=process_id))
    )
    response = await client.get("/processi/patti-vecchio/correzione", follow_redirects=False)
    assert response.status_code == 308 and response.headers["location"] == f"/processi/{PATTI}/correzione"
    run_in_app(client, editing.withdraw_process, process_id, "Doppione")
    response = await client.get(f"/processi/{PATTI}/correzione")
    assert response.status_code == 410
    token = await csrf_token(client)
    response = await client.post(f"/processi/{PATTI}/correzione", data=submission_form(token))
    assert response.status_code == 410
    assert stored_submissions(client) == []


# --- duplicates -------------------------------------------------------------------------------------


async def test_duplicate_warning_finds_the_patti_then_sends_anyway(client):
    fields = {
        "title": "Patti di amministrazione condivisa in Piemonte",
        "decision_holders": "Comune di Torino",
        "territories": "Torino",
        "start_year": "2017",
    }
    response = await _submit(client, fields)
    assert response.status_code == 200
    page = soup(response)
    box = page.select_one("section.duplicates")
    assert box.h2.get_text(strip=True) == "Potrebbe essere già nel catalogo"
    first = box.select("li")[0]
    assert first.a["href"] == f"/processi/{PATTI}"
    assert first.a.get_text() == "Patti per l'Amministrazione condivisa in Piemonte"
    for reason in ("titolo simile", "stesso titolare", "stesso territorio", "anni sovrapposti"):
        assert reason in first.get_text()
    assert stored_submissions(client) == []
    form = page.find("form", id="modulo-segnalazione")
    assert form.find("input", attrs={"name": "conferma"})["value"] == "1"
    assert _value(form, "title") == fields["title"]
    assert page.find("button", string="Invia comunque") is not None
    resend = {
        c["name"]: _value(form, c["name"]) for c in form.find_all(["input", "textarea"]) if c.get("name")
    }
    resend.update(privacy="1", azione="invia")
    response = await client.post("/segnala", data=resend, follow_redirects=False)
    _token_of(response)
    [row] = stored_submissions(client)
    assert row["data"]["process"]["title"] == fields["title"]


async def test_different_process_goes_straight_through(client):
    response = await _submit(client, {"title": "Laboratorio dei giardini di Quokkaville"})
    _token_of(response)


# --- API --------------------------------------------------------------------------------------------


def _api_body(**process) -> dict:
    return {
        "segnalante": {
            "nome": "Ufficio partecipazione",
            "ente": "Comune di Chieri",
            "email": "uffici@chieri.example",
        },
        "privacy_accettata": True,
        "processo": {"title": "Orti condivisi di Borgoquercia", **process},
    }


async def test_api_submission_is_stored_and_readable_by_token(client):
    body = _api_body(territories=["Chieri (TO)"], funding={"total_investment": "900.579,61"})
    response = await client.post("/api/v1/segnalazioni", json=body)
    assert response.status_code == 201, response.text
    answer = response.json()
    assert answer["stato"] == "in_attesa" and answer["stato_etichetta"] == "In attesa"
    assert answer["indirizzo_privato"] == f"http://127.0.0.1:8000/segnala/{answer['token']}"
    assert answer["duplicati_probabili"] == []
    [row] = stored_submissions(client)
    assert row["channel"] == "api" and row["kind"] == "nuovo"
    assert row["data"]["process"]["territories"] == ["C001078"]
    assert row["data"]["process"]["funding"]["total_investment"] == "900579.61"
    state = (await client.get(f"/api/v1/segnalazioni/{answer['token']}")).json()
    assert state["stato"] == "in_attesa" and state["messaggio_redazione"] is None
    assert state["processo"]["title"] == "Orti condivisi di Borgoquercia"
    assert "uffici@chieri.example" not in json.dumps(state)
    _set_state(client, row["id"], "modifiche_richieste", "Manca l'anno.")
    state = (await client.get(f"/api/v1/segnalazioni/{answer['token']}")).json()
    assert (
        state["stato_etichetta"] == "Modifiche richieste" and state["messaggio_redazione"] == "Manca l'anno."
    )
    assert (
        await client.get(answer["indirizzo_privato"].removeprefix("http://127.0.0.1:8000"))
    ).status_code == 200


async def test_api_reports_likely_duplicates_and_corrections(client):
    body = _api_body(
        title="Patti di amministrazione condivisa in Piemonte", decision_holders=["Comune di Torino"]
    )
    answer = (await client.post("/api/v1/segnalazioni", json=body)).json()
    assert answer["duplicati_probabili"][0]["slug"] == PATTI
    assert "stesso titolare" in answer["duplicati_probabili"][0]["motivi"]
    assert answer["duplicati_probabili"][0]["url"].endswith(f"/processi/{PATTI}")
    body = dict(_api_body(), correzione_di=PATTI, nota="Titolo provvisorio")
    response = await client.post("/api/v1/segnalazioni", json=body)
    assert response.status_code == 201
    row = stored_submissions(client)[-1]
    assert row["kind"] == "correzione" and row["process"] == _process_id(client, PATTI)
    assert row["data"]["note"] == "Titolo provvisorio"


async def test_api_refuses_invalid_fields_with_422(reader):
    body = {
        "segnalante": {"nome": "", "email": "non-una-mail"},
        "processo": {"title": "Ab", "territories": ["Torinoo"], "slug": "mio-slug", "colore": "blu"},
        "correzione_di": "non-esiste",
    }
    response = await reader.post("/api/v1/segnalazioni", json=body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["status"] == 422 and answer["error"] == "invalid"
    fields = {f["field"]: f["message"] for f in answer["fields"]}
    assert fields["segnalante.nome"] == "campo obbligatorio."
    assert fields["segnalante.ente"] == "campo obbligatorio."
    assert "non è un indirizzo e-mail valido" in fields["segnalante.email"]
    assert "informativa" in fields["privacy_accettata"]
    assert fields["processo.title"] == "troppo corto: almeno 3 caratteri."
    assert "territorio sconosciuto «Torinoo»" in fields["processo.territories.1"]
    assert "riservato alla redazione" in fields["processo.slug"]
    assert fields["processo.colore"] == "campo sconosciuto."
    assert "non-esiste" in fields["correzione_di"]
    assert stored_submissions(reader) == []


async def test_api_refuses_malformed_and_oversized_posts(reader):
    headers = {"content-type": "application/json"}
    for content in (b'{"segnalante": ', b"\xff\xfe", b'{"processo": "testo"}', b"[1, 2]"):
        response = await reader.post("/api/v1/segnalazioni", content=content, headers=headers)
        assert response.status_code == 400, content
        assert response.json()["error"] == "bad_request"
        assert response.json()["message"] in (
            "Il corpo della richiesta non è un documento JSON valido.",
            "Parametri della richiesta non validi.",
        )
    big = _api_body(description="x" * 300_000)
    response = await reader.post("/api/v1/segnalazioni", json=big)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert stored_submissions(reader) == []


async def test_api_schema_documents_submissions(reader):
    schema = (await reader.get("/schema/openapi.json")).json()
    assert "post" in schema["paths"]["/api/v1/segnalazioni"]
    assert "get" in schema["paths"]["/api/v1/segnalazioni/{token}"]
    assert "SubmissionIn" in json.dumps(schema["components"])
    assert not any(path.startswith("/segnala") for path in schema["paths"])


# --- privacy ----------------------------------------------------------------------------------------


async def test_submitter_email_never_reaches_public_pages_api_or_exports(client):
    token = _token_of(await _submit(client, conferma="1"))
    api = (await client.post("/api/v1/segnalazioni", json=_api_body(title="Orti di Quokkaville"))).json()
    refresh_index(client)
    emails = (SUBMITTER["email"], "uffici@chieri.example")
    pages = [
        "/",
        "/processi",
        f"/processi?q={UNIQUE}",
        f"/processi/{PATTI}",
        f"/segnala/{token}",
        f"/segnala/{api['token']}",
        "/api/v1/processi",
        f"/api/v1/processi?q={UNIQUE}",
        f"/api/v1/segnalazioni/{token}",
        f"/api/v1/segnalazioni/{api['token']}",
        "/enti?q=chieri",
        "/api/v1/enti?q=chieri",
    ]
    for path in pages:
        response = await client.get(path)
        assert response.status_code == 200, path
        for email in emails:
            assert email not in response.text, path
        assert SUBMITTER["nome"] not in response.text, path
    export = json.dumps(run_in_app(client, transfer.export_catalogue), ensure_ascii=False)
    assert not any(email in export for email in emails)
