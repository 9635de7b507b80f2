"""Three kinds of people in alice's server on a real JupyterHub: alice (owner), hub
admins (owner), other hub users (only what a Tandem grant gives them), link guests."""

from __future__ import annotations

import json
import re
import time

import httpx
from pycrdt import Text

from tests.eventually import eventually
from tests.hub.harness import Hub, HubBrowser, room_peer

ALICE = "/user/alice"


async def logged_in(hub: Hub, name: str) -> HubBrowser:
    browser = HubBrowser(hub)
    await browser.login(name)
    return browser


async def share_with(alice: HubBrowser, user: str, path: str = "demo.ipynb", role: str = "edit"):
    response = await alice.http.post(
        f"{ALICE}/tandem/api/hub-shares",
        json={"path": path, "role": role, "user": user},
        headers=alice.xsrf_headers("alice"),
    )
    assert response.status_code == 201, response.text
    return response.json()


async def refused_everything_but_the_grant(who: HubBrowser) -> None:
    """Every owner-only and standard Jupyter endpoint answers 403."""
    h = who.xsrf_headers("alice")
    checks = [
        ("GET", "/files/secret.txt"),
        ("GET", "/api/contents/secret.txt"),
        ("GET", "/api/contents/project/private.ipynb"),
        ("GET", "/api/contents"),
        ("POST", "/api/terminals"),
        ("POST", "/api/kernels"),
        ("GET", "/api/sessions"),
        ("GET", "/tandem/api/invitations"),
        ("POST", "/tandem/api/invitations"),
        ("GET", "/tandem/api/audit"),
        ("GET", "/tandem/api/grants"),
        ("DELETE", "/tandem/api/grants"),
        ("POST", "/tandem/api/hub-shares"),
    ]
    for method, path in checks:
        body = {"path": "secret.txt", "role": "run"} if method == "POST" else None
        response = await who.http.request(method, ALICE + path, json=body, headers=h)
        assert response.status_code == 403, (method, path, response.status_code)
    other = await who.http.put(
        f"{ALICE}/api/collaboration/session/other.ipynb",
        json={"format": "json", "type": "notebook"},
        headers=h,
    )
    assert other.status_code == 403


async def test_alice_reaches_lab_and_tandem_through_the_hub(hub: Hub):
    alice = await logged_in(hub, "alice")
    lab = await alice.get(f"{ALICE}/lab")
    assert lab.status_code == 200, hub.log_tail()
    me = await alice.get(f"{ALICE}/api/me", headers=alice.xsrf_headers("alice"))
    assert me.status_code == 200 and me.json()["identity"]["username"] == "alice"
    invitations = await alice.get(
        f"{ALICE}/tandem/api/invitations", headers=alice.xsrf_headers("alice")
    )
    assert invitations.status_code == 200, invitations.text
    await alice.close()


async def test_a_hub_admin_is_the_owner(hub: Hub):
    admin = await logged_in(hub, "admin")
    home = await admin.get(f"{ALICE}/tandem/")  # the hub's OAuth, then Tandem's home page
    assert home.status_code == 200 and home.url.path == f"{ALICE}/tandem/", hub.log_tail()
    response = await admin.get(f"{ALICE}/tandem/api/grants", headers=admin.xsrf_headers("alice"))
    assert response.status_code == 200, response.text
    await admin.close()


async def test_carol_with_a_hub_share_and_no_grant_reaches_nothing(hub: Hub):
    await hub.share("alice", "carol")
    carol = await logged_in(hub, "carol")
    page = await carol.get(f"{ALICE}/tandem/notebook/demo.ipynb")
    assert page.status_code == 404  # "not available", as to a guest without a grant
    await refused_everything_but_the_grant(carol)
    demo = await carol.http.put(
        f"{ALICE}/api/collaboration/session/demo.ipynb",
        json={"format": "json", "type": "notebook"},
        headers=carol.xsrf_headers("alice"),
    )
    assert demo.status_code == 403
    await hub.unshare("alice", "carol")
    await carol.close()


async def test_bob_edits_the_shared_notebook_as_bob_and_nothing_else(hub: Hub):
    alice = await logged_in(hub, "alice")
    shared = await share_with(alice, "bob")
    assert shared["hub_share"] is True, shared["message"]
    bob = await logged_in(hub, "bob")
    page = await bob.get(f"{ALICE}/tandem/notebook/demo.ipynb")
    assert page.status_code == 200, page.text[:300]
    me = await bob.get(f"{ALICE}/api/me", headers=bob.xsrf_headers("alice"))
    assert me.json()["identity"]["username"] == "bob"
    owner = await room_peer(alice, "alice", "demo.ipynb")
    peer = await room_peer(bob, "alice", "demo.ipynb")
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# from bob"
    await eventually(lambda: str(owner.notebook.ycells[1]["source"]).endswith("# from bob"))
    await peer.set_awareness({"user": {"name": "alice", "color": "#000"}})
    await eventually(lambda: peer.doc.client_id in owner.awareness)
    user = owner.awareness[peer.doc.client_id]["user"]
    assert user["username"] == "bob" and user["role"] == "edit"
    await refused_everything_but_the_grant(bob)

    # Revoked in Tandem: bob's socket closes within a second.
    started = time.monotonic()
    response = await alice.http.delete(
        f"{ALICE}/tandem/api/grants/{shared['grant']['id']}", headers=alice.xsrf_headers("alice")
    )
    assert response.status_code == 204
    await eventually(lambda: peer.closed.is_set(), timeout=1.0)
    assert time.monotonic() - started < 1.0 and peer.close_code == 4403
    again = await bob.http.put(
        f"{ALICE}/api/collaboration/session/demo.ipynb",
        json={"format": "json", "type": "notebook"},
        headers=bob.xsrf_headers("alice"),
    )
    assert again.status_code == 403
    await owner.close()
    for browser in (alice, bob):
        await browser.close()


async def test_a_hub_share_revoked_in_the_hub_closes_bobs_socket(hub: Hub):
    alice = await logged_in(hub, "alice")
    await share_with(alice, "bob")
    bob = await logged_in(hub, "bob")
    assert (await bob.get(f"{ALICE}/tandem/notebook/demo.ipynb")).status_code == 200
    peer = await room_peer(bob, "alice", "demo.ipynb")
    started = time.monotonic()
    await hub.unshare("alice", "bob")
    await eventually(lambda: peer.closed.is_set(), timeout=5.0)
    assert time.monotonic() - started < 5.0 and peer.close_code == 4403
    for browser in (alice, bob):
        await browser.close()


async def test_a_link_guest_without_a_hub_account_joins_through_the_proxy(hub: Hub):
    alice = await logged_in(hub, "alice")
    response = await alice.http.post(
        f"{ALICE}/tandem/api/invitations",
        json={"path": "demo.ipynb", "role": "edit"},
        headers=alice.xsrf_headers("alice"),
    )
    assert response.status_code == 201, response.text
    invite = response.json()
    assert invite["link"].startswith(hub.url + ALICE + "/tandem/join/")
    guest = HubBrowser(hub)
    path = invite["link"][len(hub.url) :]
    page = await guest.http.get(path)
    assert page.status_code == 200, page.text[:300]
    token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    joined = await guest.http.post(path, data={"name": "Grace", "_xsrf": token})
    assert joined.status_code == 200, joined.text[:300]
    owner = await room_peer(alice, "alice", "demo.ipynb")
    peer = await room_peer(guest, "alice", "demo.ipynb")
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# from Grace"
    await eventually(lambda: str(owner.notebook.ycells[1]["source"]).endswith("# from Grace"))
    response = await alice.http.delete(
        f"{ALICE}/tandem/api/invitations/{invite['invitation']['id']}",
        headers=alice.xsrf_headers("alice"),
    )
    assert response.status_code == 204
    await eventually(lambda: peer.closed.is_set(), timeout=1.0)
    await owner.close()
    for browser in (alice, guest):
        await browser.close()


async def test_links_made_on_the_internal_address_carry_the_public_one(hub: Hub):
    """``tandem share`` talks to the server's internal address (from its runtime file)."""
    runtime = hub.homes / "alice" / ".local" / "share" / "jupyter" / "runtime"
    info = json.loads(next(runtime.glob("jpserver-*.json")).read_text())
    async with httpx.AsyncClient() as client:
        response = await client.post(
            info["url"].rstrip("/") + "/tandem/api/invitations",
            json={"path": "demo.ipynb"},
            headers={"Authorization": f"token {info['token']}"},
        )
    assert response.status_code == 201, response.text
    assert response.json()["link"].startswith(f"{hub.url}{ALICE}/tandem/join/")
    assert not response.json()["link"].startswith(info["url"])


def test_startup_says_tandem_runs_under_the_hub(hub: Hub):
    log = hub.log_path.read_text(encoding="utf-8", errors="replace")
    assert "Tandem runs under JupyterHub for alice: hub users enabled, link guests enabled" in log
    assert "is in the home folder" in log  # the harness keeps the store in alice's home
