"""No response to anyone but the owner carries the owner's token (issue 11, item 1).

A view guest who joined through a real link, and an outsider with no cookie, ask a broad
list of URLs with every method: Jupyter's static files and error pages, Tandem's pages
with wrong methods, JupyterLab, the tree, Jupyter's and Tandem's APIs. The owner's token
must appear in no body and no header.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote

import httpx
import pytest

from tandem.testing import TandemServer
from tests.conftest import FAST
from tests.handlers.test_sharing import Guest, share

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
URLS = [
    "/",
    "/static/nope.js",
    "/static/style/nope.css",
    "/nope",
    "/login",
    "/logout",
    "/lab",
    "/lab/tree/demo.ipynb",
    "/tree",
    "/tree/demo.ipynb",
    "/notebooks/demo.ipynb",
    "/edit/notes.md",
    "/files/demo.ipynb",
    "/view/demo.ipynb",
    "/api",
    "/api/status",
    "/api/me",
    "/api/contents",
    "/api/contents/demo.ipynb",
    "/api/kernels",
    "/api/sessions",
    "/api/kernelspecs",
    "/api/config/notebook",
    "/api/nbconvert",
    "/api/terminals",
    "/api/collaboration/session/demo.ipynb",
    "/api/collaboration/session/nope.ipynb",
    "/api/collaboration/room/json:notebook:nope",
    "/api/kernels/nope/execute",
    "/tandem",
    "/tandem/",
    "/tandem/?path=nope",
    "/tandem/people",
    "/tandem/audit",
    "/tandem/waiting",
    "/tandem/waiting/status",
    "/tandem/output-frame",
    "/tandem/join/not-a-code",
    "/tandem/notebook/demo.ipynb",
    "/tandem/notebook/nope.ipynb",
    "/tandem/notebook/x.ipynb",
    "/tandem/static/nope.js",
    "/tandem/static/editor.js",
    "/tandem/api/me/demo.ipynb",
    "/tandem/api/files?path=",
    "/tandem/api/files?path=nope",
    "/tandem/api/presence",
    "/tandem/api/invitations",
    "/tandem/api/grants",
    "/tandem/api/audit",
    "/tandem/api/execution/state/demo.ipynb",
    "/tandem/api/execution/run/demo.ipynb",
    "/tandem/api/execution/run/..%2F..%2Fetc%2Fpasswd",
    "/tandem/%2e%2e/api/contents",
]


def leaks(response: httpx.Response, token: str) -> list[str]:
    """Where ``token`` appears in one response (body, header values), in every encoding
    a page might use for it."""
    forms = {token, quote(token), quote(token, safe="")}
    found = [f"body contains {form!r}" for form in forms if form in response.text]
    for name, value in response.headers.multi_items():
        if any(form in value for form in forms):
            found.append(f"header {name}")
    return found


async def sweep(client: httpx.AsyncClient, token: str, headers: dict[str, str]) -> list[str]:
    problems = []
    for url in URLS:
        for method in METHODS:
            body = b"{}" if method in ("POST", "PUT", "PATCH") else None
            response = await client.request(method, url, content=body, headers=headers)
            problems += [
                f"{method} {url} ({response.status_code}): {p}" for p in leaks(response, token)
            ]
    return problems


@pytest.fixture
async def server(root, tmp_path):
    srv = TandemServer(root, tmp_path / "state", token=secrets.token_hex(24), args=FAST)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_a_view_guest_never_sees_the_owners_token(server):
    guest = Guest(server)
    try:
        joined = await guest.join((await share(server, role="view"))["link"])
        assert joined.status_code == 303
        assert (await guest.http.get("/tandem/notebook/demo.ipynb")).status_code == 200
        # With the guest's own _xsrf token (a page would send it) and without it.
        problems = await sweep(guest.http, server.token, guest.xsrf)
        problems += await sweep(guest.http, server.token, {})
    finally:
        await guest.close()
    assert problems == []


async def test_an_outsider_never_sees_the_owners_token(server):
    async with httpx.AsyncClient(base_url=server.http_url) as outsider:
        problems = await sweep(outsider, server.token, {})
    assert problems == []


async def test_the_owner_still_gets_what_jupyter_gives_the_owner(server):
    """The guard is for others only (and the sweep can see a leak): the owner's own error
    page keeps Jupyter's token attribute, and the owner's requests still authenticate."""
    async with httpx.AsyncClient(base_url=server.http_url, headers=server.headers) as owner:
        assert leaks(await owner.get("/static/nope.js"), server.token)
        assert (await owner.get("/api/contents/demo.ipynb")).status_code == 200
        assert (await owner.get("/tandem/")).status_code == 200
