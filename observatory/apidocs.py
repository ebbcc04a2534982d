"""The API documentation at /schema, served entirely by this site.

Swagger UI (static/vendor/swagger-ui/, copied from npm by scripts/vendor_swagger_ui.py) draws the
OpenAPI document /schema/openapi.json. Litestar's own Swagger page loads it from a CDN, with an
inline script and style sheet that this site's Content-Security-Policy refuses; this page is a
template of the site instead: its files from /static, the viewer started by static/js/api_docs.js,
and, for a reader without JavaScript, every operation listed on the server.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin, SwaggerRenderPlugin

VENDOR = "/static/vendor/swagger-ui"
#: The HTTP methods an OpenAPI path item may hold, in the order the page lists them.
METHODS = ("get", "post", "put", "patch", "delete")


class ApiDocumentation(SwaggerRenderPlugin):
    """Swagger UI at the root of /schema, from this site's files (``js_url``, ``css_url``), in a
    page of the site (templates/api_docs.html): no CDN, no font or icon from elsewhere."""

    def __init__(self) -> None:
        super().__init__(
            js_url=f"{VENDOR}/swagger-ui-bundle.js",
            css_url=f"{VENDOR}/swagger-ui.css",
            standalone_preset_js_url="",
            path="/",
            favicon="",
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        template = request.app.template_engine.get_template("api_docs.html")
        context = {
            "request": request,
            "viewer": {"js": self.js_url, "css": self.css_url},
            "document": self.get_openapi_json_route(request),
            "info": openapi_schema["info"],
            "operations": operations(openapi_schema),
        }
        return template.render(**context).encode()


def operations(openapi_schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the document, path by path: method, path, summary, description and the
    names of its query parameters."""
    found = []
    for path, item in openapi_schema["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                found.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": operation.get("summary", ""),
                        "description": operation.get("description", ""),
                        "query": [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"],
                    }
                )
    return found


def render_plugins() -> list[OpenAPIRenderPlugin]:
    """The pages under /schema: the documentation, and the OpenAPI document in JSON."""
    return [ApiDocumentation(), JsonRenderPlugin(favicon="")]
