"""E-mail: the outbox written in the decision's transaction, and its delivery to a real SMTP server
(aiosmtpd, started by the tests: smtp_server.py) with retries, on both databases."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import re

import pytest
from conftest import make_settings
from helpers import (
    PATTI,
    SUBMITTER,
    audit_entries,
    form_token,
    form_values,
    login_as,
    observatory_command,
    process_row,
    rows,
    run_in_app,
    soup,
    submission_form,
)
from litestar.testing import AsyncTestClient

from observatory.accounts.tables import StaffUser
from observatory.app import create_app
from observatory.catalogue.tables import Process
from observatory.database import write_transaction
from observatory.mail import outbox, sender
from observatory.mail.sender import send_due
from observatory.mail.tables import MailMessage
from observatory.settings import Settings
from observatory.submissions import digest
from observatory.submissions.services import find_by_token
from observatory.submissions.tables import Submission

pytest_plugins = ["smtp_server"]
pytestmark = pytest.mark.anyio


def mail_on(settings: Settings, port: int = 2525) -> Settings:
    """``settings`` sending through the SMTP server on ``port`` of this machine, unencrypted; links
    lead to the test client's host, so the tests can follow them."""
    return dataclasses.replace(
        settings,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls="none",
        smtp_timeout=5,
        mail_from="Osservatorio <redazione@osservatorio.example>",
        base_url="http://testserver.local",
    )


class Rollback(Exception):
    pass


async def _enqueue_then(settings: Settings, fail: bool, **extra) -> bool:
    async with write_transaction():
        stored = await outbox.enqueue(
            settings,
            to="maria.rossi@comune.chieri.example",
            subject="Prova\ncon un a capo",
            template="indirizzo",
            context={
                "name": "<Maria> & co",
                "title": "Orti",
                "tracking_url": "http://testserver.local/segnala/abc",
            },
            kind="ricevuta",
            reference="segnalazione:1",
            **extra,
        )
        if fail:
            raise Rollback
    return stored


async def test_a_message_commits_with_the_transaction_that_wrote_it_or_not_at_all(empty_client):
    settings = mail_on(empty_client.app.state.settings)
    with pytest.raises(Rollback):
        run_in_app(empty_client, _enqueue_then, settings, True)
    assert rows(empty_client, MailMessage) == []
    assert run_in_app(empty_client, _enqueue_then, settings, False) is True
    (message,) = rows(empty_client, MailMessage)
    assert message["recipient"] == "maria.rossi@comune.chieri.example"
    assert message["subject"] == "Prova con un a capo"
    assert message["sent_at"] is None and message["attempts"] == 0 and message["failed_at"] is None
    assert "Gentile <Maria> & co," in message["text"]  # plain text is not escaped
    assert "Gentile &lt;Maria&gt; &amp; co," in message["html"]  # HTML is
    assert "http://testserver.local/segnala/abc" in message["text"]


async def test_no_mail_settings_means_nothing_in_the_outbox(empty_client):
    settings = empty_client.app.state.settings
    assert not outbox.mail_enabled(settings)
    assert run_in_app(empty_client, _enqueue_then, settings, False) is False
    assert rows(empty_client, MailMessage) == []


async def test_a_message_with_a_once_key_is_stored_once(empty_client):
    settings = mail_on(empty_client.app.state.settings)
    assert run_in_app(empty_client, _enqueue_then, settings, False, once_key="riepilogo:2026-12-07:1")
    assert not run_in_app(empty_client, _enqueue_then, settings, False, once_key="riepilogo:2026-12-07:1")
    assert len(rows(empty_client, MailMessage)) == 1


def test_mail_settings_are_read_and_checked():
    settings = Settings.from_env(
        {
            "OBSERVATORY_SMTP_HOST": "smtp.comune.example",
            "OBSERVATORY_SMTP_USER": "osservatorio",
            "OBSERVATORY_SMTP_PASSWORD": "segreto",
            "OBSERVATORY_SMTP_TLS": "tls",
            "OBSERVATORY_MAIL_FROM": "Osservatorio <redazione@comune.example>",
            "OBSERVATORY_SECRET_KEY": "k",
        }
    )
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_tls) == ("smtp.comune.example", 465, "tls")
    assert outbox.mail_enabled(settings)
    assert "segreto" not in repr(settings)
    assert Settings.from_env({"OBSERVATORY_SECRET_KEY": "k"}).smtp_port == 587
    with pytest.raises(ValueError, match="OBSERVATORY_MAIL_FROM"):
        Settings.from_env({"OBSERVATORY_SMTP_HOST": "smtp.comune.example", "OBSERVATORY_SECRET_KEY": "k"})
    with pytest.raises(ValueError, match="OBSERVATORY_SMTP_TLS"):
        Settings.from_env({"OBSERVATORY_SMTP_TLS": "ssl", "OBSERVATORY_SECRET_KEY": "k"})
    with pytest.raises(ValueError, match="OBSERVATORY_MAIL_FROM"):
        Settings.from_env({"OBSERVATORY_MAIL_FROM": "redazione", "OBSERVATORY_SECRET_KEY": "k"})


# --- through the real app, with a real SMTP server ---------------------------------------------------

TITLE = "Orti condivisi di Borgoquercia"
SUBMITTER_EMAIL = SUBMITTER["email"]
OTHER = {"nome": "Giulia Verdi", "ente": "Associazione Vicini", "email": "giulia.verdi@vicini.example"}


@pytest.fixture
async def mail_client(demo_db_url, tmp_path, smtp):
    """The app over the demo catalogue, sending through ``smtp``; the tests run the sender themselves
    (send_now), its own round comes once at start-up."""
    settings = dataclasses.replace(mail_on(make_settings(demo_db_url, tmp_path), smtp.port), mail_poll=3600)
    async with AsyncTestClient(app=create_app(settings)) as test_client:
        yield test_client


def send_now(client, now: datetime.datetime | None = None) -> int:
    """Run one round of the sender (as the background task does) at ``now``."""
    return run_in_app(client, send_due, client.app.state.settings, now)


async def _submit(client, **fields: str) -> str:
    """Send the public form (past the duplicate warning); return the private tracking token."""
    token = await form_token(client, "/segnala")
    data = submission_form(token, fields, conferma="1", azione="invia")
    response = await client.post("/segnala", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return re.fullmatch(r"/segnala/([A-Za-z0-9_-]+)\?inviata=1", response.headers["location"]).group(1)


def _submission_id(client, tracking: str) -> int:
    return run_in_app(client, find_by_token, tracking)["id"]


async def _staff_post(client, path: str, data: dict | None = None):
    token = await form_token(client, "/redazione")
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


def _slug_of(client, title: str) -> str:
    query = Process.select(Process.slug).where(Process.title == title).first()
    return run_in_app(client, lambda: query)["slug"]


def _outbox(client) -> list[dict]:
    return rows(client, MailMessage)


async def test_the_submitter_gets_a_receipt_with_the_private_link(mail_client, smtp):
    tracking = await _submit(mail_client, title=TITLE)
    page = soup(await mail_client.get(f"/segnala/{tracking}?inviata=1"))
    assert "Riceverai un'e-mail" in page.select_one(".notice.success").get_text()
    assert send_now(mail_client) == 1

    (receipt,) = smtp.inbox.to(SUBMITTER_EMAIL)
    assert receipt.recipients == [SUBMITTER_EMAIL]
    assert receipt.subject == f"Segnalazione ricevuta: «{TITLE}»"
    assert receipt.message["From"] == "Osservatorio <redazione@osservatorio.example>"
    assert receipt.message["Auto-Submitted"] == "auto-generated"
    link = f"http://testserver.local/segnala/{tracking}"
    assert receipt.links()[0] == link
    assert f'href="{link}"' in receipt.html and '<html lang="it">' in receipt.html
    assert "Gentile Maria Rossi," in receipt.text
    opened = await mail_client.get(link)
    assert opened.status_code == 200
    assert soup(opened).select_one(".state").get_text() == "In attesa"
    assert send_now(mail_client) == 0  # sent once
    (stored,) = _outbox(mail_client)
    assert stored["sent_at"] is not None and stored["attempts"] == 1 and stored["last_error"] is None


DECISIONS = {
    # action: (path, form, subject, what the message must say, where its link leads)
    "richiedi_modifiche": (
        "richiedi-modifiche",
        {"messaggio": "Aggiungete l'anno di avvio, per favore."},
        f"Modifiche richieste per la tua segnalazione «{TITLE}»",
        "Aggiungete l'anno di avvio, per favore.",
        "tracking",
    ),
    "approva": ("approva", {}, f"Segnalazione approvata: «{TITLE}»", "è pubblicato nel catalogo", "process"),
    "respingi": (
        "respingi",
        {"motivo": "Non è un processo partecipativo."},
        f"Segnalazione non pubblicata: «{TITLE}»",
        "Non è un processo partecipativo.",
        "tracking",
    ),
    "duplicato": (
        "duplicato",
        {"processo_altro": PATTI, "messaggio_duplicato": "Lo abbiamo già."},
        f"Il processo è già nel catalogo: «{TITLE}»",
        "Lo abbiamo già.",
        "process",
    ),
}


@pytest.mark.parametrize("action", list(DECISIONS))
async def test_each_decision_mails_the_submitter_with_a_link_that_works(mail_client, smtp, action):
    path, form, subject, says, leads_to = DECISIONS[action]
    tracking = await _submit(mail_client, title=TITLE)
    await _submit(mail_client, title="Un'altra segnalazione", **OTHER)
    submission_id = _submission_id(mail_client, tracking)
    await login_as(mail_client)
    response = await _staff_post(mail_client, f"/redazione/segnalazioni/{submission_id}/{path}", form)
    assert response.status_code == 303, response.text
    send_now(mail_client)

    receipt, decision = smtp.inbox.to(SUBMITTER_EMAIL)
    assert decision.recipients == [SUBMITTER_EMAIL]
    assert decision.subject == subject
    assert says in decision.text
    for other in (*OTHER.values(), "Un'altra segnalazione"):  # nothing of another person
        assert other not in decision.text and other not in decision.html
    tracking_link = f"http://testserver.local/segnala/{tracking}"
    assert tracking_link in decision.links()
    opened = await mail_client.get(tracking_link)
    assert opened.status_code == 200
    if leads_to == "process":
        slug = PATTI if action == "duplicato" else _slug_of(mail_client, TITLE)
        process_link = f"http://testserver.local/processi/{slug}"
        assert decision.links()[0] == process_link and f'href="{process_link}"' in decision.html
        public = await mail_client.get(process_link)
        assert public.status_code == 200
        assert soup(public).h1.get_text(strip=True) == process_row(mail_client, slug)["title"]
    else:
        assert decision.links()[0] == tracking_link
        assert says in soup(opened).select_one(".editor-message").get_text()
    (message,) = [m for m in _outbox(mail_client) if m["kind"] != "ricevuta"]
    assert message["reference"] == f"segnalazione:{submission_id}"


async def test_a_mail_server_that_is_down_loses_nothing_and_fails_no_request(mail_client, smtp):
    tracking = await _submit(mail_client, title=TITLE)
    send_now(mail_client)  # the receipt
    smtp.stop()
    submission_id = _submission_id(mail_client, tracking)
    await login_as(mail_client)
    message = {"messaggio": "Manca il comune."}
    response = await _staff_post(
        mail_client, f"/redazione/segnalazioni/{submission_id}/richiedi-modifiche", message
    )
    assert response.status_code == 303  # the decision is taken; its e-mail waits
    start = datetime.datetime.now(datetime.UTC)
    assert send_now(mail_client, start) == 0
    (waiting,) = [m for m in _outbox(mail_client) if m["sent_at"] is None]
    assert waiting["attempts"] == 1 and "Connection refused" in waiting["last_error"]
    assert waiting["next_attempt_at"] >= start + datetime.timedelta(seconds=59)

    # retried with a growing delay: 1 minute, then 2, 4 ...
    assert send_now(mail_client, start + datetime.timedelta(seconds=30)) == 0
    assert _outbox(mail_client)[-1]["attempts"] == 1  # not due yet
    moment = start
    for attempt, delay in ((2, 1), (3, 2), (4, 4)):
        moment += datetime.timedelta(minutes=delay, seconds=1)
        send_now(mail_client, moment)
        assert _outbox(mail_client)[-1]["attempts"] == attempt
    # failing for a while: /redazione shows it, with the error
    panel = soup(await mail_client.get("/redazione")).find(id="posta-non-inviata").parent
    assert "Connection refused" in panel.get_text() and SUBMITTER_EMAIL in panel.get_text()
    assert panel.select("form[action$='/riprova']") == []  # an editor cannot retry: admins can

    smtp.start()
    assert send_now(mail_client, moment + datetime.timedelta(hours=1)) == 1
    assert send_now(mail_client, moment + datetime.timedelta(hours=2)) == 0
    (receipt, decision) = smtp.inbox.to(SUBMITTER_EMAIL)
    assert decision.subject.startswith("Modifiche richieste") and "Manca il comune." in decision.text
    assert soup(await mail_client.get("/redazione")).find(id="posta-non-inviata") is None


async def test_a_message_is_kept_as_failed_after_the_last_attempt_and_an_admin_sends_it_again(
    mail_client, smtp
):
    smtp.stop()
    await _submit(mail_client, title=TITLE)
    moment = datetime.datetime.now(datetime.UTC)
    for _ in range(sender.MAX_ATTEMPTS):
        send_now(mail_client, moment)
        moment += sender.LONGEST_DELAY
    (failed,) = _outbox(mail_client)
    assert failed["failed_at"] is not None and failed["attempts"] == sender.MAX_ATTEMPTS
    send_now(mail_client, moment + datetime.timedelta(days=30))
    assert _outbox(mail_client)[0]["attempts"] == sender.MAX_ATTEMPTS  # given up: no more attempts
    assert [sender.backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [60, 120, 240, 6 * 3600]

    await login_as(mail_client, "amministratore")
    panel = soup(await mail_client.get("/redazione")).find(id="posta-non-inviata").parent
    assert "Non inviata" in panel.get_text()
    (retry,) = panel.select("form[action$='/riprova']")
    smtp.start()
    response = await _staff_post(mail_client, retry["action"])
    assert response.status_code == 303 and response.headers["location"] == "/redazione?fatto=posta-riprovata"
    assert send_now(mail_client) == 1
    assert len(smtp.inbox.to(SUBMITTER_EMAIL)) == 1
    (entry,) = audit_entries(mail_client, "posta.riprova")
    assert entry["before"]["attempts"] == sender.MAX_ATTEMPTS
    assert (await _staff_post(mail_client, retry["action"])).status_code == 404  # sent: nothing to retry


async def test_only_admins_retry_mail(mail_client, smtp):
    smtp.stop()
    await _submit(mail_client, title=TITLE)
    send_now(mail_client)
    (message,) = _outbox(mail_client)
    await login_as(mail_client)
    assert (await _staff_post(mail_client, f"/redazione/posta/{message['id']}/riprova")).status_code == 403
    assert _outbox(mail_client)[0]["attempts"] == 1


async def test_two_instances_sending_at_once_send_each_message_once(demo_db_url, tmp_path, smtp):
    settings = mail_on(make_settings(demo_db_url, tmp_path), smtp.port)
    async with AsyncTestClient(app=create_app(dataclasses.replace(settings, mail_poll=3600))) as client:
        for number in range(30):
            run_in_app(client, _enqueue_to, settings, f"persona{number}@example.org")
    environment = {
        "OBSERVATORY_SMTP_HOST": "127.0.0.1",
        "OBSERVATORY_SMTP_PORT": str(smtp.port),
        "OBSERVATORY_SMTP_TLS": "none",
        "OBSERVATORY_MAIL_FROM": settings.mail_from,
    }
    first, second = await asyncio.gather(
        *(
            observatory_command(demo_db_url, tmp_path / "index", "send-mail", env=environment)
            for _ in range(2)
        )
    )
    assert first[0] == 0 and second[0] == 0, (first, second)
    sent = [int(re.search(r"E-mail inviate: (\d+)", output).group(1)) for _, output in (first, second)]
    assert sum(sent) == 30
    identifiers = [m.message["Message-ID"] for m in smtp.inbox.messages]
    assert len(identifiers) == 30 and len(set(identifiers)) == 30


async def _enqueue_to(settings: Settings, address: str) -> None:
    async with write_transaction():
        await outbox.enqueue(
            settings,
            to=address,
            subject="Prova",
            template="indirizzo",
            context={"name": address, "title": "Orti", "tracking_url": "http://testserver.local/segnala/x"},
            kind="indirizzo",
        )


async def test_no_mail_settings_means_no_mail_and_pages_say_so(client):
    tracking = await _submit(client, title=TITLE)
    page = soup(await client.get(f"/segnala/{tracking}?inviata=1"))
    assert "e-mail" not in page.select_one(".notice.success").get_text()
    assert "non inviamo e-mail" in page.select_one(".private-link").get_text()
    submission_id = _submission_id(client, tracking)
    await login_as(client)
    review = soup(await client.get(f"/redazione/segnalazioni/{submission_id}"))
    assert "La posta elettronica non è configurata" in review.get_text()
    assert review.select("form[action$='/nuovo-indirizzo']") == []
    response = await _staff_post(
        client, f"/redazione/segnalazioni/{submission_id}/richiedi-modifiche", {"messaggio": "Ok?"}
    )
    assert response.status_code == 303
    assert "La posta elettronica non è configurata" in (await client.get("/redazione")).text
    assert "La posta elettronica non è configurata" in (await client.get("/redazione/notifiche")).text
    refused = await _staff_post(client, f"/redazione/segnalazioni/{submission_id}/nuovo-indirizzo")
    assert refused.status_code == 409 and "non è configurata" in soup(refused).select_one(".alert").get_text()
    assert (await client.get(f"/segnala/{tracking}")).status_code == 200  # the link still works
    assert _outbox(client) == []
    assert run_in_app(client, send_due, client.app.state.settings) == 0


async def test_editors_send_a_new_private_link_that_replaces_the_old_one(mail_client, smtp):
    tracking = await _submit(mail_client, title=TITLE)
    submission_id = _submission_id(mail_client, tracking)
    path = f"/redazione/segnalazioni/{submission_id}/nuovo-indirizzo"
    anonymous = await mail_client.post(
        path, data={"_csrf_token": await form_token(mail_client)}, follow_redirects=False
    )
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/redazione/accesso")
    editor = await login_as(mail_client)
    review = soup(await mail_client.get(f"/redazione/segnalazioni/{submission_id}"))
    assert review.select_one(f"form[action='{path}']") is not None
    assert (await mail_client.post(path, data={}, follow_redirects=False)).status_code == 403  # no CSRF token
    response = await _staff_post(mail_client, path)
    assert response.status_code == 303
    assert "Nuovo indirizzo privato inviato" in (await mail_client.get(response.headers["location"])).text
    send_now(mail_client)

    receipt, new_link = smtp.inbox.to(SUBMITTER_EMAIL)
    assert new_link.subject == f"Il nuovo indirizzo della tua segnalazione «{TITLE}»"
    link = new_link.links()[0]
    assert link.startswith("http://testserver.local/segnala/") and tracking not in link
    assert (await mail_client.get(link)).status_code == 200
    assert (await mail_client.get(f"/segnala/{tracking}")).status_code == 404  # the old one stops working
    (entry,) = audit_entries(mail_client, "segnalazione.nuovo_indirizzo")
    assert entry["actor"] == editor["id"] and entry["object_id"] == str(submission_id)
    assert link.rsplit("/", 1)[1] not in json.dumps([entry["before"], entry["after"], entry["summary"]])

    # the next decision's message carries the new link
    await _staff_post(
        mail_client, f"/redazione/segnalazioni/{submission_id}/respingi", {"motivo": "Fuori tema."}
    )
    send_now(mail_client)
    assert link in smtp.inbox.to(SUBMITTER_EMAIL)[-1].links()


async def test_editors_who_ask_get_one_daily_digest_of_new_submissions(mail_client, smtp):
    await _submit(mail_client, title=TITLE)
    await _submit(mail_client, title="Bilancio partecipativo di Vortiquello", **OTHER)
    send_now(mail_client)
    subscriber = await login_as(mail_client)
    profile = soup(await mail_client.get("/redazione/profilo"))
    assert profile.select_one("a[href='/redazione/notifiche']") is not None  # where a member finds it
    run_in_app(mail_client, _set_email, subscriber["id"], "rita@redazione.example")
    token = await form_token(mail_client, "/redazione/notifiche")
    saved = await mail_client.post(
        "/redazione/notifiche", data={"_csrf_token": token, "riepilogo": "1"}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert "attivo" in soup(await mail_client.get("/redazione/notifiche")).select("dd")[1].get_text()
    (entry,) = audit_entries(mail_client, "notifiche.riepilogo")
    assert entry["after"] == {"daily_digest": True}

    # an editor with no address is told why, and the choice stays ticked
    await login_as(mail_client)
    token = await form_token(mail_client, "/redazione/notifiche")
    refused = await mail_client.post("/redazione/notifiche", data={"_csrf_token": token, "riepilogo": "1"})
    assert refused.status_code == 400
    page = soup(refused)
    assert "non ha un indirizzo e-mail" in page.select_one("#errore-riepilogo").get_text()
    assert page.select_one("#campo-riepilogo").has_attr("checked")

    # every instance writes the digest when it is due: one each, however many try
    due = digest.digest_window(datetime.datetime.now(datetime.UTC))[2] + datetime.timedelta(days=1, hours=1)
    written = run_in_app(mail_client, _digests_at_once, mail_client.app.state.settings, due)
    assert sorted(written) == [0, 0, 1]
    assert send_now(mail_client) == 1
    (received,) = smtp.inbox.to("rita@redazione.example")
    assert received.subject.startswith("Riepilogo del ") and received.subject.endswith(
        ": 2 nuove segnalazioni"
    )
    assert TITLE in received.text and "Bilancio partecipativo di Vortiquello" in received.text
    for private in (*OTHER.values(), *SUBMITTER.values()):  # the submitters' data stays on the site
        assert private not in received.text and private not in received.html
    review_links = [link for link in received.links() if "/redazione/segnalazioni/" in link]
    assert len(review_links) == 2
    assert (await mail_client.get(review_links[0])).status_code == 200
    # a day with no submission sends nothing
    assert (
        run_in_app(
            mail_client,
            digest.enqueue_digests,
            mail_client.app.state.settings,
            due + datetime.timedelta(days=1),
        )
        == 0
    )


async def _set_email(staff_id: int, address: str) -> None:
    await StaffUser.update({StaffUser.email: address}).where(StaffUser.id == staff_id)


async def _digests_at_once(settings: Settings, when: datetime.datetime) -> list[int]:
    return list(await asyncio.gather(*(digest.enqueue_digests(settings, when) for _ in range(3))))


async def test_the_background_task_sends_what_a_request_wrote(demo_db_url, tmp_path, smtp):
    settings = dataclasses.replace(mail_on(make_settings(demo_db_url, tmp_path), smtp.port), mail_poll=0.2)
    async with AsyncTestClient(app=create_app(settings)) as client:
        await _submit(client, title=TITLE)
        (receipt,) = await asyncio.to_thread(smtp.inbox.wait_for, SUBMITTER_EMAIL)
        assert receipt.subject == f"Segnalazione ricevuta: «{TITLE}»"


async def test_a_message_that_cannot_be_built_is_kept_with_its_error_and_the_others_go(mail_client, smtp):
    settings = mail_client.app.state.settings
    run_in_app(mail_client, _enqueue_to, settings, "persona@example.org\nBcc: spia@example.org")
    run_in_app(mail_client, _enqueue_to, settings, "persona@example.org")
    assert send_now(mail_client) == 1
    broken, sent = _outbox(mail_client)
    assert broken["sent_at"] is None and broken["attempts"] == 1 and "ValueError" in broken["last_error"]
    assert sent["sent_at"] is not None
    assert [m.recipients for m in smtp.inbox.messages] == [["persona@example.org"]]


async def test_a_correction_gets_a_receipt_and_an_approval_naming_the_process_it_corrects(mail_client, smtp):
    published = process_row(mail_client, PATTI)
    path = f"/processi/{PATTI}/correzione"
    token = await form_token(mail_client, path)
    data = form_values(soup(await mail_client.get(path)), "form#modulo-segnalazione")
    data.update(_csrf_token=token, **SUBMITTER, privacy="1", azione="invia", nota="La sintesi.")
    data.update(summary="Sintesi corretta.")
    response = await mail_client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    submission_id = _submission_id(mail_client, response.headers["location"].split("/")[-1].split("?")[0])
    await login_as(mail_client)
    approve = f"/redazione/segnalazioni/{submission_id}/approva"
    response = await _staff_post(mail_client, approve, {"correzione": "1", "campi": ["summary"]})
    assert response.status_code == 303, response.text
    send_now(mail_client)

    receipt, approval = smtp.inbox.to(SUBMITTER_EMAIL)
    assert f"una correzione di «{published['title']}»" in receipt.text
    assert f"la tua correzione di «{published['title']}» è stata approvata" in approval.text
    assert approval.links()[0] == f"http://testserver.local/processi/{PATTI}"
    assert "Sintesi corretta." in (await mail_client.get(approval.links()[0])).text


async def test_a_submission_whose_link_cannot_be_derived_gets_its_decision_without_a_link(mail_client, smtp):
    tracking = await _submit(mail_client, title=TITLE)
    submission_id = _submission_id(mail_client, tracking)
    # sent before salts were kept (or under another secret): its link still opens it
    run_in_app(mail_client, _forget_salt, submission_id)
    assert (await mail_client.get(f"/segnala/{tracking}")).status_code == 200
    await login_as(mail_client)
    motivo = {"motivo": "Fuori tema."}
    await _staff_post(mail_client, f"/redazione/segnalazioni/{submission_id}/respingi", motivo)
    send_now(mail_client)
    decision = smtp.inbox.to(SUBMITTER_EMAIL)[-1]
    assert "Fuori tema." in decision.text and "/segnala/" not in decision.text + decision.html
    assert "chiedi alla redazione di inviartene uno nuovo" in decision.text


async def _forget_salt(submission_id: int) -> None:
    await Submission.update({Submission.token_salt: None}).where(Submission.id == submission_id)
