"""The whole catalogue as one dated ZIP: the process CSV and JSON, the codebook, the vocabularies and
the Data Package descriptor that describes them.

The archive is built when it is first asked for after the catalogue changed (its name carries the
catalogue's stamp), written to a temporary file and renamed into place, so a reader never sees half
an archive and two workers building at once only waste work. Each instance keeps its archives in a
folder of its own beside its search index: like the index, they are a derived copy.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import re
import zipfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from observatory.catalogue import services
from observatory.catalogue.standard import SCHEMA_PATH
from observatory.catalogue.tables import Process
from observatory.opendata import codebook as book
from observatory.opendata.downloads import LICENCE_NOTICE, csv_stream, file_metadata, json_stream
from observatory.opendata.freshness import CatalogueStamp

#: Public address of the current archive; it redirects to the dated one.
ARCHIVE_PATH = "/dati/osservatorio.zip"
#: Folder of the dated archives.
ARCHIVES_PATH = "/dati/archivi"
_STORED = re.compile(r"^osservatorio-(\d{4}-\d{2}-\d{2})-([0-9a-f]+)\.zip$")


def public_name(stamp: CatalogueStamp) -> str:
    """The archive's file name for readers: the day of the catalogue's last change."""
    return f"osservatorio-{stamp.modified.date().isoformat()}.zip"


def _members_resources(vocabularies: Mapping[str, list[dict]]) -> list[dict]:
    """The Data Package resources of the archive besides the process CSV."""

    def table(name: str, title: str, headings: tuple[str, ...], types: dict[str, str]) -> dict:
        fields = [{"name": h, "type": types.get(h, "string")} for h in headings]
        for described in fields:
            if described["type"] == "boolean":
                described |= book.FLAG_VALUES
        return {
            "name": name,
            "title": title,
            "path": f"{name}.csv",
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": {"fields": fields, "missingValues": [""]},
        }

    codebook_table = table(
        "codebook",
        "Codebook: il significato di ogni colonna di processi.csv",
        book.CODEBOOK_HEADINGS,
        {"can_be_empty": "boolean", "many_values": "boolean"},
    )
    return [
        codebook_table,
        table("vocabolari", "Vocabolari e valori ammessi", book.VOCABULARY_HEADINGS, {"position": "integer"}),
        {
            "name": "processi-json",
            "title": "Gli stessi processi nel formato di importazione osservatorio/processi",
            "path": "processi.json",
            "profile": "data-resource",
            "format": "json",
            "mediatype": "application/json",
            "encoding": "utf-8",
        },
    ]


async def published_ids() -> list[int]:
    """The ids of every published process, oldest first."""
    return (
        await Process.select(Process.id).where(services.published()).order_by(Process.id).output(as_list=True)
    )


async def _write_member(archive: zipfile.ZipFile, name: str, chunks: AsyncIterator[bytes]) -> None:
    with archive.open(name, "w", force_zip64=True) as member:
        async for chunk in chunks:
            member.write(chunk)


def _readme(base_url: str, day: str) -> str:
    return (
        f"Osservatorio dei processi partecipativi: il catalogo pubblicato al {day}.\n\n"
        "processi.csv      una riga per processo (colonne descritte in codebook.csv)\n"
        "processi.json     gli stessi processi come record dello standard dei processi,\n"
        f"                  {base_url}{SCHEMA_PATH}\n"
        "codebook.csv      ogni colonna: significato, tipo, se può essere vuota, valori ammessi\n"
        "vocabolari.csv    i vocabolari e gli elenchi di valori, con le etichette\n"
        "datapackage.json  il descrittore Frictionless Data Package dei file\n\n"
        f"{LICENCE_NOTICE}\n\nFonte: {base_url}/dati\n"
    )


async def write_archive(target: Path, base_url: str, database_url: str | None, stamp: CatalogueStamp) -> None:
    """Write the archive of the catalogue as it is now to ``target``."""
    vocabularies = await services.vocabularies()
    ids = await published_ids()
    day = stamp.modified.date().isoformat()
    package = book.data_package(
        base_url, vocabularies, "processi.csv", stamp.modified.isoformat(), _members_resources(vocabularies)
    )
    metadata = file_metadata(base_url, datetime.datetime.now(datetime.UTC))
    # the fastest deflate: a third of the time of the default level, for an archive a fifth larger
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("LEGGIMI.txt", _readme(base_url, day))
        await _write_member(archive, "processi.csv", csv_stream(ids, base_url, database_url))
        await _write_member(archive, "processi.json", json_stream(ids, metadata, database_url))
        archive.writestr(
            "codebook.csv", book.csv_text(book.codebook(vocabularies, base_url), book.CODEBOOK_HEADINGS)
        )
        archive.writestr(
            "vocabolari.csv", book.csv_text(book.vocabulary_rows(vocabularies), book.VOCABULARY_HEADINGS)
        )
        archive.writestr("datapackage.json", book.json_text(package))


class BulkArchives:
    """The archives of one instance, in ``folder``: the current one is built once per catalogue state."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = asyncio.Lock()

    def _stored_name(self, stamp: CatalogueStamp) -> str:
        key = stamp.etag(ARCHIVE_PATH, b"").strip('"')
        return f"osservatorio-{stamp.modified.date().isoformat()}-{key}.zip"

    async def current(self, base_url: str, database_url: str | None, stamp: CatalogueStamp) -> Path:
        """The archive of the catalogue in state ``stamp``, built now if it is not there yet."""
        target = self.folder / self._stored_name(stamp)
        if target.exists():
            return target
        async with self._lock:
            if not target.exists():
                self.folder.mkdir(parents=True, exist_ok=True)
                draft = self.folder / f".{target.name}.{os.getpid()}.part"
                try:
                    await write_archive(draft, base_url, database_url, stamp)
                    os.replace(draft, target)
                finally:
                    draft.unlink(missing_ok=True)
                self._prune(target)
        return target

    def _prune(self, kept: Path) -> None:
        """Remove the archives of earlier states (a download already under way keeps its open file)."""
        for path in self.folder.iterdir():
            if path != kept and _STORED.match(path.name) and path.stat().st_mtime <= kept.stat().st_mtime:
                path.unlink(missing_ok=True)
