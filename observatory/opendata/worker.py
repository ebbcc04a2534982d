"""Writes one part of a download: ``python -m observatory.opendata.worker``, given its job.

A large download is written by two processes, each half of the list (downloads.parts): this is
the second. The job is a pickle on the standard input: ``part`` (csv, jsonl or json), ``ids``,
``base_url``, ``database_url`` and ``target``, the file the part is written to.
"""

from __future__ import annotations

import asyncio
import pickle
import sys

from observatory import database
from observatory.opendata.downloads import PARTS


async def write_part(job: dict) -> None:
    """Write the part ``job`` asks for to its target file."""
    engine = database.configure(job["database_url"])
    await database.start(engine)
    try:
        with open(job["target"], "wb") as target:
            async for chunk in PARTS[job["part"]](job["ids"], job["base_url"]):
                target.write(chunk.encode())
    finally:
        await database.stop(engine)


if __name__ == "__main__":
    asyncio.run(write_part(pickle.load(sys.stdin.buffer)))
