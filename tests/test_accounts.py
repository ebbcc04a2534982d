"""Staff accounts of the editorial office: create-staff, passwords, login and its throttling,
sessions in the database, logout, role guards, the audit log."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from conftest import make_settings
from helpers import STAFF_PASSWORD, form_token, login_as, run_in_app, soup
from litestar import get
from litestar.testing import AsyncTestClient

from observatory import database
from observatory.accounts import guards, login, services
from observatory.accounts.tables import AuditEntry, LoginAttempt, StaffSession, StaffUser
from observatory.app import create_app
from observatory.cli import main
from observatory.settings import Settings

pytestmark = pytest.mark.anyio
LOGIN = "/redazione/accesso"
AUDIT = "/redazione/registro"
XSS = '<script>alert("x")</script>'


# --- observatory create-staff -----------------------------------------------------------------------


def _create_staff(
    db_url: str, tmp_path, *args: str, password_env: str | None = None, typed: str | None = None
):
    env = {
        "OBSERVATORY_DATABASE_URL": db_url,
        "OBSERVATORY_INDEX_DIR": str(tmp_path / "index"),
        "OBSERVATORY_STAFF_PASSWORD": password_env,  # None: not set
    }
    return CliRunner().invoke(main, ["create-staff", *args], env=env, input=typed, catch_exceptions=False)


def _stored_user(db_url: str, username: str) -> dict | None:
    async def read():
        engine = database.configure(db_url)
        await database.start(engine)
        try:
            return await StaffUser.select().where(StaffUser.username == username).first()
        finally:
            await database.stop(engine)

    return asyncio.run(read())


def test_create_staff_asks_the_password_twice_and_stores_only_an_argon2id_hash(empty_db_url, tmp_path):
    typed = f"{STAFF_PASSWORD}\n{STAFF_PASSWORD}\n"
    result = _create_staff(
        empty_db_url, tmp_path, "Anna.Bianchi", "--name", "Anna Bianchi", "--role", "redattore", typed=typed
    )
    assert result.exit_code == 0, result.output
    assert "Ripeti la password" in result.output
    assert STAFF_PASSWORD not in result.output  # hidden input is not echoed
    assert "Creato l'utente «anna.bianchi» (Anna Bianchi, redattore)." in result.output
    user = _stored_user(empty_db_url, "anna.bianchi")
    assert user["role"] == "redattore" and user["active"] and user["email"] is None
    assert user["password_hash"].startswith("$argon2id$")
    assert STAFF_PASSWORD not in user["password_hash"]
    assert services.verify_password(user["password_hash"], STAFF_PASSWORD)


def test_create_staff_refuses_two_different_passwords(empty_db_url, tmp_path):
    typed = f"{STAFF_PASSWORD}\naltra password diversa\n"
    result = _create_staff(
        empty_db_url, tmp_path, "anna", "--name", "Anna", "--role", "redattore", typed=typed
    )
    assert result.exit_code != 0
    assert _stored_user(empty_db_url, "anna") is None


def test_create_staff_reads_the_password_from_the_environment(empty_db_url, tmp_path):
    result = _create_staff(
        empty_db_url,
        tmp_path,
        "capo",
        "--name",
        "Carla Capo",
        "--role",
        "amministratore",
        "--email",
        "carla@redazione.example",
        password_env=STAFF_PASSWORD,
    )
    assert result.exit_code == 0, result.output
    assert "Password" not in result.output  # nothing was asked
    user = _stored_user(empty_db_url, "capo")
    assert user["role"] == "amministratore" and user["email"] == "carla@redazione.example"
    assert services.verify_password(user["password_hash"], STAFF_PASSWORD)


@pytest.mark.parametrize(
    "args, password, message",
    [
        (["ab"], STAFF_PASSWORD, "Nome utente «ab» non valido"),
        (["nome con spazi"], STAFF_PASSWORD, "non valido"),
        (["mario"], "corta", "almeno 12 caratteri"),
        (["mario.rossi.lungo"], "MARIO.ROSSI.LUNGO", "uguale al nome utente"),
        (["mario", "--email", "non-un-indirizzo"], STAFF_PASSWORD, "non è un indirizzo e-mail valido"),
    ],
)
def test_create_staff_refuses_bad_values_with_a_clear_message(
    empty_db_url, tmp_path, args, password, message
):
    username, *more = args
    result = _create_staff(
        empty_db_url,
        tmp_path,
        username,
        "--name",
        "Mario",
        "--role",
        "redattore",
        *more,
        password_env=password,
    )
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_create_staff_refuses_a_taken_name_and_an_unknown_role(empty_db_url, tmp_path):
    args = ["mario", "--name", "Mario", "--role", "redattore"]
    assert _create_staff(empty_db_url, tmp_path, *args, password_env=STAFF_PASSWORD).exit_code == 0
    again = _create_staff(empty_db_url, tmp_path, "MARIO", *args[1:], password_env=STAFF_PASSWORD)
    assert again.exit_code == 1 and "Esiste già un utente «mario»" in again.output
    role = _create_staff(
        empty_db_url, tmp_path, "luigi", "--name", "Luigi", "--role", "capo", password_env=STAFF_PASSWORD
    )
    assert role.exit_code == 2 and "redattore" in role.output


# --- login ---------------------------------------------------------------------------------------


def _staff(client, username: str = "mario", role: str = "redattore") -> dict:
    return run_in_app(client, services.create_staff, username, f"Prova {username}", role, STAFF_PASSWORD)


async def _post_login(client, username: str, password: str, dopo: str | None = None):
    data = {"_csrf_token": await form_token(client, LOGIN), "username": username, "password": password}
    if dopo is not None:
        data["dopo"] = dopo
    return await client.post(LOGIN, data=data, follow_redirects=False)


def _session_rows(client) -> list[dict]:
    return run_in_app(client, StaffSession.select().run)


def _set_cookie(response) -> SimpleCookie:
    cookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookie.load(header)
    return cookie


async def test_login_page_is_accessible_and_kept_out_of_caches_and_search_engines(empty_client):
    response = await empty_client.get(LOGIN)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = soup(response)
    assert page.select_one('meta[name="robots"]')["content"] == "noindex"
    assert page.select_one("main#contenuto h1").get_text(strip=True) == "Accesso alla redazione"
    username, password = page.select_one("#username"), page.select_one("#password")
    assert page.select_one('label[for="username"]') and page.select_one('label[for="password"]')
    assert username["autocomplete"] == "username" and password["autocomplete"] == "current-password"
    assert password["type"] == "password"
    assert page.select_one('form[method="post"] input[name="_csrf_token"]')["value"]
    assert not page.select(".staff-bar")  # nobody is logged in


async def test_login_sets_an_httponly_session_cookie_whose_hash_is_stored(empty_client):
    staff = _staff(empty_client)
    response = await _post_login(empty_client, "Mario", STAFF_PASSWORD)  # the name is not case-sensitive
    assert response.status_code == 303
    assert response.headers["location"] == "/redazione"
    cookie = _set_cookie(response)[guards.SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
    assert not cookie["secure"]  # the test site is served over http
    assert not cookie["max-age"] and not cookie["expires"]  # ends with the browser session
    token = cookie.value
    sessions = _session_rows(empty_client)
    assert len(sessions) == 1
    assert sessions[0]["user"] == staff["id"]
    assert sessions[0]["token_hash"] == hashlib.sha256(token.encode()).hexdigest() != token
    lifetime = sessions[0]["expires_at"] - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(hours=7, minutes=59) < lifetime <= datetime.timedelta(hours=8)
    user = run_in_app(empty_client, StaffUser.select().where(StaffUser.id == staff["id"]).first().run)
    assert user["last_login_at"] is not None


def test_session_cookie_is_secure_when_the_site_is_served_over_https():
    settings = Settings(secret_key="chiave", base_url="https://osservatorio.example")
    assert guards.session_cookie("t", settings).secure
    assert not guards.session_cookie(
        "t", dataclasses.replace(settings, base_url="http://127.0.0.1:8000")
    ).secure


async def test_wrong_password_and_unknown_user_get_the_same_answer(empty_client):
    _staff(empty_client)
    wrong = await _post_login(empty_client, "mario", "password sbagliata!")
    unknown = await _post_login(empty_client, "nessuno", "password sbagliata!")
    assert wrong.status_code == unknown.status_code == 400
    messages = [soup(r).select_one('[role="alert"]').get_text(strip=True) for r in (wrong, unknown)]
    assert messages == ["Nome utente o password non corretti."] * 2
    page = soup(wrong)
    assert page.select_one("#username")["value"] == "mario"  # kept
    assert not page.select_one("#password").has_attr("value")  # never sent back
    assert "password sbagliata" not in wrong.text
    assert guards.SESSION_COOKIE not in _set_cookie(wrong)
    assert _session_rows(empty_client) == []


async def test_empty_fields_are_refused_without_counting_an_attempt(empty_client):
    response = await _post_login(empty_client, "mario", "")
    assert response.status_code == 400
    assert "Inserisci il nome utente e la password." in response.text


async def test_username_is_shown_escaped_on_the_login_form(empty_client):
    response = await _post_login(empty_client, XSS, "qualunque password")
    assert response.status_code == 400
    assert XSS not in response.text
    assert soup(response).select_one("#username")["value"] == XSS  # escaped, read back as text


async def test_login_post_without_csrf_token_is_refused(empty_client):
    _staff(empty_client)
    await empty_client.get(LOGIN)  # the CSRF cookie is there, the form field is not
    response = await empty_client.post(
        LOGIN, data={"username": "mario", "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "Per sicurezza il modulo non è stato accettato" in response.text
    assert _session_rows(empty_client) == []


def _move_attempts_back(client, seconds: float) -> None:
    """Move every login attempt ``seconds`` into the past, as if that time had passed."""

    async def move():
        for row in await LoginAttempt.select(LoginAttempt.id, LoginAttempt.at):
            earlier = row["at"] - datetime.timedelta(seconds=seconds)
            await LoginAttempt.update({LoginAttempt.at: earlier}).where(LoginAttempt.id == row["id"])

    run_in_app(client, move)


def test_the_wait_doubles_at_each_failure_up_to_fifteen_minutes():
    waits = [login.throttle_delay(failures, 1) for failures in range(12)]
    assert waits == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]
    assert login.throttle_delay(1000, 1) == login.MAX_DELAY_SECONDS == 15 * 60
    assert login.throttle_delay(19, login.ADDRESS_FAILURES) == 0
    assert login.throttle_delay(20, login.ADDRESS_FAILURES) == 1


async def test_each_failure_makes_the_next_attempt_of_that_name_from_that_address_wait_longer(empty_client):
    _staff(empty_client, "mario")
    _staff(empty_client, "luigi")
    for wait in (1, 2, 4, 8):
        assert (await _post_login(empty_client, "mario", "tentativo sbagliato")).status_code == 400
        refused = await _post_login(empty_client, "mario", STAFF_PASSWORD)  # at once: even the right one
        assert refused.status_code == 429
        left = int(refused.headers["retry-after"])
        assert wait - 1 <= left <= wait  # rounded up from what is left of the wait
        alert = soup(refused).select_one('[role="alert"]').get_text(strip=True)
        second = "1 secondo" if left == 1 else f"{left} secondi"
        assert alert == f"Troppi tentativi di accesso non riusciti: riprova tra {second}."
        assert guards.SESSION_COOKIE not in _set_cookie(refused)
        assert soup(refused).select_one("#username")["value"] == "mario"
        assert (await _post_login(empty_client, "luigi", STAFF_PASSWORD)).status_code == 303  # by name
        _move_attempts_back(empty_client, wait)
    assert (await _post_login(empty_client, "mario", STAFF_PASSWORD)).status_code == 303
    # the right password forgets the failures: the next mistake costs one second again
    assert (await _post_login(empty_client, "mario", "tentativo sbagliato")).status_code == 400
    assert (await _post_login(empty_client, "mario", STAFF_PASSWORD)).headers["retry-after"] == "1"


async def test_the_wait_is_capped_and_failures_older_than_the_window_are_forgotten(empty_client):
    _staff(empty_client)
    key = login.pair_key("mario", "testclient", "test-secret")
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
    run_in_app(
        empty_client,
        LoginAttempt.insert(*(LoginAttempt(key=key, succeeded=False, at=past) for _ in range(40))).run,
    )
    capped = await _post_login(empty_client, "mario", STAFF_PASSWORD)
    assert capped.status_code == 429
    assert int(capped.headers["retry-after"]) in range(14 * 60 + 50, 15 * 60 + 1)
    assert "riprova tra 15 minuti" in capped.text
    _move_attempts_back(empty_client, login.THROTTLE_WINDOW.total_seconds())
    assert (await _post_login(empty_client, "mario", STAFF_PASSWORD)).status_code == 303


async def test_unknown_user_names_are_throttled_like_known_ones(empty_client):
    assert (await _post_login(empty_client, "nessuno", "tentativo sbagliato")).status_code == 400
    assert (await _post_login(empty_client, "nessuno", "tentativo sbagliato")).status_code == 429


async def test_twenty_failures_from_one_address_slow_down_every_user_name_from_it(empty_client):
    _staff(empty_client)
    for number in range(login.ADDRESS_FAILURES):
        assert (await _post_login(empty_client, f"utente{number}", "sbagliata!!")).status_code == 400
    slowed = await _post_login(empty_client, "mario", STAFF_PASSWORD)
    assert slowed.status_code == 429
    assert "riprova tra 1 secondo" in slowed.text
    keys = {row["key"] for row in run_in_app(empty_client, LoginAttempt.select(LoginAttempt.key).run)}
    address_keys = {key for key in keys if key.startswith("addr:")}
    assert len(address_keys) == 1
    assert all("testclient" not in key and "utente" not in key for key in keys)  # keyed hashes only
    _move_attempts_back(empty_client, 2)
    assert (await _post_login(empty_client, "mario", STAFF_PASSWORD)).status_code == 303


async def test_disabled_account_cannot_log_in_and_its_sessions_stop(empty_client):
    staff = await login_as(empty_client, "amministratore")
    assert (await empty_client.get(AUDIT)).status_code == 200
    run_in_app(
        empty_client, StaffUser.update({StaffUser.active: False}).where(StaffUser.id == staff["id"]).run
    )
    response = await empty_client.get(AUDIT, follow_redirects=False)
    assert response.status_code == 303
    again = await _post_login(empty_client, staff["username"], STAFF_PASSWORD)
    assert again.status_code == 400 and "disattivato" in again.text


async def test_password_hash_is_upgraded_at_login_when_the_parameters_are_raised(empty_client):
    staff = _staff(empty_client)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(STAFF_PASSWORD)
    run_in_app(
        empty_client, StaffUser.update({StaffUser.password_hash: weak}).where(StaffUser.id == staff["id"]).run
    )
    assert (await _post_login(empty_client, "mario", STAFF_PASSWORD)).status_code == 303
    user = run_in_app(empty_client, StaffUser.select().where(StaffUser.id == staff["id"]).first().run)
    assert user["password_hash"] != weak
    assert not PasswordHasher().check_needs_rehash(user["password_hash"])
    assert services.verify_password(user["password_hash"], STAFF_PASSWORD)


# --- sessions, logout, where a login goes -----------------------------------------------------------


async def test_session_is_served_by_another_app_instance_on_the_same_database(empty_db_url, tmp_path):
    async with AsyncTestClient(app=create_app(make_settings(empty_db_url, tmp_path))) as first:
        await login_as(first, "amministratore")
        token = first.cookies[guards.SESSION_COOKIE]
    async with AsyncTestClient(app=create_app(make_settings(empty_db_url, tmp_path))) as second:
        second.cookies.set(guards.SESSION_COOKIE, token)
        response = await second.get(AUDIT, follow_redirects=False)
        assert response.status_code == 200
        assert "Prova Amministratore" in soup(response).select_one(".staff-bar").get_text()


async def test_logout_ends_the_session_on_the_server(empty_client):
    await login_as(empty_client, "amministratore")
    token = empty_client.cookies[guards.SESSION_COOKIE]
    csrf = soup(await empty_client.get(AUDIT)).select_one('form[action="/redazione/uscita"] input')["value"]
    response = await empty_client.post(
        "/redazione/uscita", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert _set_cookie(response)[guards.SESSION_COOKIE].value == ""  # the browser forgets it
    assert _session_rows(empty_client) == []
    empty_client.cookies.set(guards.SESSION_COOKIE, token)  # the old cookie, replayed
    assert (await empty_client.get(AUDIT, follow_redirects=False)).status_code == 303


async def test_expired_session_is_refused(empty_client):
    await login_as(empty_client, "amministratore")
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    run_in_app(empty_client, StaffSession.update({StaffSession.expires_at: past}, force=True).run)
    response = await empty_client.get(AUDIT, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith(LOGIN)
    assert _session_rows(empty_client) == []  # deleted when found expired


async def test_session_in_use_is_extended_once_half_of_it_has_passed(empty_client):
    await login_as(empty_client, "amministratore")
    now = datetime.datetime.now(datetime.UTC)
    soon = now + datetime.timedelta(hours=1)
    run_in_app(empty_client, StaffSession.update({StaffSession.expires_at: soon}, force=True).run)
    assert (await empty_client.get(AUDIT)).status_code == 200
    assert _session_rows(empty_client)[0]["expires_at"] > now + datetime.timedelta(hours=7, minutes=59)


async def test_new_login_replaces_the_previous_session(empty_client):
    await login_as(empty_client, "redattore")
    first = empty_client.cookies[guards.SESSION_COOKIE]
    staff = await login_as(empty_client, "amministratore")
    sessions = _session_rows(empty_client)
    assert [row["user"] for row in sessions] == [staff["id"]]
    assert empty_client.cookies[guards.SESSION_COOKIE] != first


async def test_anonymous_page_request_goes_to_login_and_comes_back_after_it(empty_client):
    run_in_app(empty_client, services.create_staff, "capo", "Carla Capo", "amministratore", STAFF_PASSWORD)
    response = await empty_client.get(f"{AUDIT}?azione=utente.crea", follow_redirects=False)
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert location.path == LOGIN
    assert parse_qs(location.query) == {"dopo": [f"{AUDIT}?azione=utente.crea"]}
    form = soup(await empty_client.get(response.headers["location"]))
    assert form.select_one('input[name="dopo"]')["value"] == f"{AUDIT}?azione=utente.crea"
    login = await _post_login(empty_client, "capo", STAFF_PASSWORD, dopo=f"{AUDIT}?azione=utente.crea")
    assert login.status_code == 303 and login.headers["location"] == f"{AUDIT}?azione=utente.crea"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "evil.example",
        "javascript:alert(1)",
        "/\t/evil",
    ],
)
async def test_login_never_redirects_to_another_site(empty_client, target):
    _staff(empty_client)
    page = soup(await empty_client.get(LOGIN, params={"dopo": target}))
    assert page.select_one('input[name="dopo"]') is None
    response = await _post_login(empty_client, "mario", STAFF_PASSWORD, dopo=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/redazione"


# --- guards ------------------------------------------------------------------------------------------


async def test_editor_is_refused_the_admin_pages(empty_client):
    await login_as(empty_client, "redattore")
    response = await empty_client.get(AUDIT, follow_redirects=False)
    assert response.status_code == 403
    assert response.headers["cache-control"] == "no-store"
    assert "riservata agli amministratori" in soup(response).select_one("main").get_text()


@get("/api/v1/prova-redazione", guards=[guards.staff_required], include_in_schema=False, sync_to_thread=False)
def _staff_api() -> dict:
    return {"ok": True}


@get(
    "/api/v1/prova-amministrazione",
    guards=[guards.admin_required],
    include_in_schema=False,
    sync_to_thread=False,
)
def _admin_api() -> dict:
    return {"ok": True}


async def test_guarded_api_answers_401_to_anonymous_and_403_to_the_wrong_role(empty_client):
    empty_client.app.register(_staff_api)
    empty_client.app.register(_admin_api)
    anonymous = await empty_client.get("/api/v1/prova-redazione", follow_redirects=False)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "status": 401,
        "error": "unauthorized",
        "message": guards.LoginRequired().detail,
        "fields": [],
    }
    await login_as(empty_client, "redattore")
    assert (await empty_client.get("/api/v1/prova-redazione")).json() == {"ok": True}
    refused = await empty_client.get("/api/v1/prova-amministrazione")
    assert refused.status_code == 403
    assert refused.json()["error"] == "forbidden"
    assert "amministratori" in refused.json()["message"]


async def test_public_pages_make_no_session_query_without_the_cookie(empty_client, monkeypatch):
    calls = []
    real = login.session_staff

    async def counted(token):
        calls.append(token)
        return await real(token)

    monkeypatch.setattr(login, "session_staff", counted)
    page = soup(await empty_client.get("/processi"))
    assert calls == []
    assert not page.select('a[href="/redazione"]')
    await login_as(empty_client, "redattore")
    page = soup(await empty_client.get("/processi"))
    assert len(calls) == 1  # once per request, however often templates ask
    assert page.select_one('.site-header a[href="/redazione"]').get_text() == "Redazione"


# --- writing the audit log (reading it: test_audit_log.py) ----------------------------------------


async def test_staff_creation_is_audited_without_the_password(empty_client):
    run_in_app(empty_client, services.create_staff, "mario", "Mario Rossi", "redattore", STAFF_PASSWORD)
    entries = run_in_app(empty_client, AuditEntry.select().output(load_json=True).run)
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["action"], entry["object_type"], entry["object_id"]) == ("utente.crea", "utente", "mario")
    assert entry["actor"] is None and entry["actor_name"] == "riga di comando"
    assert entry["after"] == {
        "username": "mario",
        "display_name": "Mario Rossi",
        "role": "redattore",
        "email": None,
        "active": True,
    }
    assert STAFF_PASSWORD not in str(entry) and "argon2" not in str(entry)
