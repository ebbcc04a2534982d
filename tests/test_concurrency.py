"""Many people at once, against a real `observatory serve --workers 2` on each database: limits
hold under concurrent requests, concurrent approvals create one organisation and distinct slugs,
a burst of submissions is stored whole, with no error, and of editors saving one process at once
exactly one succeeds."""

from __future__ import annotations

import asyncio
import datetime
import shutil
from collections import Counter

import httpx
import pytest
from helpers import PATTI, STAFF_PASSWORD, form_token, form_values, log_in, run_in_app, serving, soup

from observatory.accounts.login import pair_key
from observatory.accounts.services import create_staff
from observatory.accounts.tables import LoginAttempt
from observatory.catalogue.tables import Organisation, OrganisationName, Process
from observatory.settings import Settings
from observatory.submissions.services import submit
from observatory.submissions.tables import Submission
from observatory.text import fold

pytestmark = pytest.mark.anyio


def _body(title: str, **process) -> dict:
    return {
        "processo": {"title": title, **process},
        "segnalante": {"nome": "Maria Rossi", "ente": "Comune di Chieri", "email": "maria@comune.example"},
        "privacy_accettata": True,
    }


def _count(client, table, *conditions) -> int:
    return run_in_app(client, lambda: table.count().where(*conditions))


def _server(demo_db_url, tmp_path, **env: str):
    """`observatory serve --workers 2` on the test's database, its index a copy of the test's."""
    shutil.copytree(tmp_path / "index", tmp_path / "server-index")
    return serving(demo_db_url, tmp_path / "server-index", tmp_path / "server.log", workers=2, **env)


async def test_the_submission_limit_holds_under_fifty_concurrent_posts(client, demo_db_url, tmp_path):
    limit = Settings.submissions_per_hour  # the default, 30
    async with _server(demo_db_url, tmp_path) as server:
        answers = await asyncio.gather(
            *(
                server.post("/api/v1/segnalazioni", json=_body(f"Orti concorrenti numero {n}"))
                for n in range(50)
            )
        )
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {201: limit, 429: 50 - limit}
    assert _count(client, Submission) == limit
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json()["retry_after"] == int(refused.headers["retry-after"]) > 3500


async def test_the_limits_set_for_the_server_hold_under_concurrent_form_and_api_posts(
    client, demo_db_url, tmp_path
):
    limits = {"OBSERVATORY_SUBMISSIONS_PER_HOUR": "6", "OBSERVATORY_SUBMISSIONS_PER_DAY": "8"}
    async with _server(demo_db_url, tmp_path, **limits) as server:
        page = await server.get("/segnala")
        token = soup(page).select_one("input[name=_csrf_token]")["value"]
        form = {
            "_csrf_token": token,
            "nome": "Maria Rossi",
            "ente": "Comune di Chieri",
            "email": "maria@comune.example",
            "privacy": "1",
            "conferma": "1",
            "azione": "invia",
        }

        def post(n: int):
            if n % 2:
                return server.post("/api/v1/segnalazioni", json=_body(f"Orti in gara numero {n}"))
            return server.post("/segnala", data={**form, "title": f"Orti in gara numero {n}"})

        answers = await asyncio.gather(*(post(n) for n in range(24)))
        assert Counter(a.status_code in (201, 303) for a in answers) == {True: 6, False: 18}
        assert {a.status_code for a in answers} <= {201, 303, 429}
        assert _count(client, Submission) == 6
        # an hour later the day still allows two more, and only two, at once
        earlier = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1, minutes=1)
        run_in_app(client, lambda: Submission.update({Submission.created_at: earlier}, force=True))
        later = await asyncio.gather(*(post(n) for n in range(100, 112)))
    assert Counter(a.status_code in (201, 303) for a in later) == {True: 2, False: 10}
    assert _count(client, Submission) == 8


async def test_login_failures_are_counted_one_by_one_under_forty_concurrent_attempts(
    client, demo_db_url, tmp_path
):
    run_in_app(client, create_staff, "bersaglio", "Prova Bersaglio", "redattore", STAFF_PASSWORD)
    async with _server(demo_db_url, tmp_path) as server:
        token = await form_token(server, "/redazione/accesso")

        async def attempt(n: int):
            data = {"_csrf_token": token, "username": "bersaglio", "password": f"sbagliata numero {n}"}
            return await server.post("/redazione/accesso", data=data, follow_redirects=False)

        answers = await asyncio.gather(*(attempt(n) for n in range(40)))
    statuses = Counter(answer.status_code for answer in answers)
    # the first failure makes the next attempt of the name from this address wait a second, then two:
    # only the attempts let through were checked (400), every other one was refused first (429)
    assert set(statuses) == {400, 429} and statuses[400] <= 3
    key = pair_key("bersaglio", "127.0.0.1", "test-secret")
    failures = _count(client, LoginAttempt, LoginAttempt.key == key, LoginAttempt.succeeded.eq(False))
    assert failures == statuses[400]


def _pending(client, records: list[dict]) -> list[int]:
    settings, search_index = client.app.state.settings, client.app.state.search_index
    submitter = {
        "nome": "Maria Rossi",
        "ente": "Comune di Chieri",
        "email": "m@comune.example",
        "privacy": True,
    }

    async def store() -> list[int]:
        for n, record in enumerate(records):
            await submit(record, submitter, None, None, f"10.7.0.{n}", "web", settings, search_index)
        rows = await Submission.select(Submission.id).where(Submission.state == "in_attesa")
        return [row["id"] for row in rows]

    return run_in_app(client, store)


async def test_concurrent_approvals_create_one_organisation_and_distinct_slugs(client, demo_db_url, tmp_path):
    new_body = "Consorzio Zefirino delle Valli Unite"
    records = [{"title": f"Patto zefirino numero {n}", "decision_holders": [new_body]} for n in range(10)]
    records += [
        {"title": "Giardino zefirino condiviso", "decision_holders": [new_body, "Comune di Chieri"]}
    ] * 4
    waiting = _pending(client, records)
    run_in_app(client, create_staff, "approvatrice", "Prova Approvatrice", "redattore", STAFF_PASSWORD)
    async with _server(demo_db_url, tmp_path) as server:
        await log_in(server, "approvatrice")
        token = await form_token(server)
        answers = await asyncio.gather(
            *(
                server.post(
                    f"/redazione/segnalazioni/{s}/approva",
                    data={"_csrf_token": token},
                    follow_redirects=False,
                )
                for s in waiting
            )
        )
    assert [answer.status_code for answer in answers] == [303] * len(waiting)
    assert _count(client, OrganisationName, OrganisationName.name_key == fold(new_body)) == 1
    assert _count(client, Organisation, Organisation.name == new_body) == 1
    slugs = run_in_app(
        client, lambda: Process.select(Process.slug).where(Process.title == "Giardino zefirino condiviso")
    )
    assert sorted(row["slug"] for row in slugs) == [
        "giardino-zefirino-condiviso",
        "giardino-zefirino-condiviso-2",
        "giardino-zefirino-condiviso-3",
        "giardino-zefirino-condiviso-4",
    ]


async def test_two_hundred_concurrent_submissions_are_all_stored(client, demo_db_url, tmp_path):
    async with _server(demo_db_url, tmp_path) as server:

        async def send(n: int):
            headers = {"x-forwarded-for": f"198.51.100.{n % 250}", "x-forwarded-proto": "http"}
            if n >= 250:
                headers["x-forwarded-for"] = f"203.0.113.{n % 250}"
            return await server.post(
                "/api/v1/segnalazioni", json=_body(f"Carico numero {n}"), headers=headers
            )

        answers = await asyncio.gather(*(send(n) for n in range(200)))
    assert Counter(answer.status_code for answer in answers) == {201: 200}
    assert _count(client, Submission) == 200


async def test_forwarded_addresses_count_only_from_trusted_proxies(client, demo_db_url, tmp_path):
    limit = 3
    env = {"OBSERVATORY_TRUSTED_PROXIES": "none", "OBSERVATORY_SUBMISSIONS_PER_HOUR": str(limit)}
    async with _server(demo_db_url, tmp_path, **env) as server:
        answers = [
            await server.post(
                "/api/v1/segnalazioni",
                json=_body(f"Orti inoltrati numero {n}"),
                headers={"x-forwarded-for": f"198.51.100.{n}"},  # ignored: nobody is trusted
            )
            for n in range(limit + 2)
        ]
    assert [a.status_code for a in answers] == [201] * limit + [429, 429]


async def test_editors_saving_one_process_at_once_never_overwrite_each_other(client, demo_db_url, tmp_path):
    process = run_in_app(client, lambda: Process.select().where(Process.slug == PATTI).first())
    for n in range(6):
        run_in_app(client, create_staff, f"redattore{n}", f"Prova {n}", "redattore", STAFF_PASSWORD)
    path = f"/redazione/processi/{process['id']}/modifica"
    async with _server(demo_db_url, tmp_path) as server:
        editors = []
        for n in range(6):  # six editors open the form on the same version, each in a browser
            browser = httpx.AsyncClient(base_url=server.base_url, timeout=60)
            await log_in(browser, f"redattore{n}")
            editors.append((browser, form_values(soup(await browser.get(path)), "form.process-form")))
        answers = await asyncio.gather(
            *(
                browser.post(
                    path,
                    data={**form, "summary": f"La sintesi dell'editor {n}.", "azione": "salva"},
                    follow_redirects=False,
                )
                for n, (browser, form) in enumerate(editors)
            )
        )
        for browser, _ in editors:
            await browser.aclose()
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses == {303: 1, 409: 5}
    winner = next(n for n, answer in enumerate(answers) if answer.status_code == 303)
    saved = run_in_app(client, lambda: Process.select().where(Process.id == process["id"]).first())
    assert (
        saved["summary"] == f"La sintesi dell'editor {winner}." and saved["version"] == process["version"] + 1
    )
    for answer in answers:
        if answer.status_code == 409:
            assert "ha salvato una nuova versione" in answer.text
