"""How every page about one process answers when the slug does not name a published process:
an old slug redirects, a withdrawn process is gone (410, with the reason), an unknown one is 404."""

from __future__ import annotations

from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_301_MOVED_PERMANENTLY, HTTP_410_GONE

from observatory.catalogue.services import ProcessLookup
from observatory.i18n import _


def unpublished_answer(
    found: ProcessLookup, path: str = "/processi/{}", status_code: int = HTTP_301_MOVED_PERMANENTLY
):
    """The answer for ``found`` when it is not a published process (None when it is): a redirect to
    ``path`` with the current slug, the 410 page, or NotFoundException."""
    if found.redirect_to:
        return Redirect(path.format(found.redirect_to), status_code=status_code)
    if found.withdrawn:
        return Template("withdrawn.html", context={"process": found.withdrawn}, status_code=HTTP_410_GONE)
    if found.process is None:
        raise NotFoundException(_("Nessun processo con indirizzo «%(slug)s».") % {"slug": found.slug})
    return None
