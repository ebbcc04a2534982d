"""Two-factor login (TOTP, RFC 6238) through the real app on both databases: enrolment with codes
computed by pyotp, login with a code or a single-use recovery code, replays refused, the office's
requirement for everyone; and login throttling by name and address, which a stranger cannot use to
lock a known editor out (against `observatory serve`, addresses given by a trusted proxy)."""

from __future__ import annotations

import asyncio
import datetime
import shutil
import time

import httpx
import pyotp
import pytest
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

from observatory.accounts import guards, services
from observatory.accounts.tables import RecoveryCode, StaffUser

pytestmark = pytest.mark.anyio
ENROL = "/redazione/profilo/due-fattori"
LOGIN = "/redazione/accesso"
CODE = "/redazione/accesso/codice"


async def _post(client, path: str, data: dict | None = None, token_from: str = "/redazione/profilo"):
    token = await form_token(client, token_from)
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


def _secret(page) -> str:
    return page.select_one("#chiave").get_text().replace(" ", "")


def _code(secret: str, steps_ahead: int = 0) -> str:
    """The code of ``secret`` for the time step ``steps_ahead`` steps from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def _wrong_code(secret: str) -> str:
    """Six digits that are not the code of any step near now."""
    near = {_code(secret, steps) for steps in range(-2, 3)}
    return next(code for code in ("123456", "654321", "000000", "999999") if code not in near)


def _steady() -> None:
    """Wait, when a new 30-second step is about to begin, until it has begun: the next few seconds
    are then in one step, as the checks that follow expect."""
    left = 30 - time.time() % 30
    if left < 4:
        time.sleep(left + 0.1)


async def _enrol(client) -> tuple[str, list[str], str]:
    """Enrol the logged-in member; return the secret, the recovery codes shown and the code used."""
    page = soup(await client.get(ENROL))
    secret = _secret(page)
    code = _code(secret)
    response = await _post(client, ENROL, {"codice": code}, token_from=ENROL)
    assert response.status_code == 200, response.text
    codes = [item.get_text() for item in soup(response).select(".recovery-codes code")]
    return secret, codes, code


async def _password_step(client, username: str, password: str = STAFF_PASSWORD):
    return await _post(client, LOGIN, {"username": username, "password": password}, token_from=LOGIN)


async def _code_step(client, code: str):
    return await _post(client, CODE, {"codice": code}, token_from=CODE)


def _forget_failures(client) -> None:
    """Let the wait after the last failures pass (move them a quarter of an hour back)."""
    from observatory.accounts.tables import LoginAttempt

    async def move():
        for row in await LoginAttempt.select(LoginAttempt.id, LoginAttempt.at):
            earlier = row["at"] - datetime.timedelta(minutes=15)
            await LoginAttempt.update({LoginAttempt.at: earlier}).where(LoginAttempt.id == row["id"])

    run_in_app(client, move)


async def test_enrolment_shows_the_secret_as_text_and_as_a_local_qr_code_then_confirms_a_first_code(
    empty_client,
):
    staff = await login_as(empty_client, "redattore", username="mario")
    page = soup(await empty_client.get(ENROL))
    secret = _secret(page)
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    image = page.select_one("img.qr-code")
    assert image["src"].startswith("data:image/svg+xml")  # drawn here: no external service
    assert "mario" in image["alt"]
    assert _secret(soup(await empty_client.get(ENROL))) == secret  # a reload shows the same secret
    assert not rows(empty_client, StaffUser, StaffUser.id == staff["id"])[0]["totp_secret"]
    wrong = await _post(empty_client, ENROL, {"codice": _wrong_code(secret)}, ENROL)
    assert wrong.status_code == 400
    error = soup(wrong).select_one("#errore-codice").get_text()
    assert "Il codice non corrisponde" in error
    assert soup(wrong).select_one("#campo-codice")["aria-invalid"] == "true"
    response = await _post(empty_client, ENROL, {"codice": _code(secret)}, ENROL)
    assert response.status_code == 200
    codes = [code.get_text() for code in soup(response).select(".recovery-codes code")]
    assert len(codes) == len(set(codes)) == 10
    assert "Sono mostrati solo ora" in response.text
    stored = rows(empty_client, RecoveryCode, RecoveryCode.user == staff["id"])
    assert len(stored) == 10 and not any(code.replace("-", "") in str(stored) for code in codes)
    assert rows(empty_client, StaffUser, StaffUser.id == staff["id"])[0]["totp_secret"] == secret
    entry = audit_entries(empty_client, "utente.due_fattori_attiva")[-1]
    assert entry["summary"] == "L'utente «mario» ha attivato la verifica in due passaggi"
    state = soup(await empty_client.get(ENROL))
    assert "Ti restano 10 codici di recupero" in state.select_one(".lead").get_text()


async def test_login_asks_for_the_code_after_the_password_and_refuses_a_replayed_one(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    secret, _, enrolment_code = await _enrol(empty_client)
    empty_client.cookies.clear()
    first = await _password_step(empty_client, "mario")
    assert first.status_code == 303 and first.headers["location"] == CODE
    # the password alone logs nobody in
    assert (
        (await empty_client.get("/redazione", follow_redirects=False)).headers["location"].startswith(LOGIN)
    )
    form = soup(await empty_client.get(CODE))
    assert form.select_one("#codice")["autocomplete"] == "one-time-code"
    replay = await _code_step(empty_client, enrolment_code)
    assert replay.status_code == 400
    assert "già stato usato" in soup(replay).select_one('[role="alert"]').get_text()
    _forget_failures(empty_client)
    _steady()
    too_far = await _code_step(empty_client, _code(secret, 2))  # two steps ahead: outside the window
    assert too_far.status_code == 400 and "Codice non valido" in too_far.text
    _forget_failures(empty_client)
    ahead = _code(secret, 1)  # one step ahead: an app whose clock is a little fast
    right = await _code_step(empty_client, ahead)
    assert right.status_code == 303 and right.headers["location"] == "/redazione"
    assert (await empty_client.get("/redazione")).status_code == 200
    again = await _password_step(empty_client, "mario")
    assert again.status_code == 303
    assert (await _code_step(empty_client, ahead)).status_code == 400  # used just now


async def test_a_wrong_code_is_slowed_down_like_a_wrong_password(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    secret, _, _ = await _enrol(empty_client)
    empty_client.cookies.clear()
    await _password_step(empty_client, "mario")
    assert (await _code_step(empty_client, _wrong_code(secret))).status_code == 400
    waiting = await _code_step(empty_client, _code(secret, 1))  # right, but at once
    assert waiting.status_code == 429 and waiting.headers["retry-after"] == "1"
    _forget_failures(empty_client)
    assert (await _code_step(empty_client, _code(secret, 1))).status_code == 303


async def test_a_recovery_code_logs_in_once(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    _, codes, _ = await _enrol(empty_client)
    empty_client.cookies.clear()
    await _password_step(empty_client, "mario")
    used = await _code_step(empty_client, codes[3].upper().replace("-", " "))  # as people type it
    assert used.status_code == 303
    entry = audit_entries(empty_client, "utente.codice_recupero")[-1]
    assert entry["summary"] == "L'utente «mario» è entrato con un codice di recupero (ne restano 9)"
    assert "Ti restano 9 codici" in (await empty_client.get(ENROL)).text
    empty_client.cookies.clear()
    await _password_step(empty_client, "mario")
    again = await _code_step(empty_client, codes[3])
    assert again.status_code == 400 and "Codice non valido" in again.text
    _forget_failures(empty_client)
    assert (await _code_step(empty_client, codes[4])).status_code == 303


async def test_new_recovery_codes_replace_the_old_ones_and_turning_off_needs_the_password(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    _, old_codes, _ = await _enrol(empty_client)
    wrong = await _post(empty_client, f"{ENROL}/codici", {"password": "non è questa"}, ENROL)
    assert wrong.status_code == 400 and "La password non è corretta" in wrong.text
    fresh = await _post(empty_client, f"{ENROL}/codici", {"password": STAFF_PASSWORD}, ENROL)
    new_codes = [code.get_text() for code in soup(fresh).select(".recovery-codes code")]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    empty_client.cookies.clear()
    await _password_step(empty_client, "mario")
    assert (await _code_step(empty_client, old_codes[0])).status_code == 400
    _forget_failures(empty_client)
    assert (await _code_step(empty_client, new_codes[0])).status_code == 303
    off = await _post(empty_client, f"{ENROL}/disattiva", {"password": STAFF_PASSWORD}, ENROL)
    assert off.status_code == 303
    assert audit_entries(empty_client, "utente.due_fattori_disattiva")
    empty_client.cookies.clear()
    assert (await _password_step(empty_client, "mario")).headers["location"] == "/redazione"


async def test_an_admin_clears_the_two_factor_login_of_a_member_who_lost_the_phone(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    await _enrol(empty_client)
    empty_client.cookies.clear()
    await login_as(empty_client, "amministratore")
    mario = rows(empty_client, StaffUser, StaffUser.username == "mario")[0]
    page = f"/redazione/account/{mario['id']}"
    response = await _post(empty_client, f"{page}/due-fattori/azzera", token_from=page)
    assert response.status_code == 303
    assert rows(empty_client, RecoveryCode) == []
    assert audit_entries(empty_client, "utente.azzera_due_fattori")[-1]["summary"].startswith(
        "Tolta la verifica in due passaggi all'utente «mario»"
    )
    empty_client.cookies.clear()
    assert (await _password_step(empty_client, "mario")).headers["location"] == "/redazione"


async def test_when_an_admin_requires_two_factor_a_member_without_it_can_only_enrol(empty_client):
    await login_as(empty_client, "redattore", username="mario")
    editor_session = empty_client.cookies[guards.SESSION_COOKIE]
    empty_client.cookies.clear()
    admin = await login_as(empty_client, "amministratore")
    await _enrol(empty_client)
    accounts = soup(await empty_client.get("/redazione/account"))
    version = accounts.select_one('form[action="/redazione/account/due-fattori"] input[name="versione"]')[
        "value"
    ]
    response = await _post(
        empty_client,
        "/redazione/account/due-fattori",
        {"obbligatoria": "1", "versione": version},
        "/redazione/account",
    )
    assert response.status_code == 303
    entry = audit_entries(empty_client, "utente.due_fattori_per_tutti")[-1]
    assert entry["actor"] == admin["id"]
    assert entry["summary"] == "Verifica in due passaggi resa obbligatoria per tutta la redazione"
    stale = await _post(
        empty_client, "/redazione/account/due-fattori", {"versione": version}, "/redazione/account"
    )
    assert stale.status_code == 409  # a form opened before the change does not silently undo it
    assert "un altro amministratore ha cambiato" in stale.text
    listed = soup(await empty_client.get("/redazione/account"))
    assert listed.select_one("#campo-obbligatoria").has_attr("checked")
    # the editor's session that was open: every page but enrolment leads there
    empty_client.cookies.clear()
    empty_client.cookies.set(guards.SESSION_COOKIE, editor_session)
    for path in ("/redazione", "/redazione/processi", "/redazione/profilo", "/redazione/profilo/sessioni"):
        response = await empty_client.get(path, follow_redirects=False)
        assert (response.status_code, response.headers["location"]) == (303, ENROL), path
    page = soup(await empty_client.get(ENROL))
    assert "richiede la verifica in due passaggi" in page.select_one('[role="alert"]').get_text()
    api = await empty_client.get("/api/v1/redazione/segnalazioni", follow_redirects=False)
    assert api.status_code == 403 and "verifica in due passaggi" in api.json()["message"]
    # a new login goes straight to enrolment
    empty_client.cookies.clear()
    login = await _password_step(empty_client, "mario")
    assert login.headers["location"] == ENROL
    secret = _secret(soup(await empty_client.get(ENROL)))
    await _post(empty_client, ENROL, {"codice": _code(secret)}, ENROL)
    assert (await empty_client.get("/redazione")).status_code == 200
    refused = await _post(empty_client, f"{ENROL}/disattiva", {"password": STAFF_PASSWORD}, ENROL)
    assert refused.status_code == 400 and "non puoi disattivarla" in refused.text


# --- throttling by name and address -----------------------------------------------------------------------


async def test_a_strangers_failures_for_a_name_never_delay_its_editor_at_another_address(
    empty_client, empty_db_url, tmp_path
):
    run_in_app(
        empty_client, services.create_staff, "redattore", "Rita Redattrice", "redattore", STAFF_PASSWORD
    )
    shutil.copytree(tmp_path / "index", tmp_path / "server-index")
    async with serving(empty_db_url, tmp_path / "server-index", tmp_path / "server.log") as server:
        base = str(server.base_url)
        stranger = httpx.AsyncClient(base_url=base, headers={"X-Forwarded-For": "203.0.113.50"})
        editor = httpx.AsyncClient(base_url=base, headers={"X-Forwarded-For": "198.51.100.7"})
        async with stranger, editor:
            token = await form_token(stranger, LOGIN)

            async def guess(password: str) -> httpx.Response:
                data = {"_csrf_token": token, "username": "redattore", "password": password}
                return await stranger.post(LOGIN, data=data, follow_redirects=False)

            rapid = [(await guess(f"indovino {n}")).status_code for n in range(20)]
            assert rapid[0] == 400 and rapid.count(429) >= 17  # each wrong guess makes the next wait
            checked = rapid.count(400)
            while checked < 4:  # a patient stranger, who waits as told: 1 s, 2 s, 4 s...
                answer = await guess("indovino paziente")
                if answer.status_code == 429:
                    await asyncio.sleep(int(answer.headers["retry-after"]))
                else:
                    checked += 1
            right_there = await guess(STAFF_PASSWORD)  # from the stranger's address, even this waits
            assert right_there.status_code == 429 and int(right_there.headers["retry-after"]) >= 6
            started = time.monotonic()
            await log_in(editor, "redattore")  # 303, at once, from the editor's own address
            assert time.monotonic() - started < 5
            assert (await editor.get("/redazione")).status_code == 200
