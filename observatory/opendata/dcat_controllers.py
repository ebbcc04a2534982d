"""The DCAT-AP_IT catalogue for harvesters: one graph (dcat.py) in three serialisations."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from observatory.opendata.dcat import (
    CATALOGUE_PATH,
    SERIALISATIONS,
    catalogue_figures,
    catalogue_graph,
    serialised,
)
from observatory.web import settings_of


async def _catalogue(request: Request, extension: str) -> Response[bytes]:
    graph = catalogue_graph(settings_of(request), await catalogue_figures())
    return Response(serialised(graph, extension), media_type=SERIALISATIONS[extension][1])


class DcatCatalogue(Controller):
    """/dati/catalogo.ttl, .rdf and .jsonld: the catalogue of the open data, its datasets and files."""

    include_in_schema = False

    @get(CATALOGUE_PATH, name="dcat_catalogue")
    async def catalogue(self, request: Request) -> Redirect:
        """The name of the catalogue and of its resources: to the serialisation the client accepts
        (Turtle unless it prefers RDF/XML or JSON-LD), or to the open-data page for a browser."""
        by_type = {media_type: extension for extension, (_, media_type) in SERIALISATIONS.items()}
        wanted = request.accept.best_match([*by_type, "text/html"], default="text/turtle")
        target = "/dati" if wanted == "text/html" else f"{CATALOGUE_PATH}.{by_type[wanted]}"
        return Redirect(target, status_code=HTTP_303_SEE_OTHER, headers={"Vary": "Accept"})

    @get("/dati/catalogo.ttl", name="dcat_turtle")
    async def turtle(self, request: Request) -> Response[bytes]:
        """The catalogue in Turtle."""
        return await _catalogue(request, "ttl")

    @get("/dati/catalogo.rdf", name="dcat_rdf_xml")
    async def rdf_xml(self, request: Request) -> Response[bytes]:
        """The catalogue in RDF/XML."""
        return await _catalogue(request, "rdf")

    @get("/dati/catalogo.jsonld", name="dcat_json_ld")
    async def json_ld(self, request: Request) -> Response[bytes]:
        """The catalogue in JSON-LD."""
        return await _catalogue(request, "jsonld")
