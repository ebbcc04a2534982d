"""The ``observatory`` command: serve, migrate, load reference and demo data, import, export."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click

from observatory import database
from observatory.accounts.tables import ROLES
from observatory.catalogue.queries import MAX_PAGE_SIZE
from observatory.settings import DATA_DIR, Settings
from observatory.text import printable

T = TypeVar("T")
#: The demo catalogue, loaded in this order (README of observatory/data says where each comes from).
DEMO_FILES = tuple(
    DATA_DIR / "demo" / f"{name}.json" for name in ("redazione", "bologna", "palermo", "trento", "monithon")
)


def say(message: str, err: bool = False) -> None:
    """Print ``message`` with control and invisible characters escaped: what the catalogue holds
    (titles, names) came from other people and must not drive the terminal."""
    click.echo(printable(str(message)), err=err)


def run_with_database(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Configure the database of ``settings`` and run ``work`` in an event loop."""
    engine = database.configure(settings.database_url)

    async def main() -> T:
        await database.start(engine)
        try:
            return await work()
        finally:
            await database.stop(engine)

    return asyncio.run(main())


async def _migrate_quietly() -> None:
    # Piccolo prints every migration it runs; the CLI says one line instead.
    with contextlib.redirect_stdout(io.StringIO()):
        await database.migrate()


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Osservatorio: catalogo dei processi partecipativi e di amministrazione condivisa.

    Settings come from OBSERVATORY_* environment variables (see the README).
    """
    ctx.obj = Settings.from_env()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve the web pages and the API (run migrate first).

    The client's address (for the limits) and scheme come from X-Forwarded-For and
    X-Forwarded-Proto only when the connection comes from OBSERVATORY_TRUSTED_PROXIES.
    """
    import uvicorn

    uvicorn.run(
        "observatory.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=list(settings.trusted_proxies),
        log_level="info",
    )


@main.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Create or update the database tables, the shipped vocabularies and synonyms."""
    from observatory.catalogue.reference import load_vocabularies
    from observatory.curation.synonyms import load_shipped_synonyms

    async def work() -> tuple[int, int]:
        await _migrate_quietly()
        return await load_vocabularies(), await load_shipped_synonyms()

    terms, groups = run_with_database(settings, work)
    say(
        f"Database aggiornato ({settings.database_url}); termini di vocabolario aggiunti: {terms}; "
        f"gruppi di sinonimi aggiunti: {groups}."
    )


@main.command("load-territories")
@click.pass_obj
def load_territories(settings: Settings) -> None:
    """Load the ISTAT list of regions, provinces and comuni (missing ones only)."""
    from observatory.catalogue.reference import load_territories as load

    counts = run_with_database(settings, load)
    say(
        f"Territori ISTAT: Italia, {counts.regions} regioni, {counts.provinces} province "
        f"e città metropolitane, {counts.comuni} comuni ({counts.total} in tutto)."
    )


def _print_report(report, limit: int = 200) -> None:
    lines = [line for problem in report.problems for line in problem.lines()]
    for line in lines[:limit]:
        say(line, err=True)
    if len(lines) > limit:
        say(f"... e altri {len(lines) - limit} problemi.", err=True)


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Write the valid records and list the invalid ones.")
@click.option("--dry-run", is_flag=True, help="Only validate: write nothing.")
@click.pass_obj
def import_command(settings: Settings, file: Path, skip_invalid: bool, dry_run: bool) -> None:
    """Import processes from a JSON, JSON Lines (.jsonl) or CSV file in the documented format.

    Every record is validated first (JSON ones also against /dati/schema/processo-v1.json); nothing
    is written unless all are valid (or --skip-invalid).
    """
    from observatory.catalogue.indexing import apply_pending
    from observatory.catalogue.transfer import ImportFileError
    from observatory.curation.revisions import import_file
    from observatory.search.index import SearchIndex

    async def work():
        report = await import_file(file, skip_invalid=skip_invalid, dry_run=dry_run)
        if report.written:
            await apply_pending(SearchIndex(settings.index_dir))
        return report

    try:
        report = run_with_database(settings, work)
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    _print_report(report)
    if report.written:
        skipped = f", {len(report.problems)} record scartati" if report.problems else ""
        say(
            f"Importazione completata: {report.created} processi creati, {report.updated} aggiornati, "
            f"{report.organisations} enti nuovi{skipped}."
        )
    elif report.problems:
        raise click.ClickException(
            f"{len(report.problems)} record non validi: nulla è stato scritto "
            "(correggere il file, oppure usare --skip-invalid)."
        )
    else:
        say("Verifica completata: tutti i record sono validi (nulla è stato scritto).")


@main.command("purge-personal-data")
@click.pass_obj
def purge_personal_data(settings: Settings) -> None:
    """Erase now the personal data past its retention (OBSERVATORY_PERSONAL_DATA_MONTHS) and say
    how much; every running server does the same at start-up and every few hours."""
    from observatory.contact.retention import purge_personal_data as purge

    purged = run_with_database(settings, lambda: purge(settings))
    say(
        f"Dati personali cancellati (oltre {settings.personal_data_months} mesi): "
        f"segnalanti {purged.submitters}, messaggi {purged.messages}, e-mail {purged.mails}; "
        f"impronte di indirizzi svuotate: {purged.address_hashes}."
    )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def export(settings: Settings, file: Path) -> None:
    """Write the whole published catalogue to FILE as JSON (the import format)."""
    from observatory.catalogue.transfer import export_file

    count = run_with_database(settings, lambda: export_file(file))
    say(f"Esportati {count} processi in {file}.")


@main.command()
@click.option("--force", is_flag=True, help="Load the demo even when the catalogue already has processes.")
@click.pass_obj
def demo(settings: Settings, force: bool) -> None:
    """Load the reference data and the demo catalogue shipped with the project (on an empty catalogue)."""
    from observatory.catalogue.indexing import rebuild
    from observatory.catalogue.reference import load_territories as load
    from observatory.catalogue.reference import load_vocabularies
    from observatory.catalogue.tables import Process
    from observatory.curation.revisions import import_file
    from observatory.curation.synonyms import load_shipped_synonyms
    from observatory.search.index import SearchIndex

    async def work() -> str:
        await _migrate_quietly()
        await load_vocabularies()
        await load_shipped_synonyms()
        territories = await load()
        if not force and await Process.count():
            return "Il catalogo contiene già dei processi: dati dimostrativi non caricati (usare --force)."
        created = updated = 0
        for path in DEMO_FILES:
            report = await import_file(path)
            if report.problems:
                details = "; ".join(line for p in report.problems[:5] for line in p.lines())
                raise click.ClickException(f"{path.name}: dati dimostrativi non validi: {details}")
            created, updated = created + report.created, updated + report.updated
        indexed = await rebuild(SearchIndex(settings.index_dir))
        return (
            f"Dati dimostrativi caricati: {created} processi creati, {updated} aggiornati; "
            f"{territories.total} territori; {indexed} processi nell'indice di ricerca."
        )

    say(run_with_database(settings, work))


@main.command()
@click.pass_obj
def reindex(settings: Settings) -> None:
    """Rebuild the search index from the database into a new folder and swap it in atomically.

    Running servers keep answering searches from the old index until the swap.
    """
    from observatory.catalogue.indexing import rebuild
    from observatory.search.index import SearchIndex

    search_index = SearchIndex(settings.index_dir)
    started = time.perf_counter()
    count = run_with_database(settings, lambda: rebuild(search_index))
    elapsed = time.perf_counter() - started
    say(f"Indice ricostruito: {count} processi in {elapsed:.1f} s ({settings.index_dir}).")


@main.command("index-status")
@click.pass_obj
def index_status(settings: Settings) -> None:
    """Print this instance's state: the database, the index generation, the pending changes.

    Exits with 1 when the instance cannot serve (no database, or no index to search).
    """
    from observatory.catalogue.indexing import health
    from observatory.search.index import SearchIndex

    try:
        state = run_with_database(settings, lambda: health(SearchIndex(settings.index_dir)))
    except Exception as exc:  # no connection at all: that is the answer, not a crash
        state = {"status": "unavailable", "database": {"reachable": False, "error": str(exc)}}
    database = state["database"]
    say(f"Stato: {state['status']}")
    if not database["reachable"]:
        say(f"Database: non raggiungibile ({database['error']})")
        raise SystemExit(1)
    say(f"Database: raggiungibile ({database['ms']} ms)")
    index = state["index"]
    say(f"Indice: {settings.index_dir}, generazione {index['generation'] or 'nessuna'}")
    say(f"Processi pubblicati: {index['published']}")
    if index["pending_changes"] is None:
        say("Modifiche in attesa: sconosciute (l'indice non ha una posizione: va ricostruito)")
    else:
        waiting = index["oldest_pending_seconds"]
        say(f"Modifiche in attesa: {index['pending_changes']}, la più vecchia da {waiting} s")
    if index["damage"]:
        say(f"Problema: {index['damage']}")
    if state["status"] == "unavailable":
        raise SystemExit(1)


@main.command("send-mail")
@click.pass_obj
def send_mail(settings: Settings) -> None:
    """Send the e-mail of the outbox that is due now, and say how many went and how many wait.

    Every running server does the same every OBSERVATORY_MAIL_POLL seconds; several at once never
    send a message twice.
    """
    from observatory.mail.outbox import mail_enabled, undelivered
    from observatory.mail.sender import send_due

    if not mail_enabled(settings):
        raise click.ClickException(
            "la posta non è configurata: imposta OBSERVATORY_SMTP_HOST e OBSERVATORY_MAIL_FROM"
        )

    async def work() -> tuple[int, int]:
        return await send_due(settings), (await undelivered(limit=0))[0]

    sent, stuck = run_with_database(settings, work)
    say(f"E-mail inviate: {sent}; non inviate dopo più tentativi: {stuck}.")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def backup(settings: Settings, file: Path) -> None:
    """Write a consistent snapshot of the whole database to FILE (a new file).

    SQLite: an online backup (the site keeps working). PostgreSQL: pg_dump --format=custom (the
    PostgreSQL client tools must be installed). The search index needs no backup: it is rebuilt.
    """
    from observatory.database import BackupError

    try:
        run_with_database(settings, lambda: database.backup(settings.database_url, file))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    say(f"Copia di sicurezza scritta in {file}.")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_obj
def restore(settings: Settings, file: Path) -> None:
    """Put a snapshot made by `observatory backup` into the configured, empty database, then
    rebuild this instance's search index (other instances rebuild theirs by themselves)."""
    from observatory.catalogue.indexing import rebuild
    from observatory.database import BackupError
    from observatory.search.index import SearchIndex

    async def work() -> int:
        await database.restore(settings.database_url, file)
        await _migrate_quietly()
        return await rebuild(SearchIndex(settings.index_dir))

    try:
        count = run_with_database(settings, work)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    say(f"Copia di sicurezza ripristinata da {file}; {count} processi nell'indice di ricerca.")


@main.command("search")
@click.argument("text", required=False, default="")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="NAME=VALUE",
    help="A filter as on /processi, e.g. --filter territorio=R01 --filter tipo=monitoraggio-civico.",
)
@click.option("--sort", default=None, help="rilevanza, recenti, titolo, anno or anno_asc.")
@click.option(
    "--limit", default=10, show_default=True, type=click.IntRange(1, MAX_PAGE_SIZE), help="Hits to print."
)
@click.pass_obj
def search_command(
    settings: Settings, text: str, filters: tuple[str, ...], sort: str | None, limit: int
) -> None:
    """Print the top hits of a search (for editors and for debugging)."""
    from observatory.catalogue import queries, searching
    from observatory.catalogue.indexing import open_index
    from observatory.curation.synonyms import apply_synonyms
    from observatory.search.index import SearchIndex

    params: dict[str, list[str]] = {"q": [text], "per_pagina": [str(limit)]}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"«{item}»: use NAME=VALUE", param_hint="--filter")
        params.setdefault(name.strip(), []).append(value.strip())
    if sort:
        params["ordine"] = [sort]
    search_index = SearchIndex(settings.index_dir)

    async def work():
        query = queries.parse_process_query(params, limit)
        await open_index(search_index)
        await apply_synonyms(search_index)
        return await searching.search_processes(search_index, query)

    try:
        found = run_with_database(settings, work)
    except queries.FilterError as exc:
        raise click.ClickException(exc.message) from None
    if found.corrected_from:
        say(f"Nessun risultato per «{found.corrected_from}»: risultati per «{found.text}».")
    elif found.suggestion:
        say(f"Forse cercavi: {found.suggestion}")
    if found.fuzzy:
        say("Risultati anche per: " + ", ".join(found.fuzzy))
    if found.partial:
        say("Nessun processo contiene tutte le parole: ecco quelli che ne contengono di più.")
    say(f"{found.page.total} processi.")
    for number, item in enumerate(found.page.items, start=1):
        years = item["start_year"] or ""
        say(f"{number:3}. {item['title']} [{item['slug']}] {years}")


@main.command("synonyms")
@click.argument("text", required=False, default="")
@click.pass_obj
def synonyms_command(settings: Settings, text: str) -> None:
    """Print the groups of synonyms the search applies (those containing TEXT), one a line."""
    from observatory.curation.synonyms import line, list_groups

    groups = run_with_database(settings, lambda: list_groups(text))
    for group in groups:
        say(line(group["expressions"]))
    say(f"{len(groups)} {'gruppo' if len(groups) == 1 else 'gruppi'} di sinonimi.")


def _taken_name(username: str) -> click.ClickException:
    return click.ClickException(
        f"Esiste già un utente «{username}». Per cambiarne il ruolo: observatory set-role {username} "
        f"RUOLO; per una nuova password: observatory reset-password {username}; per riattivarlo: "
        f"observatory enable-staff {username}."
    )


def _new_password() -> str:
    """The password in OBSERVATORY_STAFF_PASSWORD, or asked twice without echo."""
    return os.environ.get("OBSERVATORY_STAFF_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt="Ripeti la password"
    )


def _on_accounts(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` on the database; a refusal of the accounts' services is a clear error."""
    from observatory.accounts.services import StaffError

    try:
        return run_with_database(settings, work)
    except StaffError as exc:
        raise click.ClickException(exc.message) from None


@main.command("create-staff")
@click.argument("username")
@click.option("--name", "display_name", required=True, help='Full name, shown to staff: "Nome Cognome".')
@click.option(
    "--role", required=True, type=click.Choice(list(ROLES)), help="redattore (editor) or amministratore."
)
@click.option("--email", default=None, help="Contact address (never public).")
@click.pass_obj
def create_staff(settings: Settings, username: str, display_name: str, role: str, email: str | None) -> None:
    """Create an account of the editorial office (redazione).

    The password (at least 12 characters) is asked twice without echo, or read from the
    environment variable OBSERVATORY_STAFF_PASSWORD when it is set (for scripts).
    """
    from observatory.accounts.lifecycle import AccountMissing, find_account
    from observatory.accounts.services import NameTaken, check_username
    from observatory.accounts.services import create_staff as create

    async def existing() -> bool:
        try:
            await find_account(username=check_username(username))
        except AccountMissing:
            return False
        return True

    if _on_accounts(settings, existing):  # before asking a password for nothing
        raise _taken_name(username.strip().lower())
    password = _new_password()
    try:
        staff = _on_accounts(settings, lambda: create(username, display_name, role, password, email))
    except NameTaken as taken:
        raise _taken_name(taken.username) from None
    say(f"Creato l'utente «{staff['username']}» ({staff['display_name']}, {ROLES[role].lower()}).")


@main.command("list-staff")
@click.pass_obj
def list_staff(settings: Settings) -> None:
    """List the accounts of the editorial office: name, role, state, two-factor login, last login."""
    from observatory.accounts.lifecycle import list_accounts
    from observatory.text import italian_datetime

    accounts = run_with_database(settings, list_accounts)
    for account in accounts:
        state = "attivo" if account["active"] else "disattivato"
        two_factor = "due fattori" if account["two_factor"] else "solo password"
        last = italian_datetime(account["last_login_at"]) if account["last_login_at"] else "mai"
        say(
            f"{account['username']}\t{account['display_name']}\t{ROLES[account['role']].lower()}\t"
            f"{state}\t{two_factor}\tultimo accesso: {last}"
        )
    say(f"{len(accounts)} account.")


@main.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(list(ROLES)))
@click.pass_obj
def set_role(settings: Settings, username: str, role: str) -> None:
    """Give an account the role redattore or amministratore (the last active admin keeps theirs)."""
    from observatory.accounts.lifecycle import set_role as change

    account = _on_accounts(settings, lambda: change(username, role))
    say(f"L'utente «{account['username']}» ora è {ROLES[role].lower()}.")


@main.command("disable-staff")
@click.argument("username")
@click.pass_obj
def disable_staff(settings: Settings, username: str) -> None:
    """Disable an account: it cannot log in, and its sessions end at once (never the last admin)."""
    from observatory.accounts.lifecycle import set_active_by_name

    account = _on_accounts(settings, lambda: set_active_by_name(username, False))
    say(f"Disattivato l'utente «{account['username']}»: le sue sessioni sono chiuse.")


@main.command("enable-staff")
@click.argument("username")
@click.pass_obj
def enable_staff(settings: Settings, username: str) -> None:
    """Re-enable a disabled account."""
    from observatory.accounts.lifecycle import set_active_by_name

    account = _on_accounts(settings, lambda: set_active_by_name(username, True))
    say(f"Riattivato l'utente «{account['username']}»: può entrare di nuovo.")


@main.command("reset-password")
@click.argument("username")
@click.option("--link", is_flag=True, help="Print a one-time link (24 hours) instead of asking a password.")
@click.pass_obj
def reset_password(settings: Settings, username: str, link: bool) -> None:
    """Set a new password for an account, asked twice without echo (or OBSERVATORY_STAFF_PASSWORD);
    its sessions end. With --link, make a one-time link for its member to choose one instead (also
    e-mailed to them when the account has an address and mail is configured)."""
    from observatory.accounts.credentials import issue_reset_link, set_password
    from observatory.accounts.lifecycle import find_account

    account = _on_accounts(settings, lambda: find_account(username=username))
    if link:
        made = _on_accounts(settings, lambda: issue_reset_link(account["id"], None, settings))
        if made["mailed_to"]:
            say(f"Link inviato per e-mail a {made['mailed_to']}.")
        say(f"Link per scegliere la password di «{made['username']}» (vale una volta sola, 24 ore):")
        say(made["url"])
        return
    password = _new_password()
    _on_accounts(settings, lambda: set_password(account["username"], password))
    say(f"Nuova password impostata per l'utente «{account['username']}»: le sue sessioni sono chiuse.")


@main.command("reset-two-factor")
@click.argument("username")
@click.pass_obj
def reset_two_factor(settings: Settings, username: str) -> None:
    """Turn off an account's two-factor login (lost device and recovery codes): the password is enough
    at its next login."""
    from observatory.accounts.lifecycle import clear_two_factor_by_name

    account = _on_accounts(settings, lambda: clear_two_factor_by_name(username))
    say(f"Verifica in due passaggi tolta all'utente «{account['username']}».")
