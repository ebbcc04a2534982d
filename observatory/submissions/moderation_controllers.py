"""The editors' moderation pages (/redazione, /redazione/segnalazioni/...) and the queue as JSON
(/api/v1/redazione/segnalazioni).

Every page needs a staff login. Every decision is a form post with a CSRF token that goes through
the state machine (moderation.py) and redirects (POST-redirect-GET) to the review, which says what
was done; a refused one shows the review again with the reason.
"""

from __future__ import annotations

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT

from observatory.accounts.guards import StaffPages, admin_required, current_staff, staff_required
from observatory.catalogue import forms
from observatory.catalogue import services as catalogue
from observatory.catalogue.checks import ValidationFailed
from observatory.catalogue.fields import PUBLIC_FIELDS
from observatory.catalogue.form_view import EditPage, edit_page, form_view, posted_version, save_posted
from observatory.catalogue.records import to_record
from observatory.curation import services as curation
from observatory.curation.revisions import record_rows, value_labels
from observatory.i18n import N_, _
from observatory.mail import outbox
from observatory.submissions import amendments, moderation, notices, queue, services
from observatory.submissions.duplicates import likely_duplicates, pending_duplicates
from observatory.submissions.schemas import QueueItemOut, QueuePageOut
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES
from observatory.web import (
    PAGE_PARAMETER,
    ApiError,
    documented_query,
    done_message,
    error_answers,
    first,
    list_page,
    page_number,
    query_parameter,
    read_form,
    see_other,
    settings_of,
)

#: Confirmations shown after a redirect (``?fatto=...``): a fixed text, never one from the address.
DONE = {
    "approvata": N_("Segnalazione approvata: il processo è pubblicato e si trova già nella ricerca."),
    "modifiche-richieste": N_("Richiesta di modifiche inviata: la segnalazione attende le correzioni."),
    "respinta": N_("Segnalazione respinta."),
    "duplicato": N_("Segnalazione chiusa come duplicato."),
    "nuovo-indirizzo": N_(
        "Nuovo indirizzo privato inviato per e-mail a chi ha inviato la segnalazione: "
        "il precedente non funziona più."
    ),
    "posta-riprovata": N_("L'e-mail sarà inviata di nuovo entro pochi secondi."),
}
QUEUE_STATES = {**SUBMISSION_STATES, "tutte": N_("Tutte")}
PAGE_SIZE = 20
REFUSED = (moderation.TransitionRefused, curation.CurationRefused)


def _queue_filters(request: Request) -> tuple[str, str | None, str | None, bool]:
    """The state (default: waiting), the kind and whether only amended submissions are asked for;
    ApiError 400 for an unknown value."""
    state = request.query_params.get("stato") or "in_attesa"
    kind = request.query_params.get("tipo") or None
    amended = request.query_params.get("modificate") or ""
    if amended not in ("", "1"):
        raise ApiError.bad_parameter(
            "modificate",
            "modificate: 1 per le sole segnalazioni modificate dal segnalante.",
            "valore sconosciuto.",
        )
    if state not in QUEUE_STATES:
        raise ApiError.bad_parameter(
            "stato", f"stato: valori ammessi {', '.join(QUEUE_STATES)}.", "valore sconosciuto."
        )
    if kind is not None and kind not in SUBMISSION_KINDS:
        raise ApiError.bad_parameter(
            "tipo", f"tipo: valori ammessi {', '.join(SUBMISSION_KINDS)}.", "valore sconosciuto."
        )
    return state, None if state == "tutte" else state, kind, amended == "1"


#: The parameters of the queue, as the schema documents them.
QUEUE_PARAMETERS = (
    query_parameter(
        "stato",
        "The state (in_attesa by default, tutte for every one).",
        Schema(type=OpenAPIType.STRING, enum=list(QUEUE_STATES)),
        example="modifiche_richieste",
    ),
    query_parameter(
        "tipo",
        "The kind (every kind by default).",
        Schema(type=OpenAPIType.STRING, enum=list(SUBMISSION_KINDS)),
        example="correzione",
    ),
    query_parameter(
        "modificate",
        "1: only the submissions their submitters amended (every one by default).",
        Schema(type=OpenAPIType.STRING, enum=["1"]),
        example="1",
    ),
    PAGE_PARAMETER,
)


async def _queue_page(request: Request):
    shown_state, state, kind, amended = _queue_filters(request)
    page = await queue.queue(
        state,
        kind,
        page_number(request),
        PAGE_SIZE,
        search_index=request.app.state.search_index,
        amended=amended,
    )
    return shown_state, kind, amended, page


async def _submission_or_404(submission_id: int) -> dict:
    row = await services.find_submission(submission_id)
    if row is None:
        raise NotFoundException(_("Nessuna segnalazione con numero %(number)s.") % {"number": submission_id})
    return row


class ModerationPages(StaffPages):
    """The moderation queue, the review of a submission and the editors' decisions."""

    @get("/", name="moderation_queue")
    async def queue(self, request: Request) -> Template:
        """The moderation queue, oldest first, filtered by state (waiting ones by default) and kind."""
        state, kind, amended, page = await _queue_page(request)
        undelivered_total, undelivered = await outbox.undelivered()
        return list_page(
            "staff/moderation_queue.html",
            request,
            page,
            state=state,
            kind=kind or "",
            states=QUEUE_STATES,
            kinds=SUBMISSION_KINDS,
            amended=amended,
            done=done_message(request, DONE),
            mail_enabled=outbox.mail_enabled(settings_of(request)),
            undelivered=undelivered,
            undelivered_total=undelivered_total,
        )

    async def _review(
        self,
        request: Request,
        submission_id: int,
        refusal: str | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
        chosen: list[str] | None = None,
    ) -> Template:
        row = await _submission_or_404(submission_id)
        record = moderation.proposed_record(row)
        current = process = base = None
        if row["process"]:
            process = await curation.find_process(row["process"])
            if row["kind"] == "correzione" and process and process["publication"] == "published":
                detail = await catalogue.process_detail(row["process"])
                current, base = to_record(detail), await moderation.correction_base(row, detail)
        labels = await value_labels(record, *[r for r in (current, base) if r])
        changes = moderation.correction_changes(record, current, base, labels) if current else []
        for change in changes if chosen is not None else ():  # the editor's ticks, kept on a refusal
            change["checked"] = change["field"] in chosen and not change.get("conflict")
        duplicate_of = await curation.find_process(row["duplicate_of"]) if row["duplicate_of"] else None
        decided_by = await curation.staff_name(row["decided_by"]) if row["decided_by"] else None
        amended = await amendments.amendments(row)
        return Template(
            "staff/submission_review.html",
            context={
                "submission": row,
                "data": await form_view(await forms.record_values(record)),
                "note": row["data"].get("note"),
                "process": process,
                "duplicate_of": duplicate_of,
                "decided_by": decided_by,
                "status": amendments.status_line(row, decided_by, amended),
                "amendments": amended,
                "changes": changes,
                "filled": record_rows(record, labels, names=PUBLIC_FIELDS),
                "duplicates": await likely_duplicates(
                    request.app.state.search_index, record, exclude_process_id=row["process"]
                ),
                "pending_duplicates": (await pending_duplicates([submission_id])).get(submission_id, []),
                "actions": moderation.allowed_actions(row["state"]),
                "refusal": refusal,
                "errors": errors or {},
                "done": done_message(request, DONE),
                "mail_enabled": outbox.mail_enabled(settings_of(request)),
            },
            status_code=status_code,
        )

    @get("/segnalazioni/{submission_id:int}", name="review")
    async def review(self, request: Request, submission_id: FromPath[int]) -> Template:
        """A submission: where it stands, its data, who sent it, what each of its submitter's
        amendments changed, likely duplicates (published processes and other open submissions), for
        a correction the differences from the published process, and the actions its state allows."""
        return await self._review(request, submission_id)

    async def _act(
        self, request: Request, submission_id: int, action, chosen: list[str] | None = None
    ) -> Template | Redirect:
        """Run a moderation action; show the review again with the refusal or the errors (and the
        fields the editor ``chosen`` still ticked)."""
        try:
            decision = await action(await current_staff(request))
        except REFUSED as refused:
            return await self._review(
                request, submission_id, refusal=refused.message, status_code=HTTP_409_CONFLICT, chosen=chosen
            )
        except ValidationFailed as failed:
            errors = forms.field_messages(failed, labelled=True)
            return await self._review(
                request, submission_id, errors=errors, status_code=HTTP_400_BAD_REQUEST, chosen=chosen
            )
        done = decision.state.replace("modifiche_richieste", "modifiche-richieste")
        return see_other(f"/redazione/segnalazioni/{submission_id}", fatto=done)

    @post("/segnalazioni/{submission_id:int}/approva", name="approve")
    async def approve(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Publish the submission; for a correction only the fields ticked in ``campi``."""
        form = await read_form(request)
        names = form.get("campi", []) if first(form, "correzione") == "1" else None
        index, version = request.app.state.search_index, posted_version(form)
        return await self._act(
            request,
            submission_id,
            lambda staff: moderation.approve(
                submission_id,
                staff,
                accepted_fields=names,
                search_index=index,
                version=version,
                settings=settings_of(request),
            ),
            chosen=names,
        )

    @post("/segnalazioni/{submission_id:int}/richiedi-modifiche", name="request_changes")
    async def request_changes(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Send the submission back to its submitter with a message."""
        message = first(await read_form(request), "messaggio")
        return await self._act(
            request,
            submission_id,
            lambda staff: moderation.request_changes(submission_id, staff, message, settings_of(request)),
        )

    @post("/segnalazioni/{submission_id:int}/respingi", name="reject")
    async def reject(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Reject the submission with a reason."""
        reason = first(await read_form(request), "motivo")
        return await self._act(
            request,
            submission_id,
            lambda staff: moderation.reject(submission_id, staff, reason, settings_of(request)),
        )

    @post("/segnalazioni/{submission_id:int}/duplicato", name="mark_duplicate")
    async def duplicate(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Close the submission as a duplicate of an existing process, merging the ticked fields."""
        form = await read_form(request)
        slug = first(form, "processo_altro") or first(form, "processo")
        found = await catalogue.find_process(slug) if slug else None
        if found and found.redirect_to:
            found = await catalogue.find_process(found.redirect_to)
        if found is None or found.process is None:
            message = _("Scegli il processo pubblicato di cui è un duplicato.")
            if slug:
                message = _("Nessun processo pubblicato con indirizzo «%(slug)s».") % {"slug": slug}
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
                settings=settings_of(request),
            ),
        )

    @staticmethod
    def _edit_page(row: dict) -> EditPage:
        intro = _(
            "Correggi i dati prima di pubblicarli: la segnalazione viene approvata con i dati di "
            "questo modulo."
        )
        if row["kind"] == "correzione":
            intro = _(
                "Correggi i dati prima di pubblicarli: la segnalazione viene approvata con i dati di questo "
                "modulo; di una correzione si applicano i campi che differiscono dalla scheda pubblicata."
            )
        return EditPage(
            action=f"/redazione/segnalazioni/{row['id']}/modifica",
            back=f"/redazione/segnalazioni/{row['id']}",
            heading=_("Modifica e approva la segnalazione %(number)s") % {"number": row["id"]},
            intro=intro,
            button=_("Salva e approva"),
            saved_label=N_("Nella segnalazione"),
        )

    @get("/segnalazioni/{submission_id:int}/modifica", name="edit_submission_form")
    async def edit_submission(self, submission_id: FromPath[int]) -> Template:
        """The process form prefilled with the submission, to edit it before approving."""
        row = await _submission_or_404(submission_id)
        if not moderation.may("approva", row["state"]):
            refusal = moderation.TransitionRefused("approva", row["state"]).message
            return await edit_page(self._edit_page(row), None, refusal=refusal, status_code=HTTP_409_CONFLICT)
        return await edit_page(
            self._edit_page(row),
            await forms.record_values(moderation.proposed_record(row)),
            version=row["version"],
        )

    @post("/segnalazioni/{submission_id:int}/modifica", name="edit_and_approve")
    async def edit_and_approve(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """Approve the submission with the data of the edited form."""
        form = await read_form(request)
        row = await _submission_or_404(submission_id)
        staff, index = await current_staff(request), request.app.state.search_index
        version = posted_version(form)
        return await save_posted(
            self._edit_page(row),
            form,
            lambda typed: moderation.approve_edited(
                submission_id,
                typed,
                staff,
                index,
                version,
                keep_submitted=form.get("usa_salvato", []),
                settings=settings_of(request),
            ),
            REFUSED,
            see_other(f"/redazione/segnalazioni/{submission_id}", fatto="approvata"),
            version=version,
        )

    @post("/segnalazioni/{submission_id:int}/nuovo-indirizzo", name="send_new_link")
    async def send_new_link(self, request: Request, submission_id: FromPath[int]) -> Template | Redirect:
        """E-mail the submitter a new private link, which replaces the old one."""
        row = await _submission_or_404(submission_id)
        try:
            await notices.send_new_link(row, await current_staff(request), settings_of(request))
        except notices.MailOff as off:
            refusal = off.message
            return await self._review(request, submission_id, refusal=refusal, status_code=HTTP_409_CONFLICT)
        return see_other(f"/redazione/segnalazioni/{submission_id}", fatto="nuovo-indirizzo")

    @post("/posta/{message_id:int}/riprova", name="retry_mail", guards=[admin_required])
    async def retry_mail(self, request: Request, message_id: FromPath[int]) -> Redirect:
        """Send an e-mail that could not be delivered again (admins)."""
        if await notices.retry_mail(message_id, await current_staff(request)) is None:
            raise NotFoundException(
                _("Nessuna e-mail da inviare con numero %(number)s.") % {"number": message_id}
            )
        return see_other("/redazione", fatto="posta-riprovata")


class ModerationApi(Controller):
    """The editors' JSON API: the moderation queue. Needs a staff login (401 without, 403 for the
    wrong role)."""

    path = "/api/v1/redazione"
    tags = ["Redazione"]
    guards = [staff_required]
    cache_control = CacheControlHeader(no_store=True)

    @get(
        "/segnalazioni",
        summary="La coda di moderazione",
        operation_class=documented_query(*QUEUE_PARAMETERS),
        responses=error_answers(401, 403, 503),
    )
    async def queue(self, request: Request) -> QueuePageOut:
        """Submissions oldest first: ``stato`` (in_attesa by default, or tutte), ``tipo`` (nuovo,
        correzione), ``pagina``. Each with its submitter (private: staff only) and how many published
        processes it likely duplicates."""
        *_, page = await _queue_page(request)
        base = settings_of(request).base_url
        return QueuePageOut(
            items=[
                msgspec.convert(
                    {**item, "review_url": f"{base}/redazione/segnalazioni/{item['id']}"}, QueueItemOut
                )
                for item in page.items
            ],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )
