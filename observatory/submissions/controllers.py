"""Public submissions: the form for a new process or a correction, the private tracking page, the API.

Nothing sent here is public: it waits in the editors' queue. The form posts are small, come with a
CSRF token (the API is exempt), and are refused cleanly when too big, malformed or too frequent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from litestar.response import Redirect, Template
from litestar.status_codes import (
    HTTP_201_CREATED,
    HTTP_303_SEE_OTHER,
    HTTP_308_PERMANENT_REDIRECT,
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_410_GONE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
)

from observatory.catalogue import services as catalogue
from observatory.catalogue.editing import ValidationFailed
from observatory.catalogue.tables import Process
from observatory.catalogue.transfer import process_record
from observatory.submissions import forms, services
from observatory.submissions.schemas import (
    DuplicateOut,
    SubmissionCreatedOut,
    SubmissionIn,
    SubmissionStateOut,
)
from observatory.submissions.tables import SUBMISSION_KINDS, SUBMISSION_STATES
from observatory.text import years
from observatory.web import MAX_BODY, ApiError, bad_request, error_page, first, read_form

HONEYPOT = "sito_web"
PRIVATE_HEADERS = {"Referrer-Policy": "no-referrer"}
_SUBMITTER_FIELDS = ("nome", "ente", "email", "privacy", "nota")


def _rate_limited_page(exc: services.RateLimited) -> Template:
    minutes = max(1, -(-exc.retry_after // 60))
    return error_page(
        HTTP_429_TOO_MANY_REQUESTS,
        f"Da questo indirizzo sono arrivate troppe segnalazioni in poco tempo. Riprova tra {minutes} minuti.",
        title="Troppe segnalazioni",
        headers={"Retry-After": str(exc.retry_after)},
    )


async def _view(
    values: dict[str, list[str]], errors: dict[str, str] | None, empty_rows: int
) -> forms.FormView:
    return forms.form_view(values, errors, await catalogue.vocabularies(), empty_rows)


async def prefilled_values(detail: dict) -> dict[str, list[str]]:
    """Form values showing a published process (``catalogue.services.process_detail``)."""
    record = services.public_record(process_record(detail))
    return forms.record_to_form(record, await services.territory_labels(record["territories"]))


@dataclass
class _Checked:
    """A posted form, checked: the canonical record, the submitter, the note, errors by form field."""

    record: dict
    submitter: dict | None = None
    note: str | None = None
    errors: dict[str, str] = field(default_factory=dict)


async def _check(form: dict[str, list[str]], with_submitter: bool) -> _Checked:
    checked = _Checked(record=forms.form_to_record(form))
    if with_submitter:
        try:
            checked.submitter = services.validate_submitter(
                {name: first(form, name) for name in ("nome", "ente", "email", "privacy")}
            )
        except ValidationFailed as failed:
            checked.errors.update(forms.field_errors(failed))
    try:
        checked.note = services.check_note(first(form, "nota") or None)
    except ValidationFailed as failed:
        checked.errors.update(forms.field_errors(failed))
    try:
        checked.record = await services.check_record(checked.record)
    except ValidationFailed as failed:
        checked.errors.update(forms.field_errors(failed))
    return checked


def _typed_values(form: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the page shows back: the process fields as typed (empty rows dropped) and the submitter's."""
    values = forms.record_to_form(forms.form_to_record(form))
    values.update({name: form[name] for name in _SUBMITTER_FIELDS if name in form})
    return values


async def _form_page(
    form: dict[str, list[str]] | None,
    values: dict[str, list[str]],
    errors: dict[str, str] | None = None,
    process: dict | None = None,
    duplicates: list[dict] | None = None,
    status_code: int = 200,
) -> Template:
    return Template(
        "segnala.html",
        context={
            "form": await _view(values, errors, forms.empty_rows_asked(form or {})),
            "process": process,
            "action": f"/processi/{process['slug']}/correzione" if process else "/segnala",
            "duplicates": duplicates or [],
        },
        status_code=status_code,
    )


async def _submit(request: Request, form: dict[str, list[str]], process: dict | None) -> Template | Redirect:
    """The form flow: add rows, or check; warn once about likely duplicates; store; tracking page."""
    if first(form, HONEYPOT):
        raise bad_request("La segnalazione non può essere accettata. Se pensi che sia un errore, riprova.")
    if first(form, "azione") == "aggiungi":
        return await _form_page(form, _typed_values(form), process=process)
    checked = await _check(form, with_submitter=True)
    if checked.errors:
        return await _form_page(
            form, _typed_values(form), checked.errors, process, status_code=HTTP_400_BAD_REQUEST
        )
    if process is None and first(form, "conferma") != "1":
        duplicates = await services.likely_duplicates(request.app.state.search_index, checked.record)
        if duplicates:
            return await _form_page(form, _typed_values(form), duplicates=duplicates)
    try:
        _, token = await services.create_submission(
            checked.record,
            checked.submitter,
            "correzione" if process else "nuovo",
            process["id"] if process else None,
            request.client.host if request.client else None,
            "web",
            request.app.state.settings,
            note=checked.note if process else None,
        )
    except services.RateLimited as exc:
        return _rate_limited_page(exc)
    return Redirect(f"/segnala/{token}?inviata=1", status_code=HTTP_303_SEE_OTHER)


async def _published(slug: str) -> dict | Redirect | Template:
    """The published process a correction is about, or the answer for an old, withdrawn or unknown slug."""
    found = await catalogue.find_process(slug)
    if found.redirect_to:
        return Redirect(f"/processi/{found.redirect_to}/correzione", status_code=HTTP_308_PERMANENT_REDIRECT)
    if found.withdrawn:
        return Template("withdrawn.html", context={"process": found.withdrawn}, status_code=HTTP_410_GONE)
    if found.process is None:
        raise NotFoundException(f"Nessun processo con indirizzo «{slug}».")
    return found.process


async def _tracking_page(
    request: Request,
    submission: dict,
    token: str,
    form: dict[str, list[str]] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Template:
    record = submission["data"]["process"]
    saved = forms.record_to_form(record, await services.territory_labels(record.get("territories") or []))
    saved["nota"] = [submission["data"].get("note") or ""]
    process = None
    if submission["process"]:
        process = (
            await Process.select(Process.slug, Process.title)
            .where(Process.id == submission["process"], catalogue.published())
            .first()
        )
    return Template(
        "segnalazione.html",
        context={
            "submission": submission,
            "state_label": SUBMISSION_STATES[submission["state"]],
            "kind_label": SUBMISSION_KINDS[submission["kind"]],
            "saved": await _view(saved, None, 0),
            "form": await _view(
                _typed_values(form) if form is not None else saved, errors, forms.empty_rows_asked(form or {})
            ),
            "amendable": submission["state"] in services.AMENDABLE_STATES,
            "private_url": f"{request.app.state.settings.base_url}/segnala/{token}",
            "token": token,
            "process": process,
            "notice": notice,
        },
        status_code=status_code,
    )


class SubmissionPages(Controller):
    """The form for a new process, corrections of published ones, and the private tracking page."""

    include_in_schema = False
    request_max_body_size = MAX_BODY
    cache_control = CacheControlHeader(no_store=True)
    response_headers = PRIVATE_HEADERS

    @get("/segnala", name="submit_form")
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
        process = await _published(slug)
        if not isinstance(process, dict):
            return process
        return await _form_page(None, await prefilled_values(process), process=process)

    @post("/processi/{slug:str}/correzione", name="correct")
    async def submit_correction(self, request: Request, slug: FromPath[str]) -> Template | Redirect:
        """Store a correction of a published process, tied to it."""
        form = await read_form(request)
        process = await _published(slug)
        if not isinstance(process, dict):
            return process
        return await _submit(request, form, process)

    @get("/segnala/{token:str}", name="tracking")
    async def tracking(self, request: Request, token: FromPath[str]) -> Template:
        """The private page of a submission: state, editors' message, data, and the form to amend it."""
        submission = await services.find_by_token(token)
        if submission is None:
            raise NotFoundException("Nessuna segnalazione corrisponde a questo indirizzo.")
        notice = next((k for k in ("inviata", "modificata") if request.query_params.get(k)), None)
        return await _tracking_page(request, submission, token, notice=notice)

    @post("/segnala/{token:str}", name="amend")
    async def amend(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        """Replace the data of a submission that is waiting or has changes requested."""
        form = await read_form(request)
        if first(form, HONEYPOT):
            raise bad_request("La modifica non può essere accettata. Se pensi che sia un errore, riprova.")
        submission = await services.find_by_token(token)
        if submission is None:
            raise NotFoundException("Nessuna segnalazione corrisponde a questo indirizzo.")
        refused = {"notice": "non-modificabile", "status_code": HTTP_409_CONFLICT}
        if submission["state"] not in services.AMENDABLE_STATES:
            return await _tracking_page(request, submission, token, **refused)
        if first(form, "azione") == "aggiungi":
            return await _tracking_page(request, submission, token, form)
        checked = await _check(form, with_submitter=False)
        if checked.errors:
            return await _tracking_page(
                request, submission, token, form, checked.errors, status_code=HTTP_400_BAD_REQUEST
            )
        note = checked.note if submission["kind"] == "correzione" else None
        try:
            await services.amend_submission(token, checked.record, note)
        except services.NotAmendable:  # an editor decided in the meantime
            return await _tracking_page(request, await services.find_by_token(token), token, **refused)
        return Redirect(f"/segnala/{token}?modificata=1", status_code=HTTP_303_SEE_OTHER)


# --- API ---------------------------------------------------------------------------------------------


def _api_fields(failed: ValidationFailed, prefix: str = "") -> list[dict]:
    return [{"field": prefix + e.field, "message": e.message} for e in failed.errors]


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


class SubmissionApi(Controller):
    """Submissions as JSON, for bodies that send from their own systems. Same checks as the form."""

    path = "/api/v1/segnalazioni"
    tags = ["Segnalazioni"]
    request_max_body_size = MAX_BODY
    cache_control = CacheControlHeader(no_store=True)

    @post("/", summary="Invia una segnalazione", status_code=HTTP_201_CREATED, raises=[ApiError])
    async def submit(self, request: Request, data: JSONBody[SubmissionIn]) -> Response[SubmissionCreatedOut]:
        """Propose a new process, or with ``correzione_di`` (a slug) a correction of a published one.
        The submission waits for the editors; the answer carries the private ``token`` that
        ``GET /api/v1/segnalazioni/{token}`` reads. Field errors answer 422, too many submissions
        from one address 429 (with Retry-After), a body over 256 KB 413."""
        settings = request.app.state.settings
        fields: list[dict] = []
        submitter = process = note = None
        try:
            submitter = services.validate_submitter(
                {**msgspec.to_builtins(data.segnalante or {}), "privacy": data.privacy_accettata}
            )
        except ValidationFailed as failed:
            fields += [
                {
                    "field": "privacy_accettata" if e.field == "privacy" else f"segnalante.{e.field}",
                    "message": e.message,
                }
                for e in failed.errors
            ]
        if data.correzione_di is not None:
            process = await self._corrected(data.correzione_di, fields)
            try:
                note = services.check_note(data.nota)
            except ValidationFailed as failed:
                fields += _api_fields(failed)
        if data.processo is None:
            fields.append({"field": "processo", "message": "campo obbligatorio."})
        else:
            try:
                record = await services.check_record(data.processo)
            except ValidationFailed as failed:
                fields += _api_fields(failed, "processo.")
        if fields:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                f"La segnalazione non è valida: {len(fields)} problemi da correggere.",
                fields,
            )
        duplicates = (
            [] if process else await services.likely_duplicates(request.app.state.search_index, record)
        )
        try:
            _, token = await services.create_submission(
                record,
                submitter,
                "correzione" if process else "nuovo",
                process["id"] if process else None,
                request.client.host if request.client else None,
                "api",
                settings,
                note=note,
            )
        except services.RateLimited as exc:
            raise ApiError(
                HTTP_429_TOO_MANY_REQUESTS,
                f"Troppe segnalazioni da questo indirizzo: riprova tra {exc.retry_after} secondi.",
                headers={"Retry-After": str(exc.retry_after)},
            ) from None
        created = SubmissionCreatedOut(
            stato="in_attesa",
            stato_etichetta=SUBMISSION_STATES["in_attesa"],
            token=token,
            indirizzo_privato=f"{settings.base_url}/segnala/{token}",
            duplicati_probabili=[_duplicate_out(item, settings.base_url) for item in duplicates],
        )
        return Response(created, status_code=HTTP_201_CREATED)

    async def _corrected(self, slug: str, fields: list[dict]) -> dict | None:
        found = await catalogue.find_process(slug)
        if found.redirect_to:
            found = await catalogue.find_process(found.redirect_to)
        if found.withdrawn:
            fields.append({"field": "correzione_di", "message": "il processo è stato ritirato dal catalogo."})
        elif found.process is None:
            fields.append(
                {"field": "correzione_di", "message": f"nessun processo pubblicato con slug «{slug}»."}
            )
        return found.process

    @get("/{token:str}", summary="Lo stato di una segnalazione", raises=[ApiError])
    async def state(self, request: Request, token: FromPath[str]) -> SubmissionStateOut:
        """The state of a submission, the editors' message and the data sent, for the holder of its token."""
        submission = await services.find_by_token(token)
        if submission is None:
            raise ApiError(HTTP_404_NOT_FOUND, "Nessuna segnalazione corrisponde a questo token.")
        slug = None
        if submission["process"]:
            slug = (
                await Process.select(Process.slug)
                .where(Process.id == submission["process"], catalogue.published())
                .output(as_list=True)
            )
        base_url = request.app.state.settings.base_url
        return SubmissionStateOut(
            stato=submission["state"],
            stato_etichetta=SUBMISSION_STATES[submission["state"]],
            tipo=submission["kind"],
            messaggio_redazione=submission["editor_message"],
            processo=submission["data"]["process"],
            nota=submission["data"].get("note"),
            scheda=f"{base_url}/processi/{slug[0]}" if slug else None,
            creata=submission["created_at"],
            aggiornata=submission["updated_at"],
        )
