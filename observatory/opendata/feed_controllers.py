"""What machines read to follow the catalogue: the Atom feed of any search, the sitemap, robots.txt."""

from __future__ import annotations

import re

from litestar import Controller, MediaType, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from observatory.catalogue import searching
from observatory.catalogue.queries import FilterError, parse_process_query
from observatory.opendata import feeds, sitemap
from observatory.web import error_page, settings_of

XML_MEDIA_TYPE = "application/xml; charset=utf-8"
#: The number of a part of the sitemap, as ``?parte=`` gives it.
PART_NUMBER = re.compile(r"[1-9][0-9]{0,5}")
#: What crawlers are asked to leave alone: the editorial office, the private tracking links of
#: submissions (pages and API), the staff API.
ROBOTS_DISALLOW = ("/redazione", "/segnala/", "/api/v1/segnalazioni/", "/api/v1/redazione")


class FeedPages(Controller):
    """The Atom feed of a search, the sitemap and robots.txt."""

    include_in_schema = False

    @get("/processi.atom", name="processes_feed")
    async def processes_feed(self, request: Request) -> Response | Template:
        """The Atom feed of the processes a search finds (the parameters of /processi) that changed last."""
        settings = settings_of(request)
        search_index = request.app.state.search_index
        try:
            query = parse_process_query(request.query_params.dict(), settings.page_size)
            ids = await searching.matching_process_ids(search_index, query)
        except FilterError as exc:
            return error_page(HTTP_400_BAD_REQUEST, exc.message)
        feed = await feeds.search_feed(search_index, query, ids, settings.base_url)
        return Response(feed, media_type=feeds.ATOM_MEDIA_TYPE)

    @get("/sitemap.xml", name="sitemap")
    async def sitemap(self, request: Request) -> Response:
        """Every public page; past SITEMAP_LIMIT addresses, the index of the parts (``?parte=N``)."""
        base_url = settings_of(request).base_url
        split = sitemap.parts(await sitemap.public_pages())
        asked = request.query_params.get("parte")
        if asked is None:
            body = (
                sitemap.urlset(split[0], base_url)
                if len(split) == 1
                else sitemap.sitemap_index(split, base_url)
            )
        elif len(split) > 1 and PART_NUMBER.fullmatch(asked) and int(asked) <= len(split):
            body = sitemap.urlset(split[int(asked) - 1], base_url)
        else:
            raise NotFoundException("Questa parte della mappa del sito non esiste.")
        return Response(body, media_type=XML_MEDIA_TYPE)

    @get("/robots.txt", name="robots")
    async def robots(self, request: Request) -> Response:
        """What crawlers may visit, and where the sitemap is."""
        lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW), "Allow: /"]
        lines += ["", f"Sitemap: {settings_of(request).base_url}/sitemap.xml", ""]
        return Response("\n".join(lines), media_type=MediaType.TEXT)
