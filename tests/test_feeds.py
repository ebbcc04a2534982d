"""Feeds and structured data through the real app: the Atom feed of any search, the sitemap and its
parts, robots.txt, and the schema.org JSON-LD and Open Graph tags of a process page."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
import pytest
from helpers import CHIERI, PATTI, form_token, form_values, login_as, process_row, run_in_app, soup

from observatory.catalogue.tables import Process, ProcessOrganisation
from observatory.opendata import sitemap
from observatory.opendata.structured import script_json

pytestmark = pytest.mark.anyio

BASE_URL = "http://127.0.0.1:8000"  # the settings' default, which the test app keeps
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def _entry_id(process_id: int) -> str:
    return f"tag:127.0.0.1,2025:processo/{process_id}"


async def _feed(client, **params):
    response = await client.get("/processi.atom", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    return feed


def _slugs(feed) -> list[str]:
    return [entry.link.removeprefix(f"{BASE_URL}/processi/") for entry in feed.entries]


async def _api_slugs(client, **params) -> set[str]:
    response = await client.get("/api/v1/processi", params={"per_pagina": "100", **params})
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["total"] <= 50  # the whole search fits in one feed
    return {item["slug"] for item in found["items"]}


def _latest_published(client, limit: int) -> list[int]:
    return run_in_app(
        client,
        lambda: (
            Process.select(Process.id)
            .where(Process.publication == "published")
            .order_by(Process.updated_at, ascending=False)
            .order_by(Process.id, ascending=False)
            .limit(limit)
            .output(as_list=True)
        ),
    )


async def _post(client, path: str, data: dict):
    token = await form_token(client)
    return await client.post(path, data={"_csrf_token": token, **data}, follow_redirects=False)


async def _edit(client, process_id: int, **changes: str) -> None:
    path = f"/redazione/processi/{process_id}/modifica"
    data = form_values(soup(await client.get(path)), "form.process-form")
    data.update(changes, azione="salva")
    response = await client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text


async def _sitemap_locs(client, path: str = "/sitemap.xml", **params) -> tuple[str, list[str]]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    return root.tag.removeprefix(SITEMAP), [loc.text for loc in root.iter(f"{SITEMAP}loc")]


# --- the Atom feed ------------------------------------------------------------------------------------


async def test_feed_of_the_catalogue_holds_the_fifty_processes_changed_last(reader):
    response = await reader.get("/processi.atom")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "it"
    feed = await _feed(reader)
    assert feed.feed.title == "Processi partecipativi"
    assert feed.feed.id == f"{BASE_URL}/processi.atom"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {"self": f"{BASE_URL}/processi.atom", "alternate": f"{BASE_URL}/processi?ordine=recenti"}
    assert feed.feed.author == "Osservatorio dei processi partecipativi"
    assert [entry.id for entry in feed.entries] == [_entry_id(i) for i in _latest_published(reader, 50)]
    assert feed.feed.updated == feed.entries[0].updated
    moments = [entry.updated_parsed for entry in feed.entries]
    assert moments == sorted(moments, reverse=True)
    entry = feed.entries[0]
    assert entry.link.startswith(f"{BASE_URL}/processi/") and entry.title and entry.author
    assert entry.published and 0 < len(entry.summary) <= 300
    assert {tag.scheme for tag in entry.tags} <= {
        f"{BASE_URL}/processi?{facet}=" for facet in ("tipo", "ambito", "tematica")
    }


@pytest.mark.parametrize(
    ("params", "title"),
    [
        ({"territorio": "R01"}, "Processi partecipativi — Piemonte"),
        ({"q": "bilancio", "ordine": "titolo", "pagina": "2"}, "Processi partecipativi — «bilancio»"),
        ({"ente": "comune-di-chieri"}, "Processi partecipativi — Comune di Chieri"),
    ],
)
async def test_feed_of_a_search_holds_what_the_search_finds(reader, params, title):
    feed = await _feed(reader, **params)
    search = {k: v for k, v in params.items() if k not in ("ordine", "pagina")}
    expected = await _api_slugs(reader, **search)
    assert expected and set(_slugs(feed)) == expected
    assert feed.feed.title == title
    self_link = next(link.href for link in feed.feed.links if link.rel == "self")
    assert self_link == feed.feed.id and "ordine" not in self_link and "pagina" not in self_link
    assert (await reader.get(self_link.removeprefix(BASE_URL))).content == (
        await reader.get("/processi.atom", params=params)
    ).content


async def test_an_entry_keeps_its_id_through_an_edit_while_updated_moves(client):
    process = process_row(client, PATTI)
    before = next(e for e in (await _feed(client, territorio=CHIERI)).entries if e.link.endswith(PATTI))
    assert before.id == _entry_id(process["id"])
    await login_as(client)
    title = "Patti <per> l'amministrazione condivisa & i beni comuni"
    await _edit(client, process["id"], title=title, summary="Sintesi nuova dei patti di Chieri.")
    feed = await _feed(client, territorio=CHIERI)
    after = feed.entries[0]  # changed last, so first
    assert after.id == before.id and after.link == before.link
    assert after.updated_parsed > before.updated_parsed
    assert (after.title, after.summary) == (title, "Sintesi nuova dei patti di Chieri.")


async def test_withdrawn_process_leaves_the_feed_and_the_sitemap(client):
    process = process_row(client, PATTI)
    chieri = {"territorio": CHIERI}
    etag = (await client.get("/processi.atom", params=chieri)).headers["etag"]
    unchanged = await client.get("/processi.atom", params=chieri, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert PATTI in _slugs(await _feed(client, territorio=CHIERI))
    assert f"{BASE_URL}/processi/{PATTI}" in (await _sitemap_locs(client))[1]

    await login_as(client)
    withdrawn = await _post(client, f"/redazione/processi/{process['id']}/ritira", {"motivo": "Doppia."})
    assert withdrawn.status_code == 303
    changed = await client.get("/processi.atom", params=chieri, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert PATTI not in _slugs(await _feed(client, territorio=CHIERI))
    assert _entry_id(process["id"]) not in {entry.id for entry in (await _feed(client)).entries}
    assert f"{BASE_URL}/processi/{PATTI}" not in (await _sitemap_locs(client))[1]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"tipo": "inesistente"}, "valore sconosciuto «inesistente»"),
        ({"territorio": "R99"}, "Territorio: codice sconosciuto «R99»"),
        ({"anno_da": "duemila"}, "non è un numero intero"),
    ],
)
async def test_a_feed_of_an_unknown_filter_answers_400_in_italian(reader, params, message):
    response = await reader.get("/processi.atom", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    page = soup(response)
    assert page.h1.get_text(strip=True) == "Richiesta non valida"
    assert message in page.get_text(" ", strip=True)


async def test_feed_of_an_empty_catalogue_is_valid_and_empty(empty_client):
    feed = await _feed(empty_client)
    assert feed.entries == [] and feed.feed.updated


async def test_pages_name_their_feed_and_their_downloads(client):
    pages = {
        "/processi?territorio=R01": "territorio=R01",
        "/enti/comune-di-chieri": "ente=comune-di-chieri",
        f"/territori/{CHIERI}": f"territorio={CHIERI}",
    }
    for path, query in pages.items():
        page = soup(await client.get(path))
        alternate = page.head.find("link", rel="alternate", type="application/atom+xml")
        assert alternate["href"] == f"/processi.atom?{query}" and alternate["title"]
        downloads = next(p for p in page.select("p.downloads") if "Scarica questi risultati" in p.get_text())
        links = {a.get_text(strip=True): a["href"] for a in downloads.find_all("a")}
        assert links == {
            "CSV": f"/processi.csv?{query}",
            "Excel": f"/processi.xlsx?{query}",
            "JSON": f"/processi.json?{query}",
            "Feed Atom": f"/processi.atom?{query}",
        }
        for href in links.values():
            assert (await client.get(href)).status_code == 200, href
    search = soup(await client.get("/processi", params={"q": "bilancio"}))
    assert search.head.find("link", type="application/atom+xml")["href"] == "/processi.atom?q=bilancio"
    refused = soup(await client.get("/processi", params={"tipo": "inesistente"}))
    assert refused.head.find("link", type="application/atom+xml") is None


# --- the sitemap and robots.txt --------------------------------------------------------------------------


async def test_sitemap_lists_every_published_page_with_absolute_addresses(client):
    response = await client.get("/sitemap.xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAP}urlset"
    urls = {url.find(f"{SITEMAP}loc").text: url.findtext(f"{SITEMAP}lastmod") for url in root}
    assert len(urls) == len(root) <= sitemap.SITEMAP_LIMIT
    assert all(urlsplit(loc).scheme == "http" and loc.startswith(f"{BASE_URL}/") for loc in urls)
    for path in ("/", "/processi", "/enti", "/territori", "/dati", "/note-legali"):
        assert BASE_URL + path in urls
    published = run_in_app(
        client,
        lambda: Process.select(Process.slug, Process.updated_at).where(Process.publication == "published"),
    )
    for row in published:
        lastmod = urls[f"{BASE_URL}/processi/{row['slug']}"]
        assert lastmod == row["updated_at"].replace(microsecond=0).isoformat().replace("+00:00", "Z")
    organisations = run_in_app(
        client,
        lambda: (
            ProcessOrganisation.select(ProcessOrganisation.organisation.slug.as_alias("slug"))
            .where(ProcessOrganisation.process.publication == "published")
            .distinct()
            .output(as_list=True)
        ),
    )
    listed = {loc.removeprefix(f"{BASE_URL}/enti/") for loc in urls if "/enti/" in loc}
    assert listed == set(organisations)
    territories = [loc.removeprefix(BASE_URL) for loc in urls if "/territori/" in loc]
    assert {f"/territori/{code}" for code in ("IT", "R01", "P201", CHIERI)} <= set(territories)
    for path in [*territories[:3], *territories[-3:], f"/enti/{sorted(listed)[0]}"]:
        response = await client.get(path)
        assert response.status_code == 200 and "Nessun processo pubblicato" not in response.text, path


async def test_sitemap_past_its_limit_becomes_an_index_of_parts(reader, monkeypatch):
    everything = (await _sitemap_locs(reader))[1]
    monkeypatch.setattr(sitemap, "SITEMAP_LIMIT", 100)
    kind, parts = await _sitemap_locs(reader)
    assert kind == "sitemapindex"
    assert parts == [
        f"{BASE_URL}/sitemap.xml?parte={n}" for n in range(1, math.ceil(len(everything) / 100) + 1)
    ]
    found = []
    for part in parts:
        kind, locs = await _sitemap_locs(reader, "/sitemap.xml", parte=part.rsplit("=", 1)[1])
        assert kind == "urlset" and 0 < len(locs) <= 100
        found += locs
    assert found == everything
    for beyond in (str(len(parts) + 1), "0", "-1", "uno", "1.0"):
        assert (await reader.get("/sitemap.xml", params={"parte": beyond})).status_code == 404, beyond


async def test_sitemap_has_no_parts_while_it_fits_in_one_file(reader):
    assert (await reader.get("/sitemap.xml", params={"parte": "1"})).status_code == 404


async def test_robots_txt_keeps_crawlers_off_private_pages_and_names_the_sitemap(reader):
    response = await reader.get("/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"] == "text/plain; charset=utf-8"
    robots = RobotFileParser()
    robots.parse(response.text.splitlines())
    tracking = reader.app.route_reverse("tracking", token="un-token-privato")
    for path in (tracking, "/redazione", "/redazione/accesso", "/api/v1/segnalazioni/un-token-privato"):
        assert not robots.can_fetch("*", BASE_URL + path), path
    for path in ("/", "/processi", f"/processi/{PATTI}", "/segnala", "/processi.atom", "/api/v1/processi"):
        assert robots.can_fetch("*", BASE_URL + path), path
    assert robots.site_maps() == [f"{BASE_URL}/sitemap.xml"]


# --- structured data of a process page ---------------------------------------------------------------------


def _json_ld(page) -> dict:
    (script,) = page.find_all("script", type="application/ld+json")
    return json.loads(script.string)


async def test_process_page_describes_the_process_in_json_ld_and_open_graph(reader):
    process = process_row(reader, "opencoesione")
    page = soup(await reader.get("/processi/opencoesione"))
    data = _json_ld(page)
    assert (data["@context"], data["@type"]) == ("https://schema.org", "Project")
    assert data["name"] == process["title"]
    assert data["url"] == f"{BASE_URL}/processi/opencoesione"
    assert data["identifier"] == _entry_id(process["id"])
    assert data["foundingDate"] == "2012" and "dissolutionDate" not in data
    assert data["funding"]["amount"] == {"@type": "MonetaryAmount", "currency": "EUR", "value": 1580579.61}
    assert {"@type": "Country", "name": "Italia"}.items() <= data["location"][0].items()
    assert "Trasparenza e open data" in data["keywords"]
    roles = {(m["roleName"], m["member"]["name"]) for m in data["member"]}
    assert ("Beneficiario", "Studiare Sviluppo") in roles
    record = data["mainEntityOfPage"]
    assert record["license"] == "https://creativecommons.org/licenses/by/4.0/deed.it"
    assert record["isAccessibleForFree"] is True and record["dateModified"].endswith("Z")
    og = {meta["property"]: meta["content"] for meta in page.head.select("meta[property^='og:']")}
    assert og == {
        "og:type": "article",
        "og:title": process["title"],
        "og:description": page.head.find("meta", attrs={"name": "description"})["content"],
        "og:url": f"{BASE_URL}/processi/opencoesione",
        "og:site_name": "Osservatorio dei processi partecipativi",
        "og:locale": "it_IT",
    }


async def test_a_title_cannot_break_out_of_the_json_ld_script(client):
    hostile = "Orti </script><script>alert(1)</script> & <!-- commento"
    written = script_json({"name": hostile})
    assert "<" not in written and ">" not in written and "&" not in written
    assert json.loads(written) == {"name": hostile}

    process = process_row(client, PATTI)
    await login_as(client)
    await _edit(client, process["id"], title=hostile)
    response = await client.get(f"/processi/{PATTI}")
    assert "<script>alert(1)" not in response.text
    page = soup(response)
    assert _json_ld(page)["name"] == hostile
    assert page.head.find("meta", property="og:title")["content"] == hostile
