"""The admins' pages for the data processes refer to: merging two organisations
(/redazione/enti/unisci) and the vocabulary terms (/redazione/vocabolari).

A merge and a term's deletion each ask for a confirmation first. Every change is a form post with a
CSRF token that goes through organisations.py or vocabularies.py (every action audited) and
redirects (POST-redirect-GET) to a page saying what was done; a refused post shows its form again
with what was typed and why.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from observatory.accounts.guards import StaffPages, admin_required, current_staff
from observatory.catalogue import forms, searching
from observatory.catalogue.checks import ValidationFailed
from observatory.catalogue.fields import VOCABULARIES
from observatory.curation import organisations, vocabularies
from observatory.curation.services import CurationRefused
from observatory.i18n import N_, _
from observatory.web import done_message, first, read_form, see_other

#: Confirmations shown after a redirect (``?fatto=...``): a fixed text, never one from the address.
DONE = {
    "uniti": N_("Enti uniti: i processi sono passati all'ente scelto e il vecchio indirizzo vi rimanda."),
    "termine-creato": N_("Termine aggiunto."),
    "termine-modificato": N_("Termine modificato: la ricerca mostra già la nuova etichetta."),
    "termine-spostato": N_("Ordine dei termini aggiornato."),
    "termine-eliminato": N_("Termine eliminato."),
    "termine-sostituito": N_("Termine eliminato: i processi che lo usavano sono passati al termine scelto."),
}
VOCABULARIES_PAGE = "/redazione/vocabolari"
MERGE_PAGE = "/redazione/enti/unisci"
#: The two organisations of a merge: the form field of each, and what the page calls it.
MERGE_SIDES = {"da": N_("Ente da unire (sarà eliminato)"), "in": N_("Ente da tenere")}
SELF_MERGE = "Un ente non si può unire a sé stesso: scegli due enti diversi."


def _done(request: Request) -> str | None:
    return done_message(request, DONE)


def _term_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


class ReferencePages(StaffPages):
    """Organisations and vocabularies (admins only)."""

    guards = [admin_required]

    # --- organisations ---------------------------------------------------------------------------

    async def _merge_page(
        self,
        request: Request,
        typed: dict[str, str] | None = None,
        identified: dict[str, organisations.Identified] | None = None,
        errors: dict[str, str] | None = None,
        plan: organisations.MergePlan | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "staff/organisation_merge.html",
            context={
                "sides": MERGE_SIDES,
                "typed": typed or {name: "" for name in MERGE_SIDES},
                "identified": identified or {},
                "errors": errors or {},
                "plan": plan,
                "done": _done(request),
                "merged": request.query_params.get("ente") if _done(request) else None,
            },
            status_code=status_code,
        )

    @get("/enti/unisci", name="merge_form")
    async def merge_form(self, request: Request) -> Template:
        """Choose two organisations to merge, by name (suggested as one types) or by slug."""
        typed = {name: request.query_params.get(name, "")[:1_000] for name in MERGE_SIDES}
        return await self._merge_page(request, typed)

    @post("/enti/unisci", name="merge")
    async def merge(self, request: Request) -> Template | Redirect:
        """Find the two organisations the texts name; when a name fits several, show them to choose
        among; then show what the merge moves; with ``conferma`` do it."""
        form = await read_form(request)
        typed = {name: first(form, name) for name in MERGE_SIDES}
        counts = await searching.organisation_counts(request.app.state.search_index)
        identified = {
            name: await organisations.identify_organisation(text, counts) for name, text in typed.items()
        }
        errors = {name: found.error for name, found in identified.items() if found.error}
        if not errors and identified["da"].slug and identified["da"].slug == identified["in"].slug:
            errors["in"] = SELF_MERGE
        if errors:
            return await self._merge_page(
                request, typed, identified, errors, status_code=HTTP_400_BAD_REQUEST
            )
        if any(found.candidates for found in identified.values()):
            return await self._merge_page(request, typed, identified)
        source, target = identified["da"].slug, identified["in"].slug
        try:
            if first(form, "conferma") != "1":
                plan = await organisations.plan_merge(source, target)
                return await self._merge_page(request, typed, identified, plan=plan)
            plan = await organisations.merge_organisations(
                source, target, await current_staff(request), request.app.state.search_index
            )
        except CurationRefused as refused:  # merged or deleted meanwhile
            return await self._merge_page(
                request, typed, identified, {"": refused.message}, status_code=HTTP_409_CONFLICT
            )
        return see_other(MERGE_PAGE, fatto="uniti", ente=plan.target["slug"])

    # --- vocabularies ----------------------------------------------------------------------------

    async def _vocabularies_page(
        self,
        request: Request,
        error: str | None = None,
        errors: dict[str, str] | None = None,
        typed: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "staff/vocabularies.html",
            context={
                "vocabularies": await vocabularies.list_terms(),
                "error": error,
                "errors": errors or {},
                "typed": typed or {},
                "done": _done(request),
            },
            status_code=status_code,
        )

    @get("/vocabolari", name="vocabularies")
    async def vocabularies(self, request: Request) -> Template:
        """Every vocabulary with its terms, how many processes use each, and forms to change them."""
        return await self._vocabularies_page(request)

    async def _term_action(self, request: Request, action, done: str, typed: dict | None = None):
        try:
            await action(await current_staff(request))
        except CurationRefused as refused:
            return await self._vocabularies_page(
                request, error=refused.message, status_code=HTTP_409_CONFLICT
            )
        except ValidationFailed as failed:
            return await self._vocabularies_page(
                request, errors=forms.field_messages(failed), typed=typed, status_code=HTTP_400_BAD_REQUEST
            )
        return see_other(VOCABULARIES_PAGE, fatto=done)

    @post("/vocabolari", name="create_term")
    async def create_term(self, request: Request) -> Template | Redirect:
        """Add a term to a vocabulary."""
        form = await read_form(request)
        names = ("vocabolario", "etichetta", "etichetta_en", "descrizione", "slug")
        typed = {name: first(form, name) for name in names}
        if typed["vocabolario"] not in VOCABULARIES:
            return await self._vocabularies_page(
                request, error=_("Scegli il vocabolario del nuovo termine."), status_code=HTTP_400_BAD_REQUEST
            )
        return await self._term_action(
            request,
            lambda staff: vocabularies.create_term(
                typed["vocabolario"],
                typed["etichetta"],
                typed["descrizione"],
                staff,
                slug=typed["slug"],
                label_en=typed["etichetta_en"],
            ),
            "termine-creato",
            typed,
        )

    @post("/vocabolari/{term_id:int}", name="update_term")
    async def update_term(self, request: Request, term_id: FromPath[int]) -> Template | Redirect:
        """Change a term's labels (Italian and English) and description."""
        form = await read_form(request)
        return await self._term_action(
            request,
            lambda staff: vocabularies.update_term(
                term_id,
                first(form, "etichetta"),
                first(form, "descrizione"),
                staff,
                request.app.state.search_index,
                label_en=first(form, "etichetta_en"),
            ),
            "termine-modificato",
        )

    @post("/vocabolari/{term_id:int}/sposta", name="move_term")
    async def move_term(self, request: Request, term_id: FromPath[int]) -> Template | Redirect:
        """Move a term up (``direzione=su``) or down (``giu``) in its vocabulary."""
        form = await read_form(request)
        offset = -1 if first(form, "direzione") == "su" else 1
        return await self._term_action(
            request, lambda staff: vocabularies.move_term(term_id, offset, staff), "termine-spostato"
        )

    async def _delete_term_page(
        self,
        request: Request,
        term_id: int,
        chosen: str = "",
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        try:
            deletion = await vocabularies.plan_deletion(term_id)
        except CurationRefused as refused:  # deleted meanwhile
            return await self._vocabularies_page(
                request, error=refused.message, status_code=HTTP_409_CONFLICT
            )
        return Template(
            "staff/term_delete.html",
            context={"deletion": deletion, "chosen": chosen, "errors": errors or {}},
            status_code=status_code,
        )

    @get("/vocabolari/{term_id:int}/elimina", name="delete_term_form")
    async def delete_term_form(self, request: Request, term_id: FromPath[int]) -> Template:
        """Ask to confirm a term's deletion; while processes use it, ask for the term they move to."""
        return await self._delete_term_page(request, term_id)

    @post("/vocabolari/{term_id:int}/elimina", name="delete_term")
    async def delete_term(self, request: Request, term_id: FromPath[int]) -> Template | Redirect:
        """Delete a term once confirmed (``conferma``), moving the processes that use it to the
        term chosen (``sostituto``); a post without the confirmation shows the confirmation."""
        form = await read_form(request)
        chosen = first(form, "sostituto")
        if first(form, "conferma") != "1":
            return await self._delete_term_page(request, term_id, chosen)
        try:
            deleted = await vocabularies.delete_term(
                term_id,
                await current_staff(request),
                request.app.state.search_index,
                replacement_id=_term_id(chosen),
            )
        except ValidationFailed as failed:
            return await self._delete_term_page(
                request, term_id, chosen, forms.field_messages(failed), HTTP_400_BAD_REQUEST
            )
        except CurationRefused as refused:
            return await self._vocabularies_page(
                request, error=refused.message, status_code=HTTP_409_CONFLICT
            )
        return see_other(
            VOCABULARIES_PAGE, fatto="termine-sostituito" if deleted["moved"] else "termine-eliminato"
        )
