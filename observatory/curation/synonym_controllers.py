"""The admins' pages for synonyms and abbreviations (/redazione/sinonimi): the groups, a filter,
adding, editing and deleting (after a confirmation).

Every change is a form post with a CSRF token that goes through synonyms.py (audited, versions
checked) and redirects (POST-redirect-GET) to the list, which says what was done; a refused post
shows its form again with what was typed and why.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from observatory.accounts.guards import StaffPages, admin_required, current_staff
from observatory.catalogue import forms
from observatory.catalogue.checks import ValidationFailed
from observatory.catalogue.form_view import posted_version
from observatory.curation import synonyms
from observatory.curation.services import CurationRefused
from observatory.i18n import N_, _
from observatory.web import done_message, first, read_form, search_text, see_other

#: Confirmations shown after a redirect (``?fatto=...``): a fixed text, never one from the address.
DONE = {
    "aggiunto": N_("Gruppo di sinonimi aggiunto: vale già dalla prossima ricerca."),
    "modificato": N_("Gruppo di sinonimi modificato: vale già dalla prossima ricerca."),
    "eliminato": N_("Gruppo di sinonimi eliminato: la ricerca non lo usa più."),
}
LIST = "/redazione/sinonimi"


def _typed(form: dict[str, list[str]]) -> dict[str, str]:
    # the lines as typed, blank ones included, so that an error's line number is the textarea's
    return {"espressioni": (form.get("espressioni") or [""])[0], "nota": first(form, "nota")}


def _typed_group(group: dict) -> dict[str, str]:
    return {"espressioni": "\n".join(group["expressions"]), "nota": group["note"]}


class SynonymPages(StaffPages):
    """Synonyms and abbreviations the search applies (admins only)."""

    guards = [admin_required]

    async def _list_page(
        self,
        request: Request,
        typed: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        refusal: str | None = None,
        status_code: int = 200,
    ) -> Template:
        q = search_text(request)
        return Template(
            "staff/synonyms.html",
            context={
                "groups": await synonyms.list_groups(q),
                "q": q,
                "typed": typed or {"espressioni": "", "nota": ""},
                "errors": errors or {},
                "refusal": refusal,
                "done": done_message(request, DONE),
            },
            status_code=status_code,
        )

    @get("/sinonimi", name="synonyms")
    async def groups(self, request: Request) -> Template:
        """The groups in use (those containing ``q``), and the form to add one."""
        return await self._list_page(request)

    @post("/sinonimi", name="create_synonyms")
    async def create(self, request: Request) -> Template | Redirect:
        """Add a group."""
        typed = _typed(await read_form(request))
        try:
            await synonyms.create_group(
                typed["espressioni"].splitlines(),
                typed["nota"],
                await current_staff(request),
                request.app.state.search_index,
            )
        except ValidationFailed as failed:
            return await self._list_page(
                request, typed, forms.field_messages(failed), status_code=HTTP_400_BAD_REQUEST
            )
        return see_other(LIST, fatto="aggiunto")

    async def _group_or_404(self, group_id: int) -> dict:
        try:
            return await synonyms.find_group(group_id)
        except CurationRefused:
            raise NotFoundException(
                _("Nessun gruppo di sinonimi con numero %(number)s.") % {"number": group_id}
            ) from None

    @staticmethod
    def _edit_page(
        group: dict,
        typed: dict[str, str],
        errors: dict[str, str] | None = None,
        refusal: str | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "staff/synonym_edit.html",
            context={"group": group, "typed": typed, "errors": errors or {}, "refusal": refusal},
            status_code=status_code,
        )

    @get("/sinonimi/{group_id:int}/modifica", name="edit_synonyms_form")
    async def edit_form(self, group_id: FromPath[int]) -> Template:
        """A group's form, prefilled."""
        group = await self._group_or_404(group_id)
        return self._edit_page(group, _typed_group(group))

    @post("/sinonimi/{group_id:int}/modifica", name="edit_synonyms")
    async def edit(self, request: Request, group_id: FromPath[int]) -> Template | Redirect:
        """Save a group opened on the posted ``versione``."""
        form = await read_form(request)
        typed = _typed(form)
        try:
            await synonyms.update_group(
                group_id,
                typed["espressioni"].splitlines(),
                typed["nota"],
                posted_version(form),
                await current_staff(request),
                request.app.state.search_index,
            )
        except ValidationFailed as failed:
            group = await self._group_or_404(group_id)
            return self._edit_page(
                group | {"version": posted_version(form)},
                typed,
                forms.field_messages(failed),
                status_code=HTTP_400_BAD_REQUEST,
            )
        except CurationRefused as refused:
            try:  # shown with the group as it is now, so that saving again is a choice made seeing it
                group = await synonyms.find_group(group_id)
            except CurationRefused:
                message = _("%(refusal)s Quello che avevi scritto è qui sotto, per aggiungerlo di nuovo.") % {
                    "refusal": refused.message
                }
                return await self._list_page(request, typed, refusal=message, status_code=HTTP_409_CONFLICT)
            return self._edit_page(group, typed, refusal=refused.message, status_code=HTTP_409_CONFLICT)
        return see_other(LIST, fatto="modificato")

    @staticmethod
    def _delete_page(group: dict, refusal: str | None = None, status_code: int = 200) -> Template:
        return Template(
            "staff/synonym_delete.html",
            context={"group": group, "refusal": refusal},
            status_code=status_code,
        )

    @get("/sinonimi/{group_id:int}/elimina", name="delete_synonyms_form")
    async def delete_form(self, group_id: FromPath[int]) -> Template:
        """Ask to confirm the deletion of a group."""
        return self._delete_page(await self._group_or_404(group_id))

    @post("/sinonimi/{group_id:int}/elimina", name="delete_synonyms")
    async def delete(self, request: Request, group_id: FromPath[int]) -> Template | Redirect:
        """Delete a group opened on the posted ``versione``."""
        form = await read_form(request)
        try:
            await synonyms.delete_group(
                group_id, posted_version(form), await current_staff(request), request.app.state.search_index
            )
        except CurationRefused as refused:
            try:
                group = await synonyms.find_group(group_id)
            except CurationRefused:
                return await self._list_page(request, refusal=refused.message, status_code=HTTP_409_CONFLICT)
            return self._delete_page(group, refused.message, HTTP_409_CONFLICT)
        return see_other(LIST, fatto="eliminato")
