"""The sitemap (sitemaps.org protocol 0.9): every public page, each process with when it last changed.

Listed are the fixed pages, every published process, every organisation taking part in one, and every
territory whose page lists one: those a published process names and the units containing them. A file
lists at most :data:`SITEMAP_LIMIT` addresses: past that, /sitemap.xml is the index of its parts,
``/sitemap.xml?parte=1``, ``?parte=2``... each listing the next SITEMAP_LIMIT addresses.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from observatory.catalogue import services
from observatory.catalogue.tables import Process, ProcessOrganisation, ProcessTerritory
from observatory.opendata.feeds import atom_moment

SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
#: The most addresses one sitemap file lists (the protocol's limit).
SITEMAP_LIMIT = 50_000
#: The pages that are always there.
FIXED_PAGES = (
    "/",
    "/processi",
    "/enti",
    "/territori",
    "/dati",
    "/note-legali",
    "/accessibilita",
    "/privacy",
    "/contatti",
)
#: Territory levels, biggest first (by the first letter of the code: IT, R01, P201, C001272).
_LEVEL_ORDER = "IRPC"


@dataclass(frozen=True)
class SitemapPage:
    """A public page: its path and, when known, when it last changed."""

    path: str
    lastmod: datetime.datetime | None = None


async def public_pages() -> list[SitemapPage]:
    """Every page the sitemap lists, in a stable order: fixed pages, processes, organisations, territories."""
    published_ids = Process.select(Process.id).where(services.published())
    processes = (
        await Process.select(Process.slug, Process.updated_at)
        .where(services.published())
        .order_by(Process.id)
    )
    organisations = (
        await ProcessOrganisation.select(ProcessOrganisation.organisation.slug.as_alias("slug"))
        .where(ProcessOrganisation.process.is_in(published_ids))
        .distinct()
        .output(as_list=True)
    )
    territory = ProcessTerritory.territory
    places = (
        await ProcessTerritory.select(territory.code, territory.region_code, territory.province_code)
        .where(ProcessTerritory.process.is_in(published_ids))
        .distinct()
    )
    codes = {code for place in places for code in place.values() if code}  # itself and what contains it
    if codes:
        codes.add("IT")
    return [
        *(SitemapPage(path) for path in FIXED_PAGES),
        *(SitemapPage(f"/processi/{row['slug']}", row["updated_at"]) for row in processes),
        *(SitemapPage(f"/enti/{slug}") for slug in sorted(organisations)),
        *(
            SitemapPage(f"/territori/{code}")
            for code in sorted(codes, key=lambda c: (_LEVEL_ORDER.find(c[0]), c))
        ),
    ]


def parts(pages: list[SitemapPage]) -> list[list[SitemapPage]]:
    """``pages`` cut into files of at most SITEMAP_LIMIT addresses."""
    return [pages[start : start + SITEMAP_LIMIT] for start in range(0, len(pages), SITEMAP_LIMIT)] or [[]]


def _add(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _document(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def urlset(pages: list[SitemapPage], base_url: str) -> bytes:
    """A sitemap file listing ``pages``."""
    root = ET.Element("urlset", {"xmlns": SITEMAP})
    for page in pages:
        url = ET.SubElement(root, "url")
        _add(url, "loc", base_url + page.path)
        if page.lastmod:
            _add(url, "lastmod", atom_moment(page.lastmod))
    return _document(root)


def part_url(base_url: str, number: int) -> str:
    """The address of part ``number`` (from 1) of a sitemap split in parts."""
    return f"{base_url}/sitemap.xml?parte={number}"


def sitemap_index(split: list[list[SitemapPage]], base_url: str) -> bytes:
    """The sitemap index of the parts in ``split``, each with the last change of its pages."""
    root = ET.Element("sitemapindex", {"xmlns": SITEMAP})
    for number, pages in enumerate(split, start=1):
        entry = ET.SubElement(root, "sitemap")
        _add(entry, "loc", part_url(base_url, number))
        changes = [page.lastmod for page in pages if page.lastmod]
        if changes:
            _add(entry, "lastmod", atom_moment(max(changes)))
    return _document(root)
