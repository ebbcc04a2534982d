"""The life of staff accounts, through the real app on both databases: the admins' pages (list,
create, edit, disable and re-enable, reset links), the last active admin (also under concurrent
requests to `observatory serve --workers 2`), each member's password and sessions, the guards,
and the command line."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import re
import shutil
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import httpx
import pytest
from click.testing import CliRunner
from conftest import make_settings
from helpers import (
    STAFF_PASSWORD,
    audit_entries,
    form_token,
    log_in,
    login_as,
    rows,
    run_in_app,
    serving,
    soup,
)
from litestar.testing import AsyncTestClient

from observatory.accounts import guards, services
from observatory.accounts.tables import LoginAttempt, PasswordReset, StaffSession, StaffUser
from observatory.app import create_app
from observatory.cli import main
from observatory.mail.sender import send_due

pytestmark = pytest.mark.anyio
pytest_plugins = ["smtp_server"]
ACCOUNTS = "/redazione/account"
LOGIN = "/redazione/accesso"
NEW_PASSWORD = "un'altra password ben lunga"


def _create(client, username: str, role: str = "redattore", email: str | None = None) -> dict:
    return run_in_app(
        client, services.create_staff, username, f"Prova {username.title()}", role, STAFF_PASSWORD, email
    )


def _account(client, username: str) -> dict:
    return rows(client, StaffUser, StaffUser.username == username)[0]


async def _post(client, path: str, data: dict | None = None, token_from: str = "/redazione/profilo"):
    """Post ``data`` to ``path`` with a CSRF token taken from the page ``token_from``."""
    token = await form_token(client, token_from)
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


def _session_token(client) -> str:
    return client.cookies[guards.SESSION_COOKIE]


def _use_session(client, token: str | None) -> None:
    """Make ``client`` send the session cookie ``token`` (None: no session cookie)."""
    client.cookies.delete(guards.SESSION_COOKIE)
    if token is not None:
        client.cookies.set(guards.SESSION_COOKIE, token)


async def _login_keeping_others(client, username: str) -> str:
    """Log ``username`` in without ending the session the client had; return the new session token."""
    _use_session(client, None)
    await log_in(client, username)
    return _session_token(client)


async def _edit(client, account: dict, **changes: str):
    data = {
        "nome": account["display_name"],
        "email": account["email"] or "",
        "ruolo": account["role"],
        "versione": str(account["version"]),
        **changes,
    }
    return await _post(client, f"{ACCOUNTS}/{account['id']}", data, token_from=f"{ACCOUNTS}/{account['id']}")


def _let_the_wait_pass(client) -> None:
    """Move the failed login attempts a quarter of an hour back, as if that time had passed."""

    async def move():
        for row in await LoginAttempt.select(LoginAttempt.id, LoginAttempt.at):
            earlier = row["at"] - datetime.timedelta(minutes=15)
            await LoginAttempt.update({LoginAttempt.at: earlier}).where(LoginAttempt.id == row["id"])

    run_in_app(client, move)


def _errors(page) -> dict[str, str]:
    return {p["id"].removeprefix("errore-"): p.get_text(" ", strip=True) for p in page.select(".field-error")}


# --- the list and a new account -----------------------------------------------------------------------


async def test_admin_lists_every_account_with_role_last_login_state_and_two_factor(empty_client):
    _create(empty_client, "mario")
    _create(empty_client, "ex.redattore")
    run_in_app(
        empty_client,
        StaffUser.update({StaffUser.active: False}).where(StaffUser.username == "ex.redattore").run,
    )
    admin = await login_as(empty_client, "amministratore")
    response = await empty_client.get(ACCOUNTS)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = soup(response)
    table = {
        tr.select_one("th").get_text(strip=True): [td.get_text(" ", strip=True) for td in tr.select("td")]
        for tr in page.select("table.accounts tbody tr")
    }
    assert table["mario"] == ["Prova Mario", "Redattore", "mai", "attivo", "no"]
    assert table["ex.redattore"][3] == "disattivato"
    name, role, last_login, state, two_factor = table[admin["username"]]
    assert (role, state, two_factor) == ("Amministratore", "attivo", "no")
    assert re.fullmatch(r"\d{1,2} [a-z]+ \d{4} alle \d{2}:\d{2}", last_login), last_login
    link = page.select_one(f'table.accounts a[href="{ACCOUNTS}/{_account(empty_client, "mario")["id"]}"]')
    assert link.get_text() == "mario"
    assert page.select_one('.staff-nav a[href="/redazione/account"]')


async def test_admin_creates_an_account_whose_member_chooses_the_password_with_a_one_time_link(empty_client):
    admin = await login_as(empty_client, "amministratore")
    form = soup(await empty_client.get(f"{ACCOUNTS}/nuovo"))
    assert form.select_one("#campo-username") and form.select_one("#campo-ruolo")
    response = await _post(
        empty_client,
        f"{ACCOUNTS}/nuovo",
        {"username": "Lucia.Verdi", "nome": "Lucia Verdi", "email": "", "ruolo": "redattore"},
        token_from=f"{ACCOUNTS}/nuovo",
    )
    assert response.status_code == 200
    page = soup(response)
    assert page.select_one("h1").get_text(strip=True) == "Account «lucia.verdi» creato"
    link = page.select_one("#link-password")["value"]
    assert link.startswith("http://127.0.0.1:8000/redazione/nuova-password/")
    assert "solo ora" in page.select_one('[role="status"]').get_text()
    created = _account(empty_client, "lucia.verdi")
    assert created["role"] == "redattore" and created["active"]
    assert [e["summary"] for e in audit_entries(empty_client, "utente.crea")][-1] == (
        "Creato l'utente «lucia.verdi» (Lucia Verdi, redattore)"
    )
    issued = audit_entries(empty_client, "utente.link_password")
    assert issued[-1]["actor"] == admin["id"]
    assert (
        issued[-1]["summary"] == "Creato un link per scegliere una nuova password dell'utente «lucia.verdi»"
    )
    # nobody knows the password it was created with
    _use_session(empty_client, None)
    path = link.removeprefix("http://127.0.0.1:8000")
    choose = soup(await empty_client.get(path))
    assert "lucia.verdi" in choose.select_one(".lead").get_text()
    chosen = await _post(
        empty_client, path, {"password": NEW_PASSWORD, "conferma_password": NEW_PASSWORD}, token_from=path
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == f"{LOGIN}?fatto=password"
    done = soup(await empty_client.get(chosen.headers["location"]))
    assert "Password impostata" in done.select_one('[role="status"]').get_text()
    login = await _post(
        empty_client, LOGIN, {"username": "lucia.verdi", "password": NEW_PASSWORD}, token_from=LOGIN
    )
    assert login.status_code == 303 and login.headers["location"] == "/redazione"


async def test_a_refused_new_account_keeps_what_was_typed_with_the_error_next_to_its_field(empty_client):
    await login_as(empty_client, "amministratore")
    _create(empty_client, "mario")
    typed = {
        "username": "lucia",
        "nome": "Lucia <b>Verdi</b>",
        "email": "non-un-indirizzo",
        "ruolo": "amministratore",
    }
    response = await _post(empty_client, f"{ACCOUNTS}/nuovo", typed, token_from=f"{ACCOUNTS}/nuovo")
    assert response.status_code == 400
    page = soup(response)
    assert _errors(page) == {"email": "Errore: «non-un-indirizzo» non è un indirizzo e-mail valido."}
    assert page.select_one("#campo-email")["aria-invalid"] == "true"
    assert "errore-email" in page.select_one("#campo-email")["aria-describedby"]
    assert page.select_one("#campo-username")["value"] == "lucia"
    assert page.select_one("#campo-nome")["value"] == "Lucia <b>Verdi</b>"  # escaped, read back as text
    assert "<b>Verdi</b>" not in response.text
    assert page.select_one("#campo-ruolo option[selected]")["value"] == "amministratore"
    taken = await _post(
        empty_client,
        f"{ACCOUNTS}/nuovo",
        {"username": "MARIO", "nome": "Mario", "email": "", "ruolo": "redattore"},
        token_from=f"{ACCOUNTS}/nuovo",
    )
    assert taken.status_code == 400
    assert _errors(soup(taken)) == {"username": "Errore: Esiste già un utente «mario»."}
    control = await _post(
        empty_client,
        f"{ACCOUNTS}/nuovo",
        {"username": "anna", "nome": "Anna\x1b[31m", "email": "", "ruolo": "redattore"},
        token_from=f"{ACCOUNTS}/nuovo",
    )
    assert control.status_code == 400
    assert "caratteri di controllo" in _errors(soup(control))["nome"]
    assert rows(empty_client, StaffUser, StaffUser.username.is_in(["lucia", "anna"])) == []


# --- editing, disabling, the last admin -----------------------------------------------------------------


async def test_admin_changes_name_email_and_role_of_an_account_audited_in_italian(empty_client):
    admin = await login_as(empty_client, "amministratore")
    _create(empty_client, "mario")
    mario = _account(empty_client, "mario")
    response = await _edit(
        empty_client, mario, nome="Mario Rossi", email="mario@redazione.example", ruolo="amministratore"
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{ACCOUNTS}/{mario['id']}?fatto=modificato"
    after = _account(empty_client, "mario")
    assert (after["display_name"], after["email"], after["role"]) == (
        "Mario Rossi",
        "mario@redazione.example",
        "amministratore",
    )
    assert after["version"] == mario["version"] + 1
    entry = audit_entries(empty_client, "utente.modifica")[-1]
    assert entry["actor"] == admin["id"]
    assert entry["summary"] == (
        "Modificato l'utente «mario»: ruolo da redattore a amministratore; nome da «Prova Mario» a "
        "«Mario Rossi»; e-mail da «—» a «mario@redazione.example»"
    )
    assert entry["before"]["role"] == "redattore" and entry["after"]["role"] == "amministratore"
    page = soup(await empty_client.get(response.headers["location"]))
    assert page.select_one('[role="status"]').get_text(strip=True) == "Account modificato."
    # the new admin can open the admin pages at once
    await _login_keeping_others(empty_client, "mario")
    assert (await empty_client.get(ACCOUNTS)).status_code == 200


async def test_an_edit_opened_on_an_older_version_is_refused_and_shows_the_account_as_it_is(empty_client):
    await login_as(empty_client, "amministratore")
    _create(empty_client, "mario")
    seen = _account(empty_client, "mario")
    assert (await _edit(empty_client, seen, nome="Mario Primo")).status_code == 303
    stale = await _edit(empty_client, seen, nome="Mario Secondo")
    assert stale.status_code == 409
    page = soup(stale)
    assert (
        "un altro amministratore ha cambiato questo account" in page.select_one('[role="alert"]').get_text()
    )
    assert page.select_one("#campo-nome")["value"] == "Mario Secondo"  # what was typed, kept
    assert page.select_one('input[name="versione"]')["value"] == str(
        seen["version"] + 1
    )  # saving again is a choice
    assert _account(empty_client, "mario")["display_name"] == "Mario Primo"


async def test_a_disabled_editor_is_refused_at_the_next_request_and_logs_in_again_once_re_enabled(
    empty_client,
):
    await login_as(empty_client, "redattore", username="mario")
    editor_session = _session_token(empty_client)
    assert (await empty_client.get("/redazione")).status_code == 200
    admin = _create(empty_client, "capo", "amministratore")
    admin_session = await _login_keeping_others(empty_client, admin["username"])
    mario = _account(empty_client, "mario")
    disabled = await _post(
        empty_client,
        f"{ACCOUNTS}/{mario['id']}/disattiva",
        {"versione": str(mario["version"])},
        f"{ACCOUNTS}/{mario['id']}",
    )
    assert disabled.status_code == 303
    assert rows(empty_client, StaffSession, StaffSession.user == mario["id"]) == []
    assert audit_entries(empty_client, "utente.disattiva")[-1]["summary"] == (
        "Disattivato l'utente «mario»: sessioni chiuse"
    )
    _use_session(empty_client, editor_session)
    refused = await empty_client.get("/redazione/processi", follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"].startswith(LOGIN)
    again = await _post(
        empty_client, LOGIN, {"username": "mario", "password": STAFF_PASSWORD}, token_from=LOGIN
    )
    assert again.status_code == 400 and "disattivato" in again.text
    _use_session(empty_client, admin_session)
    listed = soup(await empty_client.get(ACCOUNTS))
    assert (
        "disattivato" in listed.select_one(f'a[href="{ACCOUNTS}/{mario["id"]}"]').find_parent("tr").get_text()
    )
    mario = _account(empty_client, "mario")
    enabled = await _post(
        empty_client,
        f"{ACCOUNTS}/{mario['id']}/riattiva",
        {"versione": str(mario["version"])},
        f"{ACCOUNTS}/{mario['id']}",
    )
    assert enabled.status_code == 303
    assert audit_entries(empty_client, "utente.riattiva")[-1]["summary"] == "Riattivato l'utente «mario»"
    await _login_keeping_others(empty_client, "mario")
    assert (await empty_client.get("/redazione")).status_code == 200


async def test_the_last_active_admin_cannot_be_demoted_or_disabled(empty_client):
    admin = await login_as(empty_client, "amministratore")
    me = _account(empty_client, admin["username"])
    demoted = await _edit(empty_client, me, ruolo="redattore")
    assert demoted.status_code == 409
    message = _errors(soup(demoted))["ruolo"]
    assert "è l'ultimo amministratore attivo" in message
    assert soup(demoted).select_one("#campo-ruolo option[selected]")["value"] == "redattore"  # as typed
    other = _create(empty_client, "vice", "amministratore")
    run_in_app(
        empty_client, StaffUser.update({StaffUser.active: False}).where(StaffUser.id == other["id"]).run
    )
    assert (
        await _edit(empty_client, me, ruolo="redattore")
    ).status_code == 409  # a disabled admin does not count
    own = await _post(
        empty_client,
        f"{ACCOUNTS}/{me['id']}/disattiva",
        {"versione": str(me["version"])},
        f"{ACCOUNTS}/{me['id']}",
    )
    assert own.status_code == 409
    assert "Non puoi disattivare il tuo account" in soup(own).select_one('[role="alert"]').get_text()
    assert _account(empty_client, admin["username"])["role"] == "amministratore"
    assert audit_entries(empty_client, "utente.modifica") == []
    # with another active admin, stepping down is allowed
    run_in_app(
        empty_client, StaffUser.update({StaffUser.active: True}).where(StaffUser.id == other["id"]).run
    )
    assert (await _edit(empty_client, me, ruolo="redattore")).status_code == 303
    assert (await empty_client.get(ACCOUNTS)).status_code == 403  # at the next request


async def test_two_admins_demoting_each_other_at_once_always_leave_one(empty_client, empty_db_url, tmp_path):
    first = _create(empty_client, "prima", "amministratore")
    second = _create(empty_client, "seconda", "amministratore")
    shutil.copytree(tmp_path / "index", tmp_path / "server-index")
    async with serving(empty_db_url, tmp_path / "server-index", tmp_path / "server.log", workers=2) as server:
        base = str(server.base_url)
        async with httpx.AsyncClient(base_url=base) as a, httpx.AsyncClient(base_url=base) as b:
            await log_in(a, "prima")
            await log_in(b, "seconda")
            for _ in range(6):
                run_in_app(
                    empty_client,
                    StaffUser.update({StaffUser.role: "amministratore"}, force=True).run,
                )
                attempts = []
                for client, target in ((a, second), (b, first)):
                    account = _account(empty_client, target["username"])
                    token = await form_token(client, f"{ACCOUNTS}/{target['id']}")
                    data = {
                        "_csrf_token": token,
                        "nome": account["display_name"],
                        "email": "",
                        "ruolo": "redattore",
                        "versione": str(account["version"]),
                    }
                    attempts.append(
                        client.post(f"{ACCOUNTS}/{target['id']}", data=data, follow_redirects=False)
                    )
                answers = await asyncio.gather(*attempts)
                statuses = sorted(answer.status_code for answer in answers)
                # one demotion passes; the other is refused by the last-admin check (409), or by the
                # guard when its author was already demoted when it arrived (403)
                assert statuses in ([303, 403], [303, 409]), statuses
                admins = rows(
                    empty_client, StaffUser, StaffUser.role == "amministratore", StaffUser.active.eq(True)
                )
                assert len(admins) == 1


# --- one-time links to choose a password ----------------------------------------------------------------


async def _issue_link(client, username: str) -> str:
    """An admin (already logged in) makes a reset link for ``username``; return its path."""
    account = _account(client, username)
    response = await _post(
        client, f"{ACCOUNTS}/{account['id']}/link-password", token_from=f"{ACCOUNTS}/{account['id']}"
    )
    assert response.status_code == 200, response.text
    return urlsplit(soup(response).select_one("#link-password")["value"]).path


async def test_a_reset_link_works_once_and_ends_the_accounts_sessions(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    old_session = _session_token(empty_client)
    await _login_keeping_others(empty_client, _create(empty_client, "capo", "amministratore")["username"])
    path = await _issue_link(empty_client, "mario")
    _use_session(empty_client, None)
    form = soup(await empty_client.get(path))
    assert form.select_one("#campo-password")["autocomplete"] == "new-password"
    mismatch = await _post(
        empty_client, path, {"password": NEW_PASSWORD, "conferma_password": "un'altra ancora lunga"}, path
    )
    assert mismatch.status_code == 400
    assert _errors(soup(mismatch)) == {
        "conferma_password": "Errore: Le due password non coincidono: scrivi la stessa password due volte."
    }
    assert NEW_PASSWORD not in mismatch.text  # passwords are never written back
    same_as_name = await _post(
        empty_client, path, {"password": "mario" + " " * 8, "conferma_password": "mario" + " " * 8}, path
    )
    assert "uguale al nome utente" in _errors(soup(same_as_name))["password"]
    short = await _post(empty_client, path, {"password": "corta", "conferma_password": "corta"}, path)
    assert "almeno 12 caratteri" in _errors(soup(short))["password"]
    done = await _post(
        empty_client, path, {"password": NEW_PASSWORD, "conferma_password": NEW_PASSWORD}, path
    )
    assert done.status_code == 303
    assert rows(empty_client, StaffSession, StaffSession.user == _account(empty_client, "mario")["id"]) == []
    assert audit_entries(empty_client, "utente.password_reimpostata")[-1]["summary"] == (
        "L'utente «mario» ha scelto una nuova password con un link: sessioni chiuse"
    )
    _use_session(empty_client, old_session)
    assert (await empty_client.get("/redazione", follow_redirects=False)).status_code == 303
    _use_session(empty_client, None)
    used = await empty_client.get(path)
    assert used.status_code == 410
    assert "già stato usato" in soup(used).select_one('[role="alert"]').get_text()
    assert not soup(used).select("#campo-password")
    again = await _post(
        empty_client,
        path,
        {"password": "ancora un'altra password", "conferma_password": "ancora un'altra password"},
        LOGIN,
    )
    assert again.status_code == 410
    login = await _post(
        empty_client, LOGIN, {"username": "mario", "password": NEW_PASSWORD}, token_from=LOGIN
    )
    assert login.status_code == 303


async def test_an_expired_link_and_a_replaced_link_are_refused_with_a_clear_message(empty_client):
    await login_as(empty_client, "amministratore")
    _create(empty_client, "mario")
    first = await _issue_link(empty_client, "mario")
    second = await _issue_link(empty_client, "mario")
    assert audit_entries(empty_client, "utente.link_password")[-1]["summary"].endswith(
        "(quello di prima non vale più)"
    )
    replaced = await empty_client.get(first)
    assert replaced.status_code == 410
    assert "sostituito da uno più recente" in replaced.text
    assert (await empty_client.get(second)).status_code == 200
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    run_in_app(empty_client, PasswordReset.update({PasswordReset.expires_at: past}, force=True).run)
    expired = await empty_client.get(second)
    assert expired.status_code == 410
    assert "è scaduto" in soup(expired).select_one('[role="alert"]').get_text()
    posted = await _post(
        empty_client, second, {"password": NEW_PASSWORD, "conferma_password": NEW_PASSWORD}, LOGIN
    )
    assert posted.status_code == 410
    assert services.verify_password(_account(empty_client, "mario")["password_hash"], STAFF_PASSWORD)
    unknown = await empty_client.get("/redazione/nuova-password/non-esiste")
    assert unknown.status_code == 404 and "non è valido" in unknown.text


async def test_a_link_lasts_twenty_four_hours_and_is_stored_only_as_a_hash(empty_client):
    await login_as(empty_client, "amministratore")
    _create(empty_client, "mario")
    path = await _issue_link(empty_client, "mario")
    token = path.rsplit("/", 1)[1]
    [stored] = rows(empty_client, PasswordReset)
    assert token not in str(stored)
    lifetime = stored["expires_at"] - stored["created_at"]
    assert lifetime == datetime.timedelta(hours=24)


# --- a member's own password and sessions ---------------------------------------------------------------


async def _change_password(client, current: str, new: str, confirmation: str | None = None):
    data = {
        "password_attuale": current,
        "nuova_password": new,
        "conferma_password": new if confirmation is None else confirmation,
    }
    return await _post(client, "/redazione/profilo/password", data)


async def test_a_member_changes_their_password_with_the_current_one(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    other_session = _session_token(empty_client)
    await _login_keeping_others(empty_client, "mario")
    wrong = await _change_password(empty_client, "non è questa", NEW_PASSWORD)
    assert wrong.status_code == 400
    page = soup(wrong)
    assert _errors(page) == {"password_attuale": "Errore: La password attuale non è corretta."}
    assert page.select_one("#campo-password_attuale")["aria-invalid"] == "true"
    assert not page.select_one("#campo-nuova_password").has_attr("value")
    assert NEW_PASSWORD not in wrong.text
    at_once = await _change_password(empty_client, STAFF_PASSWORD, NEW_PASSWORD)  # slowed down like a login
    assert at_once.status_code == 429 and at_once.headers["retry-after"] == "1"
    assert "riprova tra 1 secondo" in _errors(soup(at_once))["password_attuale"]
    _let_the_wait_pass(empty_client)
    mismatch = await _change_password(
        empty_client, STAFF_PASSWORD, NEW_PASSWORD, "diversa ma lunga abbastanza"
    )
    assert "non coincidono" in _errors(soup(mismatch))["conferma_password"]
    as_name = await _change_password(empty_client, STAFF_PASSWORD, "MARIO       ")
    assert "uguale al nome utente" in _errors(soup(as_name))["nuova_password"]
    short = await _change_password(empty_client, STAFF_PASSWORD, "breve")
    assert "almeno 12 caratteri" in _errors(soup(short))["nuova_password"]
    assert services.verify_password(_account(empty_client, "mario")["password_hash"], STAFF_PASSWORD)
    done = await _change_password(empty_client, STAFF_PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["location"] == "/redazione/profilo?fatto=password"
    assert (await empty_client.get("/redazione/profilo")).status_code == 200  # this session goes on
    entry = audit_entries(empty_client, "utente.cambia_password")[-1]
    assert entry["summary"].startswith("L'utente «mario» ha cambiato la sua password")
    assert NEW_PASSWORD not in str(entry) and STAFF_PASSWORD not in str(entry)
    _use_session(empty_client, other_session)  # the other session has ended
    assert (await empty_client.get("/redazione", follow_redirects=False)).status_code == 303
    login = await _post(
        empty_client, LOGIN, {"username": "mario", "password": NEW_PASSWORD}, token_from=LOGIN
    )
    assert login.status_code == 303


async def test_a_member_sees_their_sessions_and_ends_one_then_this_one(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    first = _session_token(empty_client)
    empty_client.headers["user-agent"] = (
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    )
    second = await _login_keeping_others(empty_client, "mario")
    _create(empty_client, "luigi")
    luigi_session = await _login_keeping_others(empty_client, "luigi")
    _use_session(empty_client, second)
    page = soup(await empty_client.get("/redazione/profilo/sessioni"))
    sessions = page.select("tr.session")
    assert len(sessions) == 2  # luigi's is not listed
    current = page.select_one("tr.current-session")
    assert "Firefox su Linux" in current.get_text() and "questa sessione" in current.get_text()
    assert re.search(r"\d{4} alle \d{2}:\d{2}", current.get_text())
    other = next(tr for tr in sessions if "current-session" not in tr["class"])
    ended = await _post(
        empty_client, other.select_one("form")["action"], token_from="/redazione/profilo/sessioni"
    )
    assert (
        ended.status_code == 303
        and ended.headers["location"] == "/redazione/profilo/sessioni?fatto=terminata"
    )
    _use_session(empty_client, first)
    assert (await empty_client.get("/redazione", follow_redirects=False)).status_code == 303
    _use_session(empty_client, second)
    assert (await empty_client.get("/redazione")).status_code == 200
    luigis = rows(empty_client, StaffSession, StaffSession.user == _account(empty_client, "luigi")["id"])
    not_mine = await _post(empty_client, f"/redazione/profilo/sessioni/{luigis[0]['id']}/termina")
    assert not_mine.status_code == 404
    _use_session(empty_client, luigi_session)
    assert (await empty_client.get("/redazione")).status_code == 200
    _use_session(empty_client, second)
    page = soup(await empty_client.get("/redazione/profilo/sessioni"))
    action = page.select_one("tr.current-session form")["action"]
    out = await _post(empty_client, action, token_from="/redazione/profilo/sessioni")
    assert out.status_code == 303 and out.headers["location"] == f"{LOGIN}?fatto=sessione"
    cleared = SimpleCookie()
    cleared.load(out.headers["set-cookie"])
    assert cleared[guards.SESSION_COOKIE].value == ""  # the browser forgets it
    _use_session(empty_client, second)
    assert (await empty_client.get("/redazione", follow_redirects=False)).status_code == 303


# --- who may open what ----------------------------------------------------------------------------------

ADMIN_PAGES = (ACCOUNTS, f"{ACCOUNTS}/nuovo", f"{ACCOUNTS}/{{id}}")
ADMIN_POSTS = (
    f"{ACCOUNTS}/nuovo",
    f"{ACCOUNTS}/{{id}}",
    f"{ACCOUNTS}/{{id}}/disattiva",
    f"{ACCOUNTS}/{{id}}/riattiva",
    f"{ACCOUNTS}/{{id}}/link-password",
    f"{ACCOUNTS}/{{id}}/due-fattori/azzera",
    f"{ACCOUNTS}/due-fattori",
)
MEMBER_PAGES = ("/redazione/profilo", "/redazione/profilo/sessioni", "/redazione/profilo/due-fattori")
MEMBER_POSTS = (
    "/redazione/profilo/password",
    "/redazione/profilo/sessioni/1/termina",
    "/redazione/profilo/due-fattori",
    "/redazione/profilo/due-fattori/codici",
    "/redazione/profilo/due-fattori/disattiva",
)


async def test_every_account_page_sends_anonymous_visitors_to_the_login_page(empty_client):
    target = _create(empty_client, "mario")
    token = await form_token(empty_client, LOGIN)
    for path in (*ADMIN_PAGES, *MEMBER_PAGES):
        response = await empty_client.get(path.format(id=target["id"]), follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith(f"{LOGIN}?dopo="), path
    for path in (*ADMIN_POSTS, *MEMBER_POSTS):
        response = await empty_client.post(
            path.format(id=target["id"]), data={"_csrf_token": token}, follow_redirects=False
        )
        assert (response.status_code, response.headers.get("location")) == (303, LOGIN), path
    assert rows(empty_client, StaffUser, StaffUser.id == target["id"])[0]["active"]


async def test_editors_are_refused_the_admins_account_pages(empty_client):
    target = _create(empty_client, "capo", "amministratore")
    await login_as(empty_client, "redattore")
    token = await form_token(empty_client, "/redazione/profilo")
    for path in ADMIN_PAGES:
        response = await empty_client.get(path.format(id=target["id"]), follow_redirects=False)
        assert response.status_code == 403, path
        assert "riservata agli amministratori" in response.text
    for path in ADMIN_POSTS:
        data = {"_csrf_token": token, "ruolo": "redattore", "nome": "X", "versione": "1", "obbligatoria": "1"}
        response = await empty_client.post(path.format(id=target["id"]), data=data, follow_redirects=False)
        assert response.status_code == 403, path
    assert _account(empty_client, "capo")["role"] == "amministratore"
    assert audit_entries(empty_client, "utente.link_password") == []
    for path in MEMBER_PAGES:
        assert (await empty_client.get(path)).status_code == 200, path


async def test_account_posts_need_the_csrf_token_and_never_show_a_password_again(empty_client):
    await login_as(empty_client, "amministratore")
    target = _create(empty_client, "mario")
    link = await _issue_link(empty_client, "mario")
    secret_fields = {
        "password": NEW_PASSWORD,
        "password_attuale": NEW_PASSWORD,
        "nuova_password": NEW_PASSWORD,
        "conferma_password": NEW_PASSWORD,
    }
    for path in (
        f"{ACCOUNTS}/{target['id']}/disattiva",
        "/redazione/profilo/password",
        f"{ACCOUNTS}/nuovo",
        link,
    ):
        response = await empty_client.post(
            path, data={"versione": "1", **secret_fields}, follow_redirects=False
        )
        assert response.status_code == 403, path
        assert "Per sicurezza il modulo non è stato accettato" in response.text
        assert NEW_PASSWORD not in response.text  # a password is never written back
    assert _account(empty_client, "mario")["active"]
    assert (await empty_client.get(link)).status_code == 200  # the link is still unused


# --- the command line ------------------------------------------------------------------------------------


def test_the_command_line_lists_and_changes_accounts_through_the_services(empty_db_url, cli, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_STAFF_PASSWORD", STAFF_PASSWORD)
    assert (
        cli(empty_db_url, "create-staff", "ada", "--name", "Ada Rossi", "--role", "amministratore").exit_code
        == 0
    )
    assert (
        cli(empty_db_url, "create-staff", "rita", "--name", "Rita Bianchi", "--role", "redattore").exit_code
        == 0
    )
    again = cli(empty_db_url, "create-staff", "ADA", "--name", "Ada", "--role", "redattore")
    assert again.exit_code == 1
    assert "Esiste già un utente «ada»" in again.output
    assert "observatory set-role ada" in again.output and "observatory reset-password ada" in again.output
    listed = cli(empty_db_url, "list-staff")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split("\t")[:5] == ["ada", "Ada Rossi", "amministratore", "attivo", "solo password"]
    assert lines[1].startswith("rita\tRita Bianchi\tredattore\tattivo") and lines[1].endswith(
        "ultimo accesso: mai"
    )
    assert lines[-1] == "2 account."
    last = cli(empty_db_url, "set-role", "ada", "redattore")
    assert last.exit_code == 1 and "è l'ultimo amministratore attivo" in last.output
    assert cli(empty_db_url, "disable-staff", "ada").exit_code == 1
    assert cli(empty_db_url, "set-role", "rita", "amministratore").output.strip() == (
        "L'utente «rita» ora è amministratore."
    )
    assert cli(empty_db_url, "disable-staff", "ada").exit_code == 0
    assert "disattivato" in cli(empty_db_url, "list-staff").output.splitlines()[0]
    twice = cli(empty_db_url, "disable-staff", "ada")
    assert twice.exit_code == 1 and "è già disattivato" in twice.output
    assert cli(empty_db_url, "enable-staff", "ada").exit_code == 0
    unknown = cli(empty_db_url, "set-role", "nessuno", "redattore")
    assert unknown.exit_code == 1 and "Nessun account «nessuno»" in unknown.output
    no_two_factor = cli(empty_db_url, "reset-two-factor", "rita")
    assert no_two_factor.exit_code == 1 and "non usa la verifica in due passaggi" in no_two_factor.output


def test_reset_password_asks_the_new_one_twice_or_prints_a_one_time_link(empty_db_url, cli, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_STAFF_PASSWORD", STAFF_PASSWORD)
    cli(empty_db_url, "create-staff", "rita", "--name", "Rita", "--role", "redattore")
    monkeypatch.delenv("OBSERVATORY_STAFF_PASSWORD")
    env = {"OBSERVATORY_DATABASE_URL": empty_db_url}
    typed = CliRunner().invoke(
        main, ["reset-password", "rita"], env=env, input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert typed.exit_code == 0, typed.output
    assert "Ripeti la password" in typed.output and NEW_PASSWORD not in typed.output
    assert "Nuova password impostata per l'utente «rita»" in typed.output
    short = CliRunner().invoke(main, ["reset-password", "rita"], env=env, input="corta\ncorta\n")
    assert short.exit_code == 1 and "almeno 12 caratteri" in short.output
    link = cli(empty_db_url, "reset-password", "rita", "--link")
    assert link.exit_code == 0
    assert re.search(r"^http://127\.0\.0\.1:8000/redazione/nuova-password/[\w-]{40,}$", link.output, re.M)


# --- the link by e-mail -----------------------------------------------------------------------------------


@pytest.fixture
async def mail_client(empty_db_url, tmp_path, smtp):
    """The app over an empty catalogue, sending e-mail through the test's SMTP server when told to."""
    settings = dataclasses.replace(
        make_settings(empty_db_url, tmp_path),
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_tls="none",
        smtp_timeout=5,
        mail_from="Osservatorio <redazione@osservatorio.example>",
        base_url="http://osservatorio.example",  # https would make the cookies Secure, the client is http
        mail_poll=3600,
    )
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


async def test_the_link_is_mailed_to_the_account_when_mail_is_configured(mail_client, smtp):
    await login_as(mail_client, "amministratore")
    created = await _post(
        mail_client,
        f"{ACCOUNTS}/nuovo",
        {"username": "lucia", "nome": "Lucia Verdi", "email": "lucia@comune.example", "ruolo": "redattore"},
        token_from=f"{ACCOUNTS}/nuovo",
    )
    assert created.status_code == 200
    page = soup(created)
    assert "inviato a lucia@comune.example" in page.select_one('[role="status"]').get_text()
    assert not page.select("#link-password")  # mailed, not shown
    assert audit_entries(mail_client, "utente.link_password")[-1]["summary"].endswith(
        ", inviato per e-mail a lucia@comune.example"
    )
    run_in_app(mail_client, send_due, mail_client.app.state.settings)
    [message] = smtp.inbox.wait_for("lucia@comune.example")
    assert (
        message.subject.strip() == "Osservatorio dei processi partecipativi: il tuo account nella redazione"
    )
    assert "Gentile Lucia Verdi" in message.text and "«lucia»" in message.text
    [link] = [url for url in message.links() if "/nuova-password/" in url]
    assert link in message.html
    path = link.removeprefix("http://osservatorio.example")
    mail_client.cookies.clear()
    form = await mail_client.get(path)
    assert form.status_code == 200 and "lucia" in soup(form).select_one(".lead").get_text()
    chosen = await _post(
        mail_client, path, {"password": NEW_PASSWORD, "conferma_password": NEW_PASSWORD}, token_from=path
    )
    assert chosen.status_code == 303
    # a new link for an account without an address is shown, not mailed
    await login_as(mail_client, "amministratore")
    _create(mail_client, "senza.posta")
    assert (await _issue_link(mail_client, "senza.posta")).startswith("/redazione/nuova-password/")
