"""Downloads of a list of processes as CSV, Excel, JSON and JSON Lines, written as they are read.

Processes are read from the database :data:`BATCH` at a time, in the order of the list, and each
batch is written out before the next is read, so an export of the whole catalogue never holds it
in memory; the next batch is read while the current one is written. CSV, JSON and JSON Lines are
streamed to the client as they are written. An Excel file is a ZIP whose index comes last, so it
is written to a temporary file first (by a process of its own, workbook.py, in xlsxwriter's
constant-memory mode) and then streamed from it.

Only published processes are written: the list comes from the search index, and a process
withdrawn since is left out when it is read.
"""

from __future__ import annotations

import asyncio
import csv
import datetime
import io
import json
import pickle
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from observatory.catalogue import services
from observatory.catalogue.records import to_record
from observatory.catalogue.transfer import FORMAT_NAME, FORMAT_VERSION
from observatory.opendata.codebook import CODEBOOK_HEADINGS
from observatory.opendata.columns import Column, cell_text, process_columns, row_values

#: Processes read from the database at a time.
BATCH = 500
#: Bytes of a file sent at a time.
CHUNK = 256 * 1024
#: From how many processes a download is written by two processes at once (see :func:`parts`).
SPLIT_FROM = 4_000
#: The licence notice every download carries in its metadata.
LICENCE_NOTICE = (
    "Dati aperti dell'Osservatorio dei processi partecipativi. Ogni record ha la sua licenza (colonna "
    "licence) e la sua attribuzione (colonna attribution): le schede della redazione sono sotto licenza "
    "CC BY 4.0, i record derivati da fonti con licenza ShareAlike (i report di Monithon) sotto CC BY-SA 4.0."
)


async def published_details(process_ids: list[int]) -> AsyncIterator[list[dict]]:
    """The details of the published processes among ``process_ids``, in order, a batch at a time.

    The next batch is read while the caller writes out the current one, so the database's time and
    the writing overlap."""
    batches = [process_ids[start : start + BATCH] for start in range(0, len(process_ids), BATCH)]
    if not batches:
        return
    reading = asyncio.ensure_future(services.process_details(batches[0]))
    try:
        for following in [*batches[1:], None]:
            details = await reading
            if following is not None:
                reading = asyncio.ensure_future(services.process_details(following))
            yield [detail for detail in details if detail["publication"] == "published"]
    finally:
        reading.cancel()


def _csv_lines(writer: Any, buffer: io.StringIO, rows: Iterable[Iterable[str]]) -> str:
    buffer.seek(0)
    buffer.truncate()
    writer.writerows(rows)
    return buffer.getvalue()


async def csv_rows(process_ids: list[int], base_url: str) -> AsyncIterator[str]:
    """The CSV lines of the processes, without the header."""
    columns = process_columns(base_url)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    readers = [column.read for column in columns]
    async for details in published_details(process_ids):
        rows = ([cell_text(read(detail)) for read in readers] for detail in details)
        yield _csv_lines(writer, buffer, rows)


def _record_json(detail: dict) -> str:
    return json.dumps(to_record(detail), ensure_ascii=False, separators=(",", ":"))


async def jsonl_rows(process_ids: list[int], base_url: str = "") -> AsyncIterator[str]:
    """One import-format record a line (JSON Lines)."""
    async for details in published_details(process_ids):
        yield "".join(_record_json(detail) + "\n" for detail in details)


async def json_records(process_ids: list[int], base_url: str = "") -> AsyncIterator[str]:
    """The records of a JSON file's list, each after ``,\\n`` (the list's opening drops the first)."""
    async for details in published_details(process_ids):
        yield "".join(",\n" + _record_json(detail) for detail in details)


#: What each part of a download is written by (also by the second process, worker.py).
PARTS = {"csv": csv_rows, "jsonl": jsonl_rows, "json": json_records}


class DownloadFailed(RuntimeError):
    """A process writing part of a download ended without writing it."""


async def _child(module: str, job: dict) -> asyncio.subprocess.Process:
    """A Python process running ``module``, given ``job`` (a pickle) on its standard input."""
    child = await asyncio.create_subprocess_exec(sys.executable, "-m", module, stdin=asyncio.subprocess.PIPE)
    assert child.stdin is not None
    child.stdin.write(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    await child.stdin.drain()
    return child


async def _finished(child: asyncio.subprocess.Process) -> None:
    if child.stdin is not None and not child.stdin.is_closing():
        child.stdin.close()
    if child.returncode is None and await child.wait() != 0:
        raise DownloadFailed(f"{child.pid} ended with status {child.returncode}")


async def _killed(child: asyncio.subprocess.Process) -> None:
    if child.returncode is None:
        child.kill()
        await child.wait()


async def parts(
    part: str, process_ids: list[int], base_url: str, database_url: str | None
) -> AsyncIterator[bytes]:
    """The body of a download of ``process_ids`` (its header aside), encoded.

    From :data:`SPLIT_FROM` processes, and given the database, the second half of the list is
    written at the same time by another process (worker.py) into a temporary file, sent after the
    first half: the two cores share the work."""
    write = PARTS[part]
    if database_url is None or len(process_ids) < SPLIT_FROM:
        async for chunk in write(process_ids, base_url):
            yield chunk.encode()
        return
    half = len(process_ids) // 2
    with tempfile.TemporaryDirectory(prefix="osservatorio-parte-") as folder:
        spool = Path(folder) / part
        job = {"part": part, "ids": process_ids[half:], "base_url": base_url, "database_url": database_url}
        helper = await _child("observatory.opendata.worker", job | {"target": str(spool)})
        try:
            async for chunk in write(process_ids[:half], base_url):
                yield chunk.encode()
            await _finished(helper)
        finally:
            await _killed(helper)
        with spool.open("rb") as file:
            while data := file.read(CHUNK):
                yield data


async def csv_stream(
    process_ids: list[int], base_url: str, database_url: str | None = None
) -> AsyncIterator[bytes]:
    """The process table as CSV: a BOM, the header of column names, one line per process."""
    buffer = io.StringIO()
    header = _csv_lines(
        csv.writer(buffer, lineterminator="\r\n"), buffer, [[c.name for c in process_columns()]]
    )
    yield ("\ufeff" + header).encode()
    async for chunk in parts("csv", process_ids, base_url, database_url):
        yield chunk


def jsonl_stream(process_ids: list[int], database_url: str | None = None) -> AsyncIterator[bytes]:
    """One import-format record a line (JSON Lines)."""
    return parts("jsonl", process_ids, "", database_url)


def file_metadata(base_url: str, generated: datetime.datetime) -> dict:
    """What a JSON download says of itself besides its records."""
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "schema": f"{base_url}/dati/schema/processo-v1.json",
        "source": base_url + "/",
        "generated_at": generated.astimezone(datetime.UTC).replace(microsecond=0).isoformat(),
        "licence_notice": LICENCE_NOTICE,
    }


async def json_stream(
    process_ids: list[int], metadata: dict, database_url: str | None = None
) -> AsyncIterator[bytes]:
    """An import file (``osservatorio/processi``) holding the records, with ``metadata`` first."""
    head = json.dumps(metadata, ensure_ascii=False, indent=1)
    yield (head[: head.rindex("}")].rstrip() + ',\n "processes": [').encode()
    first = True
    async for chunk in parts("json", process_ids, "", database_url):
        if first and chunk:
            chunk, first = b"\n" + chunk.removeprefix(b",\n"), False
        yield chunk
    yield b"\n ]\n}\n"


def _excel_value(value: Any) -> Any:
    if isinstance(value, list):
        return cell_text(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).replace(tzinfo=None, microsecond=0)
    return value


async def write_excel(
    process_ids: list[int], base_url: str, codebook: list[dict], target: Path, title: str
) -> None:
    """Write the process table to ``target`` as .xlsx: a sheet of processes with a frozen header, and
    a sheet with the codebook. The cells are written by a process of its own (workbook.py), fed
    each batch as soon as it is read."""
    columns: tuple[Column, ...] = process_columns(base_url)
    head = {
        "title": title,
        "comments": LICENCE_NOTICE,
        "headings": [column.name for column in columns],
        "codebook": (CODEBOOK_HEADINGS, [[entry[h] for h in CODEBOOK_HEADINGS] for entry in codebook]),
        "target": str(target),
    }
    writer = await _child("observatory.opendata.workbook", head)
    assert writer.stdin is not None
    try:
        async for details in published_details(process_ids):
            rows = [[_excel_value(value) for value in row_values(columns, detail)] for detail in details]
            writer.stdin.write(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
            await writer.stdin.drain()
        await _finished(writer)
    finally:
        await _killed(writer)


async def excel_stream(
    process_ids: list[int], base_url: str, codebook: list[dict], title: str
) -> AsyncIterator[bytes]:
    """The .xlsx file of the process table, written to a temporary file and then sent from it."""
    with tempfile.TemporaryDirectory(prefix="osservatorio-xlsx-") as folder:
        target = Path(folder) / "processi.xlsx"
        await write_excel(process_ids, base_url, codebook, target, title)
        with target.open("rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk
