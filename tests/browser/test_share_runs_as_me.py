"""The share dialog's per-link "runs as me" choice, on a server that cannot confine code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tandem.testing import TandemServer
from tests.conftest import FAST

from .test_owner import Watch, owner_page


async def test_a_run_link_is_refused_without_the_choice_and_says_it_runs_as_you_with_it(
    root: Path, tmp_path: Path, browser: Any
) -> None:
    args = [*FAST, "--TandemApp.sandbox=False"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        watch = Watch(server.http_url)
        page = await owner_page(browser, server, watch, viewport={"width": 1280, "height": 900})
        await page.get_by_role("button", name="Share demo.ipynb").click()
        dialog = page.locator("dialog.share")
        choice = dialog.get_by_label("execute code as me")
        assert await choice.is_hidden()
        await dialog.get_by_label("Run", exact=False).first.check()
        assert await choice.is_visible() and not await choice.is_checked()
        await dialog.get_by_role("button", name="Create link").click()
        await dialog.get_by_text("The link was not created").wait_for()
        assert "runs_as_owner" in await dialog.locator(".error").inner_text()
        await choice.check()
        await dialog.get_by_role("button", name="Create link").click()
        await dialog.get_by_label("Share link").wait_for()
        note = await dialog.locator(".share-done .warning").inner_text()
        assert "cannot confine code" in note and "you chose this for this link" in note, note
        status, body = await server.arequest("GET", "/tandem/api/invitations")
        assert [i["runs_as_owner"] for i in body["invitations"]] == [True]
        watch.check()
