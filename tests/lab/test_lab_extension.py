"""Tandem's JupyterLab extension in real Chromium, driven as a person clicks: Share from
the top bar (a scoped link, never the owner's token), the People panel (who is here, in
which cell; Follow; Revoke), and a guest in Tandem's editor beside the owner in JupyterLab.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
import pytest_asyncio
from nbformat.v4 import new_code_cell, new_notebook

from tandem.testing import TandemServer
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_editor import cell_text, edit_cell, wait_online
from tests.doc_screenshots import publish
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share
from tests.lab.conftest import LabPage, lab_server
from tests.lab.test_jupyterlab import server_sources

pytestmark = pytest.mark.asyncio(loop_scope="module")


# Every text the page puts on the clipboard (JupyterLab copies through a copy event's
# DataTransfer; navigator.clipboard for the rest).
RECORD_CLIPBOARD = """
window.__copied = [];
const setData = DataTransfer.prototype.setData;
DataTransfer.prototype.setData = function (format, data) {
  window.__copied.push(String(data));
  return setData.call(this, format, data);
};
if (navigator.clipboard) {
  navigator.clipboard.writeText = async (text) => { window.__copied.push(String(text)); };
}
"""


HIDE_TOASTS = ".Toastify { display: none !important; }"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(lab_root: Path) -> Any:
    """This module's server: the owner has a configured name, as on a real install."""
    lab_root.mkdir(parents=True, exist_ok=True)
    server = lab_server(
        lab_root, lab_root.parent / "state", ["--TandemApp.owner_name=Ada Lovelace"]
    )
    await server.start(timeout=120)
    try:
        yield server
    finally:
        await server.stop()


def code_notebook(path: Path, cells: int) -> None:
    items = [new_code_cell(f"value_{i} = {i}") for i in range(cells)]
    nbformat.write(new_notebook(cells=items), path)


async def copied(lab_page: LabPage) -> list[str]:
    return await lab_page.page.evaluate("() => window.__copied")


async def share_from_top_bar(lab_page: LabPage, role: str = "edit", label: str = "") -> str:
    """Click Share in the top bar, choose a role (and label), create the link, copy it."""
    page = lab_page.page
    await page.locator("#tandem-share-button").click()
    dialog = page.locator(".jp-Dialog .tandem-Share")
    await dialog.wait_for()
    await dialog.get_by_label("People can").select_option(role)
    if label:
        await dialog.get_by_label("Label (for you)").fill(label)
    await dialog.get_by_role("button", name="Create link").click()
    link = await dialog.locator(".tandem-Share-link").input_value()
    await dialog.get_by_role("button", name="Copy link").click()
    return link


async def close_dialog(lab_page: LabPage) -> None:
    await lab_page.page.locator(".jp-Dialog").get_by_role("button", name="Done").click()
    await lab_page.page.locator(".jp-Dialog").wait_for(state="detached")


async def guest_joins(chromium: Any, link: str, name: str) -> Any:
    """Another browser: open the link, give a name, Join, land in Tandem's editor."""
    context = await chromium.new_context()
    guest = await context.new_page()
    guest.errors = []
    guest.on("pageerror", lambda error: guest.errors.append(str(error)))
    await guest.goto(link)
    await guest.get_by_label("Your name").fill(name)
    await guest.get_by_role("button", name="Join").click()
    await wait_online(guest)
    return guest


async def open_people(lab_page: LabPage) -> Any:
    page = lab_page.page
    await page.evaluate("() => { window.jupyterapp.commands.execute('tandem:people'); }")
    panel = page.locator("#tandem-people")
    await panel.wait_for()
    return panel


async def test_the_token_link_is_gone_from_every_jupyterlab_ui(
    lab: TandemServer, lab_root: Path, lab_page: LabPage
) -> None:
    status, html = await lab.arequest("GET", "/lab")
    assert status == 200
    config = json.loads(
        html.split('id="jupyter-config-data" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert "@jupyter/collaboration-extension:shared-link" in config["disabledExtensions"]
    assert "@jupyter-tandem/labextension" in {e["name"] for e in config["federated_extensions"]}

    code_notebook(lab_root / "token.ipynb", 2)
    await lab_page.page.add_init_script(RECORD_CLIPBOARD)
    await lab_page.open("token.ipynb")
    page = lab_page.page
    # Every command that makes a link to share or copies one, as a person reaches it
    # (menus, palette, top bar, the file browser's context menu on the selected
    # notebook): run each; answer any dialog by accepting it.
    ids = await page.evaluate(
        """() => { const c = window.jupyterapp.commands;
            return c.listCommands().filter(id => {
              let label = ''; try { label = String(c.label(id) || ''); } catch (e) {}
              const text = id + ' ' + label;
              return /share|link|copy-path/i.test(text) && !/open|handle/i.test(text)
                  && c.isEnabled(id);
            }); }"""
    )
    assert {
        "collaboration:shared-link",
        "tandem:share",
        "filebrowser:share-main",
        "filebrowser:copy-download-link",
    } <= set(ids), ids
    page.set_default_timeout(10_000)
    for command in ids:
        await page.evaluate(
            "id => { window.jupyterapp.commands.execute(id).catch(() => {}); }", command
        )
        if command in ("tandem:share", "collaboration:shared-link"):
            dialog = page.locator(".jp-Dialog")
            await dialog.locator(".tandem-Share").wait_for()
            await dialog.get_by_role("button", name="Create link").click()
            await dialog.get_by_role("button", name="Copy link").click()
            await close_dialog(lab_page)
        else:
            await page.wait_for_timeout(300)
            assert await page.locator(".jp-Dialog").count() == 0, command
    # jupyter-collaboration's command now opens Tandem's dialog, and the top bar has only
    # Tandem's Share.
    await page.evaluate(
        "() => { window.jupyterapp.commands.execute('collaboration:shared-link'); }"
    )
    await page.locator(".jp-Dialog .tandem-Share").wait_for()
    assert await page.locator(".jp-Dialog").get_by_text("Share Jupyter Server Link").count() == 0
    await close_dialog(lab_page)
    assert await page.locator("#jp-top-panel").get_by_role("button", name="Share").count() == 1
    assert await page.locator("#jp-top-panel").get_by_title("Generate a Shared Link").count() == 0

    clipboard = await copied(lab_page)
    assert any("/tandem/join/" in text for text in clipboard), clipboard
    for text in clipboard:
        assert lab.token not in text, text
    body = await page.evaluate("() => document.body.innerHTML")
    inputs = await page.evaluate("() => [...document.querySelectorAll('input')].map(i => i.value)")
    assert lab.token not in body and all(lab.token not in value for value in inputs)
    assert lab_page.errors == [], lab_page.errors


async def test_owner_shares_from_jupyterlab_pairs_with_a_guest_follows_and_revokes(
    lab: TandemServer, lab_root: Path, lab_page: LabPage, chromium: Any
) -> None:
    code_notebook(lab_root / "pairing.ipynb", 40)
    await lab_page.page.add_init_script(RECORD_CLIPBOARD)
    await lab_page.open("pairing.ipynb")
    page = lab_page.page

    link = await share_from_top_bar(lab_page, role="edit", label="Pairing")
    assert "/tandem/join/" in link and lab.token not in link
    assert link in await copied(lab_page)
    dialog = page.locator(".jp-Dialog .tandem-Share")
    await dialog.locator(".tandem-Share-list li").filter(has_text="Pairing").wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.add_style_tag(content=HIDE_TOASTS)
    await page.locator(".jp-Dialog-content").screenshot(path=str(SCREENSHOTS / "lab-share.png"))
    publish(SCREENSHOTS / "lab-share.png", "lab-share.png")
    await close_dialog(lab_page)

    guest = await guest_joins(chromium, link, "Grace Hopper")
    try:
        # Both ways, start/middle/end, with a cell added in JupyterLab.
        lab_cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        await edit_cell(guest, 0, at="end")
        await guest.keyboard.type(" # guest end")
        await lab_cells.nth(0).locator(".cm-content").click()
        await page.keyboard.press("Control+End")
        await page.keyboard.type(" # lab end")
        await edit_cell(guest, 1, at="start")
        await guest.keyboard.type("g_ = 0; ")
        await lab_cells.nth(1).locator(".cm-content").click()
        await page.keyboard.press("Control+Home")
        await page.keyboard.press("ArrowRight")
        await page.keyboard.type("MID")
        await page.keyboard.press("Escape")
        await page.keyboard.press("b")  # a new cell below, in command mode

        async def converged() -> None:
            expected = await server_sources(lab, "pairing.ipynb")
            assert len(expected) == 41
            assert await lab_page.sources() == expected
            assert [await cell_text(guest, i) for i in range(3)] == expected[:3]
            assert expected[0] == "value_0 = 0 # guest end # lab end"
            assert expected[1].startswith("gMID_ = 0; value_1")

        await eventually(converged, timeout=20)

        # People: the guest is here, in the cell they are in.
        panel = await open_people(lab_page)
        await edit_cell(guest, 30, at="end")
        await guest.keyboard.type(" # far down")
        person = panel.locator(".tandem-People-person[data-name='Grace Hopper']")
        await person.filter(has_text="cell 31").wait_for(timeout=10_000)
        assert "edit" in await person.inner_text()
        await panel.locator(".tandem-People-grant").filter(has_text="Grace Hopper").wait_for()
        assert (
            await panel.locator(".tandem-People-person")
            .filter(has_text="Ada Lovelace (you)")
            .count()
        )
        await page.screenshot(path=str(SCREENSHOTS / "lab-people.png"))
        publish(SCREENSHOTS / "lab-people.png", "lab-people.png")

        # Follow: JupyterLab scrolls to the guest's cell and keeps up as they move.
        await person.get_by_role("button", name="Follow").click()
        await panel.locator(".tandem-People-following").wait_for()

        async def cell_in_view(index: int) -> bool:
            return await page.evaluate(
                """i => { const c = window.jupyterapp.shell.currentWidget.content.widgets[i];
                    const box = c.node.getBoundingClientRect();
                    const view = window.jupyterapp.shell.currentWidget.content.node
                        .getBoundingClientRect();
                    return c.isAttached && box.height > 0 && box.bottom > view.top
                        && box.top < view.bottom; }""",
                index,
            )

        await eventually(lambda: cell_in_view(30), timeout=10)
        await edit_cell(guest, 5, at="end")
        await guest.keyboard.type(" # back up")
        await eventually(lambda: cell_in_view(5), timeout=10)
        # Scrolling stops following.
        await page.locator(".jp-NotebookPanel .jp-Notebook").hover()
        await page.mouse.wheel(0, 400)
        await panel.locator(".tandem-People-following").wait_for(state="detached")

        # Revoke from JupyterLab: the guest's editor stops within a second.
        revoke = person.get_by_role("button", name="Revoke Grace Hopper")
        started = time.monotonic()
        await revoke.click()
        await guest.wait_for_selector('.tc-status[data-connection="revoked"]', timeout=5000)
        assert time.monotonic() - started < 5  # the loaded machine's bound; within 1 s idle
        await panel.locator(".tandem-People-person[data-name='Grace Hopper']").wait_for(
            state="detached", timeout=10_000
        )
        assert lab_page.errors == [], "\n".join(lab_page.errors)
        assert guest.errors == [], guest.errors
    finally:
        await guest.context.close()


async def test_tandem_lab_prints_the_tandem_url_beside_lab(lab: TandemServer) -> None:
    log = lab.log_path.read_text()
    assert "/lab?token=" in log
    line = next(line for line in log.splitlines() if "Tandem (sharing, people" in line)
    assert f"127.0.0.1:{lab.port}/tandem/?token=" in line


async def test_people_with_the_same_name_are_told_apart(
    lab: TandemServer, lab_root: Path, lab_page: LabPage
) -> None:
    code_notebook(lab_root / "twins.ipynb", 3)
    await lab_page.open("twins.ipynb")
    invitation = await share(lab, "twins.ipynb", role="edit")
    guests, peers = [Guest(lab), Guest(lab)], []
    try:
        for guest in guests:
            assert (await guest.join(invitation["link"], name="Sam")).status_code == 303
            peer = await guest.peer("twins.ipynb")
            await peer.set_awareness({"cell": None})
            peers.append(peer)
        panel = await open_people(lab_page)
        rows = panel.locator(".tandem-People-person[data-name='Sam']")
        await eventually(lambda: rows.count(), timeout=10)

        async def two_tagged() -> None:
            texts = [await rows.nth(i).inner_text() for i in range(await rows.count())]
            assert len(texts) == 2 and all("#" in t for t in texts), texts
            assert texts[0] != texts[1]

        await eventually(two_tagged, timeout=10)
        assert lab_page.errors == [], lab_page.errors
    finally:
        for peer in peers:
            await peer.close()
        for guest in guests:
            await guest.close()
