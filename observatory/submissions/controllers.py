"""Public submissions: the form for a new process or a correction, the private tracking page, the API.

Nothing sent here is public: it waits in the editors' queue. The pages and the API call the same
service functions (services.submit, services.tracked) and differ only in how they answer. The form
posts are small, come with a CSRF token (the API is exempt), and are refused cleanly when too big,
malformed or too frequent.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.openapi.spec import Example
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_201_CREATED,
    HTTP_303_SEE_OTHER,
    HTTP_308_PERMANENT_REDIRECT,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_410_GONE,
    HTTP_429_TOO_MANY_REQUESTS,
)

from observatory.catalogue import forms
from observatory.catalogue import services as catalogue
from observatory.catalogue.answers import unpublished_answer
from observatory.catalogue.checks import FieldError, ValidationFailed
from observatory.catalogue.fields import PUBLIC_FIELDS
from observatory.catalogue.form_view import added_group, form_view, posted_version
from observatory.catalogue.records import to_record
from observatory.i18n import N_, _, ngettext, url
from observatory.mail.outbox import mail_enabled
from observatory.submissions import moderation, services
from observatory.submissions.schemas import (
    DuplicateOut,
    SubmissionCreatedOut,
    SubmissionIn,
    SubmissionStateOut,
)
from observatory.submissions.tables import SUBMISSION_STATES
from observatory.text import years
from observatory.web import (
    MAX_BODY,
    MAX_FORM_READ,
    ApiError,
    bad_request,
    error_answers,
    first,
    json_body_only,
    read_form,
    settings_of,
)

HONEYPOT = "sito_web"
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer"}
#: The inputs of the public pages besides the process's: who sends it, and a correction's note.
_AUTOCOMPLETE = {"nome": "name", "ente": "organization", "email": "email"}
INPUTS = {
    **{
        d.name: forms.Input.of(d, d.name, autocomplete=_AUTOCOMPLETE[d.name])
        for d in services.SUBMITTER_FIELDS
    },
    "privacy": forms.Input.of(
        services.PRIVACY_FIELD, "privacy", summary_label=N_("Informativa sulla privacy")
    ),
    "nota": forms.Input.of(services.NOTE_FIELD, "nota"),
}
#: The form's name of each path the service gives an error on (process paths lose their prefix).
_FORM_NAMES = {path: name for name, path in services.API_PATHS.items()}


def _rate_limited(exc: services.RateLimited) -> dict[str, Any]:
    """What the form page says, and the status and header it answers with, over the rate limit."""
    return {
        "refusal": _(
            "Da questo indirizzo sono arrivate troppe segnalazioni in poco tempo: questa non è "
            "stata inviata. Quello che hai scritto è rimasto nel modulo. {wait}"
        ).format(wait=exc.message),
        "status_code": HTTP_429_TOO_MANY_REQUESTS,
        "headers": {"Retry-After": str(exc.retry_after)},
    }


def _withdrawn(process: dict) -> dict[str, Any]:
    """What the form page says when the process a correction is about was withdrawn meanwhile."""
    reason = f" ({process['withdrawal_reason']})" if process.get("withdrawal_reason") else ""
    return {
        "refusal": _(
            "Il processo «{title}» è stato ritirato dal catalogo{reason}: la correzione non si può più "
            "inviare. Quello che hai scritto è rimasto nel modulo: se descrive un processo che manca nel "
            "catalogo, puoi inviarlo come nuova segnalazione."
        ).format(title=process["title"], reason=reason),
        "status_code": HTTP_410_GONE,
    }


def _form_errors(failed: ValidationFailed) -> dict[str, str]:
    """The service's errors, placed on the inputs of the form."""
    placed = [
        FieldError(_FORM_NAMES.get(e.field, e.field.removeprefix("processo.")), e.message)
        for e in failed.errors
    ]
    return forms.field_errors(ValidationFailed(placed), known=INPUTS)


def _typed_values(form: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the page shows back: the process fields as typed (empty rows dropped) and the submitter's."""
    return forms.typed_values(form) | {name: form[name] for name in INPUTS if name in form}


async def _form_page(
    posted: dict[str, list[str]] | None,
    values: dict[str, list[str]],
    errors: dict[str, str] | None = None,
    process: dict | None = None,
    duplicates: list[dict] | None = None,
    status_code: int = 200,
    refusal: str | None = None,
    headers: dict[str, str] | None = None,
    version: str | None = None,
    kept_note: str | None = None,
    confirmed: bool = False,
    comuni_outside: list[dict] | None = None,
) -> Template:
    """The form for a new process (``process`` None) or a correction, showing ``values``: blank or
    prefilled (``posted`` None), or as sent, with its errors, refusal or warnings."""
    action = url(f"/processi/{process['slug']}/correzione" if process else "/segnala")
    return Template(
        "submission_form.html",
        context={
            "form": await form_view(values, errors, posted, extra=INPUTS, action=action, folding=True),
            "process": process,
            "action": action,
            "posted": posted is not None,
            "duplicates": duplicates or [],
            "comuni_outside": comuni_outside or [],
            "refusal": refusal,
            "kept_note": kept_note,
            "version": version if version is not None else (process or {}).get("version"),
            "confirmed": confirmed,
        },
        status_code=status_code,
        headers=headers,
    )


async def _submit(
    request: Request, form: dict[str, list[str]], found: catalogue.ProcessLookup | None
) -> Template | Redirect:
    """The form flow: add a row, or check; warn once about likely duplicates and comuni outside the
    territories; store; tracking page."""
    if first(form, HONEYPOT):
        raise bad_request(_("La segnalazione non può essere accettata. Se pensi che sia un errore, riprova."))
    process = found.process if found else None
    version = first(form, "versione") if process else None
    if added_group(form):
        return await _form_page(form, _typed_values(form), process=process, version=version)
    try:
        submitted = await services.submit(
            forms.form_to_record(form),
            {name: first(form, name) for name in ("nome", "ente", "email", "privacy")},
            found,
            first(form, "nota") or None,
            request.client.host if request.client else None,
            "web",
            settings_of(request),
            request.app.state.search_index,
            confirmed=first(form, "conferma") == "1",
            base_version=posted_version(form) if process else None,
        )
    except ValidationFailed as failed:
        errors = _form_errors(failed)
        return await _form_page(
            form, _typed_values(form), errors, process, status_code=HTTP_400_BAD_REQUEST, version=version
        )
    except services.RateLimited as exc:  # kept: the typing, and "send anyway" if it was chosen
        confirmed = first(form, "conferma") == "1"
        return await _form_page(
            form,
            _typed_values(form),
            process=process,
            version=version,
            confirmed=confirmed,
            **_rate_limited(exc),
        )
    if submitted.token is None:
        return await _form_page(
            form,
            _typed_values(form),
            process=process,
            version=version,
            duplicates=submitted.duplicates,
            comuni_outside=submitted.comuni_outside,
        )
    return Redirect(f"/segnala/{submitted.token}?inviata=1", status_code=HTTP_303_SEE_OTHER)


def _unpublished_answer(found: catalogue.ProcessLookup) -> Redirect | Template | None:
    """The answer when ``found`` is not a published process to correct: an old slug redirects to
    the current one's correction form, a withdrawn process is gone (410), an unknown one is 404."""
    return unpublished_answer(found, "/processi/{}/correzione", HTTP_308_PERMANENT_REDIRECT)


async def _tracking_page(
    request: Request,
    token: str,
    posted: dict[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    tracked = await services.tracked(token)
    if tracked is None:
        raise NotFoundException(_("Nessuna segnalazione corrisponde a questo indirizzo."))
    submission, process = tracked["submission"], tracked["process"]
    saved = await forms.record_values(submission["data"]["process"])
    saved["nota"] = [submission["data"].get("note") or ""]
    shown = _typed_values(posted) if posted is not None else saved
    amendable = moderation.may("modifica", submission["state"])
    resend_to = f"/segnala/{token}"  # where the form goes: here, or a new submission when decided
    if not amendable:
        correcting = submission["kind"] == "correzione" and process
        resend_to = f"/processi/{process['slug']}/correzione" if correcting else "/segnala"
    resend_to = url(resend_to)
    return Template(
        "submission_tracking.html",
        context={
            "submission": submission,
            "saved": await form_view(saved, extra=INPUTS),
            "form": await form_view(shown, errors, posted, extra=INPUTS, action=resend_to, folding=True),
            "amendable": amendable,
            "kept": posted is not None and not amendable,
            "resend_to": resend_to,
            "private_url": f"{settings_of(request).base_url}/segnala/{token}",
            "token": token,
            "process": process,
            "notice": notice,
            "mail_enabled": mail_enabled(settings_of(request)),
        },
        status_code=status_code,
    )


class SubmissionPages(Controller):
    """The form for a new process, corrections of published ones, and the private tracking page."""

    include_in_schema = False
    request_max_body_size = MAX_FORM_READ
    cache_control = CacheControlHeader(no_store=True)
    response_headers = PRIVATE_HEADERS

    @get("/segnala", name="submission_form")
    async def new_form(self) -> Template:
        """The empty form for a new process."""
        return await _form_page(None, {})

    @post("/segnala", name="submit")
    async def submit_new(self, request: Request) -> Template | Redirect:
        """Check a new process; show likely duplicates once; store it and go to its tracking page."""
        return await _submit(request, await read_form(request), None)

    @get("/processi/{slug:str}/correzione", name="correction_form")
    async def correction_form(self, slug: FromPath[str]) -> Template | Redirect:
        """The form prefilled with a published process, to propose a correction."""
        found = await catalogue.find_process(slug)
        answer = _unpublished_answer(found)
        if answer is not None:
            return answer
        values = await forms.record_values(to_record(found.process, PUBLIC_FIELDS))
        return await _form_page(None, values, process=found.process)

    @post("/processi/{slug:str}/correzione", name="submit_correction")
    async def submit_correction(self, request: Request, slug: FromPath[str]) -> Template | Redirect:
        """Store a correction of a published process, tied to it."""
        form = await read_form(request)
        found = await catalogue.find_process(slug)
        if found.withdrawn:  # the typing stays, to send as a new process
            kept_note = first(form, "nota") or None
            return await _form_page(
                form, _typed_values(form), kept_note=kept_note, **_withdrawn(found.withdrawn)
            )
        answer = _unpublished_answer(found)
        if answer is not None:
            return answer
        return await _submit(request, form, found)

    @get("/segnala/{token:str}", name="tracking")
    async def tracking(self, request: Request, token: FromPath[str]) -> Template:
        """The private page of a submission: state, editors' message, data, and the form to amend it."""
        notice = next((k for k in ("inviata", "modificata") if request.query_params.get(k)), None)
        return await _tracking_page(request, token, notice=notice)

    @post("/segnala/{token:str}", name="amend")
    async def amend(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Replace the data of a submission that is waiting or has changes requested."""
        form = await read_form(request)
        if first(form, HONEYPOT):
            raise bad_request(_("La modifica non può essere accettata. Se pensi che sia un errore, riprova."))
        submission = await services.find_by_token(token)
        if submission is None:
            raise NotFoundException(_("Nessuna segnalazione corrisponde a questo indirizzo."))
        refused = {"notice": "non-modificabile", "status_code": HTTP_409_CONFLICT}
        if not moderation.may("modifica", submission["state"]):
            return await _tracking_page(request, token, form, **refused)
        if added_group(form):
            return await _tracking_page(request, token, form)
        try:
            await moderation.amend(
                submission, forms.form_to_record(form), first(form, "nota") or None, posted_version(form)
            )
        except ValidationFailed as failed:
            errors = forms.field_errors(failed, known=INPUTS)
            return await _tracking_page(request, token, form, errors, status_code=HTTP_400_BAD_REQUEST)
        except moderation.TransitionRefused:  # an editor decided in the meantime
            return await _tracking_page(request, token, form, **refused)
        except moderation.SubmissionChanged:  # amended from another page meanwhile
            return await _tracking_page(
                request, token, form, notice="cambiata", status_code=HTTP_409_CONFLICT
            )
        return Redirect(f"/segnala/{token}?modificata=1", status_code=HTTP_303_SEE_OTHER)


# --- API ---------------------------------------------------------------------------------------------


def _duplicate_out(item: dict, base_url: str) -> DuplicateOut:
    return DuplicateOut(
        slug=item["slug"],
        titolo=item["title"],
        anni=years(item),
        titolari=[h["name"] for h in item["decision_holders"]],
        territori=[t["name"] for t in item["territories"]],
        motivi=item["reasons"],
        url=f"{base_url}/processi/{item['slug']}",
    )


async def _corrected(slug: str) -> catalogue.ProcessLookup:
    """What a correction sent through the API is about, following an old slug."""
    found = await catalogue.find_process(slug)
    return await catalogue.find_process(found.redirect_to) if found.redirect_to else found


#: A submission the API accepts, as the schema shows it.
SUBMISSION_EXAMPLE = Example(
    summary="Un nuovo processo",
    value={
        "segnalante": {"nome": "Maria Rossi", "ente": "Comune di Chieri", "email": "maria.rossi@example.org"},
        "privacy_accettata": True,
        "processo": {
            "title": "Orti condivisi di Borgoquercia",
            "summary": "Il quartiere progetta e cura insieme gli orti del parco.",
            "territories": ["C001078"],
            "start_year": 2024,
        },
    },
)


class SubmissionApi(Controller):
    """Submissions as JSON, for bodies that send from their own systems. Same checks as the form."""

    path = "/api/v1/segnalazioni"
    tags = ["Segnalazioni"]
    request_max_body_size = MAX_BODY
    cache_control = CacheControlHeader(no_store=True)

    @post(
        "/",
        summary="Invia una segnalazione",
        description="Un nuovo processo, o con `correzione_di` la correzione di uno pubblicato: aspetta la "
        "redazione. I controlli sono quelli del modulo: un collegamento senza schema (`www.comune.it`) "
        "riceve `https://`, un importo si scrive `1234567.89` o `1.234.567,89`.",
        status_code=HTTP_201_CREATED,
        responses=error_answers(413, 415, 422, 429, 503),
        before_request=json_body_only,
    )
    async def submit(
        self,
        request: Request,
        data: Annotated[
            SubmissionIn, Body(media_type=RequestEncodingType.JSON, examples=[SUBMISSION_EXAMPLE])
        ],
    ) -> Response[SubmissionCreatedOut]:
        """Propose a new process, or with ``correzione_di`` (a slug) a correction of a published one.
        The submission waits for the editors; the answer carries the private ``token`` that
        ``GET /api/v1/segnalazioni/{token}`` reads. The checks are the form's: a link given
        without its scheme ("www.comune.it") gains https://, amounts may be "1234567.89" or
        "1.234.567,89". Field errors answer 422, too many submissions from one address 429 (with
        Retry-After), a body over 256 KB 413."""
        settings = settings_of(request)
        submitter: dict[str, Any] = {
            **msgspec.to_builtins(data.segnalante or {}),
            "privacy": data.privacy_accettata,
        }
        try:
            submitted = await services.submit(
                data.processo,
                submitter,
                await _corrected(data.correzione_di) if data.correzione_di is not None else None,
                data.nota,
                request.client.host if request.client else None,
                "api",
                settings,
                request.app.state.search_index,
            )
        except ValidationFailed as failed:
            count = len(failed.errors)
            message = ngettext(
                "La segnalazione non è valida: {count} problema da correggere.",
                "La segnalazione non è valida: {count} problemi da correggere.",
                count,
            )
            raise ApiError.for_fields(failed.errors, message.format(count=count)) from None
        except services.RateLimited as exc:
            raise ApiError(
                HTTP_429_TOO_MANY_REQUESTS,
                _("Troppe segnalazioni da questo indirizzo: questa non è stata ricevuta. {wait}").format(
                    wait=exc.message
                ),
                headers={"Retry-After": str(exc.retry_after)},
                retry_after=exc.retry_after,
            ) from None
        created = SubmissionCreatedOut(
            stato="in_attesa",
            stato_etichetta=SUBMISSION_STATES["in_attesa"],
            token=submitted.token,
            indirizzo_privato=f"{settings.base_url}/segnala/{submitted.token}",
            duplicati_probabili=[_duplicate_out(item, settings.base_url) for item in submitted.duplicates],
        )
        return Response(created, status_code=HTTP_201_CREATED)

    @get("/{token:str}", summary="Lo stato di una segnalazione", responses=error_answers(404))
    async def state(self, request: Request, token: FromPath[str]) -> SubmissionStateOut:
        """The state of a submission, the editors' message and the data sent, for the holder of its token."""
        tracked = await services.tracked(token)
        if tracked is None:
            raise ApiError(HTTP_404_NOT_FOUND, _("Nessuna segnalazione corrisponde a questo token."))
        submission, process = tracked["submission"], tracked["process"]
        base_url = settings_of(request).base_url
        return SubmissionStateOut(
            stato=submission["state"],
            stato_etichetta=submission["state_label"],
            tipo=submission["kind"],
            messaggio_redazione=submission["editor_message"],
            processo=submission["data"]["process"],
            nota=submission["data"].get("note"),
            scheda=f"{base_url}/processi/{process['slug']}" if process else None,
            creata=submission["created_at"],
            aggiornata=submission["updated_at"],
        )
