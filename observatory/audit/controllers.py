"""The audit log pages (admins only): the log filtered by dates, person, action and process, and the
same entries as CSV."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Stream, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST

from observatory.accounts.guards import StaffPages, admin_required
from observatory.accounts.services import staff_members
from observatory.audit import entries, services
from observatory.audit.names import action_choices
from observatory.web import list_page, page_number, settings_of

PAGE_SIZE = 50
#: The query parameters of the filters.
FILTERS = ("dal", "al", "autore", "azione", "processo")


def _typed(request: Request) -> dict[str, str]:
    return {name: (request.query_params.get(name) or "").strip() for name in FILTERS}


def _csv_link(typed: dict[str, str]) -> str:
    """The CSV export of the same filters."""
    query = urlencode([(name, value) for name, value in typed.items() if value])
    return "/redazione/registro.csv" + (f"?{query}" if query else "")


class AuditPages(StaffPages):
    """The audit log under /redazione/registro."""

    guards = [admin_required]

    async def _filters(self, request: Request) -> tuple[services.AuditFilters | None, dict]:
        """The filters asked for, or None; and what the page needs besides the entries (with the
        errors, by parameter, when a filter is wrong)."""
        members = await staff_members()
        actions = await services.known_actions()
        typed = _typed(request)
        context = {
            "typed": typed,
            "members": members,
            "actions": action_choices(actions),
            "command_line": services.COMMAND_LINE_ACTOR,
            "csv_link": _csv_link(typed),
            "errors": {},
        }
        try:
            filters = services.read_filters(typed, {m["id"] for m in members}, set(actions))
        except services.FiltersRefused as refused:
            return None, context | {"errors": refused.errors}
        shown_days = {  # as a date field shows them, whichever way they were typed
            name: day.isoformat() for name, day in (("dal", filters.since), ("al", filters.until)) if day
        }
        return filters, context | {"filtered": bool(filters), "typed": typed | shown_days}

    @staticmethod
    def _refused(context: dict) -> Template:
        return Template(
            "staff/audit_log.html", context=context | {"page": None}, status_code=HTTP_400_BAD_REQUEST
        )

    @get("/registro", name="audit_log")
    async def audit_log(self, request: Request) -> Template:
        """The audit log, newest first: who did what, when, on which object, with the fields that
        changed; filtered by dates, person, action and process."""
        filters, context = await self._filters(request)
        if filters is None:
            return self._refused(context)
        page = await services.list_audit(filters, page_number(request), PAGE_SIZE)
        page.items = await entries.readable(page.items)
        return list_page("staff/audit_log.html", request, page, **context)

    @get("/registro.csv", name="audit_csv")
    async def audit_csv(self, request: Request) -> Stream | Template:
        """Every entry the filters find, as CSV (UTF-8 with a BOM, Italian headers, one row each)."""
        filters, context = await self._filters(request)
        if filters is None:
            return self._refused(context)
        day = datetime.date.today().isoformat()
        return Stream(
            entries.csv_text(filters, settings_of(request).base_url),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="registro-attivita-{day}.csv"'},
        )
