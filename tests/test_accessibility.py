"""Every main page in Chromium, public and in the editorial office, in both languages: no violation of
WCAG 2.1 A and AA found by axe-core at 1280 and 320 px, and nothing scrolls sideways at 1280, 390 and
320 px (WCAG 1.4.10, reflow); on a phone the search results come first; ticking a filter applies it.

axe is vendored in tests/data/axe-core (see its README) and run by browsing.wcag_violations. One server
and one browser for the module: every page is loaded once and checked at each width.
"""

from __future__ import annotations

from typing import NamedTuple

import pytest
from browsing import PASSWORD, TIMEOUT_MS, launched, serving, wcag_violations

pytest_plugins = ["browsing"]

#: Where axe-core runs (the statement at /accessibilita names them: tests/test_site_pages.py checks).
WIDTHS = (1280, 320)
#: Where no page may be wider than the window.
REFLOW_WIDTHS = (1280, 390, 320)
STAFF = (("rita", "Rita Redattrice", "redattore"), ("ada", "Ada Amministratrice", "amministratore"))
ADMIN_ONLY = (
    "/redazione/vocabolari",
    "/redazione/sinonimi",
    "/redazione/enti",
    "/redazione/registro",
    "/redazione/account",
)


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
    ("processo-fasi-finanziate", "/processi/opencoesione"),
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
    ("schema", "/schema"),
    ("codebook", "/dati/codebook"),
    ("segnala", "/segnala"),
    ("note-legali", "/note-legali"),
    ("accessibilita", "/accessibilita"),
    ("privacy", "/privacy"),
    ("contatti", "/contatti"),
    ("pagina-inesistente", "/una-pagina-che-non-esiste"),
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
    ("redazione-sinonimi", "/redazione/sinonimi"),
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
    page.fill(
        "#campo-title",
        "Orti condivisi per l'accessibilità: https://www.comune.example/orti-condivisi-per-tutti",
    )
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


#: The widest elements named when a page overflows, and what the check measures.
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 1 && el.checkVisibility())
    .slice(-3).map(el => el.outerHTML.slice(0, 120));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


#: Pages with no English address (/schema follows the browser's Accept-Language instead).
ITALIAN_ONLY = ("/schema",)


@pytest.mark.parametrize("path", [pytest.param(path, id=name) for name, path in PAGES])
def test_the_page_has_no_wcag_violation_and_reflows_in_both_languages(page_for, site, path):
    page = page_for(_user(path if isinstance(path, str) else path.path))
    if isinstance(path, FirstLink):
        page.goto(site + path.path)
        links = page.locator(path.selector)
        assert links.count(), f"no link matches {path.selector} on {path.path}"
        path = links.first.get_attribute("href")
    problems = []
    for address in (path,) if path.startswith(ITALIAN_ONLY) else (path, "/en" + path):
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        response = page.goto(site + address)
        expected = 404 if "non-esiste" in address else 200
        assert response.status == expected, f"{address} answers {response.status}"
        if not path.startswith(ITALIAN_ONLY):
            assert page.locator("html").get_attribute("lang") == (
                "en" if address.startswith("/en/") else "it"
            )
        problems += _problems(page, address)
    assert not problems, "\n".join(problems)


def _problems(page, address: str) -> list[str]:
    """What axe finds on the page at each of WIDTHS, and how much wider than the window it is at each
    of REFLOW_WIDTHS."""
    problems = []
    for width in sorted({*WIDTHS, *REFLOW_WIDTHS}, reverse=True):
        page.set_viewport_size({"width": width, "height": 900})
        if width in REFLOW_WIDTHS:
            found = page.evaluate(OVERFLOW)
            if found["scroll"] > found["width"]:
                problems += [
                    f"{address} is {found['scroll']} px wide in a {width} px window:",
                    *found["wide"],
                ]
        if width in WIDTHS:
            problems += [f"{address} at {width} px wide, axe: {line}" for line in wcag_violations(page)]
    return problems


def test_on_a_phone_the_results_heading_is_above_the_fold(page_for, site):
    page = page_for(None).context.browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(TIMEOUT_MS)
    for path in ("/processi", "/processi?ambito=ambiente&tipo=patto-di-collaborazione"):
        page.goto(site + path)
        heading = page.locator("#risultati").bounding_box()
        assert heading["y"] + heading["height"] <= 844, f"{path}: the results heading ends at {heading}"
        assert not page.locator("details.filters-disclosure").evaluate("d => d.open")
    page.locator("details.filters-disclosure > summary").click()
    assert page.locator("#f-ambito-1").is_visible()
    page.close()


def test_ticking_a_filter_applies_it_and_keeps_the_focus_on_it(page_for, site):
    page = page_for(None).context.browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(site + "/processi?q=bilancio")
    assert page.locator("details.filters-disclosure").evaluate("d => d.open")
    box = page.locator("form[data-facets] input[name='ambito']").first
    value = box.get_attribute("value")
    with page.expect_navigation():
        box.check()
    assert page.url == f"{site}/processi?q=bilancio&ambito={value}"  # nothing empty or default
    focused = page.evaluate("[document.activeElement.name, document.activeElement.value]")
    assert focused == ["ambito", value]
    assert page.locator("ul.chips a[href='?q=bilancio']").count() == 1
    page.close()


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
