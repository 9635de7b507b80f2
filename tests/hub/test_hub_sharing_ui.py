"""Sharing with hub users and groups from the UI, on a real JupyterHub, in Chromium:
Tandem's owner pages and JupyterLab's Share dialog; revocation as bob's editor shows it;
JupyterLab refused to hub users as a page listing what is shared with them."""

from __future__ import annotations

import time
from typing import Any

from tests.browser.conftest import launched_chromium
from tests.conftest import write_notebook
from tests.eventually import eventually
from tests.hub.harness import Hub, HubBrowser, room_peer
from tests.hub.test_hub_identity import (
    chromium_page,
    editor_online,
    logged_in,
    open_through_oauth,
    share_with,
    type_in_cell,
)

ALICE = "/user/alice"

# Installed before any page script: the page's own clock for what the test measures.
RECORD_DELETES = """
(() => {
  window.__tandemDeletes = [];
  const fetch0 = window.fetch;
  window.fetch = async (...args) => {
    const response = await fetch0(...args);
    const init = args[1] || {};
    if ((init.method || "GET").toUpperCase() === "DELETE") {
      const at = Date.now();
      window.__tandemDeletes.push({ url: String(args[0]), status: response.status, at });
    }
    return response;
  };
})();
"""
RECORD_END = """
(() => {
  window.__tandemEnd = null;
  new MutationObserver(() => {
    if (window.__tandemEnd === null && document.querySelector(".tc-end--revoked")) {
      window.__tandemEnd = Date.now();
    }
  }).observe(document, { childList: true, subtree: true, attributes: true });
})();
"""


def unknown_name_refused(hub: Hub, failure: tuple[Any, Any]) -> bool:
    """The one 4xx these pages should see: the hub-shares POST with the unknown name
    (JupyterLab adds a cache-busting query to its URL)."""
    url = str(failure[1]).split("?")[0]
    return failure[0] == 400 and url == f"{hub.url}{ALICE}/tandem/api/hub-shares"


async def hub_grants(alice: HubBrowser) -> list[dict[str, Any]]:
    response = await alice.http.get(
        f"{ALICE}/tandem/api/hub-shares", headers=alice.xsrf_headers("alice")
    )
    assert response.status_code == 200, response.text
    return [g for g in response.json()["grants"] if g["revoked_at"] is None]


async def revoke(alice: HubBrowser, grant_id: str) -> None:
    response = await alice.http.delete(
        f"{ALICE}/tandem/api/grants/{grant_id}", headers=alice.xsrf_headers("alice")
    )
    assert response.status_code == 204, response.text


async def share_in_owner_page(page: Any, name: str, role: str = "edit") -> Any:
    """On Tandem's home page: Share on demo.ipynb, "A hub user", the name, the role."""
    await page.click('button[aria-label="Share demo.ipynb"]')
    dialog = page.locator("dialog.share")
    await dialog.locator("fieldset.share-with:not([hidden])").wait_for()
    await dialog.locator("input[name=share_with][value=user]").check()
    await dialog.locator("input[name=hub_name]").fill(name)
    await dialog.locator(f"input[name=role][value={role}]").check()
    await dialog.locator("button[type=submit]").click()
    return dialog


async def test_alice_shares_with_bob_and_revokes_by_clicking(hub: Hub):
    api = await logged_in(hub, "alice")
    async with launched_chromium() as chromium:
        alice = await chromium_page(chromium, hub, "alice")
        await alice.context.add_init_script(RECORD_DELETES)
        await open_through_oauth(alice, f"{hub.url}{ALICE}/tandem/")

        # An unknown name: the server's message in the dialog, and nothing shared.
        dialog = await share_in_owner_page(alice, "nobody-here")
        error = dialog.locator("p.error")
        await error.filter(has_text="no hub user named 'nobody-here'").wait_for()
        assert (await error.text_content() or "").startswith("Nothing was shared")
        assert [g for g in await hub_grants(api) if g["name"] == "nobody-here"] == []
        await dialog.locator("button", has_text="Cancel").click()

        dialog = await share_in_owner_page(alice, "bob")
        done = dialog.locator(".share-done[data-hub-grant]")
        await done.wait_for()
        assert "Hub user bob can edit demo.ipynb" in (await done.text_content() or "")
        grant_id = await done.get_attribute("data-hub-grant")
        (grant,) = [g for g in await hub_grants(api) if g["id"] == grant_id]
        assert (grant["kind"], grant["name"], grant["role"]) == ("user", "bob", "edit")
        await done.locator("button", has_text="Done").click()
        await done.wait_for(state="detached")

        # bob, from his own hub login, edits it and is shown as bob.
        bob = await chromium_page(chromium, hub, "bob")
        await bob.context.add_init_script(RECORD_END)
        await open_through_oauth(bob, f"{hub.url}{ALICE}/tandem/notebook/demo.ipynb")
        await editor_online(bob)
        owner = await room_peer(api, "alice", "demo.ipynb")
        await type_in_cell(bob, 1, "  # typed by bob in Chromium")
        await eventually(
            lambda: "typed by bob in Chromium" in str(owner.notebook.ycells[1]["source"]),
            timeout=15,
        )

        def shown_as_bob() -> None:
            users = [state.get("user", {}) for state in owner.awareness.values()]
            assert any(u.get("username") == "bob" and u.get("role") == "edit" for u in users)

        await eventually(shown_as_bob, timeout=15)

        # The dialog lists him for this notebook; the People page too, by hub name.
        await alice.click('button[aria-label="Share demo.ipynb"]')
        listed = alice.locator(f'dialog.share li[data-hub-grant="{grant_id}"]')
        await listed.wait_for()
        assert "bob" in (await listed.text_content() or "")
        await alice.keyboard.press("Escape")
        await alice.goto(f"{hub.url}{ALICE}/tandem/people")
        row = alice.locator(f'tr[data-grant="{grant_id}"]')
        await row.wait_for()
        assert "bob (hub user)" in (await row.locator("td.who").text_content() or "")

        # alice clicks Revoke: bob's editor shows the revoked end state within a second
        # of the DELETE's answer, both times read from the pages' own clocks.
        await row.locator("button", has_text="Revoke").click()
        await alice.wait_for_function("() => window.__tandemDeletes.length > 0")
        (deleted,) = await alice.evaluate("() => window.__tandemDeletes")
        assert deleted["status"] == 204 and grant_id in deleted["url"]
        await bob.wait_for_selector(".tc-end--revoked", timeout=10_000)
        ended = await bob.evaluate("() => window.__tandemEnd")
        assert ended is not None
        print(f"\nrevoked end state {ended - deleted['at']} ms after the DELETE's answer")
        assert ended - deleted["at"] < 1000
        assert await bob.locator(".tc-cell").count() == 0

        # The editor's Share offers the same, and bob is no longer listed there.
        await alice.goto(f"{hub.url}{ALICE}/tandem/notebook/demo.ipynb")
        await editor_online(alice)
        await alice.click(".tc-owner-share")
        await alice.locator("dialog.share fieldset.share-with:not([hidden])").wait_for()
        await alice.locator("dialog.share .hub-grants", has_text="Nobody on the hub yet").wait_for()
        assert [f for f in alice.failures if not unknown_name_refused(hub, f)] == []
        await owner.close()
    await api.close()


async def test_a_hub_share_revoked_in_the_hub_closes_bobs_editor(hub: Hub):
    api = await logged_in(hub, "alice")
    shared = await share_with(api, "bob")
    async with launched_chromium() as chromium:
        bob = await chromium_page(chromium, hub, "bob")
        await bob.context.add_init_script(RECORD_END)
        await open_through_oauth(bob, f"{hub.url}{ALICE}/tandem/notebook/demo.ipynb")
        await editor_online(bob)
        # As the hub's UI does when alice removes the share there.
        started = time.time() * 1000
        await hub.unshare("alice", "bob")
        await bob.wait_for_selector(".tc-end--revoked", timeout=15_000)
        ended = await bob.evaluate("() => window.__tandemEnd")
        print(f"\nhub share removed: bob's editor ended {ended - started:.0f} ms later")
        assert ended - started < 5000
        assert await bob.locator(".tc-cell").count() == 0
    await revoke(api, shared["grant"]["id"])
    await api.close()


async def test_alice_shares_from_jupyterlab_with_a_group_and_a_user(hub: Hub):
    response = await hub.api("POST", "/groups/students", {"users": ["carol"]})
    assert response.status_code in (201, 409), response.text
    api = await logged_in(hub, "alice")
    async with launched_chromium() as chromium:
        alice = await chromium_page(chromium, hub, "alice")
        await open_through_oauth(alice, f"{hub.url}{ALICE}/lab/tree/demo.ipynb")
        await alice.wait_for_selector(".jp-Notebook", timeout=60_000)
        # The notebook names no kernel: JupyterLab asks which to start (none is needed).
        await alice.locator(".jp-Dialog .jp-mod-reject").click(timeout=60_000)
        await alice.locator(".jp-Dialog").wait_for(state="detached", timeout=30_000)
        await alice.click("#tandem-share-button")
        body = alice.locator(".tandem-Share")
        await body.locator("[data-tandem-hub-sharing]:not([hidden])").wait_for(timeout=15_000)
        status = body.locator(".tandem-Share-status")

        # An unknown user: the server's message in the dialog, and nothing shared.
        await body.locator("select[name=share_with]").select_option("user")
        await body.locator("input[name=hub_name]").fill("nobody-here")
        await body.locator(".tandem-Share-create").click()
        await status.filter(has_text="no hub user named 'nobody-here'").wait_for()
        assert "Nothing was shared" in (await status.text_content() or "")
        assert [g for g in await hub_grants(api) if g["name"] == "nobody-here"] == []

        await body.locator("select[name=share_with]").select_option("group")
        await body.locator("input[name=hub_name]").fill("students")
        await body.locator("select[name=role]").select_option("view")
        await body.locator(".tandem-Share-create").click()
        await body.locator(".tandem-Share-created", has_text="hub group students").wait_for()
        (grant,) = [g for g in await hub_grants(api) if g["name"] == "students"]
        assert (grant["kind"], grant["role"]) == ("group", "view")
        assert grant["scope_path"] == "demo.ipynb"
        item = body.locator(f'li[data-hub-grant="{grant["id"]}"]')
        await item.wait_for()
        assert "group students" in (await item.text_content() or "")
        await alice.locator(".jp-Dialog .jp-mod-accept", has_text="Done").click()
        await body.wait_for(state="detached")

        # bob, shared with too, edits it in Tandem's editor: JupyterLab's People panel
        # names both grants as Tandem's pages do, its collaborators panel shows him.
        shared = await share_with(api, "bob")
        bob = await chromium_page(chromium, hub, "bob")
        await open_through_oauth(bob, f"{hub.url}{ALICE}/tandem/notebook/demo.ipynb")
        await editor_online(bob)
        await alice.evaluate("() => window.jupyterapp.commands.execute('tandem:people')")
        people = alice.locator("#tandem-people")
        for words in ("bob (hub user)", "group students"):
            await people.locator(".tandem-People-grant", has_text=words).wait_for()
        await alice.evaluate("() => window.jupyterapp.shell.activateById('jp-collaboration-panel')")
        collaborator = alice.locator(".jp-CollaboratorsList .jp-Collaborator").filter(
            has_text="bob"
        )
        await collaborator.wait_for(timeout=20_000)
        await revoke(api, shared["grant"]["id"])
        await collaborator.wait_for(state="detached", timeout=20_000)

        # Revoke the group from the dialog's list.
        await alice.click("#tandem-share-button")
        item = body.locator(f'li[data-hub-grant="{grant["id"]}"]')
        await item.wait_for()
        await item.locator("button", has_text="Revoke").click()
        await item.wait_for(state="detached")
        assert [g for g in await hub_grants(api) if g["name"] == "students"] == []
        assert [f for f in alice.failures if not unknown_name_refused(hub, f)] == []
    await api.close()


async def test_jupyterlab_for_a_hub_user_is_a_page_of_what_is_shared_with_them(hub: Hub):
    api = await logged_in(hub, "alice")
    shared = await share_with(api, "bob", role="view")
    bob = await logged_in(hub, "bob")
    assert (await bob.get(f"{ALICE}/tandem/notebook/demo.ipynb")).status_code == 200
    listed = await bob.http.get(f"{ALICE}/tandem/api/hub-shares", headers=bob.xsrf_headers("alice"))
    assert listed.status_code == 403  # who alice shares with is hers to know
    for path in ("/lab", "/lab/tree/other.ipynb", "/lab/tree/secret.txt"):
        page = await bob.http.get(ALICE + path)
        assert page.status_code == 403, (path, page.status_code)
        assert page.headers["content-type"].startswith("text/html")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        text = page.text
        assert "<h1>This is alice's Jupyter server</h1>" in text
        assert f'href="{ALICE}/tandem/notebook/demo.ipynb"' in text
        for hidden in ('other.ipynb"', "private", 'secret.txt"', "alice's secret"):
            assert hidden not in text.replace(path, ""), (path, hidden)
    # carol gets through the hub (a hub share) but has no grant: nothing is listed.
    await hub.share("alice", "carol")
    carol = await logged_in(hub, "carol")
    page = await carol.get(f"{ALICE}/lab")
    assert page.status_code == 403 and "is shared with you at the moment" in page.text
    assert "demo.ipynb" not in page.text
    await hub.unshare("alice", "carol")
    await revoke(api, shared["grant"]["id"])
    for browser in (api, bob, carol):
        await browser.close()


async def test_without_the_hub_scope_the_dialog_says_so_and_shares_nothing(hub: Hub):
    """Dave's server token lacks ``shares!server`` (see the harness's hub config)."""
    write_notebook(hub.homes / "dave" / "demo.ipynb")
    await hub.add_user("dave")
    await hub.spawn("dave")
    api = await logged_in(hub, "dave")
    try:
        # The new server's first answers (through the hub's OAuth) are slow under load.
        home = await api.get("/user/dave/tandem/")
        assert home.status_code == 200, home.text[:300]
        async with launched_chromium() as chromium:
            dave = await chromium_page(chromium, hub, "dave")
            await dave.goto(f"{hub.url}/user/dave/tandem/", timeout=90_000)
            await dave.wait_for_url(f"{hub.url}/user/dave/tandem/", timeout=90_000)
            dialog = await share_in_owner_page(dave, "bob")
            error = dialog.locator("p.error")
            await error.filter(has_text="lacks shares!server").wait_for()
            text = await error.text_content() or ""
            assert "ask the hub admin" in text and "nothing was shared" in text
        grants = await api.http.get(
            "/user/dave/tandem/api/grants", headers=api.xsrf_headers("dave")
        )
        assert grants.status_code == 200 and grants.json()["grants"] == []
        shares = (await hub.api("GET", "/shares/dave/")).json()
        assert shares["items"] == []
    finally:
        await api.close()
        response = await hub.api("DELETE", "/users/dave/server")
        assert response.status_code in (202, 204), response.text


async def test_a_run_share_with_a_hub_user_says_how_code_runs_as_a_run_link_does(hub: Hub):
    api = await logged_in(hub, "alice")
    response = await api.http.post(
        f"{ALICE}/tandem/api/hub-shares",
        json={"path": "demo.ipynb", "role": "run", "user": "bob"},
        headers=api.xsrf_headers("alice"),
    )
    if response.status_code == 201:  # this machine can confine code (or lets it run as alice)
        assert response.json()["runs"]["mode"] in ("confined", "as_owner")
        await revoke(api, response.json()["grant"]["id"])
    else:  # as a run link is refused here: nothing shared, in Tandem or in the hub
        assert response.status_code == 400, response.text
        assert "guests cannot run code" in response.json()["message"]
        assert [g for g in await hub_grants(api) if g["role"] == "run"] == []

        async def bob_not_shared_in_the_hub() -> None:  # (an earlier test's removal is async)
            shares = (await hub.api("GET", "/shares/alice/")).json()["items"]
            assert not any((s.get("user") or {}).get("name") == "bob" for s in shares)

        await eventually(bob_not_shared_in_the_hub, timeout=10)
    await api.close()
