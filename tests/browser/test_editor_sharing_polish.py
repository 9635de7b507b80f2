"""Small things a guest meets in Tandem's editor, in real Chromium."""

from __future__ import annotations

from typing import Any

from tandem.testing import TandemServer
from tests.browser.test_editor import cell, edit_cell, open_guest, server_sources


async def test_an_edit_guests_shift_enter_says_running_is_not_allowed_and_adds_no_cell(
    server: TandemServer, browser: Any
) -> None:
    guest, _ = await open_guest(browser, server, role="edit", name="Edith")
    cells = await guest.locator(".tc-cell").count()
    last = cells - 1
    await edit_cell(guest, last, at="end")
    await guest.keyboard.press("Shift+Enter")
    await guest.locator(".tc-toast", has_text="Running code is not allowed for you").wait_for()
    assert await guest.locator(".tc-cell").count() == cells
    assert len(await server_sources(server)) == cells
    # Still editable: typing goes into the same cell.
    await edit_cell(guest, last, at="end")
    await guest.keyboard.type("  # still here")
    await cell(guest, last).get_by_text("# still here").wait_for()
    assert guest.errors == []
