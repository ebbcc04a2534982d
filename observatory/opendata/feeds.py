"""Atom 1.0 feeds (RFC 4287) of the published processes any search finds, most recently changed first.

A feed takes the parameters of /processi, so an organisation's feed is ``/processi.atom?ente=<slug>``
and a territory's ``/processi.atom?territorio=<code>``. It holds the :data:`FEED_SIZE` processes of the
search that changed last, whatever order the search asks for. An entry's id is a tag URI of the
process's number, so it survives edits and new slugs, while its ``updated`` follows every change.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from dataclasses import replace
from urllib.parse import urlencode, urlsplit

from observatory.catalogue import searching, services
from observatory.catalogue.queries import FILTERS, ProcessQuery
from observatory.catalogue.tables import LICENCE_URLS, Process
from observatory.opendata.freshness import catalogue_stamp
from observatory.search.index import SearchIndex

ATOM = "http://www.w3.org/2005/Atom"
ATOM_MEDIA_TYPE = "application/atom+xml; charset=utf-8"
#: How many processes a feed holds.
FEED_SIZE = 50
#: Ids looked up in the database at a time (well within the 32,766 parameters SQLite and asyncpg take).
CHUNK = 5_000
#: The year in the tag URIs of entries (RFC 4151): it names them, it does not date them.
TAG_YEAR = "2025"
#: The longest summary of an entry, in characters.
SUMMARY_LENGTH = 300
TITLE = "Processi partecipativi"
AUTHOR = "Osservatorio dei processi partecipativi"


def entry_id(base_url: str, process_id: int) -> str:
    """The permanent identifier of a process: a tag URI of the site's host and the process number."""
    return f"tag:{urlsplit(base_url).hostname},{TAG_YEAR}:processo/{process_id}"


def summary_text(process: dict, length: int = SUMMARY_LENGTH) -> str:
    """Plain text telling what a process is (its summary, else its description or goals), cut at a
    word to at most ``length`` characters."""
    text = " ".join((process["summary"] or process["description"] or process["goals"] or "").split())
    if len(text) <= length:
        return text
    return text[: length - 1].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def atom_moment(moment: datetime.datetime) -> str:
    """A moment as an RFC 3339 date-time in UTC, to the second ("2025-03-01T09:30:00Z")."""
    return moment.astimezone(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def search_parameters(query: ProcessQuery) -> list[tuple[str, str]]:
    """The parameters that say what a search finds (text, filters, years): no sort and no page."""
    return ([("q", query.q)] if query.q else []) + query.active_filters()


async def latest_changed(process_ids: list[int], limit: int = FEED_SIZE) -> list[int]:
    """The ``limit`` published processes among ``process_ids`` that changed last, newest first."""
    latest: list[dict] = []
    for start in range(0, len(process_ids), CHUNK):
        rows = await (
            Process.select(Process.id, Process.updated_at)
            .where(Process.id.is_in(process_ids[start : start + CHUNK]), services.published())
            .order_by(Process.updated_at, ascending=False)
            .order_by(Process.id, ascending=False)
            .limit(limit)
        )
        latest = sorted([*latest, *rows], key=lambda row: (row["updated_at"], row["id"]), reverse=True)
        latest = latest[:limit]
    return [row["id"] for row in latest]


#: How a feed's title says each year filter.
YEAR_WORDS = {"anno_da": "dal ", "anno_a": "al ", "avvio_da": "avviati dal ", "avvio_a": "avviati fino al "}


def feed_title(query: ProcessQuery, labels: dict[tuple[str, str], str]) -> str:
    """ "Processi partecipativi", then what the search asks for ("«orti», Piemonte, dal 2015")."""
    said = [f"«{query.q}»"] if query.q else []
    for name, value in query.active_filters():
        if name in FILTERS:
            said.append(labels.get((name, value), value))
        else:
            said.append(YEAR_WORDS[name] + value)
    return f"{TITLE} — {', '.join(said)}" if said else TITLE


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _author(parent: ET.Element, name: str) -> None:
    _add(_add(parent, "author"), "name", name)


def _entry(feed: ET.Element, process: dict, base_url: str) -> None:
    entry = _add(feed, "entry")
    _add(entry, "id", entry_id(base_url, process["id"]))
    _add(entry, "title", process["title"], type="text")
    _add(entry, "link", rel="alternate", type="text/html", href=f"{base_url}/processi/{process['slug']}")
    if process["licence"] in LICENCE_URLS:
        _add(entry, "link", rel="license", href=LICENCE_URLS[process["licence"]])
    _add(entry, "updated", atom_moment(process["updated_at"]))
    if process["published_at"]:
        _add(entry, "published", atom_moment(process["published_at"]))
    _author(entry, process["reported_by"] or AUTHOR)
    terms = [("tipo", process["kind"]), ("ambito", process["theme"])]
    terms += [("tematica", topic) for topic in process["topics"]]
    for facet, term in terms:
        if term:
            scheme = f"{base_url}/processi?{facet}="
            _add(entry, "category", term=term["slug"], label=term["label"], scheme=scheme)
    if summary := summary_text(process):
        _add(entry, "summary", summary, type="text")


def atom_document(
    processes: list[dict],
    title: str,
    parameters: list[tuple[str, str]],
    updated: datetime.datetime,
    base_url: str,
) -> bytes:
    """The Atom feed of ``processes`` (newest first) found by the search of ``parameters``."""
    query = f"?{urlencode(parameters)}" if parameters else ""
    self_url = f"{base_url}/processi.atom{query}"
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": "it"})
    _add(feed, "id", self_url)
    _add(feed, "title", title, type="text")
    _add(feed, "updated", atom_moment(updated))
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    alternate = f"{base_url}/processi?{urlencode([*parameters, ('ordine', 'recenti')])}"
    _add(feed, "link", rel="alternate", type="text/html", href=alternate)
    _author(feed, AUTHOR)
    for process in processes:
        _entry(feed, process, base_url)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


async def search_feed(
    search_index: SearchIndex, query: ProcessQuery, process_ids: list[int], base_url: str
) -> bytes:
    """The feed of the search ``query``, whose matching processes are ``process_ids`` (its filter
    values already checked): the :data:`FEED_SIZE` of them that changed last."""
    labels = {}
    if query.filters:  # the names of the organisations, territories and terms the search filters by
        found = await searching.search_processes(search_index, replace(query, pagina=1, per_pagina=1))
        labels = found.filter_labels
    details = await services.process_details(await latest_changed(process_ids))
    processes = [detail for detail in details if detail["publication"] == "published"]
    updated = max((p["updated_at"] for p in processes), default=None) or (await catalogue_stamp()).modified
    return atom_document(processes, feed_title(query, labels), search_parameters(query), updated, base_url)
