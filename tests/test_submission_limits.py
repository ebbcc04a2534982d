"""Submissions per address, through the real app on both databases: the limits come from the
settings, one more is refused with 429, Retry-After and when to send again in Italian, the page
keeps everything typed (an editable form with a fresh CSRF token), the API answers the same in
JSON. Concurrent posts from one address are in test_concurrency.py."""

from __future__ import annotations

import dataclasses
import datetime
import re
from contextlib import asynccontextmanager

import pytest
from conftest import make_settings
from helpers import (
    PATTI,
    form_token,
    form_values,
    run_in_app,
    soup,
    stored_submissions,
    submission_form,
)
from litestar.testing import AsyncTestClient

from observatory.app import create_app
from observatory.settings import Settings
from observatory.submissions.services import waiting_time
from observatory.submissions.tables import Submission

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _limited(db_url: str, tmp_path, per_hour: int, per_day: int = 100):
    """A client on the real app over ``db_url`` with these limits."""
    limits = {"submissions_per_hour": per_hour, "submissions_per_day": per_day}
    app = create_app(dataclasses.replace(make_settings(db_url, tmp_path), **limits))
    async with AsyncTestClient(app=app) as client:
        yield client


async def _send(client, title: str, **fields: str):
    token = await form_token(client, "/segnala")
    data = submission_form(token, fields, title=title, conferma="1", azione="invia")
    return await client.post("/segnala", data=data, follow_redirects=False)


def _age(client, delta: datetime.timedelta) -> None:
    """Make every stored submission ``delta`` older."""

    async def move():
        for row in await Submission.select(Submission.id, Submission.created_at):
            moment = row["created_at"]
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
            await Submission.update({Submission.created_at: moment - delta}).where(Submission.id == row["id"])

    run_in_app(client, move)


def _alert(response) -> str:
    return soup(response).select_one('[role="alert"]').get_text(" ", strip=True)


def _api_body(title: str) -> dict:
    return {
        "segnalante": {
            "nome": "Ufficio partecipazione",
            "ente": "Comune di Chieri",
            "email": "uffici@chieri.example",
        },
        "privacy_accettata": True,
        "processo": {"title": title},
    }


# --- the settings ------------------------------------------------------------------------------------


def test_the_limits_are_thirty_an_hour_and_a_hundred_a_day_unless_set():
    assert (Settings.from_env({}).submissions_per_hour, Settings.from_env({}).submissions_per_day) == (
        30,
        100,
    )
    settings = Settings.from_env(
        {"OBSERVATORY_SUBMISSIONS_PER_HOUR": "60", "OBSERVATORY_SUBMISSIONS_PER_DAY": "500"}
    )
    assert (settings.submissions_per_hour, settings.submissions_per_day) == (60, 500)
    wrong = {
        ("0", "100"): "OBSERVATORY_SUBMISSIONS_PER_HOUR must be between 1 and 1e+06",
        ("molte", "100"): "OBSERVATORY_SUBMISSIONS_PER_HOUR must be a whole number, not 'molte'",
        ("30", "2.5"): "OBSERVATORY_SUBMISSIONS_PER_DAY must be a whole number, not '2.5'",
        (
            "50",
            "40",
        ): "OBSERVATORY_SUBMISSIONS_PER_DAY must be at least OBSERVATORY_SUBMISSIONS_PER_HOUR (50)",
        ("", "20"): "OBSERVATORY_SUBMISSIONS_PER_DAY must be at least OBSERVATORY_SUBMISSIONS_PER_HOUR (30)",
    }
    for (hour, day), message in wrong.items():
        env = {"OBSERVATORY_SUBMISSIONS_PER_HOUR": hour, "OBSERVATORY_SUBMISSIONS_PER_DAY": day}
        with pytest.raises(ValueError, match="^" + re.escape(message)):
            Settings.from_env(env)


def test_waits_are_said_in_whole_minutes_and_hours():
    assert [waiting_time(s) for s in (1, 59, 60, 61, 720, 3599, 3600, 3660, 7200, 86400)] == [
        "1 minuto",
        "1 minuto",
        "1 minuto",
        "2 minuti",
        "12 minuti",
        "1 ora",
        "1 ora",
        "1 ora e 1 minuto",
        "2 ore",
        "24 ore",
    ]


# --- the page -----------------------------------------------------------------------------------------


async def test_one_more_than_the_hourly_setting_is_refused_with_when_to_send_again(demo_db_url, tmp_path):
    async with _limited(demo_db_url, tmp_path, per_hour=3) as client:
        for n in range(3):
            assert (await _send(client, f"Orti condivisi numero {n}")).status_code == 303
        # the oldest counted submission was sent 48 minutes ago: one more is possible in 12 minutes
        _age(client, datetime.timedelta(minutes=48))
        refused = await _send(client, "Orti condivisi numero 4")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) in range(12 * 60 - 60, 12 * 60 + 1)
        assert _alert(refused).endswith("Puoi inviare di nuovo tra 12 minuti.")
        assert "troppe segnalazioni" in _alert(refused)
        assert len(stored_submissions(client)) == 3
        # once the oldest leaves the hour, one more goes through
        _age(client, datetime.timedelta(minutes=13))
        assert (await _send(client, "Orti condivisi numero 4")).status_code == 303


async def test_the_daily_limit_says_the_longer_wait(demo_db_url, tmp_path):
    async with _limited(demo_db_url, tmp_path, per_hour=2, per_day=3) as client:
        for n in range(2):
            assert (await _send(client, f"Orti del mattino {n}")).status_code == 303
        _age(client, datetime.timedelta(hours=2))
        assert (await _send(client, "Orti del pomeriggio")).status_code == 303
        refused = await _send(client, "Orti della sera")
        assert refused.status_code == 429
        # the hour allows one more; the day is full until the first of the day is 24 hours old
        assert int(refused.headers["retry-after"]) in range(22 * 3600 - 60, 22 * 3600 + 1)
        assert _alert(refused).endswith("Puoi inviare di nuovo tra 22 ore.")
        assert (await _send(client, "Orti della notte")).status_code == 429
        both = (await client.post("/api/v1/segnalazioni", json=_api_body("Orti dell'API"))).json()
        assert abs(both["retry_after"] - int(refused.headers["retry-after"])) <= 60  # the same wait


async def test_the_refused_form_keeps_every_field_typed_editable_with_a_fresh_token(demo_db_url, tmp_path):
    async with _limited(demo_db_url, tmp_path, per_hour=1) as client:
        assert (await _send(client, "La prima segnalazione")).status_code == 303
        typed = {
            "title": "Il bilancio partecipativo dei quartieri",
            "summary": "Ogni quartiere sceglie come spendere una parte del bilancio.",
            "description": "Prima le assemblee,\npoi il voto dei progetti.",
            "kind": "bilancio-partecipativo",
            "topics": ["cittadinanza-attiva-beni-comuni"],
            "territories": "Chieri (TO)",
            "decision_holders": "Comune di Chieri",
            "start_year": "2021",
            "end_year": "2022",
            "organisations.1.name": "Associazione Orti in Comune",
            "organisations.1.role": "promotore",
            "organisations.2.name": "Pro Loco di Chieri",
            "organisations.2.role": "partner",
            "phases.1.title": "Assemblee di quartiere",
            "phases.1.start_date": "2021-03-01",
            "phases.2.title": "Voto dei progetti",
            "phases.2.description": "Online e ai seggi.",
            "links.1.label": "Delibera",
            "links.1.url": "https://comune.chieri.example/delibera",
            "links.2.label": "Risultati",
            "links.2.url": "https://comune.chieri.example/risultati",
            "funding.total_investment": "1.234.567,89",
            "nome": "Lucia Verdi",
            "ente": "Comune di Chieri",
            "email": "lucia.verdi@comune.chieri.example",
            "privacy": "1",
        }
        token = await form_token(client, "/segnala")
        posted = {**typed, "_csrf_token": token, "conferma": "1", "azione": "invia"}
        refused = await client.post("/segnala", data=posted, follow_redirects=False)
        assert refused.status_code == 429
        page = soup(refused)
        form = page.select_one("form.process-form")
        kept = form_values(page, "form.process-form")
        for name, value in typed.items():
            assert kept.get(name) in (value, [value]), name
        assert not form.select("[disabled], [readonly]")  # every field can be changed
        fresh = form.select_one("input[name=_csrf_token]")["value"]
        assert fresh and fresh != ""
        # sending the page as it came back, once the limit allows it, stores what was typed
        _age(client, datetime.timedelta(hours=1, minutes=1))
        kept["azione"] = "invia"
        resent = await client.post("/segnala", data=kept, follow_redirects=False)
        assert resent.status_code == 303, resent.text
        stored = stored_submissions(client)[-1]
        process = stored["data"]["process"]
        assert process["title"] == typed["title"]
        assert [o["name"] for o in process["organisations"]] == [
            "Associazione Orti in Comune",
            "Pro Loco di Chieri",
        ]
        assert [p["title"] for p in process["phases"]] == ["Assemblee di quartiere", "Voto dei progetti"]
        assert [link["url"] for link in process["links"]] == [typed["links.1.url"], typed["links.2.url"]]
        assert stored["submitter_email"] == typed["email"]


async def test_a_refused_correction_keeps_its_note(demo_db_url, tmp_path):
    async with _limited(demo_db_url, tmp_path, per_hour=1) as client:
        assert (await _send(client, "La prima segnalazione")).status_code == 303
        path = f"/processi/{PATTI}/correzione"
        page = soup(await client.get(path))
        typed = form_values(page, "form.process-form") | {
            "title": "Patti con il titolo giusto",
            "nota": "Il titolo è cambiato nel 2020.",
            "nome": "Lucia Verdi",
            "ente": "Comune di Chieri",
            "email": "lucia@example.org",
            "privacy": "1",
        }
        refused = await client.post(path, data={**typed, "azione": "invia"}, follow_redirects=False)
        assert refused.status_code == 429 and "retry-after" in refused.headers
        kept = form_values(soup(refused), "form.process-form")
        assert (kept["title"], kept["nota"], kept["email"]) == (typed["title"], typed["nota"], typed["email"])
        assert _alert(refused).endswith("Puoi inviare di nuovo tra 1 ora.")


# --- the API -----------------------------------------------------------------------------------------


async def test_the_api_answers_429_in_json_with_when_to_send_again(demo_db_url, tmp_path):
    async with _limited(demo_db_url, tmp_path, per_hour=2) as client:
        assert (await _send(client, "Dal modulo")).status_code == 303  # the form and the API count together
        assert (await client.post("/api/v1/segnalazioni", json=_api_body("Dall'API"))).status_code == 201
        _age(client, datetime.timedelta(minutes=30))
        refused = await client.post("/api/v1/segnalazioni", json=_api_body("Una di troppo"))
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/json"
        body = refused.json()
        assert set(body) == {"status", "error", "message", "fields", "retry_after"}
        assert (body["status"], body["error"], body["fields"]) == (429, "too_many_requests", [])
        assert body["retry_after"] == int(refused.headers["retry-after"])
        assert body["retry_after"] in range(30 * 60 - 60, 30 * 60 + 1)
        assert body["message"] == (
            "Troppe segnalazioni da questo indirizzo: questa non è stata ricevuta. "
            "Puoi inviare di nuovo tra 30 minuti."
        )
        assert len(stored_submissions(client)) == 2
        other_errors = await client.post("/api/v1/segnalazioni", json={"processo": {}})
        assert "retry_after" not in other_errors.json()


async def test_only_the_last_hour_counts(demo_db_url, tmp_path):
    async with _limited(demo_db_url, tmp_path, per_hour=2) as client:
        for n in range(2):
            assert (await _send(client, f"Orti condivisi numero {n}")).status_code == 303
        assert (await _send(client, "Orti condivisi numero 3")).status_code == 429
        _age(client, datetime.timedelta(hours=1, seconds=1))
        assert (await _send(client, "Orti condivisi numero 3")).status_code == 303
