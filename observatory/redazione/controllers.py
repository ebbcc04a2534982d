"""The editorial office's pages (/redazione) and its small JSON API (/api/v1/redazione).

Every page needs a staff login; merging organisations and managing vocabularies need an admin.
Every change is a form post with a CSRF token that redirects (POST-redirect-GET) to a page saying
what was done. Moderation goes through the state machine of submissions/moderation.py, curation
through redazione/services.py and redazione/reference.py: all of them audit every action.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from observatory.accounts.guards import admin_required, current_staff, staff_required
from observatory.catalogue import services as catalogue
from observatory.catalogue.editing import ValidationFailed
from observatory.catalogue.tables import VOCABULARIES
from observatory.redazione import reference, services
from observatory.redazione.schemas import QueueItemOut, QueuePageOut
from observatory.submissions import forms, moderation
from observatory.submissions import services as submissions
from observatory.submissions.controllers import prefilled_values
from observatory.submissions.forms import PUBLIC_FIELDS
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES
from observatory.web import (
    MAX_BODY,
    ApiError,
    done_message,
    first,
    page_links,
    page_number,
    read_form,
    see_other,
)

#: Confirmations shown after a redirect (``?fatto=...``): a fixed text, never one from the address.
DONE = {
    "approvata": "Segnalazione approvata: il processo è pubblicato e si trova già nella ricerca.",
    "modifiche-richieste": "Richiesta di modifiche inviata: la segnalazione attende le correzioni.",
    "respinta": "Segnalazione respinta.",
    "duplicato": "Segnalazione chiusa come duplicato.",
    "modificato": "Modifiche salvate e pubblicate: una nuova versione è nella cronologia.",
    "ripristinato": "Versione ripristinata: è di nuovo quella pubblicata.",
    "ritirato": "Processo ritirato: non compare più in elenchi, ricerca, API ed esportazioni.",
    "uniti": "Enti uniti: i processi sono passati all'ente scelto e il vecchio indirizzo vi rimanda.",
    "termine-creato": "Termine aggiunto.",
    "termine-modificato": "Termine modificato: la ricerca mostra già la nuova etichetta.",
    "termine-spostato": "Ordine dei termini aggiornato.",
    "termine-eliminato": "Termine eliminato.",
}
QUEUE_STATES = {**SUBMISSION_STATES, "tutte": "Tutte"}
PAGE_SIZE = 20


def _done(request: Request) -> str | None:
    return done_message(request, DONE)


def _redirect(path: str, done: str) -> Redirect:
    return see_other(path, fatto=done)


def _messages(failed: ValidationFailed, record: bool = False) -> dict[str, str]:
    """Messages by field; with ``record``, fields of a process record are named by their label."""
    messages = {}
    for error in failed.errors:
        text = error.message[:1].upper() + error.message[1:]
        label = services.RECORD_LABELS.get(error.field.split(".")[0]) if record else None
        messages[error.field] = f"{label} ({error.field}): {text}" if label else text
    return messages


def _queue_filters(request: Request) -> tuple[str, str | None, str | None]:
    """The state (default: waiting) and kind asked for; ApiError 400 for an unknown one."""
    state = request.query_params.get("stato") or "in_attesa"
    kind = request.query_params.get("tipo") or None
    if state not in QUEUE_STATES:
        raise ApiError.bad_parameter(
            "stato", f"stato: valori ammessi {', '.join(QUEUE_STATES)}.", "valore sconosciuto."
        )
    if kind is not None and kind not in SUBMISSION_KINDS:
        raise ApiError.bad_parameter(
            "tipo", f"tipo: valori ammessi {', '.join(SUBMISSION_KINDS)}.", "valore sconosciuto."
        )
    return state, None if state == "tutte" else state, kind


async def _form_view(values: dict[str, list[str]] | None, errors: dict[str, str] | None, form=None):
    """The process form showing ``values`` (None: no form to show)."""
    if values is None:
        return None
    return forms.form_view(values, errors, await catalogue.vocabularies(), forms.empty_rows_asked(form or {}))


def _typed_values(form: dict[str, list[str]]) -> dict[str, list[str]]:
    return forms.record_to_form(forms.form_to_record(form))


class RedazionePages(Controller):
    """The editors' pages: moderation queue and review, curation of published processes,
    organisations and vocabularies."""

    path = "/redazione"
    include_in_schema = False
    guards = [staff_required]
    cache_control = CacheControlHeader(no_store=True)
    response_headers = {"Referrer-Policy": "no-referrer"}
    request_max_body_size = MAX_BODY

    # --- the queue and the review ---------------------------------------------------------------

    @get("/", name="redazione")
    async def queue(self, request: Request) -> Template:
        """The moderation queue, oldest first, filtered by state (waiting ones by default) and kind."""
        shown_state, state, kind = _queue_filters(request)
        page = await moderation.queue(
            state, kind, page_number(request), PAGE_SIZE, search_index=request.app.state.search_index
        )
        links = page_links(request, page)
        return Template(
            "redazione/coda.html",
            context={
                "page": page,
                "links": links,
                "state": shown_state,
                "kind": kind or "",
                "states": QUEUE_STATES,
                "kinds": SUBMISSION_KINDS,
                "done": _done(request),
            },
        )

    async def _review(
        self,
        request: Request,
        submission_id: int,
        refusal: str | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        row = await submissions.find_submission(submission_id)
        if row is None:
            raise NotFoundException(f"Nessuna segnalazione con numero {submission_id}.")
        record = moderation.proposed_record(row)
        current = process = None
        if row["process"]:
            process = await services.find_process(row["process"])
            if row["kind"] == "correzione" and process and process["publication"] == "published":
                current = await services.current_record(row["process"])
        labels = await services.value_labels(record, *([current] if current else []))
        territory_labels = await submissions.territory_labels(record.get("territories") or [])
        duplicate_of = await services.find_process(row["duplicate_of"]) if row["duplicate_of"] else None
        decided_by = await services.staff_name(row["decided_by"]) if row["decided_by"] else None
        return Template(
            "redazione/segnalazione.html",
            context={
                "submission": row,
                "kind_label": SUBMISSION_KINDS[row["kind"]],
                "state_label": SUBMISSION_STATES[row["state"]],
                "data": await _form_view(forms.record_to_form(record, territory_labels), None),
                "note": row["data"].get("note"),
                "process": process,
                "duplicate_of": duplicate_of,
                "decided_by": decided_by,
                "changes": services.revision_diff(current, record, labels, fields=PUBLIC_FIELDS)
                if current
                else [],
                "filled": services.record_rows(record, labels, fields=PUBLIC_FIELDS),
                "duplicates": await submissions.likely_duplicates(
                    request.app.state.search_index, record, exclude_process_id=row["process"]
                ),
                "actions": moderation.allowed_actions(row["state"]),
                "refusal": refusal,
                "errors": errors or {},
                "done": _done(request),
            },
            status_code=status_code,
        )

    @get("/segnalazioni/{submission_id:int}", name="redazione_review")
    async def review(self, request: Request, submission_id: FromPath[int]) -> Template:
        """A submission: its data, who sent it, likely duplicates, for a correction the differences
        from the published process, and the actions its state allows."""
        return await self._review(request, submission_id)

    async def _act(self, request: Request, submission_id: int, action) -> Template | Redirect:
        """Run a moderation action; show the review again with the refusal or the errors."""
        try:
            decision = await action(await current_staff(request))
        except moderation.TransitionRefused as refused:
            return await self._review(
                request, submission_id, refusal=refused.message, status_code=HTTP_409_CONFLICT
            )
        except services.CurationRefused as refused:
            return await self._review(
                request, submission_id, refusal=refused.message, status_code=HTTP_409_CONFLICT
            )
        except ValidationFailed as failed:
            return await self._review(
                request,
                submission_id,
                errors=_messages(failed, record=True),
                status_code=HTTP_400_BAD_REQUEST,
            )
        done = decision.state.replace("modifiche_richieste", "modifiche-richieste")
        return _redirect(f"/redazione/segnalazioni/{submission_id}", done)

    @post("/segnalazioni/{submission_id:int}/approva", name="redazione_approve")
    async def approve(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Publish the submission; for a correction only the fields ticked in ``campi``."""
        form = await read_form(request)
        fields = form.get("campi", []) if first(form, "correzione") == "1" else None
        return await self._act(
            request,
            submission_id,
            lambda staff: moderation.approve(
                submission_id,
                staff,
                accepted_fields=fields,
                search_index=request.app.state.search_index,
            ),
        )

    @post("/segnalazioni/{submission_id:int}/richiedi-modifiche", name="redazione_request_changes")
    async def request_changes(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Send the submission back to its submitter with a message."""
        form = await read_form(request)
        message = first(form, "messaggio")
        return await self._act(
            request, submission_id, lambda staff: moderation.request_changes(submission_id, staff, message)
        )

    @post("/segnalazioni/{submission_id:int}/respingi", name="redazione_reject")
    async def reject(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Reject the submission with a reason."""
        form = await read_form(request)
        reason = first(form, "motivo")
        return await self._act(
            request, submission_id, lambda staff: moderation.reject(submission_id, staff, reason)
        )

    @post("/segnalazioni/{submission_id:int}/duplicato", name="redazione_duplicate")
    async def duplicate(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Close the submission as a duplicate of an existing process, merging the ticked fields."""
        form = await read_form(request)
        slug = first(form, "processo_altro") or first(form, "processo")
        found = await catalogue.find_process(slug) if slug else None
        if found and found.redirect_to:
            found = await catalogue.find_process(found.redirect_to)
        if found is None or found.process is None:
            message = "Scegli il processo pubblicato di cui è un duplicato."
            if slug:
                message = f"Nessun processo pubblicato con indirizzo «{slug}»."
            return await self._review(
                request, submission_id, errors={"processo": message}, status_code=HTTP_400_BAD_REQUEST
            )
        process_id = found.process["id"]
        return await self._act(
            request,
            submission_id,
            lambda staff: moderation.mark_duplicate(
                submission_id,
                staff,
                process_id,
                merge_fields=form.get("unisci", []),
                message=first(form, "messaggio_duplicato"),
                search_index=request.app.state.search_index,
            ),
        )

    async def _edit_submission_page(
        self,
        row: dict,
        values: dict[str, list[str]] | None,
        form: dict[str, list[str]] | None = None,
        errors: dict[str, str] | None = None,
        refusal: str | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "redazione/modifica.html",
            context={
                "form": await _form_view(values, errors, form),
                "action": f"/redazione/segnalazioni/{row['id']}/modifica",
                "back": f"/redazione/segnalazioni/{row['id']}",
                "heading": f"Modifica e approva la segnalazione {row['id']}",
                "intro": "Correggi i dati prima di pubblicarli: la segnalazione viene approvata con i dati "
                "di questo modulo"
                + (
                    "; di una correzione si applicano i campi che differiscono dalla scheda pubblicata."
                    if row["kind"] == "correzione"
                    else "."
                ),
                "button": "Salva e approva",
                "refusal": refusal,
            },
            status_code=status_code,
        )

    async def _submission_or_404(self, submission_id: int) -> dict:
        row = await submissions.find_submission(submission_id)
        if row is None:
            raise NotFoundException(f"Nessuna segnalazione con numero {submission_id}.")
        return row

    @get("/segnalazioni/{submission_id:int}/modifica", name="redazione_edit_submission")
    async def edit_submission(self, submission_id: FromPath[int]) -> Template:
        """The process form prefilled with the submission, to edit it before approving."""
        row = await self._submission_or_404(submission_id)
        record = moderation.proposed_record(row)
        if row["state"] not in moderation.TRANSITIONS["approva"]:
            refusal = moderation.TransitionRefused("approva", row["state"]).message
            return await self._edit_submission_page(row, None, refusal=refusal, status_code=HTTP_409_CONFLICT)
        territories = await submissions.territory_labels(record.get("territories") or [])
        return await self._edit_submission_page(row, forms.record_to_form(record, territories))

    @post("/segnalazioni/{submission_id:int}/modifica", name="redazione_edit_and_approve")
    async def edit_and_approve(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Approve the submission with the data of the edited form."""
        form = await read_form(request)
        row = await self._submission_or_404(submission_id)
        if first(form, "azione") == "aggiungi":
            return await self._edit_submission_page(row, _typed_values(form), form)
        try:
            record = await submissions.check_record(forms.form_to_record(form))
            await moderation.approve(
                submission_id,
                await current_staff(request),
                record=record,
                search_index=request.app.state.search_index,
            )
        except ValidationFailed as failed:
            return await self._edit_submission_page(
                row, _typed_values(form), form, forms.field_errors(failed), status_code=HTTP_400_BAD_REQUEST
            )
        except (moderation.TransitionRefused, services.CurationRefused) as refused:
            return await self._edit_submission_page(
                row, _typed_values(form), form, refusal=refused.message, status_code=HTTP_409_CONFLICT
            )
        return _redirect(f"/redazione/segnalazioni/{submission_id}", "approvata")

    # --- published processes ------------------------------------------------------------------

    @get("/processi", name="redazione_processes")
    async def processes(self, request: Request) -> Template:
        """Find processes to curate by title (withdrawn ones included)."""
        q = (request.query_params.get("q") or "").strip()[:200]
        page = await services.find_processes(q, page_number(request), PAGE_SIZE)
        links = page_links(request, page)
        return Template(
            "redazione/processi.html",
            context={"q": q, "page": page, "links": links, "done": _done(request)},
        )

    async def _process_or_404(self, process_id: int) -> dict:
        process = await services.find_process(process_id)
        if process is None:
            raise NotFoundException(f"Nessun processo con numero {process_id}.")
        return process

    async def _edit_process_page(
        self,
        process: dict,
        values: dict[str, list[str]] | None,
        form: dict[str, list[str]] | None = None,
        errors: dict[str, str] | None = None,
        refusal: str | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "redazione/modifica.html",
            context={
                "form": await _form_view(values, errors, form),
                "action": f"/redazione/processi/{process['id']}/modifica",
                "back": f"/redazione/processi/{process['id']}/versioni",
                "heading": f"Modifica «{process['title']}»",
                "intro": "Le modifiche sono pubblicate appena salvi; la versione precedente resta nella "
                "cronologia e si può ripristinare.",
                "button": "Salva e pubblica",
                "process": process,
                "refusal": refusal,
            },
            status_code=status_code,
        )

    @get("/processi/{process_id:int}/modifica", name="redazione_edit_process")
    async def edit_process_form(self, process_id: FromPath[int]) -> Template:
        """The process form prefilled with a published process."""
        process = await self._process_or_404(process_id)
        if process["publication"] != "published":
            refusal = "Il processo è stato ritirato dal catalogo: non si può modificare."
            return await self._edit_process_page(
                process, None, refusal=refusal, status_code=HTTP_409_CONFLICT
            )
        values = await prefilled_values(await catalogue.process_detail(process_id))
        return await self._edit_process_page(process, values)

    @post("/processi/{process_id:int}/modifica", name="redazione_save_process")
    async def save_process(self, request: Request, process_id: FromPath[int]) -> Template | Redirect:
        """Save the edited process as a new revision and publish it."""
        form = await read_form(request)
        process = await self._process_or_404(process_id)
        if first(form, "azione") == "aggiungi":
            return await self._edit_process_page(process, _typed_values(form), form)
        try:
            record = await submissions.check_record(forms.form_to_record(form))
            await services.edit_process(
                process_id, record, await current_staff(request), request.app.state.search_index
            )
        except ValidationFailed as failed:
            return await self._edit_process_page(
                process,
                _typed_values(form),
                form,
                forms.field_errors(failed),
                status_code=HTTP_400_BAD_REQUEST,
            )
        except services.CurationRefused as refused:
            return await self._edit_process_page(
                process, _typed_values(form), form, refusal=refused.message, status_code=HTTP_409_CONFLICT
            )
        return _redirect(f"/redazione/processi/{process_id}/versioni", "modificato")

    @get("/processi/{process_id:int}/versioni", name="redazione_revisions")
    async def revisions(self, request: Request, process_id: FromPath[int]) -> Template:
        """The revision history of a process, with the differences between consecutive versions."""
        process = await self._process_or_404(process_id)
        return await self._revisions_page(request, process)

    async def _revisions_page(
        self, request: Request, process: dict, refusal: str | None = None, status_code: int = 200
    ) -> Template:
        return Template(
            "redazione/versioni.html",
            context={
                "process": process,
                "revisions": await services.list_revisions(process["id"]),
                "refusal": refusal,
                "done": _done(request),
            },
            status_code=status_code,
        )

    @post("/processi/{process_id:int}/versioni/{number:int}/ripristina", name="redazione_revert")
    async def revert(
        self, request: Request, process_id: FromPath[int], number: FromPath[int]
    ) -> Template | Redirect:
        """Make an older version the published one again (as a new version)."""
        process = await self._process_or_404(process_id)
        try:
            await services.revert_to(
                process_id, number, await current_staff(request), request.app.state.search_index
            )
        except services.CurationRefused as refused:
            return await self._revisions_page(request, process, refused.message, HTTP_409_CONFLICT)
        except ValidationFailed as failed:
            message = "La versione non si può ripristinare: " + "; ".join(str(e) for e in failed.errors)
            return await self._revisions_page(request, process, message, HTTP_409_CONFLICT)
        return _redirect(f"/redazione/processi/{process_id}/versioni", "ripristinato")

    async def _withdraw_page(
        self, process: dict, reason: str = "", errors: dict[str, str] | None = None, status_code: int = 200
    ) -> Template:
        return Template(
            "redazione/ritira.html",
            context={"process": process, "reason": reason, "errors": errors or {}},
            status_code=status_code,
        )

    @get("/processi/{process_id:int}/ritira", name="redazione_withdraw_form")
    async def withdraw_form(self, process_id: FromPath[int]) -> Template:
        """Ask why a process is withdrawn."""
        return await self._withdraw_page(await self._process_or_404(process_id))

    @post("/processi/{process_id:int}/ritira", name="redazione_withdraw")
    async def withdraw(self, request: Request, process_id: FromPath[int]) -> Template | Redirect:
        """Withdraw a process from the catalogue, with the reason its page will show."""
        form = await read_form(request)
        process = await self._process_or_404(process_id)
        reason = first(form, "motivo")
        try:
            await services.withdraw(
                process_id, reason, await current_staff(request), request.app.state.search_index
            )
        except ValidationFailed as failed:
            return await self._withdraw_page(process, reason, _messages(failed), HTTP_400_BAD_REQUEST)
        except services.CurationRefused as refused:
            return await self._withdraw_page(process, reason, {"motivo": refused.message}, HTTP_409_CONFLICT)
        return _redirect("/redazione/processi", "ritirato")

    # --- organisations (admins) ---------------------------------------------------------------

    async def _merge_page(
        self,
        request: Request,
        source: str = "",
        target: str = "",
        plan: reference.MergePlan | None = None,
        error: str | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "redazione/unisci.html",
            context={
                "source": source,
                "target": target,
                "plan": plan,
                "error": error,
                "done": _done(request),
                "merged": request.query_params.get("ente") if _done(request) else None,
            },
            status_code=status_code,
        )

    @get("/enti/unisci", name="redazione_merge_form", guards=[admin_required])
    async def merge_form(self, request: Request) -> Template:
        """Choose two organisations to merge (by slug or name)."""
        return await self._merge_page(
            request, request.query_params.get("da", ""), request.query_params.get("in", "")
        )

    @post("/enti/unisci", name="redazione_merge", guards=[admin_required])
    async def merge(self, request: Request) -> Template | Redirect:
        """First show what the merge moves; with ``conferma`` do it."""
        form = await read_form(request)
        source_text, target_text = first(form, "da"), first(form, "in")
        try:
            source = await reference.organisation_slug(source_text)
            target = await reference.organisation_slug(target_text)
            if first(form, "conferma") != "1":
                plan = await reference.plan_merge(source, target)
                return await self._merge_page(request, source, target, plan)
            plan = await reference.merge_organisations(
                source, target, await current_staff(request), request.app.state.search_index
            )
        except services.CurationRefused as refused:
            return await self._merge_page(
                request, source_text, target_text, error=refused.message, status_code=HTTP_400_BAD_REQUEST
            )
        return see_other("/redazione/enti/unisci", fatto="uniti", ente=plan.target["slug"])

    # --- vocabularies (admins) ------------------------------------------------------------------

    async def _vocabularies_page(
        self,
        request: Request,
        error: str | None = None,
        errors: dict[str, str] | None = None,
        typed: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return Template(
            "redazione/vocabolari.html",
            context={
                "vocabularies": await reference.list_terms(),
                "error": error,
                "errors": errors or {},
                "typed": typed or {},
                "done": _done(request),
            },
            status_code=status_code,
        )

    @get("/vocabolari", name="redazione_vocabularies", guards=[admin_required])
    async def vocabularies(self, request: Request) -> Template:
        """Every vocabulary with its terms, how many processes use each, and forms to change them."""
        return await self._vocabularies_page(request)

    async def _term_action(self, request: Request, action, done: str, typed: dict | None = None):
        try:
            await action(await current_staff(request))
        except services.CurationRefused as refused:
            return await self._vocabularies_page(
                request, error=refused.message, status_code=HTTP_409_CONFLICT
            )
        except ValidationFailed as failed:
            return await self._vocabularies_page(
                request, errors=_messages(failed), typed=typed, status_code=HTTP_400_BAD_REQUEST
            )
        return _redirect("/redazione/vocabolari", done)

    @post("/vocabolari", name="redazione_create_term", guards=[admin_required])
    async def create_term(self, request: Request) -> Template | Redirect:
        """Add a term to a vocabulary."""
        form = await read_form(request)
        typed = {name: first(form, name) for name in ("vocabolario", "etichetta", "descrizione", "slug")}
        if typed["vocabolario"] not in VOCABULARIES:
            return await self._vocabularies_page(
                request, error="Scegli il vocabolario del nuovo termine.", status_code=HTTP_400_BAD_REQUEST
            )
        return await self._term_action(
            request,
            lambda staff: reference.create_term(
                typed["vocabolario"], typed["etichetta"], typed["descrizione"], staff, slug=typed["slug"]
            ),
            "termine-creato",
            typed,
        )

    @post("/vocabolari/{term_id:int}", name="redazione_update_term", guards=[admin_required])
    async def update_term(self, request: Request, term_id: FromPath[int]) -> Template | Redirect:
        """Change a term's label and description."""
        form = await read_form(request)
        return await self._term_action(
            request,
            lambda staff: reference.update_term(
                term_id,
                first(form, "etichetta"),
                first(form, "descrizione"),
                staff,
                request.app.state.search_index,
            ),
            "termine-modificato",
        )

    @post("/vocabolari/{term_id:int}/sposta", name="redazione_move_term", guards=[admin_required])
    async def move_term(self, request: Request, term_id: FromPath[int]) -> Template | Redirect:
        """Move a term up (``direzione=su``) or down (``giu``) in its vocabulary."""
        form = await read_form(request)
        offset = -1 if first(form, "direzione") == "su" else 1
        return await self._term_action(
            request, lambda staff: reference.move_term(term_id, offset, staff), "termine-spostato"
        )

    @post("/vocabolari/{term_id:int}/elimina", name="redazione_delete_term", guards=[admin_required])
    async def delete_term(self, request: Request, term_id: FromPath[int]) -> Template | Redirect:
        """Delete a term that no process uses."""
        await read_form(request)
        return await self._term_action(
            request, lambda staff: reference.delete_term(term_id, staff), "termine-eliminato"
        )


class RedazioneApi(Controller):
    """The editors' JSON API: the moderation queue. Needs a staff login (401 without, 403 for the
    wrong role)."""

    path = "/api/v1/redazione"
    tags = ["Redazione"]
    guards = [staff_required]
    cache_control = CacheControlHeader(no_store=True)

    @get("/segnalazioni", summary="La coda di moderazione", raises=[ApiError])
    async def queue(self, request: Request) -> QueuePageOut:
        """Submissions oldest first: ``stato`` (in_attesa by default, or tutte), ``tipo`` (nuovo,
        correzione), ``pagina``. Each with its submitter (private: staff only) and how many published
        processes it likely duplicates."""
        _, state, kind = _queue_filters(request)
        page = await moderation.queue(
            state, kind, page_number(request), PAGE_SIZE, search_index=request.app.state.search_index
        )
        base = request.app.state.settings.base_url
        return QueuePageOut(
            items=[
                msgspec.convert(
                    {**item, "review_url": f"{base}/redazione/segnalazioni/{item['id']}"},
                    QueueItemOut,
                )
                for item in page.items
            ],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )
