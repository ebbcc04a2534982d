"""Writing to the editors: the public contact form (/contatti) and the editors' list of the messages
(/redazione/messaggi), where each is marked as handled."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_429_TOO_MANY_REQUESTS

from observatory.accounts.guards import StaffPages, current_staff
from observatory.catalogue import forms
from observatory.catalogue.checks import ValidationFailed
from observatory.catalogue.form_view import FormView
from observatory.contact import services
from observatory.i18n import N_, _
from observatory.mail.outbox import mail_enabled
from observatory.submissions.services import RateLimited
from observatory.web import (
    MAX_FORM_READ,
    ApiError,
    done_message,
    first,
    list_page,
    page_number,
    read_form,
    see_other,
    settings_of,
)

CONTACT = "/contatti"
MESSAGES = "/redazione/messaggi"
#: A field no person sees or fills in; a post that fills it gets the usual thanks, and nothing is stored.
HONEYPOT = "sito_web"
_AUTOCOMPLETE = {"nome": "name", "email": "email"}
INPUTS = {
    **{
        d.name: forms.Input.of(d, d.name, autocomplete=_AUTOCOMPLETE.get(d.name))
        for d in services.CONTACT_FIELDS
    },
    "privacy": forms.Input.of(
        services.PRIVACY_FIELD, "privacy", summary_label=N_("Informativa sulla privacy")
    ),
}
DONE = {
    "gestito": N_("Messaggio segnato come gestito."),
    "gia-gestito": N_("Il messaggio era già stato segnato come gestito."),
}


def _form_page(
    values: dict[str, list[str]],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    refusal: str | None = None,
    headers: dict[str, str] | None = None,
    sent: bool = False,
) -> Template:
    form = FormView(values=values, errors=errors or {}, vocabularies={}, sections=(), extra=INPUTS)
    context: dict[str, Any] = {"form": form, "refusal": refusal, "sent": sent}
    return Template("contact.html", context=context, status_code=status_code, headers=headers)


class ContactPages(Controller):
    """The form to write to the editors."""

    include_in_schema = False
    request_max_body_size = MAX_FORM_READ
    cache_control = CacheControlHeader(no_store=True)

    @get(CONTACT, name="contact")
    async def contact(self, request: Request) -> Template:
        """The empty form, or (``?inviato=1``) the thanks after sending."""
        return _form_page({}, sent=request.query_params.get("inviato") == "1")

    @post(CONTACT, name="send_contact")
    async def send(self, request: Request) -> Template | Redirect:
        """Store the message and mail it to the editors; a refused one comes back as typed."""
        form = await read_form(request)
        if first(form, HONEYPOT):  # a robot: thanked as anyone, and forgotten
            return see_other(CONTACT, inviato="1")
        typed = {name: form[name] for name in INPUTS if name in form}
        try:
            await services.send_message(
                {name: first(form, name) for name in INPUTS},
                request.client.host if request.client else None,
                settings_of(request),
            )
        except ValidationFailed as failed:
            errors = forms.field_errors(failed, known=INPUTS)
            return _form_page(typed, errors, status_code=HTTP_400_BAD_REQUEST)
        except RateLimited as exc:
            refusal = _(
                "Da questo indirizzo sono arrivati troppi messaggi in poco tempo: questo non è stato "
                "inviato. Quello che hai scritto è rimasto nel modulo. {wait}"
            ).format(wait=exc.message)
            headers = {"Retry-After": str(exc.retry_after)}
            return _form_page(typed, status_code=HTTP_429_TOO_MANY_REQUESTS, refusal=refusal, headers=headers)
        return see_other(CONTACT, inviato="1")


class MessagePages(StaffPages):
    """The messages sent through the contact form, for the editors."""

    @get("/messaggi", name="contact_messages")
    async def messages(self, request: Request) -> Template:
        """The messages waiting (or handled, or all: ``stato``), newest first, a page at a time."""
        state = request.query_params.get("stato") or "da_gestire"
        if state not in services.STATES:
            raise ApiError.bad_parameter(
                "stato",
                _("Stato sconosciuto: scegli tra %(states)s.") % {"states": ", ".join(services.STATES)},
            )
        page = await services.messages(state, page_number(request), settings_of(request).page_size)
        return list_page(
            "staff/messages.html",
            request,
            page,
            state=state,
            states=services.STATES,
            waiting=await services.waiting_count(),
            mail_enabled=mail_enabled(settings_of(request)),
            publisher_email=settings_of(request).publisher_email,
            done=done_message(request, DONE),
        )

    @post("/messaggi/{message_id:int}/gestito", name="handle_contact_message")
    async def handle(self, request: Request, message_id: FromPath[int]) -> Redirect:
        """Mark a message as handled (once: a second click says it already was)."""
        await read_form(request)
        handled = await services.mark_handled(message_id, await current_staff(request))
        if handled is None:
            raise NotFoundException(_("Nessun messaggio ha questo numero."))
        return see_other(MESSAGES, fatto="gestito" if handled else "gia-gestito")
