"""The audit page shows the answer to the filter chosen last, whatever order answers arrive in.

A slow answer to an older filter (the server busy, a slow network) used to replace the
newer one: the page said "Denied" in the filter and listed links created."""

from __future__ import annotations

from typing import Any

from tandem.testing import TandemServer
from tests.browser.test_owner import Watch, owner_page
from tests.handlers.test_sharing import share

# Every event count the results show, in order (the page replaces the results each time).
RECORD_COUNTS = """() => {
    window.__counts = [];
    const results = document.querySelector('section[aria-label="Results"]');
    new MutationObserver(() => {
        const shown = results.querySelector('[data-count]');
        if (shown) window.__counts.push(shown.dataset.count);
    }).observe(results, {childList: true, subtree: true});
}"""


async def test_a_late_answer_to_an_older_filter_does_not_replace_the_newer(
    module_server: TandemServer, browser: Any
) -> None:
    server = module_server
    await share(server, role="edit")
    await share(server, "notes.md", role="view")
    watch = Watch(server.http_url)
    page = await owner_page(browser, server, watch, "/tandem/audit")
    await page.locator("table.audit tbody tr").first.wait_for()

    held: list[Any] = []

    async def hold_link_events(route: Any) -> None:
        if "kind=invitation_created" in route.request.url:
            held.append(route)
        else:
            await route.continue_()

    await page.route("**/tandem/api/audit?*", hold_link_events)
    await page.evaluate(RECORD_COUNTS)
    kind = page.get_by_label("Event", exact=True)
    async with page.expect_request(lambda r: "kind=invitation_created" in r.url):
        await kind.select_option("invitation_created")
    await kind.select_option("access_denied")  # nobody was denied: no events
    await page.locator('[data-count="0"]').wait_for()

    async with page.expect_response(lambda r: "kind=invitation_created" in r.url) as late:
        await held[0].continue_()  # the older filter's answer arrives last
    await (await late.value).finished()
    # Refresh (answered after the late answer reached the page) marks the end of what it did.
    async with page.expect_response(lambda r: "kind=access_denied" in r.url) as refreshed:
        await page.get_by_role("button", name="Refresh").click()
    await (await refreshed.value).finished()
    await page.wait_for_function("() => window.__counts.length >= 2")
    await page.locator('section[aria-label="Results"][aria-busy="false"]').wait_for()

    assert await page.evaluate("() => window.__counts") == ["0", "0"]
    assert "kind=access_denied" in page.url
    assert await page.locator("table.audit").count() == 0
    await page.context.close()
    watch.check()
