"""`observatory backup` and `observatory restore`: a snapshot taken while the site serves, put into
an empty database, gives back everything that cannot be rebuilt, and the index rebuilds itself."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path
from urllib.parse import urlparse

import asyncpg
import pytest
from conftest import app_client
from helpers import (
    form_token,
    form_values,
    log_in,
    login_as,
    observatory_command,
    process_row,
    soup,
    submission_form,
)

pytestmark = pytest.mark.anyio

PATTI = "patti-per-l-amministrazione-condivisa-in-piemonte"


async def _row_counts(db_url: str) -> dict[str, int]:
    """How many rows every table of the database holds, read with the driver, not the app."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(urlparse(db_url).path) as connection:
            tables = [
                row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            ]
            return {t: connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    connection = await asyncpg.connect(db_url)
    try:
        tables = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {
            row["tablename"]: await connection.fetchval(f'SELECT count(*) FROM "{row["tablename"]}"')
            for row in tables
        }
    finally:
        await connection.close()


async def _exported(db_url: str, index_dir: Path, target: Path) -> dict:
    code, output = await observatory_command(db_url, index_dir, "export", str(target))
    assert code == 0, output
    return json.loads(target.read_text())


async def test_backup_restores_into_an_empty_database_with_everything_and_a_rebuilt_index(
    demo_db_url, blank_db_url, tmp_path
):
    snapshot = tmp_path / "copia" / "osservatorio.backup"
    async with app_client(demo_db_url, tmp_path) as client:
        staff = await login_as(client)  # a staff account, its session, a login in the audit log
        token = await form_token(client)
        sent = await client.post(
            "/segnala",
            data=submission_form(
                token, title="Orti ripristinoquinto di Borgoquercia", conferma="1", azione="invia"
            ),
            follow_redirects=False,
        )
        assert sent.status_code == 303, sent.text
        tracking = re.search(r"/segnala/([A-Za-z0-9_-]+)", sent.headers["location"]).group(1)
        process_id = process_row(client, PATTI)["id"]
        path = f"/redazione/processi/{process_id}/modifica"
        form = form_values(soup(await client.get(path)), "form.process-form")
        form.update(title="Patti zumbaquarto in Piemonte", azione="salva")
        assert (await client.post(path, data=form, follow_redirects=False)).status_code == 303
        published = (await client.get("/api/v1/processi")).json()["total"]

        before_backup = await _exported(demo_db_url, tmp_path / "index", tmp_path / "a.json")
        # taken while the app is serving
        code, output = await observatory_command(demo_db_url, tmp_path / "index", "backup", str(snapshot))
        assert code == 0, output
        assert snapshot.stat().st_size > 0
        # a change after the snapshot: an instance that saw it has an index ahead of the backup
        form = form_values(soup(await client.get(path)), "form.process-form")
        form.update(title="Patti dopocopiatre in Piemonte", azione="salva")
        assert (await client.post(path, data=form, follow_redirects=False)).status_code == 303
        shutil.copytree(tmp_path / "index", tmp_path / "altra-istanza" / "index")

    restored_dir = tmp_path / "ripristino"
    code, output = await observatory_command(blank_db_url, restored_dir / "index", "restore", str(snapshot))
    assert code == 0, output
    assert f"{published} processi" in output

    # every table back, row for row, and the same catalogue
    # every table back, row for row (but for what the change after the snapshot added), and the
    # same catalogue
    restored_rows, source_rows = await _row_counts(blank_db_url), await _row_counts(demo_db_url)
    added_after = {"process_revision": 1, "audit_entry": 1, "index_change": 1}
    assert restored_rows == {t: n - added_after.get(t, 0) for t, n in source_rows.items()}
    assert await _exported(blank_db_url, restored_dir / "index", tmp_path / "b.json") == before_backup

    async with app_client(blank_db_url, restored_dir) as restored:
        assert (await restored.get("/api/v1/processi")).json()["total"] == published
        found = await restored.get("/api/v1/processi", params={"q": "zumbaquarto"})
        assert [item["slug"] for item in found.json()["items"]] == [PATTI]
        await log_in(restored, staff["username"])  # the account and its password came back
        versions = await restored.get(f"/redazione/processi/{process_id}/versioni")
        assert versions.status_code == 200 and "Patti zumbaquarto in Piemonte" in versions.text
        tracked = await restored.get(f"/segnala/{tracking}")
        assert tracked.status_code == 200 and "Orti ripristinoquinto di Borgoquercia" in tracked.text

    # the other instance, pointed at the restored database, rebuilds its index before serving
    async with app_client(blank_db_url, tmp_path / "altra-istanza") as other:
        assert (await other.get("/api/v1/processi", params={"q": "dopocopiatre"})).json()["total"] == 0
        assert (await other.get("/api/v1/processi", params={"q": "zumbaquarto"})).json()["total"] == 1


async def test_backup_and_restore_refuse_what_would_lose_data(demo_db_url, blank_db_url, tmp_path):
    index_dir = tmp_path / "index"
    existing = tmp_path / "esistente.backup"
    existing.write_text("da non sovrascrivere")
    code, output = await observatory_command(demo_db_url, index_dir, "backup", str(existing))
    assert code == 1 and "esiste già" in output
    assert existing.read_text() == "da non sovrascrivere"

    snapshot = tmp_path / "copia.backup"
    assert (await observatory_command(demo_db_url, index_dir, "backup", str(snapshot)))[0] == 0
    before = await _row_counts(demo_db_url)
    code, output = await observatory_command(demo_db_url, index_dir, "restore", str(snapshot))
    assert code == 1 and "non è vuoto" in output
    assert await _row_counts(demo_db_url) == before

    code, output = await observatory_command(blank_db_url, tmp_path / "altro", "restore", str(existing))
    assert code == 1 and "non è una copia di sicurezza" in output
    assert await _row_counts(blank_db_url) == {}
