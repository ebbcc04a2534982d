"""Several instances on one database, each with its own index folder; an index that is lost,
damaged or different from the tables is rebuilt; no change is lost to a rebuild, a late commit or
a failing disk; /salute and `observatory index-status` tell how fresh an index is.

The second instance is a real `observatory serve` process, reached over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import app_client
from helpers import (
    STAFF_PASSWORD,
    card_slugs,
    form_token,
    form_values,
    log_in,
    login_as,
    observatory_command,
    process_row,
    refresh_index,
    run_in_app,
    serving,
    soup,
)

from observatory import database
from observatory.accounts.services import create_staff
from observatory.catalogue import outbox
from observatory.catalogue.indexing import apply_pending, rebuild
from observatory.catalogue.tables import IndexChange, Process
from observatory.search.index import SearchIndex
from observatory.submissions.services import submit
from observatory.submissions.tables import Submission

pytestmark = pytest.mark.anyio

#: How long a change may take to reach another instance in these tests (the README promises
#: about the poll interval; the margin is for a loaded CI machine).
CONVERGE_WITHIN = 30.0


# --- a second instance ------------------------------------------------------------------------------


async def _total(http, **params: str) -> int:
    response = await http.get("/api/v1/processi", params=params)
    assert response.status_code == 200, response.text
    return response.json()["total"]


async def _eventually(check, within: float = CONVERGE_WITHIN):
    """Await ``check()`` until it returns something true; return it (fail after ``within`` s)."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"not reached in {within} s"
        await asyncio.sleep(0.1)


def _pending_submissions(client, titles: list[str]) -> list[int]:
    """Store one pending submission per title (as the public form does); return their ids."""
    settings, search_index = client.app.state.settings, client.app.state.search_index

    async def store() -> list[int]:
        for number, title in enumerate(titles):
            record = {"title": title, "description": "Un processo per le prove di più istanze."}
            submitter = {
                "nome": "Maria Rossi",
                "ente": "Comune di Chieri",
                "email": "m@comune.example",
                "privacy": True,
            }
            await submit(
                record,
                submitter,
                None,
                None,
                f"10.9.{number // 250}.{number % 250}",
                "web",
                settings,
                search_index,
            )
        return (
            await Submission.select(Submission.id).where(Submission.state == "in_attesa").output(as_list=True)
        )

    return run_in_app(client, store)


async def _post(client, path: str, data: dict | None = None):
    token = await form_token(client)
    return await client.post(path, data={"_csrf_token": token, **(data or {})}, follow_redirects=False)


async def _edit(client, process_id: int, **changes: str):
    path = f"/redazione/processi/{process_id}/modifica"
    data = form_values(soup(await client.get(path)), "form.process-form")
    data.update(changes, azione="salva")
    return await client.post(path, data=data, follow_redirects=False)


def _delete_process(client, process_id: int) -> None:
    """Delete a process row, noting it in the outbox like every write does."""

    async def delete() -> None:
        async with database.write_transaction():
            await Process.delete().where(Process.id == process_id)
            await outbox.record_change(process_id)

    run_in_app(client, delete)


# --- two instances converge ---------------------------------------------------------------------------


async def test_two_instances_on_one_database_converge(client, demo_db_url, tmp_path):
    published = await _total(client)
    assert published > 500
    async with serving(demo_db_url, tmp_path / "b-index", tmp_path / "b.log") as b:
        # B started with no index at all: it serves the whole catalogue from its first answer
        assert await _total(b) == published
        health = (await b.get("/salute")).json()
        assert health["status"] == "ok" and health["index"]["documents"] == published
        assert health["index"]["pending_changes"] == 0

        # publish through A
        await login_as(client)
        [submission] = _pending_submissions(client, ["Orti zefiroquinto di Borgoquercia"])
        assert (await _post(client, f"/redazione/segnalazioni/{submission}/approva")).status_code == 303
        assert await _eventually(lambda: _total(b, q="zefiroquinto"))
        slug = "orti-zefiroquinto-di-borgoquercia"
        assert (await b.get(f"/processi/{slug}")).status_code == 200

        # edit through A
        process_id = process_row(client, slug)["id"]
        edited = await _edit(client, process_id, title="Orti ventoquarto di Borgoquercia")
        assert edited.status_code == 303, edited.text
        assert await _eventually(lambda: _total(b, q="ventoquarto"))
        assert await _total(b, q="zefiroquinto") == 0

        # withdraw through A: gone from B's search, B's page answers 410
        withdrawn = await _post(client, f"/redazione/processi/{process_id}/ritira", {"motivo": "Doppione."})
        assert withdrawn.status_code == 303

        async def gone() -> bool:
            return await _total(b, q="ventoquarto") == 0

        assert await _eventually(gone)
        assert (await b.get(f"/processi/{slug}")).status_code == 410
        assert "ventoquarto" not in (await b.get("/processi", params={"q": "Borgoquercia"})).text

        # delete a process row
        victim = process_row(client, card_slugs(soup(await b.get("/processi")))[0])
        _delete_process(client, victim["id"])

        async def deleted() -> bool:
            return victim["slug"] not in card_slugs(soup(await b.get("/processi")))

        assert await _eventually(deleted)
        assert await _eventually(lambda: _same_total(b, published - 1))
        assert (await b.get("/salute")).json()["index"]["pending_changes"] == 0
    # and A applied every change too
    refresh_index(client)
    assert await _total(client) == published - 1 and await _total(client, q="ventoquarto") == 0


async def _same_total(http, expected: int) -> bool:
    return await _total(http) == expected


# --- a lost, damaged or different index ---------------------------------------------------------------


def _live_folder(index_dir: Path) -> Path:
    return index_dir / (index_dir / "CURRENT").read_text().strip()


def _delete_folder(index_dir: Path) -> None:
    shutil.rmtree(index_dir)


def _truncate_table_of_contents(index_dir: Path) -> None:
    for toc in _live_folder(index_dir).glob("_MAIN_*.toc"):
        toc.write_bytes(toc.read_bytes()[:20])


def _name_a_missing_generation(index_dir: Path) -> None:
    (index_dir / "CURRENT").write_text("gen-20000101T000000-00000000\n")


DAMAGE = {
    "deleted folder": _delete_folder,
    "truncated table of contents": _truncate_table_of_contents,
    "CURRENT naming a missing generation": _name_a_missing_generation,
}


@pytest.mark.parametrize("damage", DAMAGE)
async def test_damaged_index_is_rebuilt_while_serving_and_at_start_up(demo_db_url, tmp_path, damage):
    index_dir = tmp_path / "index"
    async with app_client(demo_db_url, tmp_path, poll=0.2) as client:
        published = await _total(client)
        before = client.app.state.search_index.current_generation()
        DAMAGE[damage](index_dir)
        # pages that need no index keep working, searches answer from what is open
        assert (
            await client.get("/processi/patti-per-l-amministrazione-condivisa-in-piemonte")
        ).status_code == 200
        assert (await client.get("/segnala")).status_code == 200
        assert (await client.get("/processi", params={"q": "patti"})).status_code == 200

        async def repaired() -> bool:
            generation = SearchIndex(index_dir).current_generation()
            return generation not in (None, before) and (await client.get("/salute")).json()["status"] == "ok"

        assert await _eventually(repaired)
        assert await _total(client) == published

    DAMAGE[damage](index_dir)
    async with app_client(demo_db_url, tmp_path, poll=3600) as restarted:
        # rebuilt before the first search is answered
        assert await _total(restarted) == published
        assert (
            await restarted.get("/processi/patti-per-l-amministrazione-condivisa-in-piemonte")
        ).status_code == 200


async def test_a_task_cancelled_while_waiting_for_the_index_lock_leaves_it_free(tmp_path):
    # an instance stopping while its background task waits for the lock another instance holds must
    # not take it afterwards: the next instance on this folder would wait for it and answer 503
    index_dir = tmp_path / "index"
    async with SearchIndex(index_dir).locked():
        waiter = asyncio.create_task(_hold_briefly(SearchIndex(index_dir)))
        await asyncio.sleep(0.1)
        waiter.cancel()
        # what is gathered at shutdown may be kept (a log record, say), the task's frames with it
        (cancelled,) = await asyncio.gather(waiter, return_exceptions=True)
        assert isinstance(cancelled, asyncio.CancelledError)
    await asyncio.sleep(0.2)
    async with asyncio.timeout(5):
        await _hold_briefly(SearchIndex(index_dir), wait=1.0)


async def _hold_briefly(search_index: SearchIndex, wait: float = 120.0) -> None:
    async with search_index.locked(wait=wait):
        await asyncio.sleep(0)


async def test_index_that_differs_from_the_tables_is_rebuilt_in_the_background(demo_db_url, tmp_path):
    index_dir = tmp_path / "index"
    async with app_client(demo_db_url, tmp_path, poll=3600) as client:
        published = await _total(client)
        # a process deleted behind the app's back: the outbox knows nothing of it
        victim = process_row(client, "patti-per-l-amministrazione-condivisa-in-piemonte")
        run_in_app(client, lambda: Process.delete().where(Process.id == victim["id"]))
    generation = SearchIndex(index_dir).current_generation()
    async with app_client(demo_db_url, tmp_path, poll=0.2) as restarted:
        # served meanwhile from what it has, then rebuilt
        assert (await restarted.get("/processi")).status_code == 200

        async def rebuilt() -> bool:
            return SearchIndex(index_dir).current_generation() != generation and await _total(restarted) == (
                published - 1
            )

        assert await _eventually(rebuilt)
        assert (await restarted.get("/salute")).json()["index"]["damage"] is None


async def test_pages_that_need_no_index_work_when_no_index_can_be_built(demo_db_url, tmp_path):
    (tmp_path / "index").rename(tmp_path / "old-index")
    (tmp_path / "index").write_text("not a folder")  # the index folder cannot be created
    async with app_client(demo_db_url, tmp_path, poll=3600) as client:
        assert (
            await client.get("/processi/patti-per-l-amministrazione-condivisa-in-piemonte")
        ).status_code == 200
        assert (await client.get("/redazione/accesso")).status_code == 200
        page = await client.get("/processi", params={"q": "patti"})
        assert page.status_code == 503 and "Servizio non disponibile" in page.text
        api = await client.get("/api/v1/processi")
        assert api.status_code == 503 and api.json()["error"] == "unavailable"
        health = await client.get("/salute")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        assert health.json()["database"]["reachable"] is True


# --- nothing lost ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_change_with_a_lower_id_that_commits_later_is_applied(client):
    """PostgreSQL hands out ids when rows are written, not when they commit."""
    early = process_row(client, "patti-per-l-amministrazione-condivisa-in-piemonte")
    late = process_row(client, card_slugs(soup(await client.get("/processi")))[-1])
    search_index = client.app.state.search_index

    async def scenario() -> list[dict]:
        first_wrote, second_applied = asyncio.Event(), asyncio.Event()

        async def first() -> None:  # takes the lower id, commits last
            async with database.write_transaction():
                await Process.update({Process.title: "Patti lentissimoquinto"}).where(
                    Process.id == early["id"]
                )
                await outbox.record_change(early["id"])
                first_wrote.set()
                await second_applied.wait()

        async def second() -> None:
            await first_wrote.wait()
            async with database.write_transaction():
                await Process.update({Process.title: "Processo rapidissimoquarto"}).where(
                    Process.id == late["id"]
                )
                await outbox.record_change(late["id"])
            await apply_pending(search_index)  # the index moves past the higher id
            second_applied.set()

        await asyncio.gather(first(), second())
        await apply_pending(search_index)
        return await IndexChange.select(IndexChange.id, IndexChange.process_id).order_by(IndexChange.id)

    changes = run_in_app(client, scenario)
    ids = {row["process_id"]: row["id"] for row in changes}
    assert ids[early["id"]] < ids[late["id"]]
    assert await _total(client, q="rapidissimoquarto") == 1
    assert await _total(client, q="lentissimoquinto") == 1
    assert (await client.get("/salute")).json()["index"]["pending_changes"] == 0


async def test_approvals_during_reindex_all_succeed_and_reach_the_new_generation(
    client, demo_db_url, tmp_path
):
    titles = [f"Assemblea reindexquattro numero {number}" for number in range(24)]
    waiting = _pending_submissions(client, titles)
    staff = run_in_app(client, create_staff, "rebuild1", "Prova Rebuild", "redattore", STAFF_PASSWORD)
    index_dir = tmp_path / "b-index"
    async with serving(demo_db_url, index_dir, tmp_path / "b.log") as b:
        await log_in(b, staff["username"])
        token = await form_token(b)
        statuses: list[int] = []

        async def approve(ids: list[int]) -> None:
            for submission in ids:
                response = await b.post(
                    f"/redazione/segnalazioni/{submission}/approva",
                    data={"_csrf_token": token},
                    follow_redirects=False,
                )
                statuses.append(response.status_code)

        async def reindex_rounds() -> list[str]:
            generations = []
            for _ in range(3):
                code, output = await observatory_command(demo_db_url, index_dir, "reindex")
                assert code == 0, output
                generations.append(SearchIndex(index_dir).current_generation())
            return generations

        rounds = asyncio.create_task(reindex_rounds())
        await asyncio.gather(*(approve(waiting[start::3]) for start in range(3)))
        generations = await rounds
        assert statuses == [303] * len(titles)
        assert len(set(generations)) == 3
        assert await _eventually(lambda: _all_found(b, len(titles)))
        assert SearchIndex(index_dir).current_generation() == generations[-1]
        # the index on disk holds every approval, read without the server
        fresh = SearchIndex(index_dir)
        searcher, _ = fresh.searcher()
        assert sum(1 for doc in searcher.documents() if "reindexquattro" in doc.get("title", "")) == len(
            titles
        )
        fresh.close()


async def _all_found(http, expected: int) -> bool:
    return await _total(http, q="reindexquattro") == expected


async def test_approval_commits_and_succeeds_when_the_index_cannot_be_written(client, tmp_path):
    search_index = client.app.state.search_index
    blocker = _live_folder(tmp_path / "index") / "MAIN_WRITELOCK"
    blocker.unlink(missing_ok=True)
    blocker.mkdir()  # Whoosh cannot open its write lock: as with a full or read-only disk
    await login_as(client)
    [submission] = _pending_submissions(client, ["Orti discopienoventi di Borgoquercia"])
    response = await _post(client, f"/redazione/segnalazioni/{submission}/approva")
    assert response.status_code == 303
    assert process_row(client, "orti-discopienoventi-di-borgoquercia")["publication"] == "published"
    health = (await client.get("/salute")).json()
    assert health["index"]["pending_changes"] == 1 and health["status"] == "ok"
    blocker.rmdir()
    refresh_index(client)  # what the background task does every OBSERVATORY_INDEX_POLL seconds
    assert await _total(client, q="discopienoventi") == 1
    assert (await client.get("/salute")).json()["index"]["pending_changes"] == 0
    assert search_index.damage is None


@contextmanager
def _small_disk(folder: Path, size: str = "24m"):
    """A filesystem of ``size`` mounted at ``folder`` (a tmpfs: needs the right to mount)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def _fill(folder: Path) -> Path:
    """Write a file in ``folder`` until its filesystem is full; return it."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as file, contextlib.suppress(OSError):
        while True:
            file.write(b"\0" * 65536)  # unbuffered: the last write fills what is left, the next fails
    return filler


async def test_full_disk_under_the_index_loses_no_change_and_no_answer(demo_db_url, tmp_path):
    with _small_disk(tmp_path / "disco") as disk:
        shutil.copytree(tmp_path / "index", disk / "index")
        async with app_client(demo_db_url, disk) as client:
            await login_as(client)
            [submission] = _pending_submissions(client, ["Orti discopienotre di Borgoquercia"])
            filler = _fill(disk)
            response = await _post(client, f"/redazione/segnalazioni/{submission}/approva")
            assert response.status_code == 303  # committed: success, whatever the index
            assert process_row(client, "orti-discopienotre-di-borgoquercia")["publication"] == "published"
            assert (await client.get("/salute")).json()["index"]["pending_changes"] == 1
            # a rebuild on the full disk fails and leaves the live generation as it was
            live = SearchIndex(disk / "index").current_generation()
            with pytest.raises(OSError):
                run_in_app(client, rebuild, client.app.state.search_index)
            assert [p.name for p in (disk / "index").glob("gen-*")] == [live]
            assert (await client.get("/processi", params={"q": "patti"})).status_code == 200
            filler.unlink()
            refresh_index(client)  # what the background task does every OBSERVATORY_INDEX_POLL seconds
            assert await _total(client, q="discopienotre") == 1
            assert (await client.get("/salute")).json()["index"]["pending_changes"] == 0


# --- freshness you can see -----------------------------------------------------------------------------


async def test_health_and_index_status_report_pending_changes(client, demo_db_url, tmp_path):
    published = await _total(client)
    response = await client.get("/salute")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    health = response.json()
    assert health["status"] == "ok" and health["database"]["reachable"] is True
    assert health["index"]["generation"] == client.app.state.search_index.current_generation()
    assert health["index"]["documents"] == health["index"]["published"] == published
    assert health["index"]["pending_changes"] == 0 and health["index"]["oldest_pending_seconds"] == 0

    # two changes committed elsewhere (another instance, a script), not yet applied here
    for slug in (
        "patti-per-l-amministrazione-condivisa-in-piemonte",
        card_slugs(soup(await client.get("/processi")))[0],
    ):
        process_id = process_row(client, slug)["id"]
        run_in_app(client, _touch, process_id)
    await asyncio.sleep(1.1)
    health = (await client.get("/salute")).json()
    assert health["index"]["pending_changes"] == 2 and health["index"]["oldest_pending_seconds"] >= 1

    code, output = await observatory_command(demo_db_url, tmp_path / "index", "index-status")
    assert code == 0, output
    assert "Database: raggiungibile" in output
    assert f"generazione {health['index']['generation']}" in output
    assert "Modifiche in attesa: 2" in output

    refresh_index(client)
    assert (await client.get("/salute")).json()["index"]["pending_changes"] == 0
    _, output = await observatory_command(demo_db_url, tmp_path / "index", "index-status")
    assert "Modifiche in attesa: 0" in output


async def _touch(process_id: int) -> None:
    async with database.write_transaction():
        await Process.update({Process.summary: "Aggiornato da un'altra istanza."}).where(
            Process.id == process_id
        )
        await outbox.record_change(process_id)


def test_index_status_fails_without_a_database(cli, tmp_path):
    result = cli("postgresql://nobody@127.0.0.1:1/none", "index-status")
    assert result.exit_code == 1 and "Database: non raggiungibile" in result.output


# --- the outbox is pruned -------------------------------------------------------------------------------


async def test_old_changes_are_pruned_and_an_index_left_behind_is_rebuilt(demo_db_url, tmp_path):
    index_dir = tmp_path / "index"
    async with app_client(demo_db_url, tmp_path, poll=3600) as client:
        process_id = process_row(client, "patti-per-l-amministrazione-condivisa-in-piemonte")["id"]
        for _ in range(3):
            run_in_app(client, _touch, process_id)
        refresh_index(client)
        old = datetime.datetime.now(datetime.UTC) - outbox.KEEP_CHANGES - datetime.timedelta(hours=1)
        run_in_app(
            client, lambda: IndexChange.update({IndexChange.created_at: old}).where(IndexChange.id > 0)
        )
        latest = run_in_app(client, lambda: IndexChange.select(IndexChange.id).order_by(IndexChange.id))[-1]
        run_in_app(client, outbox.prune)
        # the latest is kept, so that ids never start again below an index's position
        assert run_in_app(client, lambda: IndexChange.select(IndexChange.id)) == [latest]
        published = await _total(client)

    # an index that has not moved for longer than the outbox keeps changes may have missed some
    search_index = SearchIndex(index_dir)
    generation = search_index.current_generation()
    position = search_index.position(generation)
    search_index.keep_position(generation, position | {"at": old.isoformat()})
    async with app_client(demo_db_url, tmp_path, poll=3600) as restarted:
        assert SearchIndex(index_dir).current_generation() != generation
        assert await _total(restarted) == published
