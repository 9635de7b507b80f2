"""Sharing that can be taken back: each attack from the sharing issue, against a real
server, with a guest who joins through a real link in a cookie-carrying HTTP client.

The tests share one server; each shares a notebook of its own with a guest of its own,
and reads only the grants, invitations and audit rows that appeared since it began."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
import pytest_asyncio
from pycrdt import Text

from tandem.auth import guest_cookie_name
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, MODULE_LOOP
from tests.eventually import eventually

pytestmark = MODULE_LOOP

GUEST_COOKIE = guest_cookie_name("/")  # the test server's base URL


class Guest:
    """A browser-like client: cookies, the _xsrf token, a room socket with its cookie."""

    def __init__(self, server: TandemServer) -> None:
        self.server = server
        self.http = httpx.AsyncClient(base_url=server.http_url, follow_redirects=False)

    async def join(self, link: str, name: str = "Grace Hopper") -> httpx.Response:
        path = link.split(str(self.server.port), 1)[1]
        page = await self.http.get(path)
        assert page.status_code == 200, page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"
        token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        return await self.http.post(path, data={"name": name, "_xsrf": token})

    @property
    def xsrf(self) -> dict[str, str]:
        return {"X-XSRFToken": self.http.cookies.get("_xsrf", "")}

    async def session(self, path: str) -> httpx.Response:
        return await self.http.put(
            f"/api/collaboration/session/{path}",
            json={"format": "json", "type": "notebook"},
            headers=self.xsrf,
        )

    async def room_token(self, notebook: str = "demo.ipynb") -> str:
        """The room token Tandem's editor page gives this guest (sent by its sockets)."""
        page = await self.http.get(f"/tandem/notebook/{notebook}")
        assert page.status_code == 200, page.text
        found = re.search(r'id="tandem-config">(.*?)</script>', page.text)
        return json.loads(found.group(1))["roomToken"]

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())

    async def peer(self, path: str, wait: bool = True) -> YPeer:
        response = await self.session(path)
        assert response.status_code in (200, 201), response.text
        info = response.json()
        token = await self.room_token(path)
        cookie = self.cookie_header
        peer = YPeer()
        room = f"json:notebook:{info['fileId']}?sessionId={info['sessionId']}&roomToken={token}"
        url = f"{self.server.ws_url}/api/collaboration/room/{room}"
        await peer.connect(url, {"Cookie": cookie, "Origin": self.server.http_url})
        if wait:
            await peer.wait_synced()
        return peer

    async def close(self) -> None:
        await self.http.aclose()


async def share(server: TandemServer, path: str = "demo.ipynb", **options) -> dict:
    status, body = await server.arequest(
        "POST", "/tandem/api/invitations", {"path": path, **options}
    )
    assert status == 201, body
    return body


async def audit_mark(server: TandemServer) -> int:
    """The newest audit row's id: later rows are this test's."""
    status, body = await server.arequest("GET", "/tandem/api/audit")
    assert status == 200
    return max((e["id"] for e in body["events"]), default=0)


async def audited(server: TandemServer, kind: str, after: int) -> list[dict]:
    """Every audit row of ``kind`` written since ``after`` (on any path)."""
    status, body = await server.arequest("GET", f"/tandem/api/audit?kind={kind}")
    assert status == 200
    return [e for e in body["events"] if e["id"] > after]


async def grants(server: TandemServer) -> list[dict]:
    status, body = await server.arequest("GET", "/tandem/api/grants")
    assert status == 200
    return body["grants"]


async def grants_on(server: TandemServer, path: str) -> list[dict]:
    return [g for g in await grants(server) if g["scope_path"] == path]


async def invitation_ids(server: TandemServer) -> set[str]:
    status, listing = await server.arequest("GET", "/tandem/api/invitations")
    assert status == 200
    return {i["id"] for i in listing["invitations"]}


@pytest_asyncio.fixture(loop_scope="module")
async def guest(module_server):
    client = Guest(module_server)
    yield client
    await client.close()


@pytest_asyncio.fixture(loop_scope="module")
async def mark(module_server) -> int:
    return await audit_mark(module_server)


async def test_guest_joins_and_reaches_only_the_shared_notebook(
    module_server, guest, fresh_notebook
):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit")
    assert len(invite["code"]) >= 22 and invite["link"].endswith(invite["code"])
    joined = await guest.join(invite["link"])
    assert joined.status_code == 303 and invite["code"] not in joined.headers["Location"]
    assert GUEST_COOKIE in guest.http.cookies
    assert (await guest.session(nb)).status_code in (200, 201)
    # Everything else the owner has is out of reach.
    assert (await guest.session("demo.ipynb")).status_code == 403
    assert (await guest.session("notes.md")).status_code == 403
    assert (await guest.http.get("/api/contents")).status_code == 403
    assert (await guest.http.get("/api/contents/notes.md")).status_code == 403
    assert (await guest.http.post("/api/kernels", json={}, headers=guest.xsrf)).status_code == 403
    assert (await guest.http.get("/api/sessions")).status_code == 403
    assert (await guest.http.get("/api/kernelspecs")).status_code == 403
    assert (await guest.http.post("/api/terminals", headers=guest.xsrf)).status_code in (403, 404)
    assert (await guest.http.get("/tandem/api/invitations")).status_code == 403
    me = (await guest.http.get("/api/me")).json()
    assert me["identity"]["name"] == "Grace Hopper"


async def test_guest_edits_live_and_is_named_by_the_server(module_server, guest, fresh_notebook):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit")
    await guest.join(invite["link"], name="Ada")
    owner = await YPeer.open(server, nb)
    peer = await guest.peer(nb)
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# from the guest"
    await eventually(lambda: str(owner.notebook.ycells[1]["source"]).endswith("# from the guest"))
    await peer.set_awareness({"user": {"name": "The Owner", "color": "#000"}})
    await eventually(lambda: peer.doc.client_id in owner.awareness)
    user = owner.awareness[peer.doc.client_id]["user"]
    assert user["name"] == "Ada" and user["role"] == "edit"
    await peer.close()
    await owner.close()


async def test_view_guest_cannot_change_the_document(module_server, guest, fresh_notebook, mark):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="view")
    await guest.join(invite["link"])
    owner = await YPeer.open(server, nb)
    peer = await guest.peer(nb)
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# vandalism"
    marker: Text = owner.notebook.ycells[0]["source"]
    marker += " (owner)"
    await eventually(lambda: str(peer.notebook.ycells[0]["source"]).endswith("(owner)"))
    fresh = await YPeer.open(server, nb)
    assert "vandalism" not in str(fresh.notebook.ycells[1]["source"])
    assert "vandalism" not in str(owner.notebook.ycells[1]["source"])

    async def denial_audited():
        events = await audited(server, "access_denied", mark)
        # Exactly the refused write: joining (which asks whether they may write) audits nothing.
        assert [(e["path"], e["detail"]["action"]) for e in events] == [(nb, "write")]
        assert events[0]["detail"]["reason"] == "document update from a read-only peer"

    await eventually(denial_audited)
    for p in (peer, owner, fresh):
        await p.close()


async def test_a_view_guest_joining_audits_no_denial(module_server, guest, fresh_notebook, mark):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="view")
    await guest.join(invite["link"])
    peer = await guest.peer(nb)
    state = await guest.http.get(f"/tandem/api/execution/state/{nb}")
    assert state.status_code == 200 and state.json()["can_run"] is False  # asked, not tried

    async def joined_audited():
        assert len(await audited(server, "room_joined", mark)) == 1

    await eventually(joined_audited)
    assert await audited(server, "access_denied", mark) == []
    await peer.close()


async def test_write_ends_with_the_edit_grant_while_a_view_grant_remains(
    module_server, guest, fresh_notebook, mark
):
    """Attack: edit for 5 s and view for a day, one browser. Once the edit grant has ended,
    the open socket's updates are dropped; it stays open for reading."""
    server, nb = module_server, fresh_notebook
    view = await share(server, nb, role="view")
    edit = await share(server, nb, role="edit", expires_in=5)
    await guest.join(view["link"])
    await guest.join(edit["link"])
    mine = await grants_on(server, nb)
    assert len(mine) == 2 and len({g["guest_session_id"] for g in mine}) == 1
    owner = await YPeer.open(server, nb)
    peer = await guest.peer(nb)
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# while allowed"
    await eventually(lambda: "while allowed" in str(owner.notebook.ycells[1]["source"]))
    await eventually(
        lambda: time.time() > edit["invitation"]["expires_at"] + 0.2, timeout=10, interval=0.2
    )
    source += "\n# after the edit grant ended"
    marker: Text = owner.notebook.ycells[0]["source"]
    marker += " (owner)"
    await eventually(lambda: str(peer.notebook.ycells[0]["source"]).endswith("(owner)"))
    assert not peer.closed.is_set()  # still reading

    async def refusal_audited():
        events = await audited(server, "access_denied", mark)
        assert [e["detail"]["reason"] for e in events] == ["write access ended"]

    await eventually(refusal_audited)
    fresh = await YPeer.open(server, nb)
    assert "after the edit grant ended" not in str(fresh.notebook.ycells[1]["source"])
    assert "after the edit grant ended" not in str(owner.notebook.ycells[1]["source"])
    for p in (peer, owner, fresh):
        await p.close()


async def test_revocation_closes_the_live_socket_within_a_second(
    module_server, guest, fresh_notebook
):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit")
    await guest.join(invite["link"])
    peer = await guest.peer(nb)
    started = time.monotonic()
    status, _ = await server.arequest(
        "DELETE", f"/tandem/api/invitations/{invite['invitation']['id']}"
    )
    assert status == 204
    await eventually(lambda: peer.closed.is_set(), timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert peer.close_code == 4403
    assert (await guest.session(nb)).status_code == 403


async def test_revoking_everyone_and_one_grant(module_server, guest, fresh_notebook):
    server, nb = module_server, fresh_notebook
    before = {g["id"] for g in await grants(server)}
    invite = await share(server, nb, role="edit", max_uses=5)
    await guest.join(invite["link"])
    peer = await guest.peer(nb)
    new = [g for g in await grants(server) if g["id"] not in before]
    assert len(new) == 1 and new[0]["scope_path"] == nb
    status, _ = await server.arequest("DELETE", f"/tandem/api/grants/{new[0]['id']}")
    assert status == 204
    await eventually(lambda: peer.closed.is_set(), timeout=1.0)
    assert (await guest.session(nb)).status_code == 403


async def test_forwarded_single_use_link_gives_nothing(module_server, guest, fresh_notebook):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit", max_uses=1)
    assert (await guest.join(invite["link"])).status_code == 303
    other = Guest(server)
    path = invite["link"].split(str(server.port), 1)[1]
    page = await other.http.get(path)
    assert page.status_code == 404  # same page as unknown, expired or revoked
    assert (await other.session(nb)).status_code == 403
    await other.close()


async def test_csrf_redemption_is_refused(module_server, guest, fresh_notebook):
    server, nb = module_server, fresh_notebook
    before = await grants(server)
    invite = await share(server, nb, role="edit")
    path = invite["link"].split(str(server.port), 1)[1]
    response = await guest.http.post(path, data={"name": "Mallory"})
    assert response.status_code == 403
    assert GUEST_COOKIE not in guest.http.cookies
    assert {g["id"] for g in await grants(server)} == {g["id"] for g in before}


async def test_approval_refused_admits_nobody(module_server, guest, fresh_notebook):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit", approval_required=True)
    joined = await guest.join(invite["link"])
    assert joined.status_code == 303 and joined.headers["Location"].endswith("tandem/waiting")
    assert (await guest.session(nb)).status_code == 403
    (grant,) = await grants_on(server, nb)
    assert grant["status"] == "pending"
    status, body = await server.arequest(
        "POST", f"/tandem/api/grants/{grant['id']}", {"decision": "refuse"}
    )
    assert status == 200 and body["grant"]["status"] == "refused"
    assert (await guest.session(nb)).status_code == 403


async def test_expiry_while_connected_closes_the_socket(module_server, guest, fresh_notebook):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit", expires_in=3)
    await guest.join(invite["link"])
    peer = await guest.peer(nb)
    await eventually(lambda: peer.closed.is_set(), timeout=6)
    assert peer.close_code == 4403
    assert (await guest.session(nb)).status_code == 403


async def test_invitations_survive_a_restart(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        guest = Guest(server)
        invite = await share(server, "demo.ipynb", role="edit")
        await guest.join(invite["link"])
        await server.restart(kill=True)
        assert (await guest.session("demo.ipynb")).status_code in (200, 201)
        status, listing = await server.arequest("GET", "/tandem/api/invitations")
        saved = listing["invitations"][0]
        assert saved["expires_at"] == invite["invitation"]["expires_at"]
        await guest.close()


@pytest.mark.parametrize(
    "path", ["../outside.ipynb", "/etc/passwd", "%2e%2e/x", "missing.ipynb", ""]
)
async def test_bad_scopes_are_refused_and_create_nothing(module_server, path):
    before = await invitation_ids(module_server)
    status, _ = await module_server.arequest(
        "POST", "/tandem/api/invitations", {"path": path, "role": "edit"}
    )
    assert status == 400
    assert await invitation_ids(module_server) == before


async def test_guest_cannot_open_another_file_by_its_id(module_server, guest, fresh_notebook):
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit")
    await guest.join(invite["link"])
    other = await server.session("notes.md", kind="text")
    cookie = guest.cookie_header
    token = await guest.room_token(nb)
    peer = YPeer(kind="text")
    await peer.connect(
        f"{server.ws_url}/api/collaboration/room/text:file:{other['fileId']}?roomToken={token}",
        {"Cookie": cookie, "Origin": server.http_url},
    )
    await eventually(lambda: peer.closed.is_set())
    assert peer.close_code == 4403
    global_room = YPeer()
    await global_room.connect(
        f"{server.ws_url}/api/collaboration/room/JupyterLab:globalAwareness?roomToken={token}",
        {"Cookie": cookie, "Origin": server.http_url},
    )
    await eventually(lambda: global_room.closed.is_set())
    assert global_room.close_code == 4403


async def test_link_guests_can_be_turned_off(root, tmp_path):
    args = [*FAST, "--TandemApp.allow_link_guests=False"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        status, _ = await server.arequest(
            "POST", "/tandem/api/invitations", {"path": "demo.ipynb", "role": "edit"}
        )
        assert status == 403
        status, listing = await server.arequest("GET", "/tandem/api/invitations")
        assert listing["invitations"] == []
