"""JupyterLab (the owner) and Tandem's editor (a guest who joined by a real link) in one
notebook, in real Chromium, every pairing both ways: the guest in JupyterLab's "Online
collaborators" panel, selections, multi-line paste, undo, cell add / move / delete /
type change, markdown rendering, outputs of a server-side run; and a revocation from
JupyterLab's People panel reaching the guest's editor within a second.

One server, one JupyterLab page and one guest page for the whole module (each JupyterLab
page load is expensive); each test works in its own cells of the shared notebook and
ends with no console error and no page error on either side.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
import pytest_asyncio
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from pycrdt import Doc

from tandem.documents.model import new_document
from tandem.testing import TandemServer, YPeer
from tests.browser.test_editor import cell, cell_text, edit_cell, redeemed_cookies, wait_online
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share
from tests.lab.conftest import LabPage, lab_server
from tests.lab.test_jupyterlab import server_sources
from tests.lab.test_server_side_execution import (
    PYTHON3,
    SERVER_SIDE_ARGS,
    page_outputs,
    wait_kernel_idle,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

PATH = "pairings.ipynb"
GUEST = "Grace Hopper"
# The cells each test works in (the cell operations test, last, appends and removes).
SELECT, PASTE, UNDO, MARKDOWN, RUN_IN_LAB, RUN_IN_EDITOR = range(6)


def lab_cell(lab_page: LabPage, index: int) -> Any:
    return lab_page.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)


@dataclass
class Pair:
    server: TandemServer
    lab: LabPage
    guest: Any
    guest_errors: list[str]

    def assert_clean(self) -> None:
        assert self.lab.errors == [], "\n".join(self.lab.errors)
        assert self.guest_errors == [], "\n".join(self.guest_errors)

    async def converged(self, timeout: float = 20) -> list[str]:
        """JupyterLab, the guest's editor and the server hold the same cells (a markdown
        cell the editor shows rendered has no source on the page: the markdown test
        checks its rendering)."""
        result: list[str] = []

        async def same() -> None:
            expected = await server_sources(self.server, PATH)
            assert await self.lab.sources() == expected
            assert await self.guest.locator(".tc-cell").count() == len(expected)
            for i, source in enumerate(expected):
                if (
                    await self.guest.locator(".tc-cell").nth(i).get_attribute("data-cell-type")
                    != "markdown"
                    or await cell(self.guest, i).locator(".cm-content").count()
                ):
                    assert await cell_text(self.guest, i) == source, (i, expected)
            result[:] = expected

        await eventually(same, timeout=timeout)
        return result


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(lab_root: Path) -> AsyncIterator[TandemServer]:
    """This module's server: a named owner; JupyterLab runs cells on the server."""
    lab_root.mkdir(parents=True, exist_ok=True)
    args = [*SERVER_SIDE_ARGS, "--TandemApp.owner_name=Ada Lovelace"]
    server = lab_server(lab_root, lab_root.parent / "state", args)
    await server.start(timeout=120)
    try:
        yield server
    finally:
        await server.stop()


def write_pairings(path: Path) -> None:
    cells = [
        new_code_cell("selected = 'pick these words'"),
        new_code_cell("pasted = 1"),
        new_code_cell("undone = 0"),
        new_markdown_cell("# Notes"),
        new_code_cell("print('from lab', 6 * 7)"),
        new_code_cell("print('from editor', 7 * 8)"),
    ]
    nbformat.write(new_notebook(cells=cells, metadata=PYTHON3), path)


async def open_guest_page(browser: Any, server: TandemServer) -> tuple[Any, list[str]]:
    """A guest who redeemed a real run link, in its own browser context; every console
    error and page error it logs is collected from the first request on."""
    invitation = await share(server, PATH, role="run")
    cookies = await redeemed_cookies(server, invitation["link"], GUEST)
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    await context.add_cookies(cookies)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
    )
    await page.goto(f"{server.http_url}/tandem/notebook/{PATH}")
    await wait_online(page)
    return page, errors


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pair(lab: TandemServer, lab_root: Path, chromium: Any) -> AsyncIterator[Pair]:
    write_pairings(lab_root / PATH)
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    lab_page = LabPage(await context.new_page(), lab)
    guest, guest_errors = await open_guest_page(chromium, lab)
    try:
        await lab_page.open(PATH, kernel_dialog=False)
        await wait_kernel_idle(lab_page)
        pair = Pair(lab, lab_page, guest, guest_errors)
        await pair.converged()
        yield pair
    finally:
        await guest.context.close()
        await context.close()


async def lab_types(pair: Pair, index: int, text: str, at: str = "end") -> None:
    await lab_cell(pair.lab, index).locator(".cm-content").click()
    await pair.lab.page.keyboard.press("Control+End" if at == "end" else "Control+Home")
    await pair.lab.page.keyboard.type(text)


async def guest_types(pair: Pair, index: int, text: str, at: str = "end") -> None:
    await edit_cell(pair.guest, index, at=at)
    await pair.guest.keyboard.type(text)


PASTE_EVENT = """(text) => {
    const target = document.activeElement;
    const data = new DataTransfer();
    data.setData('text/plain', text);
    target.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,
                                                      cancelable: true}));
}"""


async def paste(page: Any, text: str) -> None:
    """Paste ``text`` where the caret is, as the browser delivers a paste (a paste event
    carrying the clipboard's data to the focused editor)."""
    await page.evaluate(PASTE_EVENT, text)


# -- tests -----------------------------------------------------------------------------


async def test_the_guest_is_among_jupyterlabs_online_collaborators(pair: Pair) -> None:
    page = pair.lab.page
    await page.evaluate("() => window.jupyterapp.shell.activateById('jp-collaboration-panel')")
    person = page.locator(".jp-CollaboratorsList .jp-Collaborator").filter(has_text=GUEST)
    await person.wait_for(timeout=20_000)
    # Their name, their colour (the one Tandem's editor shows them in), their initials.
    me = await pair.guest.evaluate(
        "() => JSON.parse(document.getElementById('tandem-config').textContent).me"
    )
    icon = person.locator(".jp-CollaboratorIcon")
    colour = await icon.evaluate("e => e.style.backgroundColor")
    assert _rgb(colour) == _rgb(me["color"]), (colour, me)
    assert (await icon.inner_text()).strip() == "GH"
    # The document they are in: expand them, the notebook is listed as theirs now.
    await person.locator(".jp-CollaboratorHeader").click()
    document = person.locator(".jp-CollaboratorFile.jp-mod-running")
    await document.wait_for()
    assert (await document.inner_text()).strip() == PATH
    # The owner is not listed as a collaborator of their own.
    assert await page.locator(".jp-CollaboratorsList .jp-Collaborator").count() == 1

    # A name is text, never markup; a guest who leaves is no longer listed.
    hostile = '<img src=x onerror="window.__pwned=1">'
    other = Guest(pair.server)
    try:
        invitation = await share(pair.server, PATH, role="view")
        assert (await other.join(invitation["link"], name=hostile)).status_code == 303
        peer = await other.peer(PATH)
        shown = page.locator(".jp-CollaboratorsList .jp-Collaborator").filter(has_text=hostile)
        # At once, not at the next renewal (15 s after the last change).
        await shown.wait_for(timeout=10_000)
        assert await page.locator(".jp-CollaboratorsList img").count() == 0
        assert await page.evaluate("() => window.__pwned") is None
        await peer.close()
        await shown.wait_for(state="detached", timeout=20_000)
    finally:
        await other.close()
    pair.assert_clean()


def _rgb(colour: str) -> tuple[int, int, int]:
    if colour.startswith("#"):
        value = colour[1:]
        if len(value) == 3:
            value = "".join(c * 2 for c in value)
        return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
    numbers = [int(n) for n in re.findall(r"\d+", colour)[:3]]
    return (numbers[0], numbers[1], numbers[2])


async def test_selections_show_on_the_other_side(pair: Pair) -> None:
    # The guest selects two words: JupyterLab shows their selection, in that cell.
    await edit_cell(pair.guest, SELECT, at="end")
    for _ in range(6):
        await pair.guest.keyboard.press("Shift+ArrowLeft")
    selection = lab_cell(pair.lab, SELECT).locator(".jp-remote-selection")
    await selection.first.wait_for(timeout=10_000)
    await lab_cell(pair.lab, SELECT).locator(".jp-remote-cursor").first.wait_for()
    # Their flag at the caret: their avatar (initials, in their colour) and name, as text.
    flag = pair.lab.page.locator(".jp-remote-userFlag").filter(has_text=GUEST)
    await flag.first.wait_for(state="attached", timeout=10_000)
    avatar = flag.first.locator(".jp-remote-userFlag-avatar")
    assert (await avatar.text_content() or "").strip() == "GH"
    # The owner selects in JupyterLab: the guest's editor shows it.
    await lab_cell(pair.lab, SELECT).locator(".cm-content").click()
    keyboard = pair.lab.page.keyboard
    await keyboard.press("Control+Home")
    for _ in range(8):
        await keyboard.press("Shift+ArrowRight")
    await cell(pair.guest, SELECT).locator(".tc-remote-selection").first.wait_for(timeout=10_000)
    label = cell(pair.guest, SELECT).locator(".tc-caret-label")
    assert "Ada Lovelace" in await label.first.text_content()
    sources = await pair.converged()
    assert sources[SELECT] == "selected = 'pick these words'"  # selecting changed nothing
    pair.assert_clean()


async def test_multi_line_paste_both_ways(pair: Pair) -> None:
    await edit_cell(pair.guest, PASTE, at="end")
    await paste(pair.guest, "\nfrom_guest = [\n    1,\n    2,\n]")
    await lab_cell(pair.lab, PASTE).locator(".cm-content").click()
    await pair.lab.page.keyboard.press("Control+End")
    await paste(pair.lab.page, "\n# lab line 1\n# lab line 2")
    sources = await pair.converged()
    assert sources[PASTE] == (
        "pasted = 1\nfrom_guest = [\n    1,\n    2,\n]\n# lab line 1\n# lab line 2"
    )
    # Pasted at the start of a cell the other side is typing at the end of.
    await edit_cell(pair.guest, PASTE, at="start")
    await paste(pair.guest, "# a\n# b\n")
    await lab_types(pair, PASTE, "  # tail")
    sources = await pair.converged()
    assert sources[PASTE].startswith("# a\n# b\npasted = 1\n")
    assert sources[PASTE].endswith("# lab line 2  # tail")
    pair.assert_clean()


async def test_undo_undoes_only_your_own_edit(pair: Pair) -> None:
    await lab_types(pair, UNDO, " + 1")
    await pair.converged()
    await guest_types(pair, UNDO, " + 2")
    sources = await pair.converged()
    assert sources[UNDO] == "undone = 0 + 1 + 2"
    # Undo in JupyterLab takes back the owner's edit only; the guest's converges.
    await lab_cell(pair.lab, UNDO).locator(".cm-content").click()
    await pair.lab.page.keyboard.press("Control+z")
    sources = await pair.converged()
    assert sources[UNDO] == "undone = 0 + 2"
    # Undo in Tandem's editor takes back the guest's only.
    await lab_types(pair, UNDO, " + 3")
    await pair.converged()
    await edit_cell(pair.guest, UNDO, at="end")
    await pair.guest.keyboard.press("Control+z")
    sources = await pair.converged()
    assert sources[UNDO] == "undone = 0 + 3"
    pair.assert_clean()


async def test_markdown_edited_on_one_side_renders_on_the_other(pair: Pair) -> None:
    # The owner edits the markdown cell in JupyterLab: the guest sees it rendered.
    md = lab_cell(pair.lab, MARKDOWN)
    await md.dblclick()
    await md.locator(".cm-content").click()  # the editor shown instead of the rendering
    await md.locator(".cm-editor.cm-focused").wait_for()
    await pair.lab.page.keyboard.press("Control+End")
    await pair.lab.page.keyboard.type("\n\nSome **bold** text from JupyterLab.")
    await pair.lab.page.keyboard.press("Shift+Enter")  # render it in JupyterLab
    rendered = cell(pair.guest, MARKDOWN).locator(".tc-rendered")
    await rendered.locator("strong", has_text="bold").wait_for(timeout=10_000)
    assert "Notes" in await rendered.locator("h1").inner_text()
    # The guest edits it in Tandem's editor: JupyterLab's rendering follows.
    await cell(pair.guest, MARKDOWN).locator(".tc-rendered").dblclick()
    await cell(pair.guest, MARKDOWN).locator(".cm-editor.cm-focused").wait_for()
    await pair.guest.keyboard.press("Control+End")
    await pair.guest.keyboard.type("\n\n* an *item* from the editor")
    await pair.guest.keyboard.press("Escape")
    lab_rendered = md.locator(".jp-RenderedMarkdown")
    await lab_rendered.locator("li em", has_text="item").wait_for(timeout=10_000)
    assert await lab_rendered.locator("strong", has_text="bold").count() == 1
    await rendered.locator("li em", has_text="item").wait_for(timeout=10_000)
    sources = await server_sources(pair.server, PATH)
    assert sources[MARKDOWN] == (
        "# Notes\n\nSome **bold** text from JupyterLab.\n\n* an *item* from the editor"
    )
    pair.assert_clean()


async def guest_outputs(pair: Pair, index: int) -> str:
    return "\n".join(await cell(pair.guest, index).locator(".tc-output-text").all_inner_texts())


async def test_outputs_of_server_side_runs_show_on_both_sides(pair: Pair) -> None:
    # The owner runs a cell in JupyterLab (on the server): both show its output.
    await lab_cell(pair.lab, RUN_IN_LAB).locator(".cm-content").click()
    await pair.lab.page.keyboard.press("Control+Enter")

    async def ran_in_lab() -> None:
        assert "from lab 42" in await page_outputs(pair.lab, RUN_IN_LAB)
        assert "from lab 42" in await guest_outputs(pair, RUN_IN_LAB)

    await eventually(ran_in_lab, timeout=30)
    # The guest (a run link) runs one in Tandem's editor: both show it.
    await edit_cell(pair.guest, RUN_IN_EDITOR, at="end")
    await pair.guest.keyboard.press("Control+Enter")

    async def ran_in_editor() -> None:
        assert "from editor 56" in await guest_outputs(pair, RUN_IN_EDITOR)
        assert "from editor 56" in await page_outputs(pair.lab, RUN_IN_EDITOR)

    await eventually(ran_in_editor, timeout=30)
    await pair.converged()
    pair.assert_clean()


class LowClientPeer(YPeer):
    """A pycrdt client whose client id (1) is below any browser's: its write of a key
    written at the same time by a browser loses, and the browser receives it."""

    def __init__(self) -> None:
        super().__init__()
        self.doc = Doc(client_id=1)
        self.document = new_document("notebook", self.doc)
        self.doc.observe(self._on_change)


async def test_a_concurrent_write_of_a_run_state_that_loses_logs_no_error(pair: Pair) -> None:
    """The server's run and JupyterLab write a cell's ``execution_count`` at once; the
    side whose write loses receives the other's without an error."""
    session = await pair.server.session(PATH)
    peer = LowClientPeer()
    room = f"json:notebook:{session['fileId']}?sessionId={session['sessionId']}"
    await peer.connect(f"{pair.server.ws_url}/api/collaboration/room/{room}", pair.server.headers)
    await peer.wait_synced()
    try:
        peer.hold()
        peer.notebook.ycells[SELECT]["execution_count"] = 7  # not sent yet
        await pair.lab.page.evaluate(
            "(i) => { window.jupyterapp.shell.currentWidget.context.model.sharedModel"
            ".cells[i].execution_count = 8; }",
            SELECT,
        )
        # JupyterLab's write (the higher client id) wins where both are known...
        await eventually(lambda: peer.notebook.ycells[SELECT]["execution_count"] == 8)
        await peer.release()  # ...and JupyterLab now receives the write that lost.

        async def both_agree() -> None:
            shown = await pair.lab.page.evaluate(
                "(i) => window.jupyterapp.shell.currentWidget.context.model.sharedModel"
                ".cells[i].execution_count",
                SELECT,
            )
            assert shown == 8
            assert await server_cell(pair.server, SELECT, "execution_count") == 8

        await eventually(both_agree)
        await pair.converged()
        pair.assert_clean()
    finally:
        await peer.close()


async def server_cell(server: TandemServer, index: int, key: str) -> Any:
    async with await YPeer.open(server, PATH) as peer:
        return peer.notebook.ycells[index][key]


async def lab_command(pair: Pair, command: str) -> None:
    """Run one of JupyterLab's notebook commands on the active cell (as its menus do)."""
    await pair.lab.page.evaluate("(id) => window.jupyterapp.commands.execute(id)", command)


async def select_lab_cell(pair: Pair, index: int) -> None:
    await lab_cell(pair.lab, index).locator(".jp-InputPrompt").click()


async def select_guest_cell(pair: Pair, index: int) -> None:
    await cell(pair.guest, index).click(position={"x": 20, "y": 10})


async def test_cell_add_move_delete_and_type_change_both_ways(pair: Pair) -> None:
    base = len(await pair.converged())
    last = base - 1
    # JupyterLab adds a cell below the last one and types into it.
    await select_lab_cell(pair, last)
    await pair.lab.page.keyboard.press("Escape")
    await pair.lab.page.keyboard.press("b")
    await pair.lab.page.keyboard.press("Enter")
    await pair.lab.page.keyboard.type("from_lab = 'new'")
    await pair.lab.page.keyboard.press("Escape")
    # Tandem's editor adds another below it.
    sources = await pair.converged()
    assert sources[base] == "from_lab = 'new'"
    await select_guest_cell(pair, base)
    await pair.guest.keyboard.press("b")
    await pair.guest.keyboard.press("Enter")
    await pair.guest.keyboard.type("from_editor = 'new'")
    await pair.guest.keyboard.press("Escape")
    sources = await pair.converged()
    assert sources[base:] == ["from_lab = 'new'", "from_editor = 'new'"]

    # Moves: the guest moves theirs up, JupyterLab moves it down again.
    await pair.guest.keyboard.press("Control+Shift+ArrowUp")
    sources = await pair.converged()
    assert sources[base:] == ["from_editor = 'new'", "from_lab = 'new'"]
    await select_lab_cell(pair, base)
    await lab_command(pair, "notebook:move-cell-down")
    sources = await pair.converged()
    assert sources[base:] == ["from_lab = 'new'", "from_editor = 'new'"]

    # Type changes: JupyterLab makes the guest's cell markdown, the guest makes
    # JupyterLab's markdown, then each turns the other's back into code.
    await select_lab_cell(pair, base + 1)
    await pair.lab.page.keyboard.press("m")
    await select_guest_cell(pair, base)
    await pair.guest.keyboard.press("m")

    async def types(expected: list[str]) -> None:
        async def same() -> None:
            shown_in_lab = await pair.lab.page.evaluate(
                "() => window.jupyterapp.shell.currentWidget.context.model.sharedModel"
                ".cells.map(c => c.cell_type)"
            )
            assert shown_in_lab[base:] == expected
            in_editor = [
                await cell(pair.guest, i).get_attribute("data-cell-type")
                for i in range(base, base + len(expected))
            ]
            assert in_editor == expected
            dom = [
                "markdown"
                if "jp-MarkdownCell" in (await lab_cell(pair.lab, i).get_attribute("class"))
                else "code"
                for i in range(base, base + len(expected))
            ]
            assert dom == expected

        await eventually(same, timeout=20)

    await types(["markdown", "markdown"])
    # A markdown cell made on the other side renders there (JupyterLab renders it once
    # it is not being edited; Tandem's editor shows its rendering).
    await cell(pair.guest, base + 1).locator(".tc-rendered").wait_for(timeout=10_000)
    await select_lab_cell(pair, base + 1)
    await pair.lab.page.keyboard.press("y")
    await select_guest_cell(pair, base)
    await pair.guest.keyboard.press("y")
    await types(["code", "code"])
    sources = await pair.converged()
    assert sources[base:] == ["from_lab = 'new'", "from_editor = 'new'"]

    # Deletes: each deletes the cell the other added.
    await select_guest_cell(pair, base)
    await pair.guest.keyboard.press("d")
    await pair.guest.keyboard.press("d")
    sources = await pair.converged()
    assert sources[base:] == ["from_editor = 'new'"]
    await select_lab_cell(pair, base)
    await pair.lab.page.keyboard.press("Escape")
    await pair.lab.page.keyboard.press("d")
    await pair.lab.page.keyboard.press("d")
    sources = await pair.converged()
    assert len(sources) == base
    pair.assert_clean()


# Times in the pages' own clocks (milliseconds since the epoch, high resolution): when
# the DELETE that revokes the guest got its response in JupyterLab, and when the guest's
# editor showed the revoked end state. (JupyterLab's requests carry a cache-busting query.)
WATCH_REVOCATION_RESPONSE = """() => {
    window.__revokedAt = null;
    new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
            if (/\\/tandem\\/api\\/grants\\/[^/?]+(\\?|$)/.test(entry.name) && window.__revokedAt === null) {
                window.__revokedAt = performance.timeOrigin + entry.responseEnd;
            }
        }
    }).observe({type: 'resource'});
}"""
WATCH_END_STATE = """() => {
    window.__endedAt = null;
    const seen = () => {
        if (window.__endedAt === null && document.querySelector('.tc-end--revoked')) {
            window.__endedAt = performance.timeOrigin + performance.now();
        }
    };
    new MutationObserver(seen).observe(document.documentElement,
                                       {childList: true, subtree: true});
    seen();
}"""


async def test_revoked_from_jupyterlab_the_guest_editor_stops_within_a_second(
    pair: Pair,
) -> None:
    page = pair.lab.page
    await page.evaluate("() => { window.jupyterapp.commands.execute('tandem:people'); }")
    panel = page.locator("#tandem-people")
    person = panel.locator(f".tandem-People-person[data-name='{GUEST}']")
    await person.wait_for(timeout=20_000)
    await page.evaluate(WATCH_REVOCATION_RESPONSE)
    await pair.guest.evaluate(WATCH_END_STATE)
    await person.get_by_role("button", name=f"Revoke {GUEST}").click()
    await pair.guest.locator(".tc-end--revoked").wait_for(timeout=10_000)
    await page.wait_for_function("() => window.__revokedAt !== null", timeout=10_000)
    revoked_at = await page.evaluate("() => window.__revokedAt")
    ended_at = await pair.guest.evaluate("() => window.__endedAt")
    delay = (ended_at - revoked_at) / 1000
    print(f"revocation reached the guest's editor {delay * 1000:.0f} ms after the response")
    assert delay < 1.0, delay
    # Gone from JupyterLab's collaborators and from the People panel.
    await person.wait_for(state="detached", timeout=10_000)
    await (
        page.locator(".jp-CollaboratorsList .jp-Collaborator")
        .filter(has_text=GUEST)
        .wait_for(state="detached", timeout=10_000)
    )
    pair.assert_clean()
