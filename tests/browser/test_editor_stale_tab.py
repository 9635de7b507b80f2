"""A link guest's first tab keeps working when another tab renews their guest session.

Joining again (a second link, in a second tab) gives the browser a fresh guest session,
so the first tab's room token (bound to the old session) is refused as "out of date".
The first tab loads itself again to get the current token, keeping the edits it had not
sent; what it had sent is not duplicated."""

from __future__ import annotations

from typing import Any

from tandem.testing import TandemServer
from tests.browser.test_editor import (
    cell_text,
    edit_cell,
    no_page_errors,
    open_guest,
    server_sources,
    wait_online,
)
from tests.eventually import eventually
from tests.handlers.test_sharing import share


async def test_the_first_tab_keeps_editing_after_the_guest_joins_again_in_another(
    module_server: TandemServer, browser: Any, fresh_notebook: str
) -> None:
    server, path = module_server, fresh_notebook
    first, _ = await open_guest(browser, server, role="edit", name="Grace Hopper", path=path)
    dialogs: list[str] = []
    first.on("dialog", lambda dialog: dialogs.append(dialog.type))
    original = (await server_sources(server, path))[1]
    await edit_cell(first, 1)
    await first.keyboard.type(" # one")

    async def sent(expected: str) -> None:
        assert (await server_sources(server, path))[1] == expected

    await eventually(lambda: sent(original + " # one"), timeout=15)

    # Hold the first tab's reconnection so it types while it cannot send.
    held: list[Any] = []

    async def hold(route: Any) -> None:
        if held:  # only the first try waits; the page loaded again asks freely
            await route.continue_()
        else:
            held.append(route)

    await first.route("**/api/collaboration/session/**", hold)

    second = await first.context.new_page()  # the same browser: the same cookies
    second.errors = []
    second.on("pageerror", lambda error: second.errors.append(str(error)))
    await second.goto((await share(server, path, role="edit"))["link"])
    await second.get_by_label("Your name").fill("Grace Hopper")
    await second.get_by_role("button", name="Join").click()
    await second.wait_for_url(f"**/tandem/notebook/{path}")
    await wait_online(second)

    async def reconnecting() -> None:
        assert held, "the first tab has not tried to reconnect"

    await eventually(reconnecting, timeout=15)  # its socket of the old session was closed
    await first.locator('.tc-status[data-connection="online"]').wait_for(state="detached")
    await first.keyboard.type(" # two")
    assert (await cell_text(first, 1)).endswith(" # one # two")

    async with first.expect_navigation():  # refused as out of date: it loads itself again
        await held[0].continue_()
    await wait_online(first)
    await eventually(lambda: sent(original + " # one # two"), timeout=15)
    assert await cell_text(first, 1) == original + " # one # two"

    await edit_cell(first, 1)
    await first.keyboard.type(" # three")
    await eventually(lambda: sent(original + " # one # two # three"), timeout=15)

    async def second_sees_it() -> None:
        assert await cell_text(second, 1) == original + " # one # two # three"

    await eventually(second_sees_it, timeout=15)
    assert await first.locator(".tc-banner").filter(has_text="out of date").count() == 0
    assert dialogs == []
    no_page_errors(first, second)
    await first.context.close()
