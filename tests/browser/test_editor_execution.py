"""Running code from the editor against the server's shared kernel: outputs, counts and
who ran a cell reach everyone; input() asks only the person who ran the cell; roles
without `run` get no run controls and are refused by the server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tandem.testing import TandemServer
from tests.browser.test_editor import me_of, no_page_errors, open_guest, open_owner
from tests.execution.conftest import EXEC_ARGS, code_notebook


@pytest.fixture
async def exec_server(root: Path, tmp_path: Path) -> AsyncIterator[TandemServer]:
    async with TandemServer(root, tmp_path / "state", args=EXEC_ARGS) as srv:
        yield srv


async def test_run_cells_share_outputs_and_ask_input_of_the_runner(
    exec_server: TandemServer, browser: Any, root: Path
) -> None:
    code_notebook(
        root / "run.ipynb",
        [
            "print('hello from the kernel')",
            "name = input('Your name? ')\nprint('hi', name)",
            "1 / 0",
        ],
    )
    owner = await open_owner(browser, exec_server, "run.ipynb")
    runner, _ = await open_guest(
        browser, exec_server, role="run", name="Rosa Runner", path="run.ipynb"
    )
    editor, _ = await open_guest(
        browser, exec_server, role="edit", name="Eddie Editor", path="run.ipynb"
    )
    owner_name = (await me_of(owner))["name"]

    # Roles: run controls for the owner and the run guest only.
    await owner.wait_for_selector(".tc-toolbar .tc-run:visible")
    await runner.wait_for_selector(".tc-toolbar .tc-run:visible")
    assert await editor.locator(".tc-run:visible, .tc-run-cell:visible").count() == 0
    status = await editor.evaluate(
        "async () => (await fetch('/tandem/api/execution/run/run.ipynb', {method: 'POST',"
        " headers: {'X-XSRFToken': document.cookie.match(/_xsrf=([^;]+)/)[1], 'Content-Type': 'application/json'},"
        " body: JSON.stringify({cells: [{id: 'cell-3', source_hash: '0'.repeat(64)}]})})).status"
    )
    assert status == 403

    # Shift+Enter runs the cell; everyone sees the output, the count and who ran it.
    await owner.locator(".tc-cell").nth(1).click(position={"x": 20, "y": 10})
    await owner.keyboard.press("Shift+Enter")
    for page in (owner, runner, editor):
        first = page.locator(".tc-cell").nth(1)
        await first.locator(".tc-output--stdout:has-text('hello from the kernel')").wait_for(
            timeout=60_000
        )
        await first.locator(".tc-prompt:has-text('[1]:')").wait_for()
        assert await first.locator(".tc-cell-runner").text_content() == f"Last run by {owner_name}"
    await owner.wait_for_selector(".tc-kernel[data-status='idle']")

    # input(): the run guest runs the cell and is the only one asked.
    await runner.locator(".tc-cell").nth(2).locator(".tc-run-cell").click()
    field = runner.locator(".tc-cell >> nth=2 >> .tc-input-field")
    await field.wait_for(timeout=30_000)
    assert (
        await runner.locator(".tc-cell >> nth=2 >> .tc-input-prompt").text_content()
        == "Your name? "
    )
    await owner.locator(
        ".tc-cell >> nth=2 >> .tc-input-request:has-text('Waiting for Rosa Runner')"
    ).wait_for()
    assert await owner.locator(".tc-input-field").count() == 0
    assert await runner.locator(".tc-cell >> nth=2 >> .tc-exec-state").text_content() == "running"
    await field.fill("Ada")
    await field.press("Enter")
    for page in (owner, runner):
        await page.locator(".tc-cell >> nth=2 >> .tc-output--stdout:has-text('hi Ada')").wait_for(
            timeout=30_000
        )
    assert (
        await runner.locator(".tc-cell >> nth=2 >> .tc-cell-runner").text_content()
        == "Last run by Rosa Runner"
    )
    assert await runner.locator(".tc-input-request:visible").count() == 0

    # An error: the traceback, coloured, for everyone.
    await owner.locator(".tc-cell").nth(3).locator(".tc-run-cell").click()
    for page in (owner, editor):
        await page.locator(
            ".tc-cell >> nth=3 >> .tc-output--error:has-text('ZeroDivisionError')"
        ).wait_for(timeout=30_000)
    assert (
        await owner.locator(".tc-cell >> nth=3 >> .tc-output--error [class^='ansi-']").count() > 0
    )

    # A cell changed between what the runner saw and the server: nothing runs, and the
    # page says so (the request's hash is altered on its way, as a stale view would send it).
    async def stale(route: Any) -> None:
        body = route.request.post_data_json
        body["cells"][0]["source_hash"] = "0" * 64
        await route.continue_(post_data=json.dumps(body))

    await runner.route("**/tandem/api/execution/run/**", stale)
    await runner.locator(".tc-cell").nth(1).locator(".tc-run-cell").click()
    await runner.wait_for_selector(".tc-toast >> text=Nothing ran: a cell changed")
    assert await owner.locator(".tc-cell >> nth=1 >> .tc-prompt").text_content() == "[1]:"
    no_page_errors(owner, runner, editor)
