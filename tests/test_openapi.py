"""The OpenAPI schema tells the truth about the JSON API.

schemathesis reads /schema/openapi.json from the real app over the demo catalogue and sends it
requests made from the schema, valid and invalid (its examples, coverage and fuzzing phases): every
answer must be one the schema documents (status code, content type, body), never a 5xx. The run is
derandomized and small, so it is the same few hundred requests every time. Below it, the bugs it
found, each through the app, and the shape of the schema itself.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict

import pytest
import schemathesis
from conftest import make_settings
from helpers import CHIERI, SUBMITTER
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events

from observatory import database
from observatory.accounts.guards import SESSION_COOKIE
from observatory.accounts.login import open_session
from observatory.accounts.services import create_staff
from observatory.app import create_app
from observatory.catalogue.queries import FILTERS

#: What every answer must pass; schemathesis's other checks (authorization, rejection of invalid
#: data, unexpected methods) are not what this file proves.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
#: Examples, coverage and fuzzing, each operation at most this many generated cases.
MAX_EXAMPLES = 40


def _config(cookie: str) -> SchemathesisConfig:
    """A derandomized run (fixed seed, no example database) sending an editor's session cookie,
    so the staff API answers with its data too."""
    return SchemathesisConfig.from_dict(
        {
            "seed": 1,
            "continue-on-failure": True,
            "headers": {"Cookie": cookie},
            "generation": {
                "mode": "all",
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {"stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


async def _staff_cookie(db_url: str) -> str:
    database.configure(db_url)
    staff = await create_staff("schemathesis", "Prova Schemathesis", "redattore", "una password lunga")
    return f"{SESSION_COOKIE}={await open_session(staff['id'])}"


def _failures(recorder) -> list[str]:
    """Each failed check of a scenario, with the curl command that repeats it."""
    found = []
    for case_id, checks in recorder.checks.items():
        for check in checks:
            if check.failure_info is not None:
                failure, case = check.failure_info.failure, recorder.cases[case_id].value
                found.append(
                    f"{recorder.label}: {failure.title}: {failure.message}\n{case.as_curl_command()}"
                )
    return found


def test_every_answer_is_one_the_schema_documents(demo_db_url, tmp_path):
    cookie = asyncio.run(_staff_cookie(demo_db_url))
    app = create_app(make_settings(demo_db_url, tmp_path))
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=_config(cookie))
    failures, errors = [], []
    answered: dict[str, list[int]] = defaultdict(list)
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            failures += _failures(event.recorder)
            method = event.recorder.label.split()[0]
            answered[event.recorder.label] += [
                done.response.status_code
                for done in event.recorder.interactions.values()
                if done.response is not None and done.request.method == method
            ]
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(repr(event))
    assert errors == []
    assert not failures, "\n\n".join(dict.fromkeys(failures))
    assert sorted(answered) == sorted(f"{o['method'].upper()} {o['path']}" for o in _operations(app))
    never_succeeded = [label for label, codes in answered.items() if not any(200 <= c < 300 for c in codes)]
    assert never_succeeded == []  # the run reached every success answer, a submission's included
    assert sum(map(len, answered.values())) > 650  # 745 requests with this seed and bound


def _operations(app) -> list[dict]:
    schema = app.openapi_schema.to_schema()
    return [
        {"method": method, "path": path, **operation}
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


# --- what schemathesis found ---------------------------------------------------------------------


def _submission(**process) -> dict:
    return {"segnalante": SUBMITTER, "privacy_accettata": True, "processo": {"title": "Orti", **process}}


@pytest.mark.anyio
async def test_a_link_with_an_unclosed_ipv6_bracket_is_a_field_error_not_a_server_error(reader):
    response = await reader.post("/api/v1/segnalazioni", json=_submission(links=["http://[::1"]))
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["processo.links.1.url"]


@pytest.mark.anyio
async def test_organisations_that_are_not_a_list_are_a_field_error_not_a_server_error(reader):
    response = await reader.post("/api/v1/segnalazioni", json=_submission(organisations=1))
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["processo.organisations"]


@pytest.mark.anyio
async def test_json_nested_deeper_than_the_parser_goes_is_refused_with_400(reader):
    nested = '{"processo": {"title": "Orti", "phases": ' + "[" * 5000 + "]" * 5000 + "}}"
    response = await reader.post(
        "/api/v1/segnalazioni", content=nested, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"


@pytest.mark.anyio
async def test_the_example_submission_of_the_schema_is_accepted(client):
    schema = (await client.get("/schema/openapi.json")).json()
    body = schema["paths"]["/api/v1/segnalazioni"]["post"]["requestBody"]["content"]["application/json"]
    example = body["schema"]["examples"][0]
    assert example["processo"]["territories"] == [CHIERI]
    assert (await client.post("/api/v1/segnalazioni", json=example)).status_code == 201


# --- the schema itself ----------------------------------------------------------------------------


def _one_of_branches(node):
    """Every ``oneOf`` list anywhere in ``node``."""
    if isinstance(node, dict):
        if "oneOf" in node:
            yield node["oneOf"]
        for value in node.values():
            yield from _one_of_branches(value)
    elif isinstance(node, list):
        for value in node:
            yield from _one_of_branches(value)


def _kinds(branch: dict) -> set[str]:
    """The JSON types a ``oneOf`` branch accepts (a reference is always to an object here)."""
    if "$ref" in branch:
        return {"object"}
    kind = branch.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if kind else set()


@pytest.mark.anyio
async def test_no_one_of_of_the_schema_can_match_a_value_twice(reader):
    schema = (await reader.get("/schema/openapi.json")).json()
    for branches in _one_of_branches(schema):
        kinds = [_kinds(branch) for branch in branches]
        assert all(kinds), branches  # no branch that takes anything, such as {}
        assert sum(map(len, kinds)) == len(set().union(*kinds)), branches


@pytest.mark.anyio
async def test_every_error_answer_of_the_api_is_documented_with_the_error_shape(reader):
    operations = [o for o in _operations(reader.app) if o["path"].startswith("/api/")]
    for operation in operations:
        errors = {code: answer for code, answer in operation["responses"].items() if int(code) >= 400}
        assert {"400", "500"} <= set(errors), operation["path"]
        for answer in errors.values():
            assert answer["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOut"
            }
            assert answer["description"]
    schema = (await reader.get("/schema/openapi.json")).json()
    assert schema["components"]["schemas"]["ErrorOut"]["required"] == ["error", "fields", "message", "status"]


@pytest.mark.anyio
async def test_every_query_parameter_the_api_reads_is_documented(reader):
    by_path = {o["path"]: o for o in _operations(reader.app)}

    def names(path: str) -> list[str]:
        parameters = by_path[path].get("parameters", [])
        assert all(p["description"] for p in parameters if p["in"] == "query"), path
        return [p["name"] for p in parameters if p["in"] == "query"]

    listed = ["q", *FILTERS, "anno_da", "anno_a", "avvio_da", "avvio_a", "ordine", "pagina", "per_pagina"]
    assert names("/api/v1/processi") == listed
    assert names("/api/v1/enti") == ["q", "pagina"]
    assert names("/api/v1/territori") == ["q", "livello"]
    assert names("/api/v1/suggerimenti") == ["q", "limite"]
    assert names("/api/v1/redazione/segnalazioni") == ["stato", "tipo", "modificate", "pagina"]


@pytest.mark.anyio
async def test_the_answers_each_route_can_give_are_documented(reader):
    documented = {
        f"{o['method'].upper()} {o['path']}": sorted(o["responses"]) for o in _operations(reader.app)
    }
    assert documented == {
        "GET /api/v1/processi": ["200", "400", "500", "503"],
        "GET /api/v1/processi/{slug}": ["200", "301", "400", "404", "410", "500"],
        "GET /api/v1/enti": ["200", "400", "500", "503"],
        "GET /api/v1/enti/{slug}": ["200", "301", "400", "404", "500", "503"],
        "GET /api/v1/territori": ["200", "400", "500"],
        "GET /api/v1/vocabolari": ["200", "400", "500"],
        "GET /api/v1/suggerimenti": ["200", "400", "500", "503"],
        "POST /api/v1/segnalazioni": ["201", "400", "413", "415", "422", "429", "500", "503"],
        "GET /api/v1/segnalazioni/{token}": ["200", "400", "404", "500"],
        "GET /api/v1/redazione/segnalazioni": ["200", "400", "401", "403", "500", "503"],
        "GET /salute": ["200", "503"],
    }
    process = json.dumps(reader.app.openapi_schema.to_schema()["paths"]["/api/v1/processi/{slug}"])
    assert '"$ref": "#/components/schemas/ProcessOut"' in process
