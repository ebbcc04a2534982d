"""Curating the reference data of the catalogue: merging organisations and managing vocabulary
terms (admins only). Every action is audited; the processes it touches are reindexed right after
the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count

from observatory.accounts.services import record_audit
from observatory.catalogue import indexing, services
from observatory.catalogue.tables import (
    VOCABULARIES,
    Organisation,
    OrganisationName,
    OrganisationRedirect,
    Process,
    ProcessOrganisation,
    ProcessTerm,
    Term,
)
from observatory.catalogue.validation import FieldError, ValidationFailed, check_slug
from observatory.curation.services import CurationRefused, bring_index_up_to_date
from observatory.database import write_transaction
from observatory.search.index import SearchIndex
from observatory.text import clean, fold, slugify

TERM_LABEL_LIMIT = 200
TERM_DESCRIPTION_LIMIT = 2_000


# --- organisations ----------------------------------------------------------------------------------


async def _organisation(slug: str) -> dict | None:
    row = await Organisation.select().where(Organisation.slug == slug).first()
    if row is None:
        return None
    row["names"] = sorted(
        await OrganisationName.select(OrganisationName.name)
        .where(OrganisationName.organisation == row["id"])
        .output(as_list=True)
    )
    row["process_ids"] = sorted(
        set(
            await ProcessOrganisation.select(ProcessOrganisation.process)
            .where(ProcessOrganisation.organisation == row["id"])
            .output(as_list=True)
        )
    )
    return row


def _organisation_state(row: dict) -> dict:
    return {
        "slug": row["slug"],
        "name": row["name"],
        "names": row["names"],
        "processes": len(row["process_ids"]),
        "description": row["description"],
        "website": row["website"],
        "territory": row["territory"],
    }


@dataclass
class MergePlan:
    """What merging ``source`` into ``target`` would do, for the confirmation step."""

    source: dict
    target: dict
    moving: int  # processes of the source that move to the target
    shared: int  # processes both already take part in
    total_after: int


async def plan_merge(source_slug: str, target_slug: str) -> MergePlan:
    """Check a merge and count what it moves; CurationRefused when it cannot be done."""
    source_slug, target_slug = (source_slug or "").strip(), (target_slug or "").strip()
    if not source_slug or not target_slug:
        raise CurationRefused("Indica l'ente da unire e l'ente in cui unirlo.")
    source, target = await _organisation(source_slug), await _organisation(target_slug)
    for slug, row in ((source_slug, source), (target_slug, target)):
        if row is None:
            raise CurationRefused(f"Nessun ente con indirizzo o nome «{slug}».")
    if source["id"] == target["id"]:
        raise CurationRefused("Un ente non si può unire a sé stesso: scegli due enti diversi.")
    shared = set(source["process_ids"]) & set(target["process_ids"])
    return MergePlan(
        source=source,
        target=target,
        moving=len(source["process_ids"]) - len(shared),
        shared=len(shared),
        total_after=len(set(source["process_ids"]) | set(target["process_ids"])),
    )


async def merge_organisations(
    source_slug: str, target_slug: str, staff: dict | None, search_index: SearchIndex | None = None
) -> MergePlan:
    """Merge organisation ``source`` into ``target``: its processes move (without duplicate links),
    its names become alternative names of the target, its slug redirects to the target, and it is
    deleted. Facts the target lacks (description, website, territory) are taken from the source."""
    async with write_transaction():
        plan = await plan_merge(source_slug, target_slug)
        source, target = plan.source, plan.target
        before = {"source": _organisation_state(source), "target": _organisation_state(target)}
        target_links = {
            (row["process"], row["role"])
            for row in await ProcessOrganisation.select(
                ProcessOrganisation.process, ProcessOrganisation.role
            ).where(ProcessOrganisation.organisation == target["id"])
        }
        source_links = await ProcessOrganisation.select(
            ProcessOrganisation.id, ProcessOrganisation.process, ProcessOrganisation.role
        ).where(ProcessOrganisation.organisation == source["id"])
        doubled = [row["id"] for row in source_links if (row["process"], row["role"]) in target_links]
        if doubled:
            await ProcessOrganisation.delete().where(ProcessOrganisation.id.is_in(doubled))
        await ProcessOrganisation.update({ProcessOrganisation.organisation: target["id"]}).where(
            ProcessOrganisation.organisation == source["id"]
        )
        await OrganisationName.update({OrganisationName.organisation: target["id"]}).where(
            OrganisationName.organisation == source["id"]
        )
        await OrganisationRedirect.update({OrganisationRedirect.organisation: target["id"]}).where(
            OrganisationRedirect.organisation == source["id"]
        )
        await OrganisationRedirect.delete().where(OrganisationRedirect.old_slug == source["slug"])
        await OrganisationRedirect.insert(
            OrganisationRedirect(old_slug=source["slug"], organisation=target["id"])
        )
        missing = {
            column: source[column._meta.name]
            for column in (Organisation.description, Organisation.website, Organisation.territory)
            if target[column._meta.name] is None and source[column._meta.name] is not None
        }
        if missing:
            await Organisation.update(missing).where(Organisation.id == target["id"])
        await Organisation.delete().where(Organisation.id == source["id"])
        for process_id in sorted(set(source["process_ids"]) | set(target["process_ids"])):
            await indexing.record_change(process_id)
        merged = await _organisation(target["slug"])
        await record_audit(
            staff,
            "ente.unisci",
            "ente",
            target["slug"],
            f"Unito «{source['name']}» ({source['slug']}) in «{target['name']}»: "
            f"{plan.moving} processi spostati",
            before=before,
            after={"source": None, "target": _organisation_state(merged)},
        )
    await bring_index_up_to_date(search_index)
    return plan


async def organisation_slug(text: str) -> str:
    """The slug of the organisation ``text`` names, by slug or by any of its names (``text`` itself
    when none matches)."""
    text = (text or "").strip()
    if not text or await Organisation.exists().where(Organisation.slug == text):
        return text
    row = (
        await OrganisationName.select(OrganisationName.organisation.slug.as_alias("slug"))
        .where(OrganisationName.name_key == fold(text))
        .first()
    )
    return row["slug"] if row else text


# --- vocabulary terms -----------------------------------------------------------------------------

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
        raise CurationRefused("Il termine non esiste (forse è stato eliminato).")
    return term


def _term_text(label: Any, description: Any) -> tuple[str, str | None]:
    errors = []
    label, description = clean(label), clean(description)
    if not label:
        errors.append(FieldError("etichetta", "campo obbligatorio."))
    elif len(label) > TERM_LABEL_LIMIT:
        errors.append(FieldError("etichetta", f"troppo lunga: al massimo {TERM_LABEL_LIMIT} caratteri."))
    if description and len(description) > TERM_DESCRIPTION_LIMIT:
        errors.append(
            FieldError("descrizione", f"troppo lunga: al massimo {TERM_DESCRIPTION_LIMIT} caratteri.")
        )
    if errors:
        raise ValidationFailed(errors)
    return label, description


async def _check_label_free(vocabulary: str, label: str, term_id: int | None = None) -> None:
    # Imports and forms accept a term's label as well as its slug: two equal labels would be ambiguous.
    for row in await Term.select(Term.id, Term.slug, Term.label).where(Term.vocabulary == vocabulary):
        if row["id"] != term_id and fold(label) in (fold(row["label"]), fold(row["slug"])):
            raise ValidationFailed(
                [FieldError("etichetta", f"«{label}» c'è già nel vocabolario «{VOCABULARIES[vocabulary]}».")]
            )


def _term_state(term: dict) -> dict:
    return {key: term[key] for key in ("vocabulary", "slug", "label", "description", "position")}


async def create_term(
    vocabulary: str, label: Any, description: Any, staff: dict | None, slug: Any = None
) -> dict:
    """Add a term at the end of a vocabulary; its slug comes from the label when not given."""
    if vocabulary not in VOCABULARIES:
        raise CurationRefused(f"Vocabolario sconosciuto «{vocabulary}».")
    label, description = _term_text(label, description)
    errors: list[FieldError] = []
    slug = check_slug(clean(slug) or slugify(label, 110), "slug", 120, errors)
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
    return created


async def update_term(
    term_id: int, label: Any, description: Any, staff: dict | None, search_index: SearchIndex | None = None
) -> dict:
    """Change a term's label and description; the processes using it are reindexed with the new label."""
    label, description = _term_text(label, description)
    async with write_transaction():
        term = await find_term(term_id)
        await _check_label_free(term["vocabulary"], label, term_id)
        await Term.update({Term.label: label, Term.description: description}).where(Term.id == term_id)
        if label != term["label"]:
            for process_id in await _processes_using(term):
                await indexing.record_change(process_id)
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
    await bring_index_up_to_date(search_index)
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


async def delete_term(term_id: int, staff: dict | None) -> dict:
    """Delete a term no process uses; CurationRefused, saying how many use it, otherwise."""
    async with write_transaction():
        term = await find_term(term_id)
        used = len(await _processes_using(term))
        if used:
            raise CurationRefused(
                f"Il termine «{term['label']}» è usato da {used} "
                f"{'processo' if used == 1 else 'processi'}: non si può eliminare. "
                "Puoi cambiarne l'etichetta, oppure togliere prima il termine da quei processi."
            )
        await Term.delete().where(Term.id == term_id)
        await record_audit(
            staff,
            "termine.elimina",
            "termine",
            f"{term['vocabulary']}/{term['slug']}",
            f"Eliminato il termine «{term['label']}» da «{VOCABULARIES[term['vocabulary']]}»",
            before=_term_state(term),
        )
    return term
