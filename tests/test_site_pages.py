"""The site's basics through the real app on both databases: the icon, canonical addresses, the
accessibility statement, the privacy notice and the retention it promises, the legal notes, and
the contact form with the editors' messages (CSRF, honeypot, limits, control characters, mail)."""

from __future__ import annotations

import dataclasses
import datetime
import re
from contextlib import asynccontextmanager

import pytest
import test_accessibility
from conftest import make_settings
from helpers import (
    PATTI,
    audit_entries,
    form_token,
    form_values,
    login_as,
    rows,
    run_in_app,
    soup,
    submission_form,
)
from litestar.testing import AsyncTestClient
from test_mail import mail_on, send_now

from observatory.app import create_app
from observatory.contact import retention
from observatory.contact.site_controllers import CHECKED_WIDTHS, FAVICON
from observatory.contact.tables import ContactMessage
from observatory.mail.tables import MailMessage
from observatory.settings import PROJECT_DIR
from observatory.submissions.tables import Submission

pytest_plugins = ["smtp_server"]
pytestmark = pytest.mark.anyio

BASE = "https://osservatorio.comune.example"
MESSAGE = {
    "nome": "Lucia Bianchi",
    "email": "lucia.bianchi@example.org",
    "oggetto": "Dati sul bilancio partecipativo",
    "messaggio": "Buongiorno,\nvorrei sapere se i dati del 2024 saranno aggiornati.\nGrazie",
    "privacy": "1",
}
SITE_PAGES = ("/contatti", "/accessibilita", "/privacy", "/note-legali")


@asynccontextmanager
async def _site(db_url: str, tmp_path, **settings):
    """A client on the real app over ``db_url`` with ``settings`` on top of the tests' own."""
    app = create_app(dataclasses.replace(make_settings(db_url, tmp_path), **settings))
    async with AsyncTestClient(app=app) as client:
        yield client


@pytest.fixture
async def client(empty_db_url, tmp_path):
    """The app over a catalogue with no process: these pages need none (and it starts faster)."""
    async with _site(empty_db_url, tmp_path) as client:
        yield client


async def _send(client, **fields: str):
    token = await form_token(client, "/contatti")
    return await client.post(
        "/contatti", data={"_csrf_token": token, **MESSAGE, **fields}, follow_redirects=False
    )


def _canonical(response) -> str | None:
    link = soup(response).select_one("link[rel=canonical]")
    return link["href"] if link else None


# --- icon, footer, canonical addresses ---------------------------------------------------------------


async def test_every_page_names_its_icons_and_links_the_site_pages_in_its_footer(demo_db_url, tmp_path):
    async with _site(demo_db_url, tmp_path) as client:
        for path in ("/", "/processi", f"/processi/{PATTI}", "/en/processi", *SITE_PAGES):
            page = soup(await client.get(path))
            icons = {link["href"] for link in page.select("link[rel=icon], link[rel=apple-touch-icon]")}
            assert icons == {"/favicon.ico", "/static/favicon.svg", "/static/apple-touch-icon.png"}, path
            footer = [a["href"] for a in page.select("footer .footer-links a")]
            prefix = "/en" if path.startswith("/en/") else ""
            assert footer == [prefix + link for link in SITE_PAGES], path
            for href in icons:
                assert (await client.get(href)).status_code == 200, href


async def test_search_engines_find_the_site_pages(reader):
    sitemap = (await reader.get("/sitemap.xml")).text
    for path in SITE_PAGES:
        assert f"<loc>{reader.app.state.settings.base_url}{path}</loc>" in sitemap, path


async def test_the_icon_is_served_where_browsers_look_for_it(reader):
    response = await reader.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/x-icon"
    assert response.content == FAVICON.read_bytes() and response.content[:4] == b"\x00\x00\x01\x00"
    assert "max-age" in response.headers["cache-control"]


async def test_public_pages_name_their_clean_absolute_address_as_canonical(demo_db_url, tmp_path):
    async with _site(demo_db_url, tmp_path, base_url=BASE) as client:
        for path, expected in (
            ("/", "/"),
            (f"/processi/{PATTI}?utm_source=newsletter&fbclid=abc", f"/processi/{PATTI}"),
            ("/processi?q=bilancio&ordine=rilevanza&utm_medium=email", "/processi?q=bilancio"),
            ("/processi?pagina=2&utm_campaign=autunno", "/processi?pagina=2"),
            ("/processi?territorio=R08&ordine=titolo&pagina=1", "/processi?ordine=titolo&territorio=R08"),
            ("/territori/R01", "/territori/R01"),
            ("/contatti?inviato=1", "/contatti"),
            ("/accessibilita", "/accessibilita"),
            ("/en/processi?pagina=2&utm_source=x", "/en/processi?pagina=2"),
        ):
            response = await client.get(path)
            assert response.status_code == 200, path
            assert _canonical(response) == BASE + expected, path
        assert _canonical(await client.get("/processi/nessun-processo-con-questo-nome")) is None


# --- accessibility statement, privacy notice, legal notes -----------------------------------------------


async def test_the_accessibility_statement_follows_agids_model_with_what_the_tests_check(
    empty_db_url, tmp_path
):
    owner = {"publisher_name": "Comune di Prova", "publisher_email": "urp@comune.prova.example"}
    async with _site(empty_db_url, tmp_path, base_url=BASE, **owner) as client:
        response = await client.get("/accessibilita")
    assert response.status_code == 200
    page = soup(response)
    assert page.h1.get_text() == "Dichiarazione di accessibilità"
    sections = [h.get_text(" ", strip=True) for h in page.select("main h2")]
    assert sections == [
        "Stato di conformità",
        "Contenuti non accessibili",
        "Redazione della dichiarazione di accessibilità",
        "Meccanismo di feedback e recapiti",
        "Procedura di attuazione",
        "Informazioni sul sito",
    ]
    text = page.main.get_text(" ", strip=True)
    assert "Comune di Prova si impegna a rendere il proprio sito web accessibile" in text
    assert f"si applica al sito {BASE}" in text
    assert "parzialmente conforme" in text and "WCAG 2.1" in text and "EN 301549" in text
    assert "axe-core" in text and "320 e 1280 pixel" in text
    assert "Difensore civico per il digitale" in text
    assert page.select_one("section[aria-labelledby=feedback] a[href='/contatti']")
    assert page.select_one("a[href='mailto:urp@comune.prova.example']")
    assert page.select_one("a[href='https://form.agid.gov.it']").get_text() == "https://form.agid.gov.it"


def test_the_statement_names_the_widths_the_accessibility_test_checks():
    assert sorted(CHECKED_WIDTHS) == sorted(test_accessibility.WIDTHS)
    for path in SITE_PAGES:
        assert path in [p for _, p in test_accessibility.PAGES], path


async def test_the_privacy_notice_says_what_is_kept_how_long_and_is_linked_from_both_forms(
    empty_db_url, tmp_path
):
    settings = {"personal_data_months": 7, "publisher_name": "Comune di Prova"}
    async with _site(empty_db_url, tmp_path, **settings) as client:
        page = soup(await client.get("/privacy"))
        for form in ("/segnala", "/contatti"):
            links = [a["href"] for a in soup(await client.get(form)).select("#informativa a")]
            assert any(href.startswith("/privacy#") for href in links), form
    text = page.main.get_text(" ", strip=True)
    assert page.select_one("#mesi-conservazione").get_text() == "7"
    assert "Il titolare del trattamento è Comune di Prova" in text
    for collected in (
        "nome e cognome",
        "indirizzo e-mail",
        "oggetto e testo del messaggio",
        "impronta cifrata",
    ):
        assert collected in text, collected
    assert "l'indirizzo IP non viene conservato" in text
    for article in ("art. 15", "art. 16", "art. 17", "art. 18", "art. 20", "art. 21", "art. 22"):
        assert article in text, article
    assert "Solo i membri della redazione" in text


async def test_the_legal_notes_list_the_licences_of_code_and_data(reader):
    page = soup(await reader.get("/note-legali"))
    text = page.main.get_text(" ", strip=True)
    assert "GNU Affero General Public License 3.0 o successiva" in text
    for credited in ("ISTAT", "Openpolis", "Monithon", "Comune di Bologna", "Comune di Trento", "Samurai016"):
        assert credited in text, credited
    licences = {a.get_text() for a in page.select("main a[rel~=license]")}
    assert {"CC BY 4.0", "CC BY-SA 4.0", "MIT", "CC0 1.0"} <= licences
    components = {
        row.th.get_text(): row.select("td")[-1].get_text()
        for row in page.select("#componenti ~ div tbody tr")
    }
    assert components["Litestar"] == "MIT" and components["whoosh-reloaded"] == "BSD-2-Clause"
    assert page.select_one("main a[href='/static/favicon.svg']")


# --- the contact form ---------------------------------------------------------------------------------


async def test_a_message_reaches_the_editors_who_mark_it_handled(client):
    page = soup(await client.get("/contatti"))
    honeypot = page.select_one("input[name=sito_web]")
    assert honeypot["tabindex"] == "-1" and honeypot.find_parent(attrs={"aria-hidden": "true"})
    response = await _send(client)
    assert response.status_code == 303 and response.headers["location"] == "/contatti?inviato=1"
    thanks = soup(await client.get(response.headers["location"]))
    assert thanks.select_one("[role=status] h1").get_text() == "Messaggio inviato"
    (stored,) = rows(client, ContactMessage)
    assert (stored["sender_name"], stored["subject"]) == (MESSAGE["nome"], MESSAGE["oggetto"])
    assert stored["body"] == MESSAGE["messaggio"] and stored["handled_at"] is None
    assert re.fullmatch(r"[0-9a-f]{64}", stored["address_hash"])  # a keyed hash, never the address

    await login_as(client, "redattore")
    listed = await client.get("/redazione/messaggi")
    assert _canonical(listed) is None  # the editors' pages have no public address
    messages = soup(listed)
    (card,) = messages.select("article.contact-message")
    assert card.h3.get_text() == MESSAGE["oggetto"]
    assert card.select_one(f"a[href='mailto:{MESSAGE['email']}']")
    assert "vorrei sapere se i dati del 2024" in card.get_text()
    token = form_values(messages, "article.contact-message form")["_csrf_token"]
    handled = await client.post(
        f"/redazione/messaggi/{stored['id']}/gestito", data={"_csrf_token": token}, follow_redirects=True
    )
    assert "Messaggio segnato come gestito." in handled.text
    assert "Nessun messaggio da gestire." in handled.text
    done = soup(await client.get("/redazione/messaggi?stato=gestiti")).select_one("article.contact-message")
    assert "Gestito da Prova Redattore" in done.get_text(" ", strip=True)
    again = await client.post(
        f"/redazione/messaggi/{stored['id']}/gestito", data={"_csrf_token": token}, follow_redirects=True
    )
    assert "Il messaggio era già stato segnato come gestito." in again.text
    missing = await client.post("/redazione/messaggi/999999/gestito", data={"_csrf_token": token})
    assert missing.status_code == 404
    (entry,) = audit_entries(client, "messaggio.gestito")
    assert entry["object_id"] == str(stored["id"])


async def test_anonymous_visitors_never_read_or_handle_messages(client):
    await _send(client)
    (stored,) = rows(client, ContactMessage)
    token = await form_token(client, "/contatti")
    for method, path in (
        ("GET", "/redazione/messaggi"),
        ("POST", f"/redazione/messaggi/{stored['id']}/gestito"),
    ):
        response = await client.request(
            method, path, headers={"x-csrftoken": token} if method == "POST" else {}, follow_redirects=False
        )
        assert response.status_code == 303 and response.headers["location"].startswith("/redazione/accesso")
    assert rows(client, ContactMessage)[0]["handled_at"] is None


async def test_a_robot_filling_the_honeypot_is_thanked_and_nothing_is_stored(reader):
    response = await _send(reader, sito_web="https://spam.example")
    assert response.status_code == 303 and response.headers["location"] == "/contatti?inviato=1"
    assert rows(reader, ContactMessage) == []


async def test_a_refused_message_comes_back_as_typed_with_italian_errors(reader):
    response = await _send(reader, nome="", email="lucia@", messaggio="Ciao\x07 redazione", privacy="")
    assert response.status_code == 400
    page = soup(response)
    assert page.title.get_text().startswith("Errore: Contatti")
    summary = page.select_one(".error-summary")
    assert summary and len(summary.select("li")) == 4
    assert "caratteri di controllo" in summary.get_text()
    assert page.select_one("#campo-nome")["aria-invalid"] == "true"
    typed = form_values(page, "form.contact-form")
    assert typed["email"] == "lucia@" and typed["oggetto"] == MESSAGE["oggetto"]
    assert typed["messaggio"].strip() == "Ciao\x07 redazione"
    assert rows(reader, ContactMessage) == []
    too_long = await _send(reader, oggetto="x" * 201)
    assert too_long.status_code == 400 and "al massimo 200" in too_long.text


async def test_a_post_without_its_token_is_refused_and_keeps_what_was_typed(reader):
    await reader.get("/contatti")
    response = await reader.post("/contatti", data=MESSAGE, follow_redirects=False)
    assert response.status_code == 403
    page = soup(response)
    assert page.select_one("textarea[name=oggetto]").get_text().strip() == MESSAGE["oggetto"]
    assert page.select_one("textarea[name=messaggio]").get_text().strip() == MESSAGE["messaggio"].strip()
    assert rows(reader, ContactMessage) == []


async def test_one_address_sends_five_messages_an_hour_then_gets_429_with_the_form_kept(client):
    for n in range(5):
        assert (await _send(client, oggetto=f"Domanda {n}")).status_code == 303
    refused = await _send(client, oggetto="La sesta domanda")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    page = soup(refused)
    assert "Puoi inviare di nuovo tra" in page.select_one("[role=alert]").get_text()
    assert form_values(page, "form.contact-form")["oggetto"] == "La sesta domanda"
    assert len(rows(client, ContactMessage)) == 5


async def test_the_message_is_mailed_to_the_editorial_office(empty_db_url, tmp_path, smtp):
    settings = dataclasses.replace(mail_on(make_settings(empty_db_url, tmp_path), smtp.port), mail_poll=3600)
    settings = dataclasses.replace(settings, publisher_email="redazione@comune.prova.example")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await _send(client)).status_code == 303
        (queued,) = rows(client, MailMessage)
        assert queued["kind"] == "contatto" and queued["recipient"] == "redazione@comune.prova.example"
        send_now(client)
    (mail,) = smtp.inbox.to("redazione@comune.prova.example")
    assert mail.subject == f"Messaggio dal sito: {MESSAGE['oggetto']}"
    assert "Da: Lucia Bianchi <lucia.bianchi@example.org>" in mail.text
    assert "vorrei sapere se i dati del 2024 saranno aggiornati." in mail.text
    assert "http://testserver.local/redazione/messaggi" in mail.links()


# --- retention -----------------------------------------------------------------------------------------


async def test_personal_data_past_its_retention_is_erased(empty_db_url, tmp_path):
    async with _site(empty_db_url, tmp_path, personal_data_months=6) as client:
        token = await form_token(client, "/segnala")
        data = submission_form(token, conferma="1", azione="invia")
        assert (await client.post("/segnala", data=data, follow_redirects=False)).status_code == 303
        assert (await _send(client)).status_code == 303
        (submission,) = rows(client, Submission)
        now = datetime.datetime.now(datetime.UTC)
        decided = now - datetime.timedelta(days=30)
        update = Submission.update({Submission.state: "respinta", Submission.decided_at: decided})
        run_in_app(client, lambda: update.where(Submission.id == submission["id"]))
        settings = client.app.state.settings
        purge = retention.purge_personal_data

        early = run_in_app(client, purge, settings, now + datetime.timedelta(days=2))
        assert (early.submitters, early.messages, early.address_hashes) == (0, 0, 2)
        assert rows(client, Submission)[0]["submitter_email"] == submission["submitter_email"]
        assert rows(client, ContactMessage)[0]["address_hash"] == ""
        later = run_in_app(client, purge, settings, now + datetime.timedelta(days=190))
        assert (later.submitters, later.messages) == (1, 1)
        (erased,) = rows(client, Submission)
        assert (erased["submitter_name"], erased["submitter_body"], erased["submitter_email"]) == ("", "", "")
        assert erased["data"] == submission["data"] and erased["address_hash"] == ""
        assert rows(client, ContactMessage) == []


def test_the_purge_command_says_what_it_erased(empty_db_url, cli):
    result = cli(empty_db_url, "purge-personal-data")
    assert result.exit_code == 0
    assert "Dati personali cancellati (oltre 12 mesi): segnalanti 0, messaggi 0, e-mail 0" in result.output


def test_months_are_counted_on_the_calendar():
    moment = datetime.datetime(2027, 3, 31, 12, tzinfo=datetime.UTC)
    assert retention.months_before(moment, 1) == datetime.datetime(2027, 2, 28, 12, tzinfo=datetime.UTC)
    assert retention.months_before(moment, 15) == datetime.datetime(2025, 12, 31, 12, tzinfo=datetime.UTC)


def test_the_readme_documents_the_retention_and_the_contact_form():
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert "observatory purge-personal-data" in readme and "/contatti" in readme
    assert re.search(r"/redazione/messaggi", readme)
