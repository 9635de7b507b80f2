"""Every endpoint the server exposes, for every kind of principal, against a real server.

Owner: allowed. Guests (view / edit / run, revoked, expired) and visitors without a
session: denied everywhere except /api/me (guests) and, within the shared notebook's
scope, the collaboration session and room. Cross-origin socket handshakes are refused.
"""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tandem.testing import YPeer
from tests.conftest import MODULE_LOOP
from tests.handlers.test_sharing import Guest, share

# One server for the module (every guest has a grant of its own); the rate-limit test
# needs a fresh one, since failures from the other tests count towards the limit.
pytestmark = MODULE_LOOP

ALLOWED = range(200, 300)

# (method, path): what the owner gets and what every guest gets.
HTTP_TABLE = [
    ("GET", "/api/contents"),
    ("GET", "/api/contents/demo.ipynb"),
    ("GET", "/api/contents/notes.md"),
    ("PUT", "/api/contents/new.ipynb"),
    ("GET", "/api/kernels"),
    ("POST", "/api/kernels"),
    ("GET", "/api/sessions"),
    ("POST", "/api/sessions"),
    ("GET", "/api/kernelspecs"),
    ("GET", "/api/terminals"),
    ("GET", "/api/config/notebook"),
    ("GET", "/api/nbconvert"),
    ("GET", "/files/demo.ipynb"),
    ("GET", "/api/status"),
    ("GET", "/tandem/api/invitations"),
    ("GET", "/tandem/api/grants"),
    ("GET", "/tandem/api/audit"),
]
GUEST_ALLOWED_HTTP = {("GET", "/api/me")}
OWNER_BODIES = {
    ("PUT", "/api/contents/new.ipynb"): {"type": "notebook"},
    ("POST", "/api/sessions"): {"path": "x.ipynb", "type": "notebook", "kernel": {"name": "nope"}},
    ("POST", "/api/kernels"): {"name": "nope"},
}


async def guest_with(server, role: str, **options) -> Guest:
    guest = Guest(server)
    invite = await share(server, role=role, **options)
    assert (await guest.join(invite["link"])).status_code == 303
    guest.invitation_id = invite["invitation"]["id"]
    return guest


async def status_of(client: Guest, method: str, path: str) -> int:
    response = await client.http.request(
        method, path, headers=client.xsrf, json={} if method != "GET" else None
    )
    return response.status_code


async def room_outcome(client: Guest, path: str, kind: str = "notebook") -> str:
    response = (
        await client.session(path)
        if kind == "notebook"
        else await client.http.put(
            f"/api/collaboration/session/{path}",
            json={"format": "text", "type": "file"},
            headers=client.xsrf,
        )
    )
    if response.status_code not in ALLOWED:
        return f"session {response.status_code}"
    info = response.json()
    cookie = client.cookie_header
    page = await client.http.get(f"/tandem/notebook/{path}")
    token = await client.room_token(path) if page.status_code == 200 else ""
    peer = YPeer(kind=kind)
    room = f"{info['format']}:{info['type']}:{info['fileId']}?roomToken={token}"
    try:
        await peer.connect(
            f"{client.server.ws_url}/api/collaboration/room/{room}",
            {"Cookie": cookie, "Origin": client.server.http_url},
        )
    except websockets.InvalidStatus as exc:
        return f"socket {exc.response.status_code}"
    waiter = asyncio.ensure_future(peer.synced.wait())
    await asyncio.wait(
        {waiter, asyncio.ensure_future(peer.closed.wait())},
        timeout=10,
        return_when=asyncio.FIRST_COMPLETED,
    )
    outcome = (
        "synced"
        if peer.synced.is_set() and not peer.closed.is_set()
        else f"closed {peer.close_code}"
    )
    await peer.close()
    return outcome


async def test_owner_reaches_everything(module_server):
    server = module_server
    for method, path in HTTP_TABLE:
        status, _ = await server.arequest(method, path, OWNER_BODIES.get((method, path)))
        assert status not in (401, 403), (method, path, status)


@pytest.mark.parametrize("role", ["view", "edit", "run"])
async def test_guests_reach_only_their_notebook(module_server, role):
    server = module_server
    guest = await guest_with(server, role)
    for method, path in HTTP_TABLE:
        assert await status_of(guest, method, path) in (403, 404, 405), (role, method, path)
    assert await status_of(guest, "GET", "/api/me") == 200
    assert await room_outcome(guest, "demo.ipynb") == "synced"
    assert await room_outcome(guest, "notes.md", kind="text") == "session 403"
    await guest.close()


async def test_revoked_expired_and_sessionless_principals_get_nothing(module_server):
    server = module_server
    revoked = await guest_with(server, "edit")
    status, _ = await server.arequest("DELETE", f"/tandem/api/invitations/{revoked.invitation_id}")
    assert status == 204
    expired = await guest_with(server, "edit", expires_in=1.5)
    await asyncio.sleep(2.0)  # past its expiry
    nobody = Guest(server)
    await nobody.http.get("/tandem/")  # picks up an _xsrf cookie, nothing else
    for label, client in (("revoked", revoked), ("expired", expired), ("no session", nobody)):
        for method, path in [*HTTP_TABLE, ("GET", "/api/me")]:
            assert await status_of(client, method, path) in (302, 403, 404, 405), (
                label,
                method,
                path,
            )
        assert await room_outcome(client, "demo.ipynb") in ("session 403", "socket 403"), label
        await client.close()


async def test_guest_socket_from_another_origin_is_refused(module_server):
    server = module_server
    guest = await guest_with(server, "edit")
    info = (await guest.session("demo.ipynb")).json()
    cookie = "; ".join(f"{k}={v}" for k, v in guest.http.cookies.items())
    url = f"{server.ws_url}/api/collaboration/room/json:notebook:{info['fileId']}"
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(
            url, additional_headers={"Cookie": cookie}, origin="http://evil.example"
        )
    await guest.close()


@pytest.mark.parametrize(
    "name",
    ["x" * 65, "tab\tname", "\u202eevil", "zero\u200bwidth", "   "],
    ids=["overlong", "control", "bidi", "zero-width", "blank"],
)
async def test_bad_names_are_refused_and_grant_nothing(module_server, name):
    server = module_server
    invite = await share(server, role="edit")
    guest = Guest(server)
    path = invite["link"].split(str(server.port), 1)[1]
    page = await guest.http.get(path)
    token = page.text.split('name="_xsrf" value="', 1)[1].split('"', 1)[0]
    _, before = await server.arequest("GET", "/tandem/api/grants")
    response = await guest.http.post(path, data={"name": name, "_xsrf": token})
    assert response.status_code == 400
    status, grants = await server.arequest("GET", "/tandem/api/grants")
    assert grants["grants"] == before["grants"]  # the server is shared: nothing new
    await guest.close()


@pytest.mark.parametrize(
    "code", ["short", "x" * 200, "%2e%2e%2f", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]
)
async def test_malformed_or_unknown_codes_get_the_same_page(module_server, code):
    server = module_server
    guest = Guest(server)
    response = await guest.http.get(f"/tandem/join/{code}")
    assert response.status_code == 404 and "not valid" in response.text
    await guest.close()


async def test_repeated_failures_are_rate_limited(server):
    invite = await share(server, role="edit")
    guest = Guest(server)
    await guest.http.get(invite["link"].split(str(server.port), 1)[1])  # sets the _xsrf cookie
    statuses = []
    for _ in range(14):
        token = guest.http.cookies.get("_xsrf", "")
        response = await guest.http.post(
            "/tandem/join/" + "B" * 32, data={"name": "x", "_xsrf": token}
        )
        statuses.append(response.status_code)
    assert statuses[0] == 404 and statuses[-1] == 429
    await guest.close()
