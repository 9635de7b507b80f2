"""The editor toolbar's kernel controls in real Chromium against a real kernel: Run all
queues every code cell for everyone to see, Interrupt stops the running cell and drops
the queue, Restart (after a confirmation) starts a kernel with no variables."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tandem.testing import TandemServer
from tests.browser.test_editor import me_of, no_page_errors, open_guest, open_owner
from tests.execution.conftest import EXEC_ARGS, code_notebook

WAIT_MS = 30_000


@pytest.fixture
async def exec_server(root: Path, tmp_path: Path) -> AsyncIterator[TandemServer]:
    async with TandemServer(root, tmp_path / "state", args=EXEC_ARGS) as srv:
        yield srv


def code_cell(page: Any, number: int) -> Any:
    """Cell `number` (1-based, the markdown title is cell 1) by its accessible name."""
    return page.get_by_role("group", name=f"Cell {number} of 5, code", exact=True)


async def expect_cell(
    page: Any, number: int, *, prompt: str, marker: str = "", runner: str | None = None
) -> None:
    """The prompt (execution count), the queued/running marker and the runner line."""
    target = code_cell(page, number)
    await expect(target.locator(".tc-prompt")).to_have_text(prompt, timeout=WAIT_MS)
    await expect(target.get_by_role("status")).to_have_text(marker, timeout=WAIT_MS)
    if runner is not None:
        await expect(target.locator(".tc-cell-runner")).to_have_text(runner, timeout=WAIT_MS)


async def test_run_all_interrupt_and_restart_from_the_toolbar(
    exec_server: TandemServer, browser: Any, root: Path
) -> None:
    code_notebook(
        root / "controls.ipynb",
        ["x = 41", "print(x + 1)", "import time\nwhile True: time.sleep(0.1)", "print('never')"],
    )
    owner = await open_owner(browser, exec_server, "controls.ipynb")
    watcher, _ = await open_guest(
        browser, exec_server, role="run", name="Wanda Watcher", path="controls.ipynb"
    )
    owner_name = (await me_of(owner))["name"]
    toolbar = owner.get_by_role("toolbar", name="Notebook actions")
    run_all = toolbar.get_by_role("button", name="Run all", exact=True)
    await expect(run_all).to_be_visible(timeout=WAIT_MS)
    await expect(
        watcher.get_by_role("toolbar").get_by_role("button", name="Interrupt", exact=True)
    ).to_be_visible(timeout=WAIT_MS)

    # Run all: both see the first cells done, the loop running and the last cell queued.
    await run_all.click()
    for page in (owner, watcher):
        await expect(code_cell(page, 3).locator(".tc-output--stdout")).to_have_text(
            "42", timeout=WAIT_MS
        )
        await expect_cell(page, 2, prompt="[1]:", runner=f"Last run by {owner_name}")
        await expect_cell(page, 3, prompt="[2]:", runner=f"Last run by {owner_name}")
        await expect_cell(
            page, 4, prompt="[*]:", marker="running", runner=f"Running for {owner_name}"
        )
        await expect_cell(
            page, 5, prompt="[*]:", marker="queued", runner=f"Queued for {owner_name}"
        )
        await expect(page.locator(".tc-kernel")).to_have_attribute("data-status", "busy")

    # Interrupt: the loop stops with KeyboardInterrupt; the queued cell is dropped unrun.
    await toolbar.get_by_role("button", name="Interrupt", exact=True).click()
    for page in (owner, watcher):
        await expect(code_cell(page, 4).locator(".tc-output--error")).to_contain_text(
            "KeyboardInterrupt", timeout=WAIT_MS
        )
        await expect_cell(page, 4, prompt="[3]:", runner=f"Last run by {owner_name}")
        await expect_cell(page, 5, prompt="[ ]:")
        # It never ran: nobody is named as having run it.
        await expect(code_cell(page, 5).locator(".tc-cell-runner")).to_be_hidden(timeout=WAIT_MS)
        await expect(page.locator(".tc-kernel")).to_have_attribute(
            "data-status", "idle", timeout=WAIT_MS
        )

    # Restart asks first; declining keeps the kernel and its variables.
    dialogs: list[str] = []
    restarts: list[str] = []

    def note_restart(request: Any) -> None:
        if "/execution/restart/" in request.url:
            restarts.append(request.url)

    owner.on("request", note_restart)

    async def answer(dialog: Any, accept: bool) -> None:
        dialogs.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    restart = toolbar.get_by_role("button", name="Restart", exact=True)
    owner.once("dialog", lambda dialog: asyncio.ensure_future(answer(dialog, False)))
    await restart.click()
    await code_cell(owner, 3).get_by_role("button", name="Run cell 3").click()
    for page in (owner, watcher):
        await expect_cell(page, 3, prompt="[4]:")
        await expect(code_cell(page, 3).locator(".tc-output--stdout")).to_have_text("42")
    assert len(dialogs) == 1 and restarts == [], (dialogs, restarts)

    # Accepted: a fresh kernel, so running cell 3 alone finds no `x`, and counting restarts.
    owner.once("dialog", lambda dialog: asyncio.ensure_future(answer(dialog, True)))
    async with owner.expect_response(lambda r: "/execution/restart/" in r.url) as restarted:
        await restart.click()
    assert (await restarted.value).status == 200
    assert len(dialogs) == 2, dialogs
    assert all(message.startswith("Restart the kernel?") for message in dialogs), dialogs
    await expect(owner.locator(".tc-kernel")).to_have_attribute(
        "data-status", "idle", timeout=WAIT_MS
    )
    await code_cell(owner, 3).get_by_role("button", name="Run cell 3").click()
    for page in (owner, watcher):
        await expect(code_cell(page, 3).locator(".tc-output--error")).to_contain_text(
            "NameError", timeout=WAIT_MS
        )
        await expect_cell(page, 3, prompt="[1]:", runner=f"Last run by {owner_name}")
        assert await code_cell(page, 3).locator(".tc-output--stdout").count() == 0
        # The dropped cell never ran, not even once the queue moved on.
        await expect_cell(page, 5, prompt="[ ]:")
        # It never ran: nobody is named as having run it.
        await expect(code_cell(page, 5).locator(".tc-cell-runner")).to_be_hidden(timeout=WAIT_MS)
        assert await code_cell(page, 5).locator(".tc-output").count() == 0
    no_page_errors(owner, watcher)
