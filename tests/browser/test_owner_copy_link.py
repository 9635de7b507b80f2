"""A link can be copied again later from the People page (Copy link, per working link)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.browser.test_owner import Watch, owner_page
from tests.handlers.test_sharing import share


async def test_copy_link_on_the_people_page_gives_the_same_working_link(server, browser):
    watch = Watch(server.http_url)
    invite = await share(server, role="edit", label="class")
    gone = await share(server, "notes.md", role="view")
    gone_id = gone["invitation"]["id"]
    assert (await server.arequest("DELETE", f"/tandem/api/invitations/{gone_id}"))[0] == 204
    page = await owner_page(
        browser,
        server,
        watch,
        "/tandem/people",
        permissions=["clipboard-read", "clipboard-write"],
    )
    await page.get_by_role("button", name="Copy the link to demo.ipynb (class)").click()
    field = page.locator(f'tr[data-invitation="{invite["invitation"]["id"]}"] input.link')
    await field.wait_for()
    assert await field.input_value() == invite["link"]
    await page.get_by_text("Link copied.").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == invite["link"]
    # A revoked link has nothing to copy.
    revoked_row = page.locator(f'tr[data-invitation="{gone_id}"]')
    assert await revoked_row.get_by_role("button", name="Copy link").count() == 0
    watch.check()


async def test_the_links_do_not_move_when_the_people_list_arrives_after_them(server, browser):
    """The two lists load separately. The links, shown first, must stay where they are when
    the people list replaces its "Loading…": a click aimed at Copy link would otherwise land
    on what moved under the pointer."""
    invite = await share(server, role="edit", label="class")
    watch = Watch(server.http_url)
    context = await browser.new_context()
    people_may_load = asyncio.Event()

    async def held_back(route: Any) -> None:
        await people_may_load.wait()
        await route.continue_()

    await context.route("**/tandem/api/grants", held_back)
    page = watch.attach(await context.new_page())
    await page.goto(f"{server.http_url}/tandem/people?token={server.token}")
    button = page.locator(f'tr[data-invitation="{invite["invitation"]["id"]}"] button').first
    await button.wait_for()
    before = await button.bounding_box()
    people_may_load.set()
    await page.get_by_text("Nobody has access yet").wait_for()
    assert await button.bounding_box() == before
    watch.check()
