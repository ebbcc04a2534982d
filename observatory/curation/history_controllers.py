"""The public page of a process's history (/processi/{slug}/storia): its published versions, with
dates and what changed in its public fields."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath
from litestar.response import Redirect, Template

from observatory.catalogue import services
from observatory.catalogue.answers import unpublished_answer
from observatory.curation.history import public_history


class ProcessHistoryPages(Controller):
    """The public history of each published process."""

    include_in_schema = False

    @get("/processi/{slug:str}/storia", name="process_history")
    async def history(self, slug: FromPath[str]) -> Template | Redirect:
        """The published versions of a process, newest first, each with what changed in its public
        fields. An old slug redirects, a withdrawn process answers 410."""
        found = await services.find_process(slug)
        if answer := unpublished_answer(found, "/processi/{}/storia"):
            return answer
        versions = await public_history(found.process["id"])
        return Template("process_history.html", context={"process": found.process, "versions": versions})
