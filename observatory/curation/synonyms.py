"""Synonyms and abbreviations the search applies: the shipped list (data/sinonimi.json) and the
groups the admins add, change and delete (every change audited, versions checked).

The groups live in the database, which every instance shares. Each instance gives them to its
search index (``SearchIndex.use_synonyms``) right after a change it commits, at start-up and every
few seconds (:func:`keep_synonyms_current`): a change works at the next search on every instance,
and the index is never rebuilt for it.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from observatory.accounts.services import record_audit
from observatory.catalogue import checks
from observatory.catalogue.checks import FieldError, ValidationFailed
from observatory.curation.services import CurationRefused
from observatory.curation.tables import SynonymGroup
from observatory.database import lock, write_transaction
from observatory.i18n import N_, _
from observatory.search.index import SearchIndex
from observatory.search.synonyms import MAX_WORDS, Synonyms, stems_of
from observatory.settings import DATA_DIR
from observatory.text import clean, fold, has_control_characters

logger = logging.getLogger("observatory.synonyms")
SHIPPED_FILE = DATA_DIR / "sinonimi.json"
#: The longest expression, in characters.
MAX_CHARACTERS = 200
#: The most expressions in one group.
MAX_EXPRESSIONS = 20
NOTE_LIMIT = 1_000
GONE = N_("Il gruppo di sinonimi non esiste più: forse qualcuno lo ha eliminato.")
_COLUMNS = (
    SynonymGroup.id,
    SynonymGroup.expressions,
    SynonymGroup.note,
    SynonymGroup.shipped_key,
    SynonymGroup.version,
    SynonymGroup.changed_at,
    SynonymGroup.changed_by,
)


def line(expressions: Sequence[str]) -> str:
    """A group as the pages show it: «PNRR = piano nazionale di ripresa e resilienza»."""
    return " = ".join(expressions)


def _expression_problem(expression: str, seen: dict[tuple[str, ...], str]) -> str | None:
    if len(expression) > MAX_CHARACTERS:
        return _("«%(start)s…» è troppo lunga: %(length)s caratteri, al massimo %(most)s.") % {
            "start": expression[:40],
            "length": len(expression),
            "most": MAX_CHARACTERS,
        }
    stems = stems_of(expression)
    if not stems:
        return _(
            "«%(expression)s» ha solo parole che la ricerca ignora (articoli, preposizioni, "
            "congiunzioni, segni): scrivi le parole che contano."
        ) % {"expression": expression}
    if len(stems) > MAX_WORDS:
        return _(
            "«%(expression)s» ha %(words)s parole: al massimo %(most)s, "
            "senza contare articoli e preposizioni."
        ) % {"expression": expression, "words": len(stems), "most": MAX_WORDS}
    if stems in seen:
        return _(
            "«%(first)s» e «%(second)s» per la ricerca sono la stessa espressione (cambiano "
            "solo maiuscole, accenti, articoli o desinenze): tienine una."
        ) % {"first": seen[stems], "second": expression}
    seen[stems] = expression
    return None


def _on_line(number: int, problem: str) -> str:
    return _("Riga %(number)s: %(problem)s") % {"number": number, "problem": problem}


def check_group(lines: Iterable[str], note: Any) -> tuple[list[str], str]:
    """The expressions of ``lines`` (blank ones skipped) and the note, clean; ValidationFailed
    (on ``espressioni`` and ``nota``, in the current language) when they cannot make a group."""
    expressions: list[str] = []
    problems: list[str] = []
    seen: dict[tuple[str, ...], str] = {}
    for number, typed in enumerate(lines, start=1):
        if has_control_characters(typed):
            problems.append(_on_line(number, _(checks.CONTROL_MESSAGE)))
            continue
        expression = clean(typed)
        if expression is None:
            continue
        problem = _expression_problem(expression, seen)
        if problem:
            problems.append(_on_line(number, problem))
        else:
            expressions.append(expression)
    if not problems and len(expressions) < 2:
        problems.append(
            _(
                "Scrivi almeno due espressioni diverse, una per riga: per esempio «PNRR» e "
                "«piano nazionale di ripresa e resilienza»."
            )
        )
    if len(expressions) > MAX_EXPRESSIONS:
        problems.append(
            _("Un gruppo ha al massimo %(most)s espressioni: dividilo in più gruppi.")
            % {"most": MAX_EXPRESSIONS}
        )
    errors = [FieldError("espressioni", " ".join(problems))] if problems else []
    note = checks.text(note, "nota", NOTE_LIMIT, errors)
    if errors:
        raise ValidationFailed(errors)
    return expressions, note or ""


# --- reading ---------------------------------------------------------------------------------------


def _live():
    return SynonymGroup.deleted.eq(False)


async def list_groups(text: str = "") -> list[dict]:
    """The groups in use, those whose expressions or note contain ``text`` (all when empty), in
    alphabetical order of their first expression."""
    rows = await SynonymGroup.select(*_COLUMNS).where(_live()).output(load_json=True)
    key = fold(text)
    found = [row for row in rows if not key or key in fold(" ".join([*row["expressions"], row["note"]]))]
    return sorted(found, key=lambda row: (fold(row["expressions"][0]), row["id"]))


async def find_group(group_id: int) -> dict:
    """A group in use; CurationRefused when there is none with that id."""
    row = (
        await SynonymGroup.select(*_COLUMNS)
        .where(SynonymGroup.id == group_id, _live())
        .first()
        .output(load_json=True)
    )
    if row is None:
        raise CurationRefused(_(GONE))
    return row


async def _groups_in_use() -> list[list[str]]:
    rows = (
        await SynonymGroup.select(SynonymGroup.expressions)
        .where(_live())
        .order_by(SynonymGroup.id)
        .output(load_json=True)
    )
    return [row["expressions"] for row in rows]


async def apply_synonyms(search_index: SearchIndex | None) -> None:
    """Make the searches of ``search_index`` use the groups in the database from the next one on.
    A failure (the database out of reach) is logged: the next round of
    :func:`keep_synonyms_current` tries again, and the searches go on with the groups they had."""
    if search_index is None:
        return
    try:
        search_index.use_synonyms(Synonyms.of(await _groups_in_use()))
    except Exception:
        logger.exception("The synonyms could not be read from the database; the next round retries")


async def keep_synonyms_current(search_index: SearchIndex, every: float) -> None:
    """Background task: apply the groups in the database every ``every`` seconds, forever, so that
    a change made through another instance reaches this one's searches. The groups are compared
    as read: they are stemmed again only when they changed."""
    applied = None
    while True:
        await asyncio.sleep(every)
        try:
            groups = await _groups_in_use()
            if groups != applied:
                search_index.use_synonyms(Synonyms.of(groups))
                applied = groups
        except Exception:  # the next round retries; searches go on with the groups they have
            logger.exception("The synonyms could not be read from the database; the next round retries")


# --- changing -------------------------------------------------------------------------------------


def _state(group: dict) -> dict:
    return {"expressions": group["expressions"], "note": group["note"], "version": group["version"]}


def _by(staff: dict | None) -> str:
    return staff["display_name"] if staff else ""


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def _locked_group(group_id: int, version: int | None) -> dict:
    """The group, locked until the transaction ends; CurationRefused when it is gone or no longer
    at ``version`` (the one the editor's page showed)."""
    await lock(f"synonyms:{group_id}")
    group = await find_group(group_id)
    if version != group["version"]:
        raise CurationRefused(
            _(
                "Mentre lavoravi, %(who)s ha cambiato questo gruppo: nulla è stato salvato. Ora è "
                "«%(group)s». Controlla e conferma di nuovo."
            )
            % {"who": group["changed_by"] or _("un'altra persona"), "group": line(group["expressions"])}
        )
    return group


async def create_group(
    lines: Iterable[str], note: Any, staff: dict | None, search_index: SearchIndex | None = None
) -> dict:
    """Add a group of the editors; ValidationFailed when it cannot be one."""
    expressions, note = check_group(lines, note)
    async with write_transaction():
        group = SynonymGroup(expressions=expressions, note=note, changed_at=_now(), changed_by=_by(staff))
        await group.save()
        created = await find_group(group.id)
        await record_audit(
            staff,
            "sinonimi.crea",
            "gruppo di sinonimi",
            str(group.id),
            f"Nuovo gruppo di sinonimi «{line(expressions)}»",
            after=_state(created),
        )
    await apply_synonyms(search_index)
    return created


async def update_group(
    group_id: int,
    lines: Iterable[str],
    note: Any,
    version: int | None,
    staff: dict | None,
    search_index: SearchIndex | None = None,
) -> dict:
    """Replace the expressions and note of a group opened on ``version``; ValidationFailed when
    they cannot make a group, CurationRefused when the group is gone or has changed since."""
    expressions, note = check_group(lines, note)
    async with write_transaction():
        group = await _locked_group(group_id, version)
        await SynonymGroup.update(
            {
                SynonymGroup.expressions: expressions,
                SynonymGroup.note: note,
                SynonymGroup.version: group["version"] + 1,
                SynonymGroup.changed_at: _now(),
                SynonymGroup.changed_by: _by(staff),
            }
        ).where(SynonymGroup.id == group_id)
        updated = await find_group(group_id)
        await record_audit(
            staff,
            "sinonimi.modifica",
            "gruppo di sinonimi",
            str(group_id),
            f"Gruppo di sinonimi «{line(group['expressions'])}» modificato in «{line(expressions)}»",
            before=_state(group),
            after=_state(updated),
        )
    await apply_synonyms(search_index)
    return updated


async def delete_group(
    group_id: int, version: int | None, staff: dict | None, search_index: SearchIndex | None = None
) -> dict:
    """Delete a group opened on ``version`` (a shipped one stays as deleted, so that loading the
    shipped list does not bring it back); CurationRefused when it is gone or has changed since."""
    async with write_transaction():
        group = await _locked_group(group_id, version)
        if group["shipped_key"]:
            await SynonymGroup.update(
                {
                    SynonymGroup.deleted: True,
                    SynonymGroup.version: group["version"] + 1,
                    SynonymGroup.changed_at: _now(),
                    SynonymGroup.changed_by: _by(staff),
                }
            ).where(SynonymGroup.id == group_id)
        else:
            await SynonymGroup.delete().where(SynonymGroup.id == group_id)
        await record_audit(
            staff,
            "sinonimi.elimina",
            "gruppo di sinonimi",
            str(group_id),
            f"Eliminato il gruppo di sinonimi «{line(group['expressions'])}»",
            before=_state(group),
        )
    await apply_synonyms(search_index)
    return group


# --- the shipped list ------------------------------------------------------------------------------


def read_shipped(path: Path = SHIPPED_FILE) -> dict[str, tuple[list[str], str]]:
    """The shipped groups by key, checked like the editors' ones; ValueError when one is wrong."""
    groups: dict[str, tuple[list[str], str]] = {}
    for entry in json.loads(path.read_text(encoding="utf-8")):
        key = entry["key"]
        if key in groups:
            raise ValueError(f"{path}: the key {key!r} is used twice")
        try:
            groups[key] = check_group(entry["expressions"], entry.get("note"))
        except ValidationFailed as failed:
            raise ValueError(f"{path}: group {key!r}: {failed}") from None
    return groups


async def load_shipped_synonyms(path: Path = SHIPPED_FILE) -> int:
    """Insert the shipped groups that are missing (never one the editors deleted or changed: their
    rows keep the key); return how many were added."""
    shipped = read_shipped(path)
    async with write_transaction():
        await lock("synonyms:shipped")
        known = set(
            await SynonymGroup.select(SynonymGroup.shipped_key)
            .where(SynonymGroup.shipped_key.is_not_null())
            .output(as_list=True)
        )
        missing = [
            SynonymGroup(expressions=expressions, note=note, shipped_key=key, changed_at=_now())
            for key, (expressions, note) in shipped.items()
            if key not in known
        ]
        if missing:
            await SynonymGroup.insert(*missing)
    return len(missing)
