"""HTTP hardening through the real app: the security headers on every kind of answer, HSTS and
Secure cookies with an https address, HEAD wherever GET is, Allow on 405."""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import make_settings
from helpers import PATTI, form_token
from litestar.testing import AsyncTestClient

from observatory.app import create_app
from observatory.web import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.anyio

#: One path of every kind of answer: pages, lists, the API, errors, static files, private pages.
ANSWERS = {
    "/": 200,
    "/processi?q=patti": 200,
    f"/processi/{PATTI}": 200,
    "/enti": 200,
    "/territori/C001078": 200,
    "/segnala": 200,
    "/redazione/accesso": 200,
    "/redazione": 303,
    "/api/v1/processi": 200,
    f"/api/v1/processi/{PATTI}": 200,
    "/api/v1/processi/non-esiste": 404,
    "/processi/non-esiste": 404,
    "/non-esiste-affatto": 404,
    "/static/css/osservatorio.css": 200,
    "/salute": 200,
    "/schema/openapi.json": 200,
}


@pytest.mark.parametrize("path", ANSWERS)
async def test_every_kind_of_answer_carries_the_security_headers(reader, path):
    response = await reader.get(path, follow_redirects=False)
    assert response.status_code == ANSWERS[path]
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "'unsafe-inline'" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["permissions-policy"].startswith("camera=()")
    assert headers["cross-origin-opener-policy"] == "same-origin"
    private = path.startswith("/redazione") or path == "/segnala"
    expected = "no-referrer" if private else "strict-origin-when-cross-origin"
    assert headers["referrer-policy"] == expected
    assert "strict-transport-security" not in headers  # an http address: no HSTS


#: What describes a page for machines: JSON-LD data blocks (never run) and Open Graph tags.
DESCRIPTIONS = re.compile(
    r'<script type="application/ld\+json">.*?</script>|<meta property="og:[^>]*>'
    r'|<link rel="(?:canonical|alternate)"[^>]*>',
    re.S,
)


async def test_pages_load_nothing_inline_nor_from_elsewhere(reader):
    """What the CSP forbids is really absent: no inline script or style, no other origin."""
    for path in ("/", "/processi?q=patti", f"/processi/{PATTI}", "/segnala", "/redazione/accesso"):
        # a process page's JSON-LD and Open Graph tags are data that name addresses, not load them
        page = re.sub(DESCRIPTIONS, "", (await reader.get(path)).text)
        assert "<style" not in page and " style=" not in page
        assert "<script>" not in page and "<script " not in page.replace('<script src="/static/', "")
        assert "http://" not in page.replace("http://testserver.local", "").split("</head>")[0]
        assert "https://" not in page.split("</head>")[0]


async def test_an_https_site_sends_hsts_and_secure_cookies(demo_db_url, tmp_path):
    settings = dataclasses.replace(
        make_settings(demo_db_url, tmp_path), base_url="https://osservatorio.example"
    )
    async with AsyncTestClient(app=create_app(settings), base_url="https://osservatorio.example") as client:
        response = await client.get("/segnala")
        assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        cookies = response.headers.get_list("set-cookie")
        csrf = next(cookie for cookie in cookies if cookie.startswith("osservatorio_csrf="))
        assert "Secure" in csrf and "HttpOnly" in csrf
        assert "strict-transport-security" in (await client.get("/api/v1/processi")).headers


async def test_the_csrf_cookie_is_not_secure_on_plain_http(reader):
    response = await reader.get("/segnala")
    csrf = next(c for c in response.headers.get_list("set-cookie") if c.startswith("osservatorio_csrf="))
    assert "Secure" not in csrf


@pytest.mark.parametrize(
    "path", ["/", f"/processi/{PATTI}", "/api/v1/processi", "/static/css/osservatorio.css", "/salute"]
)
async def test_head_answers_like_get_without_a_body(client, path):
    got = await client.get(path)
    head = await client.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    if path != "/salute":  # the health answer holds the database's response time: its length varies
        assert head.headers.get("content-length") == got.headers.get("content-length")
    else:
        assert int(head.headers["content-length"]) > 0
    assert head.headers["x-content-type-options"] == "nosniff"


async def test_method_not_allowed_names_the_allowed_methods(reader):
    posted = await reader.post("/processi", data={"_csrf_token": await form_token(reader)})
    assert posted.status_code == 405
    assert {m.strip() for m in posted.headers["allow"].split(",")} >= {"GET", "HEAD"}
    assert "Metodo" in posted.text or "non consentit" in posted.text.lower()
    fetched = await reader.get("/redazione/segnalazioni/1/approva")
    assert fetched.status_code == 405
    assert {m.strip() for m in fetched.headers["allow"].split(",")} == {"OPTIONS", "POST"}
    api = await reader.delete("/api/v1/processi")
    assert api.status_code == 405 and "GET" in api.headers["allow"]
    assert api.json()["status"] == 405
