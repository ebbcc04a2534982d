"""The audit log as the editorial office reads it: filters (dates, person, action, process), one page
of entries, every entry a filter finds (for the CSV), and the actions offered by the filter.

Entries are written by ``accounts.services.record_audit``, inside the transaction of each action;
entries.py makes them readable.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from piccolo.columns.combination import WhereRaw

from observatory.accounts.tables import AuditEntry
from observatory.audit.names import ACTIONS
from observatory.catalogue.tables import Process
from observatory.submissions.tables import Submission
from observatory.text import ITALIAN_TIME, clean, fold
from observatory.web import Page

#: The value of the person filter for actions from the command line (no account).
COMMAND_LINE_ACTOR = "riga-di-comando"
#: The longest text the process filter takes.
MAX_PROCESS_TEXT = 300
#: The years a date filter may name.
FIRST_YEAR, LAST_YEAR = 2000, 2100
_NUMBER = re.compile(r"^[0-9]{1,11}$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_ITALIAN_DATE = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_COLUMNS = (
    AuditEntry.id,
    AuditEntry.at,
    AuditEntry.actor.as_alias("actor_id"),
    AuditEntry.actor_name,
    AuditEntry.action,
    AuditEntry.object_type,
    AuditEntry.object_id,
    AuditEntry.summary,
    AuditEntry.before,
    AuditEntry.after,
)


@dataclass(frozen=True)
class AuditFilters:
    """What the audit log is narrowed to; None is no filter. Dates are days in Italian time, both
    included; ``process`` is a process number or a part of its title."""

    since: datetime.date | None = None
    until: datetime.date | None = None
    actor: int | str | None = None
    action: str | None = None
    process: int | str | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in vars(self).values())


class FiltersRefused(Exception):
    """Filters that cannot be applied: ``errors`` by parameter name, in Italian."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _day(text: str) -> datetime.date:
    """A day typed as 2026-12-07 (a date field) or 7/12/2026; ValueError saying what is wrong."""
    match = _ISO_DATE.match(text)
    if match:
        year, month, day = (int(part) for part in match.groups())
    elif match := _ITALIAN_DATE.match(text):
        day, month, year = (int(part) for part in match.groups())
    else:
        raise ValueError(f"«{text}» non è una data: scrivi giorno, mese e anno, ad esempio 7/12/2026.")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"«{text}»: l'anno va dal {FIRST_YEAR} al {LAST_YEAR}.")
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise ValueError(f"«{text}» non è una data esistente: controlla giorno e mese.") from None


def read_filters(params: Mapping[str, str], actor_ids: set[int], actions: set[str]) -> AuditFilters:
    """The filters of query parameters ``dal``, ``al``, ``autore``, ``azione`` and ``processo``.

    ``actor_ids`` are the staff accounts and ``actions`` the actions the filter offers. Raise
    FiltersRefused with a message for each parameter that is wrong.
    """
    errors: dict[str, str] = {}
    dates: dict[str, datetime.date | None] = {}
    for name in ("dal", "al"):
        text = (params.get(name) or "").strip()
        dates[name] = None
        if text:
            try:
                dates[name] = _day(text[:40])
            except ValueError as exc:
                errors[name] = str(exc)
    since, until = dates["dal"], dates["al"]
    if since and until and until < since:
        errors["al"] = (
            f"la data finale ({until.day}/{until.month}/{until.year}) viene prima di quella iniziale "
            f"({since.day}/{since.month}/{since.year})."
        )
    actor: int | str | None = (params.get("autore") or "").strip() or None
    if actor is not None and actor != COMMAND_LINE_ACTOR:
        actor = int(actor) if _NUMBER.match(actor) else None
        if actor not in actor_ids:
            errors["autore"] = "nessun componente della redazione corrisponde a questa scelta."
    action = (params.get("azione") or "").strip() or None
    if action is not None and action not in actions:
        errors["azione"] = f"azione sconosciuta «{action[:60]}»: scegline una dall'elenco."
    process: int | str | None = clean(params.get("processo") or "") or None
    if isinstance(process, str):
        if len(process) > MAX_PROCESS_TEXT:
            errors["processo"] = f"scrivi al massimo {MAX_PROCESS_TEXT} caratteri del titolo."
        elif _NUMBER.match(process):
            process = int(process)
        elif not fold(process):
            errors["processo"] = "scrivi una parte del titolo del processo (lettere o cifre) o il suo numero."
    if errors:
        raise FiltersRefused(errors)
    return AuditFilters(since, until, actor, action, process)


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), ITALIAN_TIME)


def _process_condition(process: int | str) -> WhereRaw:
    """Entries about the process(es) a number or a part of a title names: the process's own, and
    those of the submissions about it."""
    if isinstance(process, int):
        chosen, args = '"id" = {}', [process]
    else:  # a slug pasted in finds its process too
        chosen, args = '"title_key" LIKE {} OR "slug" = {}', [f"%{fold(process)}%", process.lower()]
    table = Process._meta.tablename
    processes = f'SELECT CAST("id" AS VARCHAR) FROM "{table}" WHERE {chosen}'
    submissions = (
        f'SELECT CAST("id" AS VARCHAR) FROM "{Submission._meta.tablename}" '
        f'WHERE "process" IN (SELECT "id" FROM "{table}" WHERE {chosen})'
    )
    return WhereRaw(
        f'(("object_type" = \'processo\' AND "object_id" IN ({processes})) OR '
        f'("object_type" = \'segnalazione\' AND "object_id" IN ({submissions})))',
        *args,
        *args,
    )


def _conditions(filters: AuditFilters) -> list:
    conditions: list = []
    if filters.since:
        conditions.append(AuditEntry.at >= _local_midnight(filters.since))
    if filters.until:
        conditions.append(AuditEntry.at < _local_midnight(filters.until + datetime.timedelta(days=1)))
    if filters.actor == COMMAND_LINE_ACTOR:
        conditions.append(AuditEntry.actor.is_null())
    elif filters.actor is not None:
        conditions.append(AuditEntry.actor == filters.actor)
    if filters.action:
        conditions.append(AuditEntry.action == filters.action)
    if filters.process is not None:
        conditions.append(_process_condition(filters.process))
    return conditions


async def list_audit(filters: AuditFilters, page: int, page_size: int) -> Page:
    """One page of the entries ``filters`` find, newest first."""
    conditions = _conditions(filters)
    rows = (
        await AuditEntry.select(*_COLUMNS)
        .where(*conditions)
        .order_by(AuditEntry.at, AuditEntry.id, ascending=False)
        .offset((page - 1) * page_size)
        .limit(page_size)
        .output(load_json=True)
    )
    return Page(rows, await AuditEntry.count().where(*conditions), page, page_size)


async def every_entry(filters: AuditFilters, batch: int = 500) -> AsyncIterator[list[dict]]:
    """Every entry ``filters`` find, newest first as on the pages, ``batch`` at a time (each batch
    read after the one before: the log is never held whole)."""
    conditions = _conditions(filters)
    last: dict | None = None
    while True:
        after = []
        if last is not None:  # the entries after the last one read, in the order of the pages
            after = [
                (AuditEntry.at < last["at"]) | ((AuditEntry.at == last["at"]) & (AuditEntry.id < last["id"]))
            ]
        rows = (
            await AuditEntry.select(*_COLUMNS)
            .where(*conditions, *after)
            .order_by(AuditEntry.at, AuditEntry.id, ascending=False)
            .limit(batch)
            .output(load_json=True)
        )
        if rows:
            yield rows
        if len(rows) < batch:
            return
        last = rows[-1]


async def known_actions() -> list[str]:
    """The actions the filter offers: every one this version names, and any other in the log."""
    rows = await AuditEntry.select(AuditEntry.action).distinct()
    return sorted(set(ACTIONS) | {row["action"] for row in rows})
