"""The editors' vocabularies (admins only): adding, renaming, reordering and deleting terms.

A term keeps its slug (it is in URLs and imports); a new label reaches the search index right after
the commit. A term in use is deleted only by moving the processes that use it to another term of
its vocabulary, in the same transaction: each of them gets a new version, and the search index
follows right after the commit. Every change is audited.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count

from observatory.accounts.services import record_audit
from observatory.catalogue import checks, indexing, outbox, services
from observatory.catalogue.checks import FieldError, ValidationFailed
from observatory.catalogue.fields import VOCABULARIES, vocabulary_name
from observatory.catalogue.records import to_record
from observatory.catalogue.reference import load_english_labels
from observatory.catalogue.tables import Process, ProcessTerm, Term
from observatory.curation.revisions import record_revision
from observatory.curation.services import CurationRefused
from observatory.database import lock, write_transaction
from observatory.i18n import _, ngettext, term_label
from observatory.search.index import SearchIndex
from observatory.text import clean, fold, slugify

TERM_LABEL_LIMIT = 200
TERM_DESCRIPTION_LIMIT = 2_000


#: The process column of each single-valued vocabulary; the others are tags (ProcessTerm).
_TERM_COLUMNS = {
    "tipo": Process.kind,
    "ambito": Process.theme,
    "livello": Process.participation_level,
    "fonte": Process.reporting_source,
}


async def _processes_using(term: dict) -> list[int]:
    column = _TERM_COLUMNS.get(term["vocabulary"])
    if column is not None:
        return await Process.select(Process.id).where(column == term["id"]).output(as_list=True)
    return sorted(
        set(
            await ProcessTerm.select(ProcessTerm.process)
            .where(ProcessTerm.term == term["id"])
            .output(as_list=True)
        )
    )


async def _usage_counts() -> dict[int, int]:
    counts: dict[int, int] = {}
    for column in _TERM_COLUMNS.values():
        rows = (
            await Process.select(column.as_alias("term"), Count(Process.id).as_alias("n"))
            .where(column.is_not_null())
            .group_by(column)
        )
        counts.update({row["term"]: row["n"] for row in rows})
    rows = await ProcessTerm.select(
        ProcessTerm.term, Count(distinct=[ProcessTerm.process]).as_alias("n")
    ).group_by(ProcessTerm.term)
    counts.update({row["term"]: row["n"] for row in rows})
    return counts


async def list_terms() -> list[dict]:
    """Every vocabulary, its terms in order, and how many processes use each term."""
    counts = await _usage_counts()
    by_vocabulary = await services.vocabularies()
    return [
        {
            "name": name,
            "label": label,
            "terms": [dict(term, usage=counts.get(term["id"], 0)) for term in by_vocabulary.get(name, [])],
        }
        for name, label in VOCABULARIES.items()
    ]


async def find_term(term_id: int) -> dict:
    """A vocabulary term; CurationRefused when it does not exist."""
    term = await Term.select().where(Term.id == term_id).first()
    if term is None:
        raise CurationRefused(_("Il termine non esiste (forse è stato eliminato)."))
    return term


def _term_text(label: Any, label_en: Any, description: Any) -> tuple[str, str | None, str | None]:
    errors: list[FieldError] = []
    label = checks.text(label, "etichetta", TERM_LABEL_LIMIT, errors, required=True)
    label_en = checks.text(label_en, "etichetta_en", TERM_LABEL_LIMIT, errors)
    description = checks.text(description, "descrizione", TERM_DESCRIPTION_LIMIT, errors)
    if errors:
        raise ValidationFailed(errors)
    return label, label_en, description


async def _check_label_free(vocabulary: str, label: str, term_id: int | None = None) -> None:
    # Imports and forms accept a term's label as well as its slug: two equal labels would be ambiguous.
    for row in await Term.select(Term.id, Term.slug, Term.label).where(Term.vocabulary == vocabulary):
        if row["id"] != term_id and fold(label) in (fold(row["label"]), fold(row["slug"])):
            raise ValidationFailed(
                [FieldError("etichetta", f"«{label}» c'è già nel vocabolario «{VOCABULARIES[vocabulary]}».")]
            )


def _term_state(term: dict) -> dict:
    return {key: term[key] for key in ("vocabulary", "slug", "label", "label_en", "description", "position")}


async def create_term(
    vocabulary: str, label: Any, description: Any, staff: dict | None, slug: Any = None, label_en: Any = None
) -> dict:
    """Add a term at the end of a vocabulary; its slug comes from the label when not given."""
    if vocabulary not in VOCABULARIES:
        raise CurationRefused(_("Vocabolario sconosciuto «%(name)s».") % {"name": vocabulary})
    label, label_en, description = _term_text(label, label_en, description)
    errors: list[FieldError] = []
    slug = checks.slug(clean(slug) or slugify(label, checks.SLUG_FROM_NAME), "slug", checks.MAX_SLUG, errors)
    if errors:
        raise ValidationFailed(errors)
    async with write_transaction():
        await _check_label_free(vocabulary, label)
        if await Term.exists().where(Term.vocabulary == vocabulary, Term.slug == slug):
            raise ValidationFailed([FieldError("slug", f"l'identificativo «{slug}» è già usato.")])
        last = (
            await Term.select(Term.position)
            .where(Term.vocabulary == vocabulary)
            .order_by(Term.position, ascending=False)
            .first()
        )
        term = Term(
            vocabulary=vocabulary,
            slug=slug,
            label=label,
            label_en=label_en,
            description=description,
            position=last["position"] + 1 if last else 0,
        )
        await term.save()
        created = await find_term(term.id)
        await record_audit(
            staff,
            "termine.crea",
            "termine",
            f"{vocabulary}/{slug}",
            f"Nuovo termine «{label}» in «{VOCABULARIES[vocabulary]}»",
            after=_term_state(created),
        )
    await load_english_labels()
    return created


async def update_term(
    term_id: int,
    label: Any,
    description: Any,
    staff: dict | None,
    search_index: SearchIndex | None = None,
    label_en: Any = None,
) -> dict:
    """Change a term's labels (Italian and English) and description; the processes using it are
    reindexed with the new label."""
    label, label_en, description = _term_text(label, label_en, description)
    async with write_transaction():
        term = await find_term(term_id)
        await _check_label_free(term["vocabulary"], label, term_id)
        await Term.update({Term.label: label, Term.label_en: label_en, Term.description: description}).where(
            Term.id == term_id
        )
        if label != term["label"]:
            for process_id in await _processes_using(term):
                await outbox.record_change(process_id)
        updated = await find_term(term_id)
        await record_audit(
            staff,
            "termine.modifica",
            "termine",
            f"{term['vocabulary']}/{term['slug']}",
            f"Termine «{term['label']}» modificato" + (f" in «{label}»" if label != term["label"] else ""),
            before=_term_state(term),
            after=_term_state(updated),
        )
    await load_english_labels()
    await indexing.catch_up(search_index)
    return updated


async def move_term(term_id: int, offset: int, staff: dict | None) -> None:
    """Move a term ``offset`` places up (negative) or down (positive) in its vocabulary."""
    async with write_transaction():
        term = await find_term(term_id)
        ids = (
            await Term.select(Term.id)
            .where(Term.vocabulary == term["vocabulary"])
            .order_by(Term.position)
            .order_by(Term.id)
            .output(as_list=True)
        )
        old = ids.index(term_id)
        new = max(0, min(len(ids) - 1, old + offset))
        if new == old:
            return
        ids.insert(new, ids.pop(old))
        for position, other in enumerate(ids):
            await Term.update({Term.position: position}).where(Term.id == other)
        await record_audit(
            staff,
            "termine.ordina",
            "termine",
            f"{term['vocabulary']}/{term['slug']}",
            f"Termine «{term['label']}» spostato dalla posizione {old + 1} alla {new + 1}",
            before={"position": old},
            after={"position": new},
        )


@dataclass
class TermDeletion:
    """What deleting a term involves, for its confirmation: how many processes use it, and the
    other terms of its vocabulary they can move to."""

    term: dict
    vocabulary_label: str
    usage: int
    replacements: list[dict]


async def plan_deletion(term_id: int) -> TermDeletion:
    """What deleting a term would involve; CurationRefused when it does not exist."""
    term = await find_term(term_id)
    terms = (await services.vocabularies()).get(term["vocabulary"], [])
    return TermDeletion(
        term=term,
        vocabulary_label=VOCABULARIES[term["vocabulary"]],
        usage=len(await _processes_using(term)),
        replacements=[other for other in terms if other["id"] != term_id],
    )


def _in_use(term: dict, used: int) -> str:
    return ngettext(
        "Il termine «%(term)s» è usato da %(num)d processo",
        "Il termine «%(term)s» è usato da %(num)d processi",
        used,
    ) % {"term": term_label(term["label"]), "num": used}


async def _replacement(term: dict, replacement_id: int | None, used: int) -> dict:
    """The term the processes using ``term`` move to; ValidationFailed on ``sostituto`` when none,
    or not another term of its vocabulary, is chosen."""
    replacement = await Term.select().where(Term.id == replacement_id).first() if replacement_id else None
    if replacement is None:
        message = _("%(in_use)s: scegli il termine a cui passarli, poi conferma.") % {
            "in_use": _in_use(term, used)
        }
    elif replacement["vocabulary"] != term["vocabulary"] or replacement["id"] == term["id"]:
        message = _("Scegli un altro termine di «%(name)s».") % {"name": vocabulary_name(term["vocabulary"])}
    else:
        return replacement
    raise ValidationFailed([FieldError("sostituto", message)])


async def _move_processes(term: dict, replacement: dict, process_ids: list[int], staff: dict | None) -> None:
    """Give the processes ``process_ids`` the term ``replacement`` instead of ``term``, each as a new
    version (call inside the write transaction)."""
    before = {detail["id"]: to_record(detail) for detail in await services.process_details(process_ids)}
    column = _TERM_COLUMNS.get(term["vocabulary"])
    if column is not None:
        await Process.update({column: replacement["id"]}).where(column == term["id"])
    else:  # a process tagged with both keeps one tag
        both = ProcessTerm.select(ProcessTerm.process).where(ProcessTerm.term == replacement["id"])
        await ProcessTerm.delete().where(ProcessTerm.term == term["id"], ProcessTerm.process.is_in(both))
        await ProcessTerm.update({ProcessTerm.term: replacement["id"]}).where(ProcessTerm.term == term["id"])
    await Process.update(
        {Process.version: Process.version + 1, Process.updated_at: datetime.datetime.now(datetime.UTC)}
    ).where(Process.id.is_in(process_ids))
    summary = (
        f"Il termine «{term['label']}» ({VOCABULARIES[term['vocabulary']]}) è stato eliminato: "
        f"sostituito con «{replacement['label']}»"
    )
    for detail in await services.process_details(process_ids):
        await record_revision(detail["id"], staff, summary, to_record(detail), before=before[detail["id"]])
        await outbox.record_change(detail["id"])


async def delete_term(
    term_id: int,
    staff: dict | None,
    search_index: SearchIndex | None = None,
    replacement_id: int | None = None,
) -> dict:
    """Delete a term. While processes use it, they move to the term ``replacement_id`` of the same
    vocabulary (each gets a new version), in the same transaction; ValidationFailed on
    ``sostituto`` when none is chosen. CurationRefused when the term does not exist. Return the
    term deleted, with the ids of the processes moved (``moved``)."""
    async with write_transaction():
        term = await find_term(term_id)
        using = await _processes_using(term)
        if using:  # wait for edits of these processes under way, then see who uses it now
            await lock(*(f"process:{process_id}" for process_id in using))
            using = await _processes_using(term)
        replacement = await _replacement(term, replacement_id, len(using)) if using else None
        if replacement is not None:
            await _move_processes(term, replacement, using, staff)
        await Term.delete().where(Term.id == term_id)
        summary = f"Eliminato il termine «{term['label']}» da «{VOCABULARIES[term['vocabulary']]}»"
        if replacement is not None:
            summary += f": {len(using)} {'processo passato' if len(using) == 1 else 'processi passati'}"
            summary += f" a «{replacement['label']}»"
        await record_audit(
            staff,
            "termine.elimina",
            "termine",
            f"{term['vocabulary']}/{term['slug']}",
            summary,
            before=_term_state(term),
            after={"replaced_by": replacement["slug"], "processes": using} if replacement else None,
        )
    await indexing.catch_up(search_index)
    return {**term, "moved": using}
