"""Presence by role in the editor: a viewer sees the presenter and a count of viewers,
not every other viewer; the owner sees every viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tandem.testing import TandemServer
from tests.browser.test_editor import me_of, open_guest, open_owner
from tests.conftest import write_notebook


async def test_a_viewer_sees_the_presenter_and_a_count_of_viewers(
    server: TandemServer, browser: Any, root: Path
) -> None:
    write_notebook(root / "class.ipynb", cells=3)
    owner = await open_owner(browser, server, "class.ipynb")
    owner_name = (await me_of(owner))["name"]
    ann, _ = await open_guest(browser, server, role="view", name="Ann Viewer", path="class.ipynb")
    bob, _ = await open_guest(browser, server, role="view", name="Bob Viewer", path="class.ipynb")

    await ann.wait_for_selector(f'.tc-people .tc-avatar[aria-label*="{owner_name} (owner)"]')
    count = ann.locator(".tc-people .tc-viewer-count")
    await count.filter(has_text="2 viewers").wait_for()
    assert await ann.locator('.tc-people .tc-avatar[aria-label*="Bob Viewer"]').count() == 0
    # The owner sees each viewer, and no count.
    await owner.wait_for_selector('.tc-people .tc-avatar[aria-label*="Ann Viewer (viewer)"]')
    await owner.wait_for_selector('.tc-people .tc-avatar[aria-label*="Bob Viewer (viewer)"]')
    assert await owner.locator(".tc-viewer-count").count() == 0
    # A viewer leaving updates the count.
    await bob.context.close()
    await count.filter(has_text="1 viewer").wait_for()
    for page in (owner, ann):
        assert page.errors == [], page.errors
        await page.context.close()
