"""The owner's audit page names people ("Revoked Alice"), never grant ids or hashes."""

from __future__ import annotations

from tests.browser.test_owner import Watch, owner_page
from tests.handlers.test_sharing import Guest, share


async def test_audit_page_says_revoked_alice_not_her_grant_id(server, browser):
    watch = Watch(server.http_url)
    alice = Guest(server)
    await alice.join((await share(server, role="edit"))["link"], name="Alice")
    status, grants = await server.arequest("GET", "/tandem/api/grants")
    (grant,) = grants["grants"]
    assert (await server.arequest("DELETE", f"/tandem/api/grants/{grant['id']}"))[0] == 204
    page = await owner_page(browser, server, watch, "/tandem/audit")
    revoked = page.locator('table.audit tbody tr[data-kind="grant_revoked"]')
    await revoked.wait_for()
    assert await revoked.locator("td").nth(1).inner_text() == "Revoked Alice"
    assert await revoked.locator("td").nth(2).inner_text() == "You"
    table = await page.locator("table.audit").inner_text()
    assert grant["id"] not in table and grant["guest_session_id"][:8] not in table
    joined = page.locator('table.audit tbody tr[data-kind="redeemed"]')
    assert await joined.locator("td").nth(2).inner_text() == "Alice"
    await alice.close()
    watch.check()
