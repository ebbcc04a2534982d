"""Writes an Excel workbook from rows piped to it: ``python -m observatory.opendata.workbook``.

xlsxwriter spends some ten microseconds on every cell, which for a whole catalogue is most of a
minute of one core. So the download runs it in a process of its own, fed on its standard input,
while the server reads the next rows from the database on the other core (downloads.py).

The input is a sequence of pickles from the server: first a dict with ``target`` (the file to
write), ``title``, ``comments``,
``headings`` (the column names) and ``codebook`` (its headings and rows), then lists of rows (each a
list of plain values: text, numbers, booleans, dates, None), until the end of the input. The
workbook is written in xlsxwriter's constant-memory mode, a row at a time.
"""

from __future__ import annotations

import datetime
import pickle
import sys
import zlib
from typing import Any, BinaryIO

import xlsxwriter


def _cell_writer(workbook: xlsxwriter.Workbook):
    """``write(sheet, row, col, value)``: one typed cell per value (numbers as numbers, days and
    moments as dates, text always as text, never read as a formula); nothing for an empty value."""
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})

    def write(sheet: Any, row: int, col: int, value: Any) -> None:
        kind = type(value)
        if kind is str:
            if value:
                sheet.write_string(row, col, value)
        elif value is None:
            return
        elif kind is bool:
            sheet.write_boolean(row, col, value)
        elif kind is int or kind is float:
            sheet.write_number(row, col, value)
        elif kind is datetime.datetime:
            sheet.write_datetime(row, col, value, moment)
        elif kind is datetime.date:
            sheet.write_datetime(row, col, value, day)
        else:
            sheet.write_string(row, col, str(value))

    return write


def write_workbook(source: BinaryIO) -> int:
    """Write the workbook that ``source`` describes; the number of process rows."""
    head = pickle.load(source)
    workbook = xlsxwriter.Workbook(head["target"], {"constant_memory": True})
    workbook.set_properties(
        {
            "title": head["title"],
            "author": "Osservatorio dei processi partecipativi",
            "comments": head["comments"],
            "keywords": "processi partecipativi, amministrazione condivisa, dati aperti",
        }
    )
    write = _cell_writer(workbook)
    bold = workbook.add_format({"bold": True})
    sheet = workbook.add_worksheet("processi")
    sheet.freeze_panes(1, 0)
    for col, name in enumerate(head["headings"]):
        sheet.write_string(0, col, name, bold)
    row = 0
    while True:
        try:
            rows = pickle.load(source)
        except EOFError:
            break
        for values in rows:
            row += 1
            for col, value in enumerate(values):
                write(sheet, row, col, value)
    headings, entries = head["codebook"]
    book = workbook.add_worksheet("codebook")
    book.freeze_panes(1, 0)
    for col, heading in enumerate(headings):
        book.write_string(0, col, heading, bold)
    for line, values in enumerate(entries, start=1):
        for col, value in enumerate(values):
            write(book, line, col, value)
    workbook.close()
    return row


if __name__ == "__main__":
    # xlsxwriter deflates at zlib's default level (6) and has no setting for it; at level 1 the
    # writer takes a third less time for a file a fifth larger. This process does nothing else.
    zlib.Z_DEFAULT_COMPRESSION = 1
    write_workbook(sys.stdin.buffer)
