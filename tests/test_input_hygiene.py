"""Hostile input at the edge, through the real app: control characters refused in every form, in
the JSON API, in query parameters and paths; invisible characters removed and text in NFC; the
JSON API takes JSON only, without repeated keys; the command line never prints a raw escape."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from urllib.parse import urlparse

import asyncpg
import pytest
from helpers import (
    PATTI,
    form_token,
    login_as,
    observatory_command,
    process_row,
    refresh_index,
    run_in_app,
    soup,
    stored_submissions,
    submission_form,
)

from observatory.catalogue import outbox
from observatory.catalogue.tables import Process
from observatory.database import write_transaction
from observatory.text import CONTROL_CHARACTERS

pytestmark = pytest.mark.anyio

HOSTILE = "Testo\x00con\x1b[31m controllo\x07"
#: Inputs a browser lets people type into.
TYPED = (
    "input[type=text]",
    "input[type=email]",
    "input[type=url]",
    "input[type=search]",
    "input:not([type])",
)


async def _text_values(db_url: str) -> list[tuple[str, str]]:
    """(table, value) of every text value stored in the database, read with the driver."""
    found = []
    if db_url.startswith("sqlite"):
        with sqlite3.connect(urlparse(db_url).path) as connection:
            tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in connection.execute(f'SELECT * FROM "{table}"'):
                    found += [(table, v) for v in row if isinstance(v, str)]
        return found
    connection = await asyncpg.connect(db_url)
    try:
        columns = await connection.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'json', 'jsonb')"
        )
        for column in columns:
            rows = await connection.fetch(
                f'SELECT "{column["column_name"]}"::text AS v FROM "{column["table_name"]}"'
            )
            found += [(column["table_name"], r["v"]) for r in rows if r["v"] is not None]
    finally:
        await connection.close()
    return found


async def _controls_stored(db_url: str) -> list[tuple[str, str]]:
    # JSON columns keep a control character escaped (\u001b): look for both forms
    escaped = re.compile(r"\\u00(?:0[0-8bcef]|1[0-9a-f]|7f)", re.IGNORECASE)
    return [
        (table, value[:80])
        for table, value in await _text_values(db_url)
        if CONTROL_CHARACTERS.search(value) or escaped.search(value)
    ]


def _hostile_post(page, form) -> tuple[str, dict[str, str | list[str]]]:
    """The action of ``form`` and what a browser posts for it with HOSTILE typed in every text box."""
    data: dict[str, str | list[str]] = {}
    for control in form.select("input[name], textarea[name], select[name]"):
        name, kind = control["name"], control.get("type", "text")
        if control.name == "textarea" or control in form.select(", ".join(TYPED)):
            data[name] = HOSTILE
        elif kind in ("checkbox", "radio"):
            if control.has_attr("checked"):
                data.setdefault(name, []).append(control.get("value", "on"))
        elif control.name == "select":
            chosen = control.find("option", selected=True)
            data[name] = chosen["value"] if chosen else ""
        elif kind not in ("submit", "button"):
            data[name] = control.get("value", "")
    for button in form.select("button[name]"):
        data.setdefault(button["name"], button.get("value", ""))
    return form["action"], data


async def _submit_pending(client, title: str) -> str:
    token = await form_token(client)
    sent = await client.post(
        "/segnala",
        data=submission_form(token, title=title, conferma="1", azione="invia"),
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    return re.search(r"/segnala/([A-Za-z0-9_-]+)", sent.headers["location"]).group(1)


async def test_no_form_of_the_site_stores_or_chokes_on_control_characters(client, demo_db_url):
    """Every form with a text box, public and of the editorial office, gets HOSTILE in every box."""
    tracking = await _submit_pending(client, "Orti igienecinque di Borgoquercia")
    [submission] = [s for s in stored_submissions(client) if s["state"] == "in_attesa"]
    process_id = process_row(client, PATTI)["id"]
    admin = await login_as(client, "amministratore")
    pages = [
        "/segnala",
        f"/processi/{PATTI}/correzione",
        f"/segnala/{tracking}",
        f"/redazione/processi/{process_id}/modifica",
        f"/redazione/processi/{process_id}/ritira",
        f"/redazione/segnalazioni/{submission['id']}",
        f"/redazione/segnalazioni/{submission['id']}/modifica",
        "/redazione/enti/unisci",
        "/redazione/vocabolari",
        "/redazione/accesso",
        "/redazione/account/nuovo",
        f"/redazione/account/{admin['id']}",
        "/redazione/profilo",
    ]
    posted = 0
    for path in pages:
        page = soup(await client.get(path))
        for form in page.select("form[method=post]"):
            if not form.select("textarea, " + ", ".join(TYPED)):
                continue
            action, data = _hostile_post(page, form)
            response = await client.post(action, data=data, follow_redirects=False)
            assert response.status_code < 500, (action, response.text[:300])
            assert response.status_code != 303 or action.endswith("/accesso"), (action, "accepted")
            posted += 1
    assert posted >= 12
    assert await _controls_stored(demo_db_url) == []
    assert process_row(client, PATTI)["publication"] == "published"


async def test_the_public_form_names_the_fields_with_control_characters_and_keeps_the_rest(reader):
    token = await form_token(reader)
    data = submission_form(
        token, title="Orti\x00 di Borgoquercia", summary="Una sintesi\x1b[2J scritta bene.", azione="invia"
    )
    response = await reader.post("/segnala", data=data)
    assert response.status_code == 400
    page = soup(response)
    errors = page.get_text(" ")
    assert errors.count("caratteri di controllo") >= 2
    assert page.select_one("#campo-ente")["value"] == "Comune di Chieri"  # the rest of the typing is kept
    assert stored_submissions(reader) == []


async def test_invisible_characters_are_removed_and_text_is_stored_in_nfc(client):
    token = await form_token(client)
    decomposed = unicodedata.normalize("NFD", "Città")
    title = f"Orti\u202e condivisi\u200b di {decomposed} alta\ufeff"
    data = submission_form(token, title=title, conferma="1", azione="invia")
    assert (await client.post("/segnala", data=data, follow_redirects=False)).status_code == 303
    [stored] = stored_submissions(client)
    assert stored["data"]["process"]["title"] == "Orti condivisi di Città alta"
    assert unicodedata.is_normalized("NFC", stored["data"]["process"]["title"])


def _api_body(**process: str) -> dict:
    return {
        "processo": {"title": "Orti di Borgoquercia", **process},
        "segnalante": {"nome": "Maria Rossi", "ente": "Comune di Chieri", "email": "maria@comune.example"},
        "privacy_accettata": True,
    }


async def test_the_api_refuses_control_characters_with_a_field_error(reader):
    response = await reader.post(
        "/api/v1/segnalazioni", json=_api_body(title="Orti\u0000 di Borgo", summary="A\x1b[0m")
    )
    assert response.status_code == 422
    fields = {f["field"]: f["message"] for f in response.json()["fields"]}
    assert "caratteri di controllo" in fields["processo.title"]
    assert "caratteri di controllo" in fields["processo.summary"]
    assert stored_submissions(reader) == []


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("text/plain", b'{"processo": {"title": "Orti"}}'),
        ("application/x-www-form-urlencoded", b"processo=Orti"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n',
        ),
        ("application/xml", b"<processo><title>Orti</title></processo>"),
        (None, b'{"processo": {"title": "Orti"}}'),
    ],
)
async def test_the_api_takes_json_only(reader, content_type, body):
    headers = {"content-type": content_type} if content_type else {}
    response = await reader.post("/api/v1/segnalazioni", content=body, headers=headers)
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"
    assert "application/json" in response.json()["message"]
    assert stored_submissions(reader) == []


async def test_the_api_refuses_a_key_named_twice(reader):
    body = (
        b'{"processo": {"title": "Orti di Borgoquercia", "title": "Altro titolo"}, '
        b'"segnalante": {"nome": "Maria Rossi", "ente": "Comune di Chieri", "email": "m@comune.example"}, '
        b'"privacy_accettata": true}'
    )
    response = await reader.post(
        "/api/v1/segnalazioni", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "«title» compare due volte" in response.json()["message"]
    assert stored_submissions(reader) == []


@pytest.mark.parametrize(
    "path, status",
    [
        ("/processi?q=orti%00", 400),
        ("/api/v1/processi?q=orti%00", 400),
        ("/api/v1/processi?ambito=%1b", 400),
        ("/enti?q=%1b%5B31m", 400),
        ("/api/v1/territori?q=chieri%00", 400),
        ("/processi/patti%00", 404),
        ("/api/v1/processi/patti%00", 404),
        ("/territori/C00%001078", 404),
        ("/static/css/osservatorio.css%00.js", 404),
        ("/static/%00", 404),
        ("/static/..%2f..%2fpyproject.toml", 404),
    ],
)
async def test_addresses_with_control_characters_are_refused_clearly(reader, path, status):
    response = await reader.get(path)
    assert response.status_code == status
    if path.startswith("/api/"):
        assert response.json()["status"] == status
        if status == 400:
            assert "caratteri di controllo" in response.json()["message"]
    else:
        assert '<html lang="it">' in response.text
        if status == 400:
            assert "caratteri di controllo" in response.text


async def test_login_with_control_characters_is_an_ordinary_refusal(client):
    token = await form_token(client, "/redazione/accesso")
    response = await client.post(
        "/redazione/accesso", data={"_csrf_token": token, "username": "rita\x00", "password": "x" * 12}
    )
    assert response.status_code == 400 and "Nome utente o password non corretti" in response.text


async def test_the_command_line_escapes_what_would_drive_a_terminal(client, demo_db_url, tmp_path):
    """A title stored before these checks existed (by an older import, say) is printed escaped."""
    process_id = process_row(client, PATTI)["id"]
    run_in_app(client, _plant_title, process_id, "Patti \x1b[2J cancellaschermo\u202e")
    refresh_index(client)
    code, output = await observatory_command(demo_db_url, tmp_path / "index", "search", "cancellaschermo")
    assert code == 0, output
    assert "\\x1b[2J cancellaschermo\\u202e" in output
    assert "\x1b" not in output and "\u202e" not in output


async def _plant_title(process_id: int, title: str) -> None:
    async with write_transaction():
        await Process.update({Process.title: title}).where(Process.id == process_id)
        await outbox.record_change(process_id)
