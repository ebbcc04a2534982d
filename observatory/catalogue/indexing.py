"""Keeping this instance's search index a faithful copy of the published catalogue.

Every write notes its process in the outbox, in its own transaction (outbox.py). :func:`apply_pending`
brings this index to the end of the outbox after a commit, at start-up and every few seconds;
:func:`rebuild` fills a new generation from the tables and swaps it in atomically;
:func:`open_index` rebuilds, before the first search, an index that is missing, unreadable,
outdated, empty while the catalogue is not, or too far behind; :func:`keep_index_current` also
compares the index with the tables now and then, and rebuilds it in the background when they
differ, searches going on meanwhile from what it has.

Every process of this instance that writes in the index folder holds its lock, so writers and the
swap of a rebuild never meet in one generation: a change written into a generation that is then
replaced reaches the new one from its position in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import multiprocessing
import time

import numpy as np

from observatory.catalogue import outbox, services
from observatory.catalogue.documents import documents_for
from observatory.catalogue.outbox import Position
from observatory.catalogue.tables import Process
from observatory.search.index import WRITER_OPTIONS, IndexUnavailable, SearchIndex, write_documents

logger = logging.getLogger("observatory.indexing")
BATCH = 500
#: A rebuild of more processes than this writes with several processes (below, one is faster).
PARALLEL_FROM = 5_000
#: How often the background task compares the index with the tables.
VERIFY_EVERY = datetime.timedelta(minutes=5)
#: A change waiting longer than this makes the instance "degraded" in its health report.
STALE_SECONDS = 60.0


# --- bringing the index up to date -------------------------------------------------------------------


async def apply_pending(search_index: SearchIndex) -> int:
    """Bring the live generation to the end of the outbox; return how many processes were rewritten.

    A generation that cannot be read or has no position is left alone (0): the repair rebuilds it.
    """
    done = 0
    async with search_index.locked():
        try:
            generation, ix = search_index.live()
        except IndexUnavailable as exc:
            search_index.damage = str(exc)
            return 0
        try:
            kept = search_index.position(generation)
            if kept is None:
                search_index.damage = f"la generazione {generation} non ha una posizione nelle modifiche"
                return 0
            position = Position.from_json(kept)
            while True:
                oldest_running = await outbox.horizon()
                rows = await outbox.pending(position, BATCH)
                if rows:
                    process_ids = list(dict.fromkeys(row["process_id"] for row in rows))
                    await _write(ix, process_ids)
                    done += len(process_ids)
                moved = outbox.advance(position, rows, oldest_running)
                if rows or moved.horizon != position.horizon:
                    search_index.keep_position(generation, moved.to_json())
                position = moved
                if not rows:
                    return done
        finally:
            ix.close()


async def _write(ix, process_ids: list[int]) -> None:
    documents = await documents_for(process_ids)
    published = {int(doc["pid"]) for doc in documents}
    gone = [pid for pid in process_ids if pid not in published]
    await asyncio.to_thread(write_documents, ix, documents, gone)


async def catch_up(search_index: SearchIndex | None) -> None:
    """Apply what was just committed, if it can be done now: a change that committed has succeeded,
    and the background task applies it later when the index cannot take it now (disk full, say)."""
    if search_index is None:
        return
    try:
        await apply_pending(search_index)
    except Exception:
        logger.exception("The search index could not take the changes just committed; it will retry")


# --- rebuilding ---------------------------------------------------------------------------------------


async def rebuild(search_index: SearchIndex, procs: int | None = None) -> int:
    """Index every published process into a new generation and swap it in; return the count.

    Searches keep using the old generation until the swap. The new generation starts at the
    outbox position taken before the tables were read, so every change committed meanwhile reaches
    it, whatever its id. Rebuilds of one folder wait for each other.
    """
    async with search_index.locked("REBUILD"):
        count = await _fill_generation(search_index, procs or _processes())
    await _after_rebuild(search_index)
    return count


async def _fill_generation(search_index: SearchIndex, procs: int) -> int:
    position = await outbox.start()
    published = Process.select(Process.id).where(services.published()).order_by(Process.id)
    ids = await published.output(as_list=True)
    name, ix = search_index.new_generation()
    try:
        await _fill(ix, ids, procs)
        search_index.keep_position(name, position.to_json())
    except BaseException:
        search_index.discard_generation(name)
        raise
    async with search_index.locked():
        search_index.publish_generation(name)
    return len(ids)


async def _fill(ix, ids: list[int], procs: int) -> None:
    options = {"procs": procs, "multisegment": True} if procs > 1 and len(ids) > PARALLEL_FROM else {}
    writer = ix.writer(**WRITER_OPTIONS, **options)
    try:
        for start in range(0, len(ids), BATCH):
            for document in await documents_for(ids[start : start + BATCH]):
                writer.add_document(**document)
        await asyncio.to_thread(writer.commit)
    except BaseException:
        with contextlib.suppress(Exception):  # a writer whose commit failed may refuse to cancel
            writer.cancel()
        raise
    finally:
        ix.close()


async def _after_rebuild(search_index: SearchIndex) -> None:
    await apply_pending(search_index)
    await outbox.prune()


def _processes() -> int:
    return min(2, multiprocessing.cpu_count())


async def _repair(search_index: SearchIndex, seen: str | None, reason: str) -> None:
    """Rebuild the index because of ``reason``, found while generation ``seen`` was live, unless
    another worker of this instance replaced that generation meanwhile (then it is already done)."""
    async with search_index.locked("REBUILD"):
        if search_index.current_generation() != seen:
            logger.warning("The search index was rebuilt by another worker (%s)", reason)
            search_index.damage = None
            return
        logger.warning("Rebuilding the search index in %s: %s", search_index.folder, reason)
        started = time.perf_counter()
        count = await _fill_generation(search_index, _processes())
        logger.warning("Search index rebuilt: %d processes in %.1f s", count, time.perf_counter() - started)
    await _after_rebuild(search_index)


# --- checking -----------------------------------------------------------------------------------------


def _checksum(ids: np.ndarray, updated: np.ndarray) -> int:
    """A sum over processes of their id and last change (to the millisecond), mixed."""
    ms = np.round(updated * 1000).astype(np.int64).astype(np.uint64)
    mixed = (ids.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)) ^ ms
    return int(mixed.sum(dtype=np.uint64))


async def _database_figures() -> tuple[int, int]:
    rows = await Process.select(Process.id, Process.updated_at).where(services.published())
    ids = np.array([row["id"] for row in rows], dtype=np.int64)
    updated = np.array([row["updated_at"].timestamp() for row in rows], dtype=np.float64)
    return len(rows), _checksum(ids, updated)


def _index_figures(search_index: SearchIndex) -> tuple[int, int]:
    _, arrays = search_index.searcher()
    live = arrays.live
    return int(live.sum()), _checksum(arrays.pid[live], arrays.updated[live])


async def differences(search_index: SearchIndex) -> str | None:
    """How the index differs from the tables (published processes and their last change), after
    applying pending changes; None when they agree."""
    await apply_pending(search_index)
    in_tables, tables_sum = await _database_figures()
    in_index, index_sum = await asyncio.to_thread(_index_figures, search_index)
    if (in_tables, tables_sum) == (in_index, index_sum):
        return None
    return f"{in_index} processi nell'indice, {in_tables} pubblicati nel catalogo; somme di controllo diverse"


async def _problem(search_index: SearchIndex) -> str | None:
    """Why the index cannot be served as it is: missing, unreadable, outdated, without position,
    too far behind the outbox or ahead of it (a database restored), or empty while the catalogue
    is not; None when it can."""
    try:
        generation, ix = search_index.live()
    except IndexUnavailable as exc:
        return str(exc)
    try:
        count = ix.doc_count()
    except Exception as exc:
        return f"la generazione {generation} non si può leggere ({exc})"
    finally:
        ix.close()
    if search_index.is_outdated(generation):
        return "l'indice è stato scritto da un'altra versione"
    kept = search_index.position(generation)
    if kept is None:
        return "l'indice non ha una posizione nelle modifiche"
    position = Position.from_json(kept)
    if position.stale():
        return "l'indice è indietro di più di quanto le modifiche conservano"
    if position.change > await outbox.latest():
        return "l'indice è più avanti delle modifiche del database: il database è stato sostituito"
    if count == 0 and await Process.exists().where(services.published()):
        return "l'indice è vuoto e il catalogo no"
    return None


async def open_index(search_index: SearchIndex) -> None:
    """Make the index ready before the first search: rebuilt (and the log says how long it took)
    when it cannot be served as it is, then brought up to date, its searcher opened; one that
    differs from the tables is served and marked for the background task to rebuild."""
    seen = search_index.current_generation()
    problem = await _problem(search_index)
    if problem:
        await _repair(search_index, seen, problem)
    await apply_pending(search_index)
    await asyncio.to_thread(search_index.searcher)  # facet arrays ready before the first reader
    if not problem and (difference := await differences(search_index)):
        logger.error("The search index does not match the catalogue (%s): it will be rebuilt", difference)
        search_index.damage = difference  # the background task rebuilds it; searches go on meanwhile


async def repair(search_index: SearchIndex) -> str | None:
    """Rebuild the index when it is damaged, cannot be served or differs from the tables (twice,
    so that a change committing meanwhile is no cause); return why it was rebuilt, or None."""
    seen = search_index.current_generation()
    reason = search_index.damage or await _problem(search_index)
    if reason is None:
        reason = await differences(search_index) and await differences(search_index)
    if reason is None:
        return None
    logger.error("The search index does not match the catalogue (%s): rebuilding it", reason)
    await _repair(search_index, seen, reason)
    return reason


async def keep_index_current(search_index: SearchIndex, every: float) -> None:
    """Background task: apply pending changes every ``every`` seconds, and compare the index with
    the tables every VERIFY_EVERY (rebuilding it when they differ), forever. A repair that fails
    (a full disk, say) is tried again after a pause that doubles, up to VERIFY_EVERY."""
    verified = time.monotonic()
    pause = every
    while True:
        await asyncio.sleep(every)
        try:
            if time.monotonic() - verified > (pause if search_index.damage else VERIFY_EVERY.total_seconds()):
                verified = time.monotonic()
                await repair(search_index)
                pause = every
            else:
                await apply_pending(search_index)
        except Exception:  # the next round retries; the outbox keeps the changes
            pause = min(pause * 2, VERIFY_EVERY.total_seconds())
            logger.exception("Keeping the search index current failed; next repair in about %.0f s", pause)


async def status(search_index: SearchIndex) -> dict:
    """This index's freshness: the generation served, its documents, and what it has still to apply."""
    generation = search_index.current_generation()
    kept = search_index.position(generation) if generation else None
    pending, oldest = await outbox.backlog(Position.from_json(kept)) if kept else (None, None)
    served, documents = search_index.served()
    now = datetime.datetime.now(datetime.UTC)
    return {
        "generation": generation,
        "served_generation": served,
        "documents": documents,
        "published": await Process.count().where(services.published()),
        "pending_changes": pending,
        "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "damage": search_index.damage,
    }


async def health(search_index: SearchIndex) -> dict:
    """This instance's state: whether the database answers (and how fast), and its index's
    freshness (:func:`status`); ``status`` is "ok", "degraded" (the index is damaged or behind) or
    "unavailable" (no database, or no index to search)."""
    started = time.perf_counter()
    try:
        await Process.raw("SELECT 1")
    except Exception as exc:  # the answer must say it, not fail
        return {"status": "unavailable", "database": {"reachable": False, "error": str(exc)}, "index": None}
    database = {"reachable": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    index = await status(search_index)
    if index["generation"] is None and index["served_generation"] is None:
        state = "unavailable"
    elif (
        index["damage"] or index["pending_changes"] is None or index["oldest_pending_seconds"] > STALE_SECONDS
    ):
        state = "degraded"
    else:
        state = "ok"
    return {"status": state, "database": database, "index": index}
