"""The editor's connection: revocation takes the notebook away at once, edits made while
the server is unreachable merge when it is back, and a reset of the document's history on
the server (a new epoch) reloads the page's copy instead of duplicating cells."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import nbformat

from tandem.testing import TandemServer, YPeer
from tests.browser.test_editor import (
    cell_text,
    edit_cell,
    no_page_errors,
    open_guest,
    open_owner,
    wait_online,
)
from tests.eventually import eventually


async def test_revocation_shows_it_and_stops_editing(server: TandemServer, browser: Any) -> None:
    owner = await open_owner(browser, server)
    guest, invitation = await open_guest(browser, server, role="edit", name="Revoked Rita")
    await owner.wait_for_selector('.tc-avatar[aria-label*="Revoked Rita"]')
    await edit_cell(guest, 1)
    await guest.keyboard.type("  # before")
    await owner.wait_for_function(
        "() => document.querySelectorAll('.tc-cell')[1].textContent.includes('# before')"
    )

    status, body = await server.arequest("GET", "/tandem/api/grants")
    assert status == 200
    grant = next(g for g in body["grants"] if g["invitation_id"] == invitation["invitation"]["id"])
    started = time.monotonic()
    status, _ = await server.arequest("DELETE", f"/tandem/api/grants/{grant['id']}")
    assert status == 204

    await guest.wait_for_selector(".tc-end--revoked >> text=Your access was revoked", timeout=5000)
    assert time.monotonic() - started < 5
    assert await guest.locator('.tc-status[data-connection="revoked"]').count() == 1
    # The notebook is gone from the page, and nothing can be typed or sent.
    assert await guest.locator(".tc-cell, .cm-editor").count() == 0
    assert await guest.locator(".tc-toolbar").is_hidden()
    await guest.keyboard.type("after")
    await guest.keyboard.press("b")
    # The owner no longer sees them; the document holds only what came before.
    await owner.wait_for_selector('.tc-avatar[aria-label*="Revoked Rita"]', state="detached")
    async with await YPeer.open(server, "demo.ipynb") as witness:
        assert len(witness.notebook.ycells) == 3
        assert str(witness.notebook.ycells[1]["source"]).endswith("# before")
    # A reload shows the page a stranger gets.
    response = await guest.reload()
    assert response is not None and response.status == 404
    assert "not available" in await guest.content()

    # The notebook is deleted while the owner has it open: the page says it is gone.
    status, _ = await server.arequest("DELETE", "/api/contents/demo.ipynb")
    assert status == 204
    await owner.wait_for_selector(".tc-end--gone >> text=This notebook is gone", timeout=10_000)
    assert await owner.locator(".tc-cell").count() == 0
    no_page_errors(owner)


async def test_offline_edits_merge_and_a_reset_history_reloads_without_duplicates(
    server: TandemServer, browser: Any, root: Path
) -> None:
    page = await open_owner(browser, server)
    await edit_cell(page, 1)

    # The server goes away: the page says so, and keeps taking edits.
    await server.stop()
    await page.wait_for_selector(
        '.tc-status[data-connection="reconnecting"], .tc-status[data-connection="offline"]'
    )
    assert "your changes" in (await page.locator(".tc-banner").text_content()).lower()
    await page.keyboard.type("  # typed offline")
    await page.keyboard.press("Escape")
    await page.keyboard.press("b")
    await page.keyboard.press("Enter")
    await page.keyboard.type("offline_cell = True")

    # It comes back (same history); a Python client edits another cell meanwhile.
    await server.start()
    async with await YPeer.open(server, "demo.ipynb") as peer:
        markdown = peer.notebook.ycells[0]["source"]
        markdown += "\n\nEdited by Python while the page was away."
        await wait_online(page)

        def merged() -> None:
            sources = [str(c["source"]) for c in peer.notebook.ycells]
            assert sources == [
                "# Title\n\nSome *markdown* with ünïcödé ✓\n\nEdited by Python while the page was away.",
                "x1 = 1\nprint(x1)  # typed offline",
                "offline_cell = True",
                "x2 = 2\nprint(x2)",
            ], sources

        await eventually(merged, timeout=20)
    await page.wait_for_function(
        "() => document.querySelector('.tc-cell').textContent.includes('Edited by Python')"
    )

    def saved() -> None:
        assert "offline_cell = True" in (root / "demo.ipynb").read_text()

    await eventually(saved)

    # The server loses its history (a new epoch): the page takes the server's document
    # as it is now, once, instead of merging its own copy back in.
    await server.stop()
    for path in (server.state_dir / "data" / "tandem").glob("tandem.sqlite*"):
        path.unlink()
    on_disk = nbformat.read(root / "demo.ipynb", as_version=4)
    on_disk.cells[1].source = "replaced_on_disk = 1"
    nbformat.write(on_disk, root / "demo.ipynb")
    await server.start()
    await page.wait_for_selector(".tc-toast >> text=reloaded from the server", timeout=20_000)
    await wait_online(page)
    await page.wait_for_function("() => document.querySelectorAll('.tc-cell').length === 4")
    assert await cell_text(page, 1) == "replaced_on_disk = 1"
    assert await cell_text(page, 2) == "offline_cell = True"
    # The page keeps working in the new epoch.
    await edit_cell(page, 3)
    await page.keyboard.type("  # new epoch")
    async with await YPeer.open(server, "demo.ipynb") as peer:
        await eventually(
            lambda: (
                len(peer.notebook.ycells) == 4
                and str(peer.notebook.ycells[3]["source"]).endswith("# new epoch")
            )
        )
        assert sum("offline_cell" in str(c["source"]) for c in peer.notebook.ycells) == 1
    no_page_errors(page)
