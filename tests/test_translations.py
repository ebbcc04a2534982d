"""The English interface: /en/ pages, the language switcher and hreflang alternates, English
vocabulary labels, the API's messages by Accept-Language, and a catalogue that is complete."""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from helpers import form_token, form_values, login_as, process_row, rows, soup

from observatory.catalogue.tables import Term
from observatory.i18n import catalogue_path

pytestmark = pytest.mark.anyio
PATTI = "patti-per-l-amministrazione-condivisa-in-piemonte"


def _alternates(page) -> dict[str, str]:
    return {
        link["hreflang"]: urlsplit(link["href"]).path
        for link in page.select('link[rel="alternate"][hreflang]')
    }


async def test_english_pages_are_english_and_point_to_the_italian_ones(reader):
    for italian, english in (
        ("/", "/en/"),
        ("/processi", "/en/processi"),
        (f"/processi/{PATTI}", f"/en/processi/{PATTI}"),
    ):
        it_page, en_page = soup(await reader.get(italian)), soup(await reader.get(english))
        assert it_page.html["lang"] == "it" and en_page.html["lang"] == "en"
        for page in (it_page, en_page):
            assert _alternates(page) == {"it": italian, "en": english, "x-default": italian}
        assert it_page.select_one(".language-switch a")["href"] == english
        assert en_page.select_one(".language-switch a")["href"] == italian
        assert en_page.select_one(".language-switch a")["lang"] == "it"
        menu = [a.get_text() for a in en_page.select("nav .nav a")]
        assert "Processes" in menu and "Processi" not in menu
        assert en_page.select_one('nav .nav a[href="/en/processi"]')
        assert en_page.select_one(".skip-link").get_text() == "Skip to content"


async def test_english_addresses_keep_query_and_error_pages_in_english(reader):
    page = soup(await reader.get("/en/processi", params={"tipo": "patto-di-collaborazione"}))
    assert _alternates(page)["it"] == "/processi"
    assert page.select_one(".language-switch a")["href"] == "/processi?tipo=patto-di-collaborazione"
    missing = await reader.get("/en/processi/nessun-processo-con-questo-nome")
    assert missing.status_code == 404
    assert soup(missing).select_one("h1").get_text(strip=True) == "Page not found"
    assert (
        soup(await reader.get("/processi/nessun-processo-con-questo-nome"))
        .select_one("h1")
        .get_text(strip=True)
        == "Pagina non trovata"
    )


async def test_api_errors_follow_accept_language(reader):
    italian = (await reader.get("/api/v1/processi", params={"pagina": "x"})).json()
    english = (
        await reader.get(
            "/api/v1/processi", params={"pagina": "x"}, headers={"Accept-Language": "en-GB,en;q=0.9"}
        )
    ).json()
    assert italian["message"] == "Pagina: «x» non è un numero intero."
    assert english["message"] == "Page: “x” is not a whole number."
    assert english["fields"] == [{"field": "pagina", "message": "Page: “x” is not a whole number."}]
    assert (
        (english["status"], english["error"]) == (italian["status"], italian["error"]) == (400, "bad_request")
    )
    preferring_italian = await reader.get(
        "/api/v1/processi", params={"pagina": "x"}, headers={"Accept-Language": "en;q=0.5, it"}
    )
    assert preferring_italian.json()["message"] == italian["message"]


async def test_messages_written_in_python_follow_the_language(reader):
    english = {"Accept-Language": "en"}
    missing = await reader.get("/api/v1/processi/nessun-processo", headers=english)
    assert missing.status_code == 404
    assert missing.json()["message"] == "No process has the slug “nessun-processo”."
    italian = await reader.get("/api/v1/processi/nessun-processo")
    assert italian.json()["message"] == "Nessun processo con slug «nessun-processo»."
    past_the_end = await reader.get("/en/processi", params={"pagina": "999"})
    assert past_the_end.status_code == 404
    page = soup(past_the_end)
    assert "does not exist" in page.select_one("main").get_text()
    last = page.select_one("main a[href*='pagina=']")
    assert last.get_text(strip=True) == "Go to the last page"
    assert last["href"].startswith("/en/processi?")


async def test_editors_give_terms_an_english_label_shown_on_english_pages(client):
    shipped = {row["slug"]: row for row in rows(client, Term, Term.vocabulary == "tipo")}
    assert shipped["patto-di-collaborazione"]["label_en"] == "Collaboration pact"
    assert all(row["label_en"] for row in rows(client, Term))
    await login_as(client, "amministratore")
    page = soup(await client.get("/redazione/vocabolari"))
    term = shipped["patto-di-collaborazione"]
    field = page.select_one(f"#etichetta-en-{term['id']}")
    assert field["value"] == "Collaboration pact" and field["lang"] == "en"
    token = page.select_one('input[name="_csrf_token"]')["value"]
    response = await client.post(
        f"/redazione/vocabolari/{term['id']}",
        data={
            "_csrf_token": token,
            "etichetta": term["label"],
            "etichetta_en": "Pact of collaboration",
            "descrizione": "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    kind = 'a.tag[href$="tipo=patto-di-collaborazione"]'
    english = soup(await client.get(f"/en/processi/{PATTI}")).select_one(kind)
    italian = soup(await client.get(f"/processi/{PATTI}")).select_one(kind)
    assert (english.get_text(), italian.get_text()) == ("Pact of collaboration", "Patto di collaborazione")
    vocabularies = (await client.get("/api/v1/vocabolari")).json()
    assert {"slug": "patto-di-collaborazione", "label_en": "Pact of collaboration"}.items() <= next(
        t for t in vocabularies["tipo"] if t["slug"] == "patto-di-collaborazione"
    ).items()


# --- the catalogue ---------------------------------------------------------------------------------

PROJECT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT / "templates"
#: Templates whose text is not yet marked for translation (their pages show Italian on /en/).
NOT_YET_MARKED = {
    "mail",  # e-mail goes out in Italian, the language of the editorial office
}
#: Text that reads the same in both languages.
SAME_IN_BOTH = re.compile(r"^(Osservatorio|API|CSV|JSON|Excel|ISTAT|CUP|OpenCoesione|&nbsp;|[\W\d_]*)$")
_PIECES = re.compile(
    r"(\{#.*?#\}|\{%-?.*?-?%\}|\{\{-?.*?-?\}\}|<!--.*?-->|<(?:[a-zA-Z/!]|\{\{)(?:[^<>{]|\{\{.*?\}\}|\{%.*?%\})*>)",
    re.S,
)
#: Attributes assembled in a ``{% set %}`` block, to be written into a tag: not visible text.
_ATTRIBUTE_FRAGMENT = re.compile(r'^(\s*[a-z-]+(="[^"]*"?)?)+\s*$')
_VISIBLE_ATTRIBUTES = re.compile(
    r'\s(?:aria-label|title|placeholder|alt|data-label)="([^"{}]*[A-Za-zÀ-ÿ]{2,}[^"{}]*)"'
)


def unmarked_text(source: str) -> list[str]:
    """The visible text of a template outside gettext: text between tags and visible attributes."""
    found, skipping, translating, setting = [], None, False, False
    for piece in _PIECES.split(source):
        if re.match(r"\{%-?\s*set\s+\w+\s*-?%\}", piece):
            setting = True
        elif re.match(r"\{%-?\s*endset\b", piece):
            setting = False
        elif setting and _ATTRIBUTE_FRAGMENT.match(piece):
            continue
        if re.match(r"\{%-?\s*trans\b", piece):
            translating = True
        elif re.match(r"\{%-?\s*endtrans\b", piece):
            translating = False
        elif piece.startswith("<"):
            name = (re.match(r"</?([a-zA-Z0-9]+)", piece) or [None, ""])[1].lower()
            if name in ("script", "style", "code", "pre"):
                skipping = None if piece.startswith("</") else name
            if not translating:  # a tag inside {% trans %} is part of the message
                found += [v for v in _VISIBLE_ATTRIBUTES.findall(piece) if not SAME_IN_BOTH.match(v)]
        elif not piece.startswith(("{", "<!--")) and not skipping and not translating:
            text = " ".join(piece.split())
            if re.search(r"[A-Za-zÀ-ÿ]{2,}", text) and not SAME_IN_BOTH.match(text):
                found.append(text)
    return found


def test_every_template_marks_its_visible_text_for_translation():
    unmarked = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in NOT_YET_MARKED or name.split("/")[0] in NOT_YET_MARKED:
            continue
        if found := unmarked_text(path.read_text(encoding="utf-8")):
            unmarked[name] = found
    assert not unmarked, f"text outside _() or {{% trans %}}: {unmarked}"


def test_the_check_finds_unmarked_text():
    assert unmarked_text('<p>Ciao {{ name }}</p><a title="Apri">x</a>') == ["Ciao", "Apri"]
    assert unmarked_text(
        '{% set attrs %} aria-invalid="true" required{% endset %}<p{{ attrs }}>Ciao</p>'
    ) == ["Ciao"]
    assert (
        unmarked_text('<p>{{ _("Ciao") }}</p>{% trans n=1 %}Uno {{ n }}{% endtrans %}<code>id</code>') == []
    )


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\(\w+\)s|\{\w*\}", text))


def test_every_marked_message_has_an_english_translation(tmp_path):
    template = tmp_path / "messages.pot"
    subprocess.run(
        [Path(sys.executable).parent / "pybabel", "-q", "extract", "-F", "babel.cfg", "-o", template, "."],
        cwd=PROJECT,
        check=True,
    )
    with template.open("rb") as handle:
        marked = read_po(handle)
    with catalogue_path("en").open("rb") as handle:
        english = read_po(handle, locale="en")
    missing, wrong = [], []
    for message in marked:
        if not message.id:
            continue
        translated = english.get(message.id)
        strings = (translated.string,) if translated and isinstance(translated.string, str) else ()
        if translated and not isinstance(translated.string, str):
            strings = translated.string
        if not translated or not all(strings) or translated.fuzzy:
            missing.append(message.id)
        elif any(
            _placeholders(s)
            != _placeholders(str(translated.id[0] if translated.pluralizable else translated.id))
            for s in strings
        ):
            wrong.append(message.id)
    assert not missing, f"marked but not translated into English in {catalogue_path('en')}: {missing}"
    assert not wrong, f"English messages whose placeholders differ from the Italian: {wrong}"


async def test_search_page_in_english_links_within_english(reader):
    page = soup(await reader.get("/en/processi", params={"tipo": "patto-di-collaborazione"}))
    heading = page.select_one("#risultati").get_text(" ", strip=True)
    assert heading.endswith(("process", "processes")), heading
    assert page.select_one(".filters-disclosure summary").get_text(" ", strip=True).startswith("Filters")
    assert page.select_one(".filters form")["action"] == "/en/processi"
    cards = [a["href"] for a in page.select(".card-title a")]
    assert cards and all(href.startswith("/en/processi/") for href in cards)
    assert page.select_one(".chips")["aria-label"] == "Active filters"
    assert page.select_one('link[rel="canonical"]')["href"].endswith(
        "/en/processi?tipo=patto-di-collaborazione"
    )


async def test_english_form_and_process_page_speak_english(reader):
    form = soup(await reader.get("/en/segnala"))
    assert form.select_one("#modulo-segnalazione")["action"] == "/en/segnala"
    assert form.select_one('label[for="campo-title"]').get_text(" ", strip=True) == "Title (required)"
    assert (
        form.select_one("#campo-title-aiuto").get_text()
        == "The name the process is known by (at least 3 characters)."
    )
    sections = [h.get_text(" ", strip=True) for h in form.select("#modulo-segnalazione .section h2")]
    assert sections[:3] == ["The process", "Who decides and where", "Phases (optional)"]
    assert "Who is submitting" in sections
    buttons = [b.get_text(strip=True) for b in form.select(".add-row button")]
    assert "Add a phase" in buttons and "Add an organisation" in buttons
    assert form.select_one("#campo-state option").get_text() == "Not given"
    assert "Ongoing" in [o.get_text() for o in form.select("#campo-state option")]
    assert form.select_one(".process-form .row legend").get_text(strip=True) == "Organisation 1"

    ongoing = soup(await reader.get("/en/processi/a-scuola-di-opencoesione"))
    assert (
        ongoing.select_one(".process header .meta").get_text(" ", strip=True).endswith("since 2013, ongoing")
    )
    headings = [h.get_text(strip=True) for h in ongoing.select(".process h2")]
    assert headings[:3] == [
        "Who decides and who takes part",
        "Where and about what",
        "When and in which phases",
    ]
    terms = [dt.get_text(strip=True) for dt in ongoing.select(".process dl.fields dt")]
    assert {"Decision holders", "Territories", "Start year", "End year"} <= set(terms)
    assert (
        ongoing.select_one(".correction-link a")["href"] == "/en/processi/a-scuola-di-opencoesione/correzione"
    )
    italian = soup(await reader.get("/processi/a-scuola-di-opencoesione"))
    assert (
        italian.select_one(".process header .meta").get_text(" ", strip=True).endswith("dal 2013, in corso")
    )


async def test_filter_errors_and_dates_follow_the_language(client):
    years = {"anno_da": "2020", "anno_a": "2010"}
    english = await client.get("/api/v1/processi", params=years, headers={"Accept-Language": "en"})
    assert english.status_code == 400
    assert english.json()["fields"] == [
        {"field": "anno_a", "message": "Year to: it cannot come before “Year from”."}
    ]
    italian = await client.get("/api/v1/processi", params={"stato": "sospeso"})
    assert italian.json()["message"].startswith(
        "Stato di avanzamento: valore sconosciuto «sospeso». Valori ammessi: "
    )
    unknown = await client.get(
        "/api/v1/processi", params={"stato": "sospeso"}, headers={"Accept-Language": "en"}
    )
    assert unknown.json()["message"].startswith(
        "State of progress: unknown value “sospeso”. Allowed values: "
    )
    page = soup(await client.get("/en/processi", params={"territorio": "X999"}))
    assert "Territory: unknown code “X999”" in page.select_one("main").get_text()

    for path, months in ((f"/en/processi/{PATTI}", ENGLISH_MONTHS), (f"/processi/{PATTI}", ITALIAN_MONTHS)):
        shown = soup(await client.get(path)).select_one(".process dl.fields time")
        day = datetime.date.fromisoformat(shown["datetime"][:10])
        assert shown.get_text() == f"{day.day} {months[day.month - 1]} {day.year}"


async def test_the_audit_log_in_english_names_actions_kinds_and_fields_in_english(client):
    await login_as(client, "amministratore")
    patti = process_row(client, PATTI)
    path = f"/redazione/processi/{patti['id']}/modifica"
    data = form_values(soup(await client.get(path)), "form.process-form")
    data.update(start_year="2016", azione="salva")
    assert (await client.post(path, data=data, follow_redirects=False)).status_code == 303
    token = await form_token(client, "/redazione/sinonimi")
    added = await client.post(
        "/redazione/sinonimi",
        data={"_csrf_token": token, "espressioni": "bici\nbicicletta", "nota": ""},
        follow_redirects=False,
    )
    assert added.status_code == 303

    page = soup(await client.get("/en/redazione/registro"))
    entries = {
        article.select_one("h3").get_text(strip=True): article
        for article in page.select("article.audit-entry")
    }
    assert {"Process edited", "Synonym group added"} <= set(entries)
    edited = entries["Process edited"]
    assert edited.select_one(".audit-object .tag").get_text() == "Process"
    assert [th.get_text() for th in edited.select("tbody th")] == ["Start year"]
    assert entries["Synonym group added"].select_one(".audit-object .tag").get_text() == "Synonym group"
    groups = [group["label"] for group in page.select("#f-azione optgroup")]
    assert "Processes" in groups and "Synonyms" in groups and "Sinonimi" not in groups

    italian = await client.get("/en/redazione/registro.csv", params={"azione": "processo.modifica"})
    assert "Processo modificato" in italian.content.decode("utf-8-sig")  # a record: always Italian


async def test_a_refused_synonym_group_says_why_in_english(client):
    await login_as(client, "amministratore")
    token = await form_token(client, "/en/redazione/sinonimi")
    response = await client.post(
        "/en/redazione/sinonimi",
        data={"_csrf_token": token, "espressioni": "il\nbici\nBici", "nota": ""},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert (
        soup(response)
        .select_one("#errore-espressioni")
        .get_text(" ", strip=True)
        .endswith(
            "Line 1: “il” has only words the search ignores (articles, prepositions, conjunctions, "
            "signs): write the words that matter. Line 3: “bici” and “Bici” are the same expression to "
            "the search (only capitals, accents, articles or endings differ): keep one."
        )
    )


ENGLISH_MONTHS = (
    "January February March April May June July August September October November December"
).split()
ITALIAN_MONTHS = (
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre"
).split()
