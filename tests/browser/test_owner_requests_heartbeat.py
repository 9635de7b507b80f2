"""An approval request from a tab that was closed disappears from the owner's page."""

from __future__ import annotations

from tandem.testing import TandemServer
from tests.browser.test_owner import Watch, new_page, owner_page
from tests.conftest import FAST
from tests.handlers.test_sharing import share


async def test_closing_the_waiting_tab_takes_the_request_away(root, tmp_path, browser):
    args = [*FAST, "--TandemApp.join_request_timeout=3"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        watch = Watch(server.http_url)
        owner = await owner_page(browser, server, watch, "/tandem/people")
        invite = await share(server, role="edit", approval_required=True)
        guest = await new_page(browser, watch)
        await guest.goto(invite["link"])
        await guest.get_by_label("Your name").fill("Grace")
        await guest.get_by_role("button", name="Join").click()
        await guest.locator('#waiting[data-status="pending"]').wait_for()
        request = owner.locator("li.request", has_text="Grace")
        await request.wait_for()
        await guest.wait_for_timeout(5000)  # past the timeout: the open tab keeps it
        assert await request.count() == 1
        await guest.context.close()
        await request.wait_for(state="detached", timeout=30_000)
        assert await owner.locator("li.request").count() == 0
        watch.check()
