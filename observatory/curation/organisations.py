"""Merging organisations (admins only): the processes of one move to the other, its names become
the other's alternative names and its slug redirects. Every merge is audited; the processes it
touches are reindexed right after the commit.

The admin names the two organisations by slug or by name: :func:`identify_organisation` finds the
one a text names, or the several it may mean, for the admin to choose among.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from observatory.accounts.services import record_audit
from observatory.catalogue import indexing, outbox, services
from observatory.catalogue.checks import CONTROL_MESSAGE
from observatory.catalogue.fields import MAX_NAME
from observatory.catalogue.tables import (
    Organisation,
    OrganisationName,
    OrganisationRedirect,
    ProcessOrganisation,
)
from observatory.curation.services import CurationRefused
from observatory.database import write_transaction
from observatory.i18n import _
from observatory.search.index import SearchIndex
from observatory.text import fold, has_control_characters


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
        raise CurationRefused(_("Indica l'ente da unire e l'ente in cui unirlo."))
    if has_control_characters(source_slug + target_slug):
        raise CurationRefused(_("I nomi degli enti contengono caratteri di controllo: cancellali."))
    source, target = await _organisation(source_slug), await _organisation(target_slug)
    for slug, row in ((source_slug, source), (target_slug, target)):
        if row is None:
            raise CurationRefused(_("Nessun ente con indirizzo o nome «%(name)s».") % {"name": slug})
    if source["id"] == target["id"]:
        raise CurationRefused(_("Un ente non si può unire a sé stesso: scegli due enti diversi."))
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
            await outbox.record_change(process_id)
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
    await indexing.catch_up(search_index)
    return plan


#: The most organisations offered to choose among when a name matches several.
MAX_CANDIDATES = 20


@dataclass
class Identified:
    """What a text typed for an organisation names: one organisation (``slug``), several to choose
    among (``candidates``, each with its slug, name, territory and count of published processes;
    ``more`` of them not shown), or nothing (``error`` says why)."""

    text: str
    slug: str | None = None
    candidates: list[dict] = field(default_factory=list)
    more: int = 0
    error: str | None = None


async def identify_organisation(text: str, counts: Mapping[str, int]) -> Identified:
    """The organisation ``text`` names: by its slug, by one of its names, or by a part of a name
    that only one organisation's names hold; when several do, they are the candidates (with their
    count of published processes from ``counts``, by slug)."""
    text = (text or "").strip()
    if not text:
        return Identified(text, error=_("Scrivi il nome dell'ente o il suo indirizzo."))
    if has_control_characters(text):
        control = _(CONTROL_MESSAGE)
        return Identified(text, error=control[:1].upper() + control[1:])
    if len(text) > MAX_NAME:
        too_long = _("Troppo lungo: %(count)s caratteri, al massimo %(most)s.")
        return Identified(text, error=too_long % {"count": len(text), "most": MAX_NAME})
    if await Organisation.exists().where(Organisation.slug == text):
        return Identified(text, slug=text)
    named = (
        await OrganisationName.select(OrganisationName.organisation.slug.as_alias("slug"))
        .where(OrganisationName.name_key == fold(text))
        .first()
    )
    if named is not None:
        return Identified(text, slug=named["slug"])
    candidates, total = await services.list_organisations(text, 1, MAX_CANDIDATES, counts)
    if total == 1:
        return Identified(text, slug=candidates[0]["slug"])
    if total > 1:
        return Identified(text, candidates=candidates, more=total - len(candidates))
    return Identified(
        text,
        error=_(
            "Nessun ente ha indirizzo o nome «%(name)s», né un nome che lo contiene: "
            "controlla come è scritto."
        )
        % {"name": text},
    )
