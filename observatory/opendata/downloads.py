"""Downloads of a list of processes as CSV, Excel, JSON and JSON Lines, written as they are read.

Processes are read from the database :data:`BATCH` at a time, in the order of the list, and each
batch is written out before the next is read, so an export of the whole catalogue never holds it
in memory. CSV, JSON and JSON Lines are streamed to the client as they are written; an Excel file is
a ZIP whose index comes last, so it is written (in xlsxwriter's constant-memory mode) to a temporary
file first and then streamed from it.

Only published processes are written: the list comes from the search index, and a process
withdrawn since is left out when it is read.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import tempfile
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from observatory.catalogue import services
from observatory.catalogue.records import to_record
from observatory.catalogue.transfer import FORMAT_NAME, FORMAT_VERSION
from observatory.opendata.codebook import CODEBOOK_HEADINGS
from observatory.opendata.columns import Column, cell_text, process_columns, row_values

#: Processes read from the database at a time.
BATCH = 500
#: Bytes of an Excel file sent at a time.
CHUNK = 256 * 1024
#: The licence notice every download carries in its metadata.
LICENCE_NOTICE = (
    "Dati aperti dell'Osservatorio dei processi partecipativi. Ogni record ha la sua licenza (colonna "
    "licence) e la sua attribuzione (colonna attribution): le schede della redazione sono sotto licenza "
    "CC BY 4.0, i record derivati da fonti con licenza ShareAlike (i report di Monithon) sotto CC BY-SA 4.0."
)


async def published_details(process_ids: list[int]) -> AsyncIterator[list[dict]]:
    """The details of the published processes among ``process_ids``, in order, a batch at a time."""
    for start in range(0, len(process_ids), BATCH):
        details = await services.process_details(process_ids[start : start + BATCH])
        yield [detail for detail in details if detail["publication"] == "published"]


def _csv_line(writer: Any, buffer: io.StringIO, cells: Iterable[str]) -> str:
    buffer.seek(0)
    buffer.truncate()
    writer.writerow(cells)
    return buffer.getvalue()


async def csv_stream(process_ids: list[int], base_url: str) -> AsyncIterator[str]:
    """The process table as CSV: a BOM, the header of column names, one line per process."""
    columns = process_columns(base_url)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    yield "\ufeff" + _csv_line(writer, buffer, (column.name for column in columns))
    async for details in published_details(process_ids):
        yield "".join(
            _csv_line(writer, buffer, map(cell_text, row_values(columns, detail))) for detail in details
        )


def _record_json(detail: dict) -> str:
    return json.dumps(to_record(detail), ensure_ascii=False, separators=(",", ":"))


async def jsonl_stream(process_ids: list[int]) -> AsyncIterator[str]:
    """One import-format record a line (JSON Lines)."""
    async for details in published_details(process_ids):
        yield "".join(_record_json(detail) + "\n" for detail in details)


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


async def json_stream(process_ids: list[int], metadata: dict) -> AsyncIterator[str]:
    """An import file (``osservatorio/processi``) holding the records, with ``metadata`` first."""
    head = json.dumps(metadata, ensure_ascii=False, indent=1)
    yield head[: head.rindex("}")].rstrip() + ',\n "processes": ['
    first = True
    async for details in published_details(process_ids):
        if details:
            yield ("\n" if first else ",\n") + ",\n".join(_record_json(detail) for detail in details)
            first = False
    yield "\n ]\n}\n"


def _excel_value(value: Any) -> Any:
    if isinstance(value, list):
        return cell_text(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).replace(tzinfo=None, microsecond=0)
    return value


def _excel_writer(workbook: xlsxwriter.Workbook):
    """``write(sheet, row, col, value)`` with one typed cell per value: numbers as numbers, days and
    moments as dates, text always as text (never read as a formula)."""
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})

    def write(sheet: Any, row: int, col: int, value: Any) -> None:
        value = _excel_value(value)
        if value is None or value == "":
            return
        if isinstance(value, bool):
            sheet.write_boolean(row, col, value)
        elif isinstance(value, int | float):
            sheet.write_number(row, col, value)
        elif isinstance(value, datetime.datetime):
            sheet.write_datetime(row, col, value, moment)
        elif isinstance(value, datetime.date):
            sheet.write_datetime(row, col, value, day)
        else:
            sheet.write_string(row, col, str(value))

    return write


async def write_excel(
    process_ids: list[int], base_url: str, codebook: list[dict], target: Path, title: str
) -> None:
    """Write the process table to ``target`` as .xlsx: a sheet of processes with a frozen header, and
    a sheet with the codebook."""
    columns: tuple[Column, ...] = process_columns(base_url)
    workbook = xlsxwriter.Workbook(str(target), {"constant_memory": True, "tmpdir": str(target.parent)})
    workbook.set_properties(
        {
            "title": title,
            "author": "Osservatorio dei processi partecipativi",
            "comments": LICENCE_NOTICE,
            "keywords": "processi partecipativi, amministrazione condivisa, dati aperti",
        }
    )
    write = _excel_writer(workbook)
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet("processi")
    sheet.freeze_panes(1, 0)
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.name, bold)
    row = 1
    async for details in published_details(process_ids):
        for detail in details:
            for col, value in enumerate(row_values(columns, detail)):
                write(sheet, row, col, value)
            row += 1
    book = workbook.add_worksheet("codebook")
    book.freeze_panes(1, 0)
    for col, heading in enumerate(CODEBOOK_HEADINGS):
        book.write_string(0, col, heading, bold)
    for line, entry in enumerate(codebook, start=1):
        for col, heading in enumerate(CODEBOOK_HEADINGS):
            write(book, line, col, entry[heading])
    workbook.close()


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
