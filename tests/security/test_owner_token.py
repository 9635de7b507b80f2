"""No response to anyone but the owner carries the owner's token (issue 11, item 1).

A view guest who joined through a real link, and an outsider with no cookie, ask a broad
list of URLs with every method: Jupyter's static files and error pages, Tandem's pages
with wrong methods, JupyterLab, the tree, Jupyter's and Tandem's APIs. The owner's token
must appear in no body and no header.
"""

from __future__ import annotations

import secrets
import sys
from types import SimpleNamespace
from urllib.parse import quote

import httpx
import pytest
from jupyter_server.auth.identity import User

from tandem.auth import GuestUser
from tandem.credentials import keep_to_owner
from tandem.hub.identity import HubUser, hub_principal
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


COMMANDS = {
    "tandem": None,
    "tandem lab": [sys.executable, "-m", "tandem", "lab"],
}
LAB_QUIET = [
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.news_url=",
]


@pytest.fixture(params=list(COMMANDS))
async def server(request, root, tmp_path):
    command = COMMANDS[request.param]
    args = FAST + (LAB_QUIET if command else [])
    srv = TandemServer(
        root, tmp_path / "state", token=secrets.token_hex(24), args=args, command=command
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def test_nobody_but_the_owner_sees_the_owners_token(server):
    """A view guest (with and without their own _xsrf token, as a page would send it)
    and an outsider sweep every URL and method; the owner's own error page still has
    Jupyter's token attribute, so the sweep can see a leak where there is one."""
    guest = Guest(server)
    try:
        joined = await guest.join((await share(server, role="view"))["link"])
        assert joined.status_code == 303
        assert (await guest.http.get("/tandem/notebook/demo.ipynb")).status_code == 200
        problems = await sweep(guest.http, server.token, guest.xsrf)
        problems += await sweep(guest.http, server.token, {})
    finally:
        await guest.close()
    async with httpx.AsyncClient(base_url=server.http_url) as outsider:
        problems += await sweep(outsider, server.token, {})
    assert problems == []
    async with httpx.AsyncClient(base_url=server.http_url, headers=server.headers) as owner:
        assert leaks(await owner.get("/static/nope.js"), server.token)
        assert (await owner.get("/api/contents/demo.ipynb")).status_code == 200


def test_page_config_keeps_the_token_for_the_owner_only():
    """JupyterLab's page config, through the hook Tandem installs (after any other)."""
    settings = {"page_config_hook": lambda handler, config: {**config, "earlier_hook": True}}
    keep_to_owner(SimpleNamespace(web_app=SimpleNamespace(settings=settings)))
    keep_to_owner(SimpleNamespace(web_app=SimpleNamespace(settings=settings)))  # idempotent
    hook = settings["page_config_hook"]

    def config_for(user):
        return hook(SimpleNamespace(current_user=user), {"token": "owner-secret"})

    assert config_for(User(username="owner")) == {"token": "owner-secret", "earlier_hook": True}
    assert config_for(GuestUser(username="guest-1")) == {"token": "", "earlier_hook": True}
    assert config_for(None)["token"] == ""

    hub_user = HubUser(username="bob", principal=hub_principal({"name": "bob"}))
    assert config_for(hub_user)["token"] == ""  # another hub user: neither owner nor guest
