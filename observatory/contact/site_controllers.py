"""The pages about the site itself: the accessibility statement (/accessibilita, in AgID's model),
the privacy notice (/privacy), and the icon browsers ask for at /favicon.ico.

Both statements are filled in from the settings (who publishes the site, its address, how long
personal data is kept) and from what the tests really check, declared here once.
"""

from __future__ import annotations

import datetime

from litestar import Controller, Request, get
from litestar.datastructures import CacheControlHeader
from litestar.response import File, Template

from observatory.contact import retention, services
from observatory.mail.outbox import mail_enabled
from observatory.settings import PROJECT_DIR
from observatory.web import settings_of

#: When the accessibility statement was written, and last reviewed.
STATEMENT_DATE = datetime.date(2026, 12, 7)
#: The widths (CSS pixels) at which tests/test_accessibility.py runs axe-core on every main page;
#: tests/test_site_pages.py fails when the two disagree.
CHECKED_WIDTHS = (1280, 320)
#: The rule sets of axe-core that test checks.
CHECKED_RULES = ("WCAG 2.0 A", "WCAG 2.0 AA", "WCAG 2.1 A", "WCAG 2.1 AA")
FAVICON = PROJECT_DIR / "static" / "favicon.ico"


def _in_words(numbers: list[int]) -> str:
    """320, 390 e 1280."""
    shown = [str(n) for n in numbers]
    return " e ".join([", ".join(shown[:-1]), shown[-1]]) if len(shown) > 1 else "".join(shown)


class SitePages(Controller):
    """The accessibility statement, the privacy notice and the site's icon."""

    include_in_schema = False

    @get("/accessibilita", name="accessibility")
    async def accessibility(self, request: Request) -> Template:
        """The accessibility statement: conformity, what is not accessible, how it was assessed,
        feedback, the enforcement procedure."""
        settings = settings_of(request)
        context = {
            "publisher": settings.publisher_name,
            "email": settings.publisher_email,
            "site": settings.base_url,
            "date": STATEMENT_DATE,
            "widths": _in_words(sorted(CHECKED_WIDTHS)),
            "rules": CHECKED_RULES,
        }
        return Template("accessibility.html", context=context)

    @get("/privacy", name="privacy")
    async def privacy(self, request: Request) -> Template:
        """The privacy notice of the submission form and of the contact form."""
        settings = settings_of(request)
        context = {
            "controller": settings.publisher_name,
            "email": settings.publisher_email,
            "months": settings.personal_data_months,
            "hash_days": retention.ADDRESS_HASH_DAYS,
            "submissions_per_hour": settings.submissions_per_hour,
            "messages_per_hour": services.LIMITS[0][1],
            "mail_enabled": mail_enabled(settings),
        }
        return Template("privacy.html", context=context)

    @get("/favicon.ico", name="favicon", cache_control=CacheControlHeader(max_age=7 * 24 * 3600))
    async def favicon(self) -> File:
        """The site's icon, where browsers look for it without being told."""
        return File(FAVICON, media_type="image/x-icon", content_disposition_type="inline")
