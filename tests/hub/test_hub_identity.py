"""Three kinds of people in alice's server on a real JupyterHub: alice (owner), hub
admins (owner), other hub users (only what a Tandem grant gives them), link guests."""

from __future__ import annotations

from tests.hub.harness import Hub, HubBrowser


async def test_alice_reaches_lab_and_tandem_through_the_hub(hub: Hub, browser: HubBrowser):
    await browser.login("alice")
    lab = await browser.get("/user/alice/lab")
    assert lab.status_code == 200, hub.log_tail()
    me = await browser.get("/user/alice/api/me", headers=browser.xsrf_headers("alice"))
    assert me.status_code == 200 and me.json()["identity"]["username"] == "alice"
    invitations = await browser.get(
        "/user/alice/tandem/api/invitations", headers=browser.xsrf_headers("alice")
    )
    assert invitations.status_code == 200, invitations.text
