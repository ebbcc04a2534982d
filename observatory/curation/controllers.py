"""The editors' pages for published processes (/redazione/processi): edit, versions and revert,
withdraw and republish (organisations and vocabularies are in reference_controllers.py).

Every change is a form post with a CSRF token that goes through curation's services (every action
audited) and redirects (POST-redirect-GET) to a page saying what was done.
"""

from __future__ import annotations

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from observatory.accounts.guards import StaffPages, current_staff
from observatory.catalogue import forms
from observatory.catalogue import services as catalogue
from observatory.catalogue.checks import ValidationFailed
from observatory.catalogue.form_view import EditPage, edit_page, posted_version, save_posted
from observatory.catalogue.records import to_record
from observatory.curation import services
from observatory.curation.revisions import list_revisions
from observatory.i18n import N_, _
from observatory.web import done_message, first, list_page, page_number, read_form, search_text, see_other

#: Confirmations shown after a redirect (``?fatto=...``): a fixed text, never one from the address.
DONE = {
    "modificato": N_("Modifiche salvate e pubblicate: una nuova versione è nella cronologia."),
    "ripristinato": N_("Versione ripristinata: è di nuovo quella pubblicata."),
    "ritirato": N_("Processo ritirato: non compare più in elenchi, ricerca, API ed esportazioni."),
    "ripubblicato": N_("Processo ripubblicato: è di nuovo in elenchi, ricerca, API ed esportazioni."),
}
PAGE_SIZE = 20
#: The reason an editor may give for an edit, shown in the versions and the audit log.
REASON_INPUT = forms.Input(
    "motivo",
    N_("Motivo della modifica (facoltativo)"),
    help=N_(
        "Una riga per chi legge la cronologia: ad esempio «Corretto l'anno di avvio secondo la delibera»."
    ),
    maxlength=services.REASON_LIMIT,
    summary_label=N_("Motivo della modifica"),
)


def _done(request: Request) -> str | None:
    return done_message(request, DONE)


def _redirect(path: str, done: str) -> Redirect:
    return see_other(path, fatto=done)


class CurationPages(StaffPages):
    """The editors' pages for published processes, organisations and vocabularies."""

    # --- published processes ------------------------------------------------------------------

    @get("/processi", name="curated_processes")
    async def processes(self, request: Request) -> Template:
        """Find processes to curate by title (withdrawn ones included)."""
        q = search_text(request)
        page = await services.find_processes(q, page_number(request), PAGE_SIZE)
        return list_page("staff/processes.html", request, page, q=q, done=_done(request))

    async def _process_or_404(self, process_id: int) -> dict:
        process = await services.find_process(process_id)
        if process is None:
            raise NotFoundException(_("Nessun processo con numero %(number)s.") % {"number": process_id})
        return process

    @staticmethod
    def _edit_page(process: dict) -> EditPage:
        return EditPage(
            action=f"/redazione/processi/{process['id']}/modifica",
            back=f"/redazione/processi/{process['id']}/versioni",
            heading=_("Modifica «%(title)s»") % {"title": process["title"]},
            intro=_(
                "Le modifiche sono pubblicate appena salvi; la versione precedente resta nella "
                "cronologia e si può ripristinare."
            ),
            button=_("Salva e pubblica"),
            editorial=True,
            extra={"motivo": REASON_INPUT},
        )

    @get("/processi/{process_id:int}/modifica", name="edit_process_form")
    async def edit_process_form(self, process_id: FromPath[int]) -> Template:
        """The process form prefilled with a published process."""
        process = await self._process_or_404(process_id)
        page = self._edit_page(process)
        if process["publication"] != "published":
            return await edit_page(
                page, None, refusal=_(services.WITHDRAWN), status_code=HTTP_409_CONFLICT, process=process
            )
        detail = await catalogue.process_detail(process_id)
        values = await forms.record_values(to_record(detail), editorial=True)
        return await edit_page(page, values, process=process, version=detail["version"])

    @post("/processi/{process_id:int}/modifica", name="edit_process")
    async def edit_process(self, request: Request, process_id: FromPath[int]) -> Template | Redirect:
        """Save the edited process as a new revision and publish it."""
        form = await read_form(request)
        process = await self._process_or_404(process_id)
        staff, index = await current_staff(request), request.app.state.search_index
        version = posted_version(form)
        return await save_posted(
            self._edit_page(process),
            form,
            lambda typed: services.edit_process(
                process_id,
                typed,
                staff,
                index,
                version=version,
                keep_saved=form.get("usa_salvato", []),
                reason=first(form, "motivo"),
            ),
            (services.CurationRefused,),
            _redirect(f"/redazione/processi/{process_id}/versioni", "modificato"),
            process=process,
            version=version,
        )

    @get("/processi/{process_id:int}/versioni", name="revisions")
    async def revisions(self, request: Request, process_id: FromPath[int]) -> Template:
        """The revision history of a process, with the differences between consecutive versions."""
        process = await self._process_or_404(process_id)
        return await self._revisions_page(request, process)

    async def _revisions_page(
        self, request: Request, process: dict, refusal: str | None = None, status_code: int = 200
    ) -> Template:
        return Template(
            "staff/revisions.html",
            context={
                "process": process,
                "revisions": await list_revisions(process["id"]),
                "refusal": refusal,
                "done": _done(request),
            },
            status_code=status_code,
        )

    @post("/processi/{process_id:int}/versioni/{number:int}/ripristina", name="revert")
    async def revert(
        self, request: Request, process_id: FromPath[int], number: FromPath[int]
    ) -> Template | Redirect:
        """Make an older version the published one again (as a new version)."""
        process = await self._process_or_404(process_id)
        try:
            await services.revert_to(
                process_id,
                number,
                await current_staff(request),
                request.app.state.search_index,
                version=posted_version(await read_form(request)),
            )
        except services.CurationRefused as refused:
            return await self._revisions_page(request, process, refused.message, HTTP_409_CONFLICT)
        except ValidationFailed as failed:
            problems = "; ".join(str(e) for e in failed.errors)
            message = _("La versione non si può ripristinare: %(problems)s") % {"problems": problems}
            return await self._revisions_page(request, process, message, HTTP_409_CONFLICT)
        return _redirect(f"/redazione/processi/{process_id}/versioni", "ripristinato")

    async def _withdraw_page(
        self, process: dict, reason: str = "", errors: dict[str, str] | None = None, status_code: int = 200
    ) -> Template:
        return Template(
            "staff/withdraw.html",
            context={"process": process, "reason": reason, "errors": errors or {}},
            status_code=status_code,
        )

    @get("/processi/{process_id:int}/ritira", name="withdraw_form")
    async def withdraw_form(self, process_id: FromPath[int]) -> Template:
        """Ask why a process is withdrawn."""
        return await self._withdraw_page(await self._process_or_404(process_id))

    @post("/processi/{process_id:int}/ritira", name="withdraw")
    async def withdraw(self, request: Request, process_id: FromPath[int]) -> Template | Redirect:
        """Withdraw a process from the catalogue, with the reason its page will show."""
        form = await read_form(request)
        process = await self._process_or_404(process_id)
        reason = first(form, "motivo")
        try:
            await services.withdraw(
                process_id,
                reason,
                await current_staff(request),
                request.app.state.search_index,
                version=posted_version(form),
            )
        except ValidationFailed as failed:
            return await self._withdraw_page(
                process, reason, forms.field_messages(failed), HTTP_400_BAD_REQUEST
            )
        except services.CurationRefused as refused:  # shown with the process as it is now
            process = await self._process_or_404(process_id)
            return await self._withdraw_page(process, reason, {"motivo": refused.message}, HTTP_409_CONFLICT)
        return _redirect("/redazione/processi", "ritirato")

    async def _republish_page(
        self, process: dict, refusal: str | None = None, status_code: int = 200
    ) -> Template:
        return Template(
            "staff/republish.html",
            context={"process": process, "refusal": refusal},
            status_code=status_code,
        )

    @get("/processi/{process_id:int}/ripubblica", name="republish_form")
    async def republish_form(self, process_id: FromPath[int]) -> Template:
        """Ask to confirm putting a withdrawn process back in the catalogue."""
        return await self._republish_page(await self._process_or_404(process_id))

    @post("/processi/{process_id:int}/ripubblica", name="republish")
    async def republish(self, request: Request, process_id: FromPath[int]) -> Template | Redirect:
        """Put a withdrawn process back in the catalogue, as a new version."""
        form = await read_form(request)
        await self._process_or_404(process_id)
        try:
            await services.republish(
                process_id,
                await current_staff(request),
                request.app.state.search_index,
                version=posted_version(form),
            )
        except services.CurationRefused as refused:  # shown with the process as it is now
            process = await self._process_or_404(process_id)
            return await self._republish_page(process, refused.message, HTTP_409_CONFLICT)
        return _redirect(f"/redazione/processi/{process_id}/versioni", "ripubblicato")
