"""Issue 13, item 6: a shared hub origin (JupyterHub without per-user subdomains).

There every page on the hub, bob's server's included, is the same origin as alice's: a
script there can make the visitor's browser send alice's guest cookie. The attacks:
a guest cookie carried under another server's name (or the old plain name) is used on
this server; a room socket is opened with the guest's cookie alone (what a foreign page
can do); Tandem's pages are framed by a foreign page to read them.
"""

from __future__ import annotations

import httpx
import pytest

from tandem.auth import guest_cookie_name
from tandem.testing import TandemServer, YPeer
from tests.conftest import MODULE_LOOP
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

pytestmark = MODULE_LOOP

GUEST_COOKIE = guest_cookie_name("/")  # this test server's base URL


async def joined(server: TandemServer, role: str = "edit") -> Guest:
    guest = Guest(server)
    invite = await share(server, role=role)
    assert (await guest.join(invite["link"])).status_code == 303
    return guest


async def reaches_the_notebook(server: TandemServer, name: str, session: str) -> bool:
    """Whether a browser carrying ``session`` in the cookie ``name`` opens the notebook."""
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        client.cookies.set(name, session)
        client.cookies.set("_xsrf", "x")
        response = await client.put(
            "/api/collaboration/session/demo.ipynb",
            json={"format": "json", "type": "notebook"},
            headers={"X-XSRFToken": "x"},
        )
        page = await client.get("/tandem/notebook/demo.ipynb")
        return response.status_code in (200, 201) or page.status_code == 200


async def test_the_guest_cookie_is_named_and_scoped_for_this_server(module_server):
    guest = await joined(module_server)
    try:
        cookie = next(c for c in guest.http.cookies.jar if c.name.startswith("tandem-guest"))
        assert cookie.name == GUEST_COOKIE and cookie.path == "/"
        assert GUEST_COOKIE != guest_cookie_name("/user/bob/")
        assert guest_cookie_name("/user/alice/") != guest_cookie_name("/user/bob/")
        assert guest_cookie_name("/", hub_user="alice") != guest_cookie_name("/", hub_user="bob")
    finally:
        await guest.close()


@pytest.mark.parametrize(
    "name",
    ["tandem-guest", guest_cookie_name("/user/bob/"), guest_cookie_name("/", hub_user="bob")],
)
async def test_a_guest_cookie_of_another_server_is_not_accepted(module_server, name):
    guest = await joined(module_server)
    try:
        session = guest.http.cookies[GUEST_COOKIE]
        assert await reaches_the_notebook(module_server, GUEST_COOKIE, session)  # control
        assert not await reaches_the_notebook(module_server, name, session)
    finally:
        await guest.close()


async def guest_socket(guest: Guest, query: str) -> YPeer:
    response = await guest.session("demo.ipynb")
    assert response.status_code in (200, 201), response.text
    info = response.json()
    peer = YPeer()
    url = (
        f"{guest.server.ws_url}/api/collaboration/room/json:notebook:{info['fileId']}"
        f"?sessionId={info['sessionId']}{query}"
    )
    await peer.connect(url, {"Cookie": guest.cookie_header, "Origin": guest.server.http_url})
    return peer


@pytest.mark.parametrize("query", ["", "&roomToken=", "&roomToken=0000", "&roomToken=other"])
async def test_a_guest_socket_without_the_pages_token_is_refused(module_server, query):
    guest = await joined(module_server)
    other = await joined(module_server)
    try:
        if query.endswith("other"):  # another guest's valid token is not this guest's
            query = "&roomToken=" + await other.room_token()
        forged = await guest_socket(guest, query)
        await eventually(lambda: forged.closed.is_set())
        assert forged.close_code == 4403 and not forged.synced.is_set()
        await forged.close()
        real = await guest_socket(guest, "&roomToken=" + await guest.room_token())
        await real.wait_synced()
        await real.close()
    finally:
        await guest.close()
        await other.close()


async def test_the_owner_needs_no_page_token(module_server):
    peer = await YPeer.open(module_server, "demo.ipynb")  # as JupyterLab connects
    await peer.close()
    status, body = await module_server.arequest("GET", "/tandem/notebook/demo.ipynb")
    assert status == 200 and '"roomToken":null' in str(body)


async def test_the_guests_session_request_needs_the_xsrf_token(module_server):
    guest = await joined(module_server)
    try:
        response = await guest.http.put(
            "/api/collaboration/session/demo.ipynb",
            json={"format": "json", "type": "notebook"},
        )
        assert response.status_code == 403
    finally:
        await guest.close()


def assert_not_framable(response: httpx.Response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, (response.url, csp)
    assert response.headers.get("X-Frame-Options") == "DENY", response.url


async def test_tandem_pages_refuse_framing(module_server):
    server = module_server
    async with httpx.AsyncClient(base_url=server.http_url, headers=server.headers) as owner:
        for path in ("/tandem/", "/tandem/people", "/tandem/audit", "/tandem/notebook/demo.ipynb"):
            response = await owner.get(path)
            assert response.status_code == 200, path
            assert_not_framable(response)
        frame = await owner.get("/tandem/output-frame")
        assert "frame-ancestors 'self'" in frame.headers["Content-Security-Policy"]
        assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    guest = Guest(server)
    try:
        invite = await share(server, role="edit", approval_required=True)
        link = invite["link"].split(str(server.port), 1)[1]
        assert_not_framable(await guest.http.get(link))
        await guest.join(invite["link"])
        assert_not_framable(await guest.http.get("/tandem/waiting"))
        assert_not_framable(await guest.http.get("/tandem/notebook/demo.ipynb"))  # 404 or login
    finally:
        await guest.close()


@pytest.mark.parametrize(
    ("mode", "dest"), [("cors", "empty"), ("same-origin", "empty"), ("navigate", "iframe")]
)
async def test_a_script_cannot_fetch_a_guests_editor_page(module_server, mode, dest):
    """What a foreign page's fetch() (or frame) sends: the page, and its token, is refused."""
    guest = await joined(module_server)
    try:
        headers = {"Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest}
        fetched = await guest.http.get("/tandem/notebook/demo.ipynb", headers=headers)
        assert fetched.status_code == 403 and "roomToken" not in fetched.text
        headers = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
        opened = await guest.http.get("/tandem/notebook/demo.ipynb", headers=headers)
        assert opened.status_code == 200 and await guest.room_token() in opened.text
    finally:
        await guest.close()
