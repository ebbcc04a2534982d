"""Each staff member's e-mail notifications (/redazione/notifiche): the daily digest of new
submissions, on or off."""

from __future__ import annotations

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from observatory.accounts.guards import StaffPages, current_staff
from observatory.i18n import N_, _
from observatory.mail.outbox import mail_enabled
from observatory.submissions import digest
from observatory.web import done_message, first, read_form, see_other, settings_of

NOTIFICATIONS = "/redazione/notifiche"
DONE = {"salvate": N_("Preferenze salvate.")}
NO_ADDRESS = N_(
    "Il tuo account non ha un indirizzo e-mail: chiedi a un amministratore di aggiungerlo, poi attiva "
    "il riepilogo."
)


class NotificationPages(StaffPages):
    """The e-mail a staff member chooses to receive."""

    async def _page(
        self, request: Request, wanted: bool | None = None, errors: dict | None = None, status_code: int = 200
    ) -> Template:
        staff = await current_staff(request)
        subscribed = await digest.subscribed(staff["id"])
        return Template(
            "staff/notifications.html",
            context={
                "mail_enabled": mail_enabled(settings_of(request)),
                "email": await digest.staff_email(staff["id"]),
                "subscribed": subscribed,
                "wanted": subscribed if wanted is None else wanted,
                "digest_hour": digest.DIGEST_HOUR,
                "errors": errors or {},
                "done": done_message(request, DONE),
            },
            status_code=status_code,
        )

    @get("/notifiche", name="notifications")
    async def notifications(self, request: Request) -> Template:
        """Whether the site sends e-mail, and the staff member's choice of the daily digest."""
        return await self._page(request)

    @post("/notifiche", name="save_notifications")
    async def save_notifications(self, request: Request) -> Template | Redirect:
        """Turn the daily digest on or off; refused, keeping the choice, for an account with no address."""
        wanted = first(await read_form(request), "riepilogo") == "1"
        staff = await current_staff(request)
        if wanted and not await digest.staff_email(staff["id"]):
            errors = {"riepilogo": _(NO_ADDRESS)}
            return await self._page(request, wanted, errors, status_code=HTTP_400_BAD_REQUEST)
        await digest.set_subscription(staff, wanted)
        return see_other(NOTIFICATIONS, fatto="salvate")
