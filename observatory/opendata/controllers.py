"""Open-data pages and files: downloads of any search, the record standard, the codebook, the
vocabularies, the Data Package descriptor and the dated ZIP of the whole catalogue."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Stream, Template
from litestar.status_codes import HTTP_302_FOUND, HTTP_400_BAD_REQUEST

from observatory.catalogue import searching, services, sources
from observatory.catalogue.queries import FilterError, parse_process_query
from observatory.catalogue.standard import SCHEMA_PATH, record_schema
from observatory.opendata import codebook as book
from observatory.opendata import downloads
from observatory.opendata.bulk import ARCHIVE_PATH, ARCHIVES_PATH, BulkArchives, public_name
from observatory.opendata.freshness import catalogue_stamp
from observatory.web import error_page, settings_of

#: What each download is, by extension: media type.
MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "jsonl": "application/jsonl",
}
_CC_BY = "https://creativecommons.org/licenses/by/4.0/"


def _download_headers(request: Request, filename: str) -> dict[str, str]:
    base_url = settings_of(request).base_url
    return {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Link": f'<{base_url}/dati/datapackage.json>; rel="describedby", <{_CC_BY}>; rel="license"',
    }


def _dated(stem: str, extension: str) -> str:
    return f"{stem}-{datetime.datetime.now(datetime.UTC).date().isoformat()}.{extension}"


async def _search_ids(request: Request) -> list[int]:
    """Every published process the search of ``request``'s parameters finds, in its order."""
    query = parse_process_query(request.query_params.dict(), settings_of(request).page_size)
    return await searching.matching_process_ids(request.app.state.search_index, query)


def _search_address(request: Request) -> str:
    query = urlencode(list(request.query_params.multi_items()))
    return f"{settings_of(request).base_url}/processi" + (f"?{query}" if query else "")


class OpenDataPages(Controller):
    """Downloads and the open-data files, for people and for programs."""

    include_in_schema = False

    async def _download(self, request: Request, extension: str) -> Stream | Template:
        try:
            ids = await _search_ids(request)
        except FilterError as exc:
            return error_page(HTTP_400_BAD_REQUEST, exc.message)
        settings = settings_of(request)
        base_url, database_url = settings.base_url, settings.database_url
        chunks: AsyncIterator
        if extension == "csv":
            chunks = downloads.csv_stream(ids, base_url, database_url)
        elif extension == "jsonl":
            chunks = downloads.jsonl_stream(ids, database_url)
        elif extension == "json":
            metadata = downloads.file_metadata(base_url, datetime.datetime.now(datetime.UTC))
            chunks = downloads.json_stream(ids, metadata | {"search": _search_address(request)}, database_url)
        else:
            entries = book.codebook(await services.vocabularies(), base_url)
            title = f"Processi partecipativi: {_search_address(request)}"
            chunks = downloads.excel_stream(ids, base_url, entries, title)
        return Stream(
            chunks,
            media_type=MEDIA_TYPES[extension],
            headers=_download_headers(request, _dated("processi", extension)),
        )

    @get("/processi.csv", name="processes_csv")
    async def processes_csv(self, request: Request) -> Stream | Template:
        """Every process a search finds (the parameters of /processi), one CSV row each."""
        return await self._download(request, "csv")

    @get("/processi.xlsx", name="processes_xlsx")
    async def processes_xlsx(self, request: Request) -> Stream | Template:
        """The same table as an Excel workbook, with its codebook."""
        return await self._download(request, "xlsx")

    @get("/processi.json", name="processes_json")
    async def processes_json(self, request: Request) -> Stream | Template:
        """The processes a search finds as an import file of the record standard."""
        return await self._download(request, "json")

    @get("/processi.jsonl", name="processes_jsonl")
    async def processes_jsonl(self, request: Request) -> Stream | Template:
        """The processes a search finds, one record of the standard a line."""
        return await self._download(request, "jsonl")

    @get("/dati", name="open_data")
    async def open_data(self) -> Template:
        """The open-data page: what is published, licences, sources, how often it changes, the files."""
        stamp = await catalogue_stamp()
        by_source = await sources.published_by_source()
        context = {
            "sources": by_source,
            "reference": [(s, 0) for s in sources.REFERENCE_SOURCES],
            "modified": stamp.modified,
            "archive_name": public_name(stamp),
            "published": sum(n for _, n in by_source),
        }
        return Template("open_data.html", context=context)

    @get(SCHEMA_PATH, name="record_schema")
    async def record_schema(self, request: Request) -> Response[dict]:
        """The JSON Schema of a process record, version 1."""
        terms = {name: [t["slug"] for t in terms] for name, terms in (await services.vocabularies()).items()}
        schema = record_schema(terms, settings_of(request).base_url)
        return Response(schema, media_type="application/schema+json")

    @get("/dati/codebook", name="codebook")
    async def codebook_page(self, request: Request) -> Template:
        """Every column of the process table: meaning, type, whether it can be empty, allowed values."""
        entries = book.codebook(await services.vocabularies(), settings_of(request).base_url)
        return Template("codebook.html", context={"entries": entries, "separator": book.SEPARATOR.strip()})

    @get("/dati/codebook.csv", name="codebook_csv")
    async def codebook_csv(self, request: Request) -> Response[str]:
        """The codebook as CSV."""
        entries = book.codebook(await services.vocabularies(), settings_of(request).base_url)
        return _file(book.csv_text(entries, book.CODEBOOK_HEADINGS), "csv", "codebook.csv")

    @get("/dati/vocabolari.csv", name="vocabularies_csv")
    async def vocabularies_csv(self) -> Response[str]:
        """Every vocabulary and fixed list of values, a row per value."""
        rows = book.vocabulary_rows(await services.vocabularies())
        return _file(book.csv_text(rows, book.VOCABULARY_HEADINGS), "csv", "vocabolari.csv")

    @get("/dati/vocabolari.json", name="vocabularies_json")
    async def vocabularies_json(self) -> Response[str]:
        """Every vocabulary and fixed list of values, by name."""
        return _file(book.json_text(book.closed_lists(await services.vocabularies())), "json", None)

    @get("/dati/datapackage.json", name="data_package")
    async def data_package(self, request: Request) -> Response[str]:
        """The Frictionless Data Package descriptor of the catalogue's CSV (at /processi.csv)."""
        base_url = settings_of(request).base_url
        stamp = await catalogue_stamp()
        package = book.data_package(
            base_url,
            await services.vocabularies(),
            f"{base_url}/processi.csv",
            stamp.modified.isoformat(),
            [],
        )
        return _file(book.json_text(package), "json", None)

    @get(ARCHIVE_PATH, name="bulk_archive")
    async def bulk_archive(self) -> Redirect:
        """The whole catalogue: a redirect to the archive named with the day of its last change."""
        name = public_name(await catalogue_stamp())
        return Redirect(
            f"{ARCHIVES_PATH}/{name}", status_code=HTTP_302_FOUND, headers={"Cache-Control": "no-cache"}
        )

    @get(f"{ARCHIVES_PATH}/{{name:str}}", name="dated_archive")
    async def dated_archive(self, request: Request, name: FromPath[str]) -> File:
        """The archive of the catalogue as it is now, under its dated name."""
        stamp = await catalogue_stamp()
        current = public_name(stamp)
        if name != current:
            raise NotFoundException(
                f"Non c'è un archivio «{name}»: quello del catalogo com'è ora è {ARCHIVES_PATH}/{current} "
                f"(l'indirizzo {ARCHIVE_PATH} porta sempre a quello attuale)."
            )
        archives: BulkArchives = request.app.state.bulk_archives
        settings = settings_of(request)
        path = await archives.current(settings.base_url, settings.database_url, stamp)
        return File(path, filename=current, media_type="application/zip")


def _file(body: str, extension: str, filename: str | None) -> Response[str]:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'} if filename else {}
    media_type = MEDIA_TYPES[extension] if extension == "csv" else "application/json; charset=utf-8"
    return Response(body, media_type=media_type, headers=headers)
