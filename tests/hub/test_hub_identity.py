"""Three kinds of people in alice's server on a real JupyterHub: alice (owner), hub
admins (owner), other hub users (only what a Tandem grant gives them), link guests."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from typing import Any

import httpx
from pycrdt import Text

from tests.browser.conftest import launched_chromium
from tests.eventually import eventually
from tests.hub.harness import BIN, PASSWORD, Hub, HubBrowser, room_peer

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

    async def http_refused_too():  # not only after the hub's 300 s cache
        response = await bob.http.put(
            f"{ALICE}/api/collaboration/session/demo.ipynb",
            json={"format": "json", "type": "notebook"},
            headers=bob.xsrf_headers("alice"),
        )
        assert response.status_code == 403

    await eventually(http_refused_too, timeout=5.0)
    assert time.monotonic() - started < 10.0
    for browser in (alice, bob):
        await browser.close()


async def test_sharing_with_a_hub_group_reaches_its_members(hub: Hub):
    response = await hub.api("POST", "/groups/ta", {"users": ["carol"]})
    assert response.status_code == 201, response.text
    alice = await logged_in(hub, "alice")
    response = await alice.http.post(
        f"{ALICE}/tandem/api/hub-shares",
        json={"path": "demo.ipynb", "role": "view", "group": "ta"},
        headers=alice.xsrf_headers("alice"),
    )
    assert response.status_code == 201 and response.json()["hub_share"] is True, response.text
    grant = response.json()["grant"]
    unknown = await alice.http.post(
        f"{ALICE}/tandem/api/hub-shares",
        json={"path": "demo.ipynb", "role": "view", "user": "nobody-here"},
        headers=alice.xsrf_headers("alice"),
    )
    assert unknown.status_code == 400 and "no hub user" in unknown.text
    # Through the group share alone (JupyterHub leaves it out of carol's token's scopes:
    # Tandem admits her with the hub's login cookie while the hub holds the share).
    carol = await logged_in(hub, "carol")
    assert (await carol.get(f"{ALICE}/tandem/notebook/demo.ipynb")).status_code == 200
    owner = await room_peer(alice, "alice", "demo.ipynb")
    peer = await room_peer(carol, "alice", "demo.ipynb")
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# carol only views"
    marker: Text = owner.notebook.ycells[0]["source"]
    marker += " (alice)"
    await eventually(lambda: str(peer.notebook.ycells[0]["source"]).endswith("(alice)"))
    assert "carol only views" not in str(owner.notebook.ycells[1]["source"])
    await refused_everything_but_the_grant(carol)

    # Her socket outlives the server's re-checks with the hub (each one makes the hub
    # log that it left the group share out of her token).
    def discarded() -> int:
        log = hub.log_path.read_text(encoding="utf-8", errors="replace")
        return log.count("not present in roles of owner <User(carol")

    seen = discarded()
    await eventually(lambda: discarded() >= seen + 2, timeout=30)
    assert not peer.closed.is_set()
    # Only the hub's login cookie gets the exception: carol's own API token, in a header,
    # does not (the hub did not scope it to alice's server), nor does erin, not in ta.
    token = (await hub.api("POST", "/users/carol/tokens", {"scopes": ["inherit"]})).json()
    async with httpx.AsyncClient(base_url=hub.url) as client:
        by_token = await client.get(
            f"{ALICE}/tandem/notebook/demo.ipynb",
            headers={"Authorization": f"token {token['token']}"},
        )
    assert by_token.status_code == 403
    await hub.add_user("erin")
    erin = await logged_in(hub, "erin")
    assert (await erin.get(f"{ALICE}/tandem/notebook/demo.ipynb")).status_code == 403
    response = await alice.http.delete(
        f"{ALICE}/tandem/api/grants/{grant['id']}", headers=alice.xsrf_headers("alice")
    )
    assert response.status_code == 204
    await eventually(lambda: peer.closed.is_set(), timeout=1.0)

    # Tandem removed the hub share it made: the hub lets carol in no more.
    async def hub_share_removed():
        shares = (await hub.api("GET", "/shares/alice/")).json()
        assert not any((s.get("group") or {}).get("name") == "ta" for s in shares["items"])

    await eventually(hub_share_removed, timeout=10)
    assert (await carol.get(f"{ALICE}/tandem/notebook/demo.ipynb")).status_code == 403
    await owner.close()
    for browser in (alice, carol, erin):
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
    # Shared origin: any page on the hub can make the browser send Grace's cookie, but
    # without the room token of Tandem's editor page her socket is refused.
    forged = await room_peer(guest, "alice", "demo.ipynb", page_token=False, wait=False)
    await eventually(lambda: forged.closed.is_set())
    assert forged.close_code == 4403 and not forged.synced.is_set()
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


# -- in Chromium, where a person would click ---------------------------------------------


async def chromium_page(chromium: Any, hub: Hub, name: str | None) -> Any:
    """A page in a fresh browser context, logged in to the hub as ``name`` (None: no hub
    login). ``page.failures`` collects every 4xx/5xx response and page error."""
    context = await chromium.new_context()
    page = await context.new_page()
    page.failures = []
    page.on(
        "response",
        lambda r: page.failures.append((r.status, r.url)) if r.status >= 400 else None,
    )
    page.on("pageerror", lambda error: page.failures.append(("error", str(error))))
    if name is not None:
        await page.goto(f"{hub.url}/hub/login")
        await page.fill("#username_input", name)
        await page.fill("#password_input", PASSWORD)
        await page.click("#login_submit")
        await page.wait_for_load_state("networkidle")
    return page


async def open_through_oauth(page: Any, url: str) -> None:
    """Open ``url``; on the hub's consent page ("Authorize access"), authorize."""
    await page.goto(url)
    if "/hub/api/oauth2/authorize" in page.url:
        await page.click("form button[type=submit]")
    await page.wait_for_url(url.split("?")[0] + "*", timeout=30_000)


async def editor_online(page: Any) -> None:
    await page.wait_for_selector("html[data-tandem-ready]", timeout=30_000)
    await page.wait_for_selector('.tc-status[data-connection="online"]', timeout=30_000)


async def type_in_cell(page: Any, index: int, text: str) -> None:
    target = page.locator(".tc-cell").nth(index)
    await target.scroll_into_view_if_needed()
    await target.locator(".cm-content").click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(text)


async def test_in_chromium_alice_bob_and_a_link_guest_through_the_hub(hub: Hub):
    async with launched_chromium() as chromium:
        # alice: JupyterLab and Tandem's pages through the hub, with no 4xx/5xx.
        alice = await chromium_page(chromium, hub, "alice")
        await open_through_oauth(alice, f"{hub.url}{ALICE}/lab")
        await alice.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
        for page in ("", "people", "audit"):
            await alice.goto(f"{hub.url}{ALICE}/tandem/{page}")
            await alice.wait_for_load_state("networkidle")
        await alice.goto(f"{hub.url}{ALICE}/tandem/notebook/demo.ipynb")
        await editor_online(alice)
        assert alice.failures == []

        # bob, logged in as himself, edits the notebook alice shared with him, as bob.
        api = await logged_in(hub, "alice")
        shared = await share_with(api, "bob")
        bob = await chromium_page(chromium, hub, "bob")
        await open_through_oauth(bob, f"{hub.url}{ALICE}/tandem/notebook/demo.ipynb")
        await editor_online(bob)
        await type_in_cell(bob, 1, "  # typed by bob")
        await alice.wait_for_function(
            "() => document.querySelectorAll('.tc-cell')[1].textContent.includes('typed by bob')"
        )
        await alice.wait_for_selector('.tc-avatar[aria-label*="bob"]')
        probe = await bob.context.new_page()
        for path in ("/files/secret.txt", "/lab/tree/project/private.ipynb", "/tandem/people"):
            response = await probe.goto(f"{hub.url}{ALICE}{path}")
            assert response is not None and response.status in (403, 404), path
            assert "alice's secret" not in await probe.content()
        # alice revokes in Tandem: bob's editor says so at once and holds nothing more.
        started = time.monotonic()
        response = await api.http.delete(
            f"{ALICE}/tandem/api/grants/{shared['grant']['id']}", headers=api.xsrf_headers("alice")
        )
        assert response.status_code == 204
        await bob.wait_for_selector(".tc-end--revoked", timeout=5000)
        assert time.monotonic() - started < 5
        assert await bob.locator(".tc-cell").count() == 0

        # Someone with no hub login opens alice's link, joins under a name and edits.
        response = await api.http.post(
            f"{ALICE}/tandem/api/invitations",
            json={"path": "demo.ipynb", "role": "edit"},
            headers=api.xsrf_headers("alice"),
        )
        link = response.json()["link"]
        guest = await chromium_page(chromium, hub, None)
        await guest.goto(link)
        await guest.fill("input[name=name]", "Grace")
        await guest.click("form button[type=submit]")
        await editor_online(guest)
        await type_in_cell(guest, 2, "  # typed by Grace")
        await alice.wait_for_function(
            "() => document.querySelectorAll('.tc-cell')[2].textContent.includes('by Grace')"
        )
        assert [f for f in guest.failures if f[0] != 404 or "favicon" not in str(f[1])] == []
        await api.close()


async def test_no_page_gives_a_hub_user_or_a_guest_the_servers_token(hub: Hub):
    """Jupyter's page template embeds the identity provider's token for anyone logged in;
    under the hub that is the server's own API token (alice's, to the hub and the server)."""
    runtime = hub.homes / "alice" / ".local" / "share" / "jupyter" / "runtime"
    server_token = json.loads(next(runtime.glob("jpserver-*.json")).read_text())["token"]
    alice = await logged_in(hub, "alice")
    shared = await share_with(alice, "bob", role="view")
    bob = await logged_in(hub, "bob")
    assert (await bob.get(f"{ALICE}/tandem/notebook/demo.ipynb")).status_code == 200
    h = bob.xsrf_headers("alice")
    responses = [
        await bob.http.get(f"{ALICE}/static/nope.js", headers=h),
        await bob.http.get(f"{ALICE}/tandem/notebook/nope.ipynb", headers=h),
        await bob.http.post(f"{ALICE}/tandem/", headers=h),
        await bob.http.get(f"{ALICE}/lab", headers=h),
        await bob.http.get(f"{ALICE}/api/me", headers=h),
    ]
    for response in responses:
        assert server_token not in response.text, (response.request.url, response.status_code)
        assert server_token not in str(response.headers)
    response = await alice.http.delete(
        f"{ALICE}/tandem/api/grants/{shared['grant']['id']}", headers=alice.xsrf_headers("alice")
    )
    assert response.status_code == 204
    for browser in (alice, bob):
        await browser.close()


def test_tandem_share_with_a_hub_user_from_the_command_line(hub: Hub):
    """``tandem share --hub-user`` inside alice's server (her terminal on the hub)."""
    home = hub.homes / "alice"
    runtime = home / ".local" / "share" / "jupyter" / "runtime"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}  # finds her running server
    command = [str(BIN / "tandem")]
    done = subprocess.run(
        [*command, "share", "demo.ipynb", "--role", "edit", "--hub-user", "bob"],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "edit on demo.ipynb for hub user bob" in done.stdout
    unknown = subprocess.run(
        [*command, "share", "demo.ipynb", "--hub-user", "nobody-here"],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert unknown.returncode != 0 and "no hub user named 'nobody-here'" in unknown.stderr
    grant_id = done.stdout.split(":", 1)[0]
    revoked = subprocess.run(
        [*command, "revoke", grant_id],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert revoked.returncode == 0, revoked.stderr
