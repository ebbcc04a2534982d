"""The API documentation tells the truth and is served by this site alone.

/schema loads its viewer (Swagger UI, vendored in static/vendor/swagger-ui/) from this site and
nothing from anywhere else; every query parameter an API route reads is documented with its type
and an example the API accepts; the error shape documented for a status is the one the API answers
with. (tests/test_accessibility.py loads /schema in Chromium with every outside address refused.)
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

import jsonschema
import pytest
from helpers import soup

from observatory.settings import PROJECT_DIR

pytestmark = pytest.mark.anyio

#: Attributes through which a page makes the browser fetch something.
LOADING = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src", "object": "data"}
#: Dict and multidict methods that read a value by name.
READERS = {"get", "getall", "getlist", "getone"}


def _api_operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, operation)
        for path, item in schema["paths"].items()
        if path.startswith("/api/")
        for method, operation in item.items()
    ]


# --- the page loads nothing from elsewhere ----------------------------------------------------------


async def test_the_api_documentation_loads_its_viewer_from_this_site_and_nothing_from_elsewhere(reader):
    response = await reader.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page = soup(response)
    loaded = [
        tag[attribute]
        for name, attribute in LOADING.items()
        for tag in page.find_all(name, attrs={attribute: True})
    ]
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in loaded
    assert "/static/vendor/swagger-ui/swagger-ui.css" in loaded
    site = reader.app.state.settings.base_url
    for address in loaded:
        path = address.removeprefix(site)  # the page's canonical and alternate addresses are absolute
        assert path.startswith("/") and not path.startswith("//"), address
        assert (await reader.get(path)).status_code == 200, address
    assert all(script.get("src") for script in page.find_all("script"))  # no inline script: CSP refuses it
    assert page.find_all("style") == [] and page.select("[style]") == []
    # an outside address may only be a link a reader follows, never something the page fetches
    outside = [a for a in re.findall(r"(?:https?:)?//[^\s\"'<>)]+", response.text) if not a.startswith(site)]
    followed = {a["href"] for a in page.find_all("a", href=True)}
    assert [address for address in outside if address not in followed] == []
    assert not re.search(r"cdn\.|unpkg|jsdelivr|googleapis|gstatic", response.text)
    licence = (PROJECT_DIR / "static" / "vendor" / "swagger-ui" / "LICENSE").read_text()
    assert "Apache License" in licence


async def test_the_api_documentation_lists_every_operation_without_javascript(reader):
    page = soup(await reader.get("/schema"))
    listed = {code.get_text() for code in page.select(".api-operations dt code")}
    schema = (await reader.get("/schema/openapi.json")).json()
    every = {f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item}
    assert listed == every
    assert page.select_one(".api-operations").find(string=re.compile("Ricerca nei processi pubblicati"))


# --- every query parameter documented, with a type and an example -------------------------------------


async def test_every_query_parameter_is_documented_with_a_type_and_an_example_the_api_accepts(reader):
    schema = (await reader.get("/schema/openapi.json")).json()
    checked = 0
    for method, path, operation in _api_operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            where = f"{method.upper()} {path} ?{parameter['name']}"
            assert parameter.get("description"), where
            assert parameter["schema"].get("type") in ("string", "integer", "array"), where
            assert "example" in parameter, where
            jsonschema.validate(parameter["example"], parameter["schema"])
            if method == "get" and "{" not in path and "/redazione/" not in path:
                example = parameter["example"]
                query = urlencode({parameter["name"]: example}, doseq=isinstance(example, list))
                response = await reader.get(f"{path}?{query}")
                assert response.status_code == 200, (where, response.text)
            checked += 1
    assert checked >= 30


def _constants(node: ast.AST, names: Mapping[str, set[str]], globals_: dict) -> set[str]:
    """The strings ``node`` can be: a literal, a name bound to some, a global string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        value = globals_.get(node.id)
        return {value} if isinstance(value, str) else set()
    return set()


def _iterated(node: ast.AST, globals_: dict) -> set[str]:
    """The strings a loop over ``node`` binds first: the keys of a global mapping or its items."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("items", "keys")
    ):
        node = node.func.value
    if isinstance(node, ast.Name) and isinstance(globals_.get(node.id), Mapping | list | tuple):
        return {key for key in globals_[node.id] if isinstance(key, str)}
    return set()


def _is_query_params(node: ast.AST, requests: set[str]) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "query_params" and _names(node.value) & requests


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _callee(func: ast.AST, globals_: dict):
    """The project function a call calls, when the call names one."""
    found = None
    if isinstance(func, ast.Name):
        found = globals_.get(func.id)
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        found = getattr(globals_.get(func.value.id), func.attr, None)
    found = inspect.unwrap(found) if inspect.isfunction(found) else None
    return found if found and found.__module__.startswith("observatory") else None


def _returns_parameters(function) -> bool:
    """Whether ``function`` hands back the request's query parameters (``request.query_params.dict()``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    return any(
        isinstance(n, ast.Return)
        and n.value is not None
        and any(isinstance(a, ast.Attribute) and a.attr == "query_params" for a in ast.walk(n.value))
        for n in ast.walk(tree)
    )


def _carried(node: ast.AST, requests: set[str], parameters: set[str], globals_: dict) -> str | None:
    """What an expression carries: "request" (the request itself), "parameters" (its query
    parameters, or a mapping made of them), or nothing."""
    if isinstance(node, ast.Name) and node.id in requests:
        return "request"
    if isinstance(node, ast.Name) and node.id in parameters:
        return "parameters"
    for part in ast.walk(node):
        if isinstance(part, ast.Attribute) and part.attr == "query_params" and _names(part.value) & requests:
            return "parameters"
        if (
            isinstance(part, ast.Call)
            and (callee := _callee(part.func, globals_))
            and _returns_parameters(callee)
            and any(_carried(arg, requests, parameters, globals_) for arg in part.args)
        ):
            return "parameters"
    return None


def read_parameters(
    function: Callable, requests=frozenset({"request"}), parameters=frozenset(), seen=None
) -> set[str]:
    """The query parameters ``function`` reads, following the request (``requests``) and mappings
    of its query parameters (``parameters``) into the project's functions they are handed to:
    ``request.query_params.get("q")``, ``params.get(name)`` in a loop over a declared mapping,
    ``number_parameter(request, "limite", ...)``..."""
    seen = set() if seen is None else seen
    key = (function, requests, parameters)
    if key in seen:
        return set()
    seen.add(key)
    globals_ = function.__globals__
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names: dict[str, set[str]] = {
        name: {p.default}
        for name, p in inspect.signature(function).parameters.items()
        if isinstance(p.default, str)
    }
    requests, parameters = set(requests), set(parameters)
    for node in ast.walk(tree):  # what loops bind, and the mappings of query parameters assigned
        if isinstance(node, ast.For | ast.comprehension):
            target = node.target.elts[0] if isinstance(node.target, ast.Tuple) else node.target
            if isinstance(target, ast.Name) and (keys := _iterated(node.iter, globals_)):
                names[target.id] = names.get(target.id, set()) | keys  # several loops may bind one name
        if (
            isinstance(node, ast.Assign)
            and _carried(node.value, requests, parameters, globals_) == "parameters"
        ):
            parameters |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in READERS and node.args:
            receiver = func.value
            if _is_query_params(receiver, requests) or (
                isinstance(receiver, ast.Name) and receiver.id in parameters
            ):
                found |= _constants(node.args[0], names, globals_)
                continue
        callee = _callee(func, globals_)
        if callee is None:
            continue
        signature = list(inspect.signature(callee).parameters)
        handed = {"request": set(), "parameters": set()}
        given = list(zip(signature, node.args, strict=False)) + [
            (k.arg, k.value) for k in node.keywords if k.arg
        ]
        for name, arg in given:
            if carried := _carried(arg, requests, parameters, globals_):
                handed[carried].add(name)
        if not handed["request"] and not handed["parameters"]:
            continue
        found |= read_parameters(callee, frozenset(handed["request"]), frozenset(handed["parameters"]), seen)
        for name, arg in given:  # a parameter named by the caller: number_parameter(request, "limite")
            if name == "name":
                found |= _constants(arg, names, globals_)
    return found


async def test_every_query_parameter_an_api_route_reads_is_in_the_openapi_document(reader):
    schema = (await reader.get("/schema/openapi.json")).json()
    documented = {
        (method.upper(), path): {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        for method, path, operation in _api_operations(schema)
    }
    read = {}
    for route in reader.app.routes:
        if not route.path.startswith("/api/"):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue  # CORS's OPTIONS
            for method in handler.http_methods:
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                read[(method, path)] = read_parameters(handler.fn)
    assert set(read) == set(documented)
    undocumented = {
        route: sorted(names - documented[route]) for route, names in read.items() if names - documented[route]
    }
    assert undocumented == {}
    assert read[("GET", "/api/v1/processi")] >= {
        "q",
        "tipo",
        "territorio",
        "anno_da",
        "ordine",
        "pagina",
        "per_pagina",
    }
    assert read[("GET", "/api/v1/suggerimenti")] == {"q", "limite"}
    assert read[("GET", "/api/v1/territori")] == {"q", "livello"}


# --- the documented error shape is the one answered --------------------------------------------------


async def test_each_error_answer_matches_the_schema_documented_for_its_status(reader):
    schema = (await reader.get("/schema/openapi.json")).json()
    asked = {
        ("/api/v1/processi", "get", 400): reader.get("/api/v1/processi", params={"anno_da": "ieri"}),
        ("/api/v1/processi/{slug}", "get", 404): reader.get("/api/v1/processi/nessun-processo"),
        ("/api/v1/territori", "get", 400): reader.get("/api/v1/territori", params={"livello": "quartiere"}),
        ("/api/v1/segnalazioni", "post", 422): reader.post("/api/v1/segnalazioni", json={"processo": {}}),
        ("/api/v1/segnalazioni", "post", 415): reader.post("/api/v1/segnalazioni", content=b"x"),
    }
    for (path, method, status), request in asked.items():
        response = await request
        assert response.status_code == status, (path, response.text)
        documented = schema["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
        root = {**documented["schema"], "components": schema["components"]}
        jsonschema.Draft202012Validator(root).validate(response.json())
        assert set(response.json()) == {"status", "error", "message", "fields"}
    body = (await reader.get("/api/v1/processi", params={"anno_da": "ieri"})).json()
    assert body["fields"] == [{"field": "anno_da", "message": body["fields"][0]["message"]}]
    assert body["status"] == 400 and body["error"] == "bad_request" and "Anno da" in body["message"]
