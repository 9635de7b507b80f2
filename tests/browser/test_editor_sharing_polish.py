"""Small things a guest meets in Tandem's editor, in real Chromium. The tests share one
server, each in a notebook of its own."""

from __future__ import annotations

from typing import Any

from tandem.testing import TandemServer
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_editor import cell, edit_cell, open_guest, open_owner, server_sources


async def test_an_edit_guests_shift_enter_says_running_is_not_allowed_and_adds_no_cell(
    module_server: TandemServer, fresh_notebook: str, browser: Any
) -> None:
    server, nb = module_server, fresh_notebook
    guest, _ = await open_guest(browser, server, role="edit", name="Edith", path=nb)
    cells = await guest.locator(".tc-cell").count()
    last = cells - 1
    await edit_cell(guest, last, at="end")
    await guest.keyboard.press("Shift+Enter")
    await guest.locator(".tc-toast", has_text="Running code is not allowed for you").wait_for()
    assert await guest.locator(".tc-cell").count() == cells
    assert len(await server_sources(server, nb)) == cells
    # Still editable: typing goes into the same cell.
    await edit_cell(guest, last, at="end")
    await guest.keyboard.type("  # still here")
    await cell(guest, last).get_by_text("# still here").wait_for()
    assert guest.errors == []


async def test_the_revoked_page_shows_no_role_badge(
    module_server: TandemServer, fresh_notebook: str, browser: Any
) -> None:
    server, nb = module_server, fresh_notebook
    guest, invitation = await open_guest(browser, server, role="edit", name="Rita", path=nb)
    assert await guest.locator(".tc-role").count() == 1
    status, _ = await server.arequest(
        "DELETE", f"/tandem/api/invitations/{invitation['invitation']['id']}"
    )
    assert status == 204
    await guest.locator(".tc-end--revoked").wait_for(timeout=10_000)
    assert await guest.locator(".tc-role").count() == 0
    assert "can edit" not in (await guest.locator("body").inner_text()).lower()


async def test_the_owner_shares_from_the_editor(
    module_server: TandemServer, fresh_notebook: str, browser: Any
) -> None:
    server, nb = module_server, fresh_notebook
    owner = await open_owner(browser, server, nb)
    await owner.get_by_role("button", name="Share").click()
    dialog = owner.locator("dialog.share")
    await dialog.get_by_label("Edit").check()
    await dialog.get_by_role("button", name="Create link").click()
    link = await dialog.locator("input.link").input_value()
    assert "/tandem/join/" in link and server.token not in link
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await owner.screenshot(path=str(SCREENSHOTS / "editor-owner-share.png"))
    await dialog.get_by_role("button", name="Done").click()
    status, body = await server.arequest("GET", "/tandem/api/invitations")
    assert status == 200
    assert [i["role"] for i in body["invitations"] if i["scope_path"] == nb] == ["edit"]
    people = owner.get_by_role("link", name="People")
    assert (await people.get_attribute("href")).endswith("/tandem/people")
    # Guests see neither.
    guest, _ = await open_guest(browser, server, role="edit", name="Gus", path=nb)
    assert await guest.locator(".tc-owner-actions").count() == 0
    assert owner.errors == [] and guest.errors == []
