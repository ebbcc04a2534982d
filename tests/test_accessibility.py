"""Every main page through axe-core in Chromium: no violation of WCAG 2.1 A and AA, 1280 and 390 px wide.

axe is vendored in tests/data/axe-core (see its README) and run by browsing.wcag_violations.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from browsing import PASSWORD, TIMEOUT_MS, launched, serving, wcag_violations

pytest_plugins = ["browsing"]

WIDTHS = (1280, 390)
STAFF = (("rita", "Rita Redattrice", "redattore"), ("ada", "Ada Amministratrice", "amministratore"))
ADMIN_ONLY = ("/redazione/vocabolari", "/redazione/enti", "/redazione/registro", "/redazione/account")


class FirstLink(NamedTuple):
    """The page the first link matching ``selector`` on the page ``path`` leads to."""

    path: str
    selector: str


PAGES = (
    ("home", "/"),
    ("processi", "/processi"),
    ("processi-ricerca", "/processi?q=bilancio+partecipativo"),
    ("processi-territorio", "/processi?territorio=R08"),
    ("processo", FirstLink("/processi", "article.card .card-title a")),
    ("storia", "/processi/patti-per-l-amministrazione-condivisa-in-piemonte/storia"),
    ("enti", "/enti"),
    ("ente", FirstLink("/enti", "ul.list a[href^='/enti/']")),
    ("territori", "/territori"),
    ("regione", "/territori/R01"),
    ("provincia", "/territori/P201"),
    ("comune", "/territori/C001272"),
    ("statistiche", "/statistiche"),
    ("statistiche-filtrate", "/statistiche?territorio=R08&q=scuola"),
    ("grafico", "/statistiche/regioni?tipo=monitoraggio-civico"),
    ("grafico-incorporato", "/statistiche/anni?incorpora=1"),
    ("mappa", "/mappa"),
    ("mappa-province", "/mappa?dettaglio=provincia&stato=concluso"),
    ("dati", "/dati"),
    ("codebook", "/dati/codebook"),
    ("en-home", "/en/"),
    ("en-processi", "/en/processi?tipo=patto-di-collaborazione"),
    ("en-processo", FirstLink("/en/processi", "article.card .card-title a")),
    ("en-statistiche", "/en/statistiche"),
    ("en-dati", "/en/dati"),
    ("en-segnala", "/en/segnala"),
    ("en-contatti", "/en/contatti"),
    ("segnala", "/segnala"),
    ("note-legali", "/note-legali"),
    ("accessibilita", "/accessibilita"),
    ("privacy", "/privacy"),
    ("contatti", "/contatti"),
    ("accesso", "/redazione/accesso"),
    ("redazione-coda", "/redazione"),
    ("redazione-coda-modificate", "/redazione?stato=tutte&modificate=1"),
    (
        "redazione-segnalazione",
        FirstLink("/redazione", "a[href^='/redazione/segnalazioni/']"),
    ),
    ("redazione-notifiche", "/redazione/notifiche"),
    ("redazione-messaggi", "/redazione/messaggi?stato=tutti"),
    ("redazione-processi", "/redazione/processi"),
    ("redazione-modifica", FirstLink("/redazione/processi", "a[href$='/modifica']")),
    ("redazione-versioni", FirstLink("/redazione/processi", "a[href$='/versioni']")),
    ("redazione-ritira", FirstLink("/redazione/processi", "a[href$='/ritira']")),
    ("redazione-vocabolari", "/redazione/vocabolari"),
    (
        "redazione-elimina-termine",
        FirstLink("/redazione/vocabolari", "section[aria-labelledby=vocabolario-ambito] a[href$='/elimina']"),
    ),
    ("redazione-unisci-enti", "/redazione/enti/unisci"),
    ("redazione-registro", "/redazione/registro"),
    ("redazione-registro-filtrato", "/redazione/registro?azione=utente.crea&dal=2026-01-01"),
    ("redazione-account", "/redazione/account"),
    ("redazione-account-nuovo", "/redazione/account/nuovo"),
    ("redazione-account-scheda", FirstLink("/redazione/account", "table.accounts tbody a")),
    ("redazione-profilo", "/redazione/profilo"),
    ("redazione-sessioni", "/redazione/profilo/sessioni"),
    ("redazione-due-fattori", "/redazione/profilo/due-fattori"),
)


def _user(path: str) -> str | None:
    """Who loads ``path``: a visitor outside the staff area and on its login page, else an editor, or an
    administrator on the pages only administrators see."""
    if not path.startswith("/redazione") or path.startswith("/redazione/accesso"):
        return None
    return "ada" if path.startswith(ADMIN_ONLY) else "rita"


@pytest.fixture(scope="module")
def site(chromium, backend, tmp_path_factory):
    """One server for the module over a copy of the demo catalogue, with an editor and an administrator."""
    index_dir = tmp_path_factory.mktemp("accessibility") / "index"
    with serving(backend.clone("demo", index_dir), index_dir, STAFF) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def page_for(site, chromium):
    """One browser for the module; ``page_for(user)`` is a page of that user (None: a visitor), logged in
    on first use and reused after."""
    with launched(chromium) as browser:
        pages = {}
        _submit_one(browser, site)

        def page_for(user: str | None):
            if user not in pages:
                page = browser.new_context(viewport={"width": WIDTHS[0], "height": 900}).new_page()
                page.set_default_timeout(TIMEOUT_MS)
                if user:
                    page.goto(site + "/redazione/accesso")
                    page.fill("#username", user)
                    page.fill("#password", PASSWORD)
                    page.get_by_role("button", name="Entra").click()
                    page.wait_for_url(site + "/redazione")
                pages[user] = page
            return pages[user]

        yield page_for


def _submit_one(browser, site: str) -> None:
    """A visitor sends a submission, so that the moderation queue has one to review."""
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(site + "/segnala")
    page.fill("#campo-title", "Orti condivisi per il controllo dell'accessibilità")
    page.fill("#campo-territories", "Chieri (TO)")
    page.fill("#campo-nome", "Lucia Bianchi")
    page.fill("#campo-ente", "Comune di Chieri")
    page.fill("#campo-email", "lucia.bianchi@comune.chieri.example")
    page.check("#campo-privacy")
    page.get_by_role("button", name="Invia la segnalazione").click()
    if page.locator("#duplicati").count():
        page.get_by_role("button", name="Invia comunque").first.click()
    page.wait_for_selector("text=Segnalazione ricevuta")
    page.close()


@pytest.mark.parametrize("path", [pytest.param(path, id=name) for name, path in PAGES])
def test_the_page_has_no_wcag_violation(page_for, site, path):
    page = page_for(_user(path if isinstance(path, str) else path.path))
    if isinstance(path, FirstLink):
        page.goto(site + path.path)
        links = page.locator(path.selector)
        assert links.count(), f"no link matches {path.selector} on {path.path}"
        path = links.first.get_attribute("href")
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    response = page.goto(site + path)
    assert response.status == 200, f"{path} answers {response.status}"
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if found := wcag_violations(page):
            problems += [f"{path} at {width} px wide:", *found]
    assert not problems, "axe finds WCAG 2.1 A/AA violations:\n" + "\n".join(problems)


def test_the_api_documentation_renders_with_every_outside_network_unreachable(page_for, site):
    """/schema draws its operations with Swagger UI from this site's files alone: every request
    to another address is refused, and none is even attempted. An operation opened to be tried
    still passes axe and fits the window."""
    context = page_for(None).context.browser.new_context(viewport={"width": WIDTHS[0], "height": 900})
    attempted = []

    def only_this_site(route):
        if route.request.url.startswith(site + "/"):
            route.continue_()
        else:
            attempted.append(route.request.url)
            route.abort("addressunreachable")

    context.route("**/*", only_this_site)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(site + "/schema")
    page.wait_for_selector(".swagger-ui .opblock-summary-path")
    paths = page.locator(".swagger-ui .opblock-summary-path").evaluate_all(
        "spans => spans.map(span => span.getAttribute('data-path'))"
    )
    assert {"/api/v1/processi", "/api/v1/processi/{slug}", "/api/v1/segnalazioni"} <= set(paths)
    assert page.locator(".api-operations").is_hidden()  # the plain list gives way to the viewer
    page.locator(".swagger-ui .opblock-summary-path[data-path='/api/v1/processi']").click()
    page.wait_for_selector(".swagger-ui .parameters tr[data-param-name='territorio']")
    page.get_by_role("button", name="Try it out").click()  # its fields are named after their parameters
    page.wait_for_selector(".swagger-ui tr[data-param-name='territorio'] input:not([disabled])[aria-label]")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), f"wider than {width} px"
        assert wcag_violations(page) == [], f"an operation opened, at {width} px"
    assert attempted == []
    assert errors == []  # nothing refused by the Content-Security-Policy either
    context.close()
