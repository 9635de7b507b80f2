"""The notebook editor in real Chromium against a real server: two or three people in
separate browser contexts co-editing, their carets and labels, follow mode, cell
operations with Jupyter's shortcuts, undo of your own changes only, and a Python pycrdt
client editing alongside the browser.

The helpers at the top are shared by the other ``test_editor_*`` modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tandem.testing import TandemServer, YPeer
from tests.conftest import write_notebook
from tests.doc_screenshots import publish
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

MOD = "Control"


# -- helpers ---------------------------------------------------------------------------


def numbered_notebook(path: Path, cells: int, markdown_first: bool = True) -> list[str]:
    """A notebook of `cells` small code cells (after a markdown title); returns sources."""
    items = [new_markdown_cell("# Numbered")] if markdown_first else []
    items += [new_code_cell(f"value_{i} = {i}") for i in range(cells)]
    for index, cell in enumerate(items):
        cell.id = f"c{index}"
    nbformat.write(new_notebook(cells=items), path)
    return [c.source for c in items]


async def me_of(page: Any) -> dict[str, Any]:
    """Who the page's user is (the owner's anonymous name is made per login)."""
    return await page.evaluate(
        "() => JSON.parse(document.getElementById('tandem-config').textContent).me"
    )


async def open_owner(
    browser: Any, server: TandemServer, path: str = "demo.ipynb", **context: Any
) -> Any:
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    await page.goto(f"{server.http_url}/tandem/notebook/{path}?token={server.token}")
    await wait_online(page)
    return page


async def redeemed_cookies(server: TandemServer, link: str, name: str) -> list[dict[str, str]]:
    """Redeem ``link`` over HTTP as ``name``: the guest session's cookies, for a browser."""
    client = Guest(server)
    try:
        joined = await client.join(link, name=name)
        assert joined.status_code == 303, joined.text
        return [
            {"name": key, "value": value, "url": server.http_url}
            for key, value in client.http.cookies.items()
        ]
    finally:
        await client.close()


async def open_guest(
    browser: Any,
    server: TandemServer,
    role: str = "edit",
    name: str = "Grace Hopper",
    path: str = "demo.ipynb",
    **invite: Any,
) -> tuple[Any, dict[str, Any]]:
    """A guest who redeemed a real invitation (over HTTP), then opens the editor in its own
    browser context with that guest session's cookies."""
    invitation = await share(server, path, role=role, **invite)
    cookies = await redeemed_cookies(server, invitation["link"], name)
    ctx = await browser.new_context()
    await ctx.add_cookies(cookies)
    page = await ctx.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    await page.goto(f"{server.http_url}/tandem/notebook/{path}")
    await wait_online(page)
    return page, invitation


async def wait_online(page: Any) -> None:
    await page.wait_for_selector("html[data-tandem-ready]", timeout=20_000)
    await page.wait_for_selector('.tc-status[data-connection="online"]', timeout=20_000)


def cell(page: Any, index: int) -> Any:
    return page.locator(".tc-cell").nth(index)


async def edit_cell(page: Any, index: int, at: str = "end") -> None:
    """Click into a cell's editor and put the caret at its start or end."""
    target = cell(page, index)
    await target.scroll_into_view_if_needed()
    await target.locator(".cm-content").click()
    await page.keyboard.press(f"{MOD}+Home" if at == "start" else f"{MOD}+End")


async def cell_text(page: Any, index: int) -> str:
    return await page.evaluate(
        "(i) => { const c = document.querySelectorAll('.tc-cell')[i];"
        " const cm = c.querySelector('.cm-content');"
        " const text = (line) => { const copy = line.cloneNode(true);"
        "   copy.querySelectorAll('.tc-caret').forEach(e => e.remove()); return copy.textContent; };"
        " if (cm) return [...cm.querySelectorAll('.cm-line')].map(text).join('\\n');"
        " return c.querySelector('.tc-source-static')?.textContent ?? ''; }",
        index,
    )


async def server_sources(server: TandemServer, path: str = "demo.ipynb") -> list[str]:
    """The document as a fresh pycrdt client receives it from the server."""
    async with await YPeer.open(server, path) as peer:
        return [str(c["source"]) for c in peer.notebook.ycells]


async def in_viewport(page: Any, index: int) -> bool:
    return await page.evaluate(
        "(i) => { const r = document.querySelectorAll('.tc-cell')[i].getBoundingClientRect();"
        " return r.bottom > 0 && r.top < window.innerHeight; }",
        index,
    )


def no_page_errors(*pages: Any) -> None:
    for page in pages:
        assert page.errors == [], page.errors


# -- tests -----------------------------------------------------------------------------


async def test_two_people_co_edit_with_named_carets_that_fade(
    server: TandemServer, browser: Any, root: Path, screenshots: Path
) -> None:
    write_notebook(root / "pair.ipynb", cells=4, outputs=True)
    owner = await open_owner(browser, server, "pair.ipynb")
    owner_name = (await me_of(owner))["name"]
    guest, _ = await open_guest(
        browser, server, role="edit", name="Ada Lovelace", path="pair.ipynb"
    )

    # Each sees the other in the people bar, with role.
    await owner.wait_for_selector('.tc-people .tc-avatar[aria-label*="Ada Lovelace (editor)"]')
    await guest.wait_for_selector(f'.tc-people .tc-avatar[aria-label*="{owner_name} (owner)"]')

    # Different cells at the same time.
    await edit_cell(owner, 1)
    await edit_cell(guest, 2)
    await owner.keyboard.type("  # owner was here")
    await guest.keyboard.type("  # guest was here")
    # The same cell at the same time (both at its end, then both type).
    await edit_cell(owner, 3)
    await edit_cell(guest, 3, at="start")
    await owner.keyboard.type("\nfrom_owner = 1")
    await guest.keyboard.type("from_guest = 2\n")

    async def converged() -> None:
        sources = await server_sources(server, "pair.ipynb")
        assert sources[1] == "x1 = 1\nprint(x1)  # owner was here", sources
        assert sources[2] == "x2 = 2\nprint(x2)  # guest was here", sources
        assert sources[3] == "from_guest = 2\nx3 = 3\nprint(x3)\nfrom_owner = 1", sources
        for page in (owner, guest):
            for i in (1, 2, 3):
                assert await cell_text(page, i) == sources[i]

    await eventually(converged, timeout=15)

    # The guest sees the owner's caret in cell 3, in the owner's colour, labelled and then fading.
    owner_color = (await me_of(owner))["color"]
    caret = guest.locator(f'.tc-cell >> nth=3 >> .tc-caret[data-name="{owner_name}"]')
    await caret.wait_for()
    assert await caret.evaluate("e => e.style.getPropertyValue('--tc-user')") == owner_color
    label = caret.locator(".tc-caret-label")
    opacity = (
        "([name, active]) => { const label = document.querySelectorAll('.tc-cell')[3]"
        '.querySelector(`.tc-caret[data-name="${name}"] .tc-caret-label`);'
        " return !!label && label.classList.contains('tc-caret-label--active') === active"
        " && getComputedStyle(label).opacity === (active ? '1' : '0'); }"
    )
    await guest.mouse.move(1, 1)  # hovering an editor shows every label in it
    await guest.wait_for_function(opacity, arg=[owner_name, False], timeout=8000)  # quiet: faded
    await owner.keyboard.type("1")  # typing wakes the label
    await guest.wait_for_function(opacity, arg=[owner_name, True], timeout=5000)
    assert await label.text_content() == owner_name
    # A marker on the cell says who is in it.
    assert (
        await guest.locator(".tc-cell >> nth=3 >> .tc-cell-people").get_attribute("aria-label")
        == f"In this cell: {owner_name}"
    )
    await owner.screenshot(path=str(screenshots / "editor-two-people.png"))
    publish(screenshots / "editor-two-people.png", "editor.png")
    # Without activity the label fades out (a few seconds), the caret stays.
    await guest.wait_for_function(opacity, arg=[owner_name, False], timeout=8000)
    assert await caret.is_visible()
    # And the owner sees the guest's caret in the guest's colour.
    guest_color = (await me_of(guest))["color"]
    guest_caret = owner.locator('.tc-caret[data-name="Ada Lovelace"]')
    await guest_caret.wait_for()
    assert await guest_caret.evaluate("e => e.style.getPropertyValue('--tc-user')") == guest_color
    no_page_errors(owner, guest)


async def test_follow_mode_keeps_their_cursor_in_view_until_you_move(
    server: TandemServer, browser: Any, root: Path
) -> None:
    numbered_notebook(root / "long.ipynb", 60)
    owner = await open_owner(browser, server, "long.ipynb")
    guest, _ = await open_guest(browser, server, role="view", name="Follower", path="long.ipynb")
    owner_name = (await me_of(owner))["name"]

    avatar = guest.locator('.tc-people .tc-avatar[data-role="owner"]')
    assert await avatar.get_attribute("aria-label") == f"Follow {owner_name} (owner)"
    await avatar.click()
    await guest.wait_for_selector(".tc-avatar--following")
    assert not await in_viewport(guest, 50)

    await edit_cell(owner, 50)
    await owner.keyboard.type(" + 1")
    await eventually(lambda: in_viewport(guest, 50), timeout=10)
    # They move on: we follow.
    await edit_cell(owner, 20)
    await owner.keyboard.type(" + 2")
    await eventually(lambda: in_viewport(guest, 20), timeout=10)

    # Tab only moves the keyboard focus: still following.
    await guest.keyboard.press("Tab")
    assert await avatar.get_attribute("aria-pressed") == "true"
    # We move ourselves (a key): following stops, and their next move does not scroll us.
    await guest.keyboard.press("ArrowDown")
    await guest.wait_for_selector(".tc-avatar--following", state="detached")
    assert await avatar.get_attribute("aria-pressed") == "false"
    scrolled = await guest.evaluate("() => window.scrollY")
    await edit_cell(owner, 58)
    await owner.keyboard.type(" + 3")
    await guest.wait_for_function(
        "() => document.querySelectorAll('.tc-cell')[58].textContent.includes('+ 3')"
    )
    assert await guest.evaluate("() => window.scrollY") == scrolled and not await in_viewport(
        guest, 58
    )
    no_page_errors(owner, guest)


async def test_cell_operations_shortcuts_and_undo_of_your_own_changes(
    server: TandemServer, browser: Any, root: Path
) -> None:
    page = await open_owner(browser, server)
    cells = page.locator(".tc-cell")
    assert await cells.count() == 3

    # Command mode: B inserts below, A above; the new cell is active.
    await cell(page, 1).click(position={"x": 20, "y": 10})
    await page.keyboard.press("b")
    await page.wait_for_function("() => document.querySelectorAll('.tc-cell').length === 4")
    assert await cell(page, 2).get_attribute("class") and "tc-cell--active" in await cell(
        page, 2
    ).get_attribute("class")
    # Enter edits, typing goes into the new cell; Escape leaves.
    await page.keyboard.press("Enter")
    await page.keyboard.type("new = 'cell'")
    await page.keyboard.press("Escape")
    await page.keyboard.press("a")
    await page.wait_for_function("() => document.querySelectorAll('.tc-cell').length === 5")
    # M makes it markdown, Y makes it code again.
    await page.keyboard.press("m")
    await page.wait_for_function(
        "() => document.querySelectorAll('.tc-cell')[2].dataset.cellType === 'markdown'"
    )
    await page.keyboard.press("y")
    await page.wait_for_function(
        "() => document.querySelectorAll('.tc-cell')[2].dataset.cellType === 'code'"
    )
    # D D deletes the empty cell again.
    await page.keyboard.press("d")
    await page.keyboard.press("d")
    await page.wait_for_function("() => document.querySelectorAll('.tc-cell').length === 4")
    assert await cell_text(page, 2) == "new = 'cell'"

    # Split at the cursor (Ctrl+Shift+-), then merge back (Shift+M).
    await edit_cell(page, 1, at="start")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Control+Shift+Minus")
    await page.wait_for_function("() => document.querySelectorAll('.tc-cell').length === 5")
    assert [await cell_text(page, 1), await cell_text(page, 2)] == ["x1 = 1", "print(x1)"]
    await page.keyboard.press("Escape")
    await page.keyboard.press("k")
    await page.keyboard.press("Shift+M")
    await page.wait_for_function("() => document.querySelectorAll('.tc-cell').length === 4")
    assert await cell_text(page, 1) == "x1 = 1\n\nprint(x1)"

    # Move down (Ctrl+Shift+Down) keeps the cell active.
    await page.keyboard.press("Control+Shift+ArrowDown")
    await page.wait_for_function(
        "() => document.querySelectorAll('.tc-cell')[2].textContent.includes('x1 = 1')"
    )
    assert "tc-cell--active" in (await cell(page, 2).get_attribute("class"))

    # Markdown: Enter edits the source, Shift+Enter renders it again.
    await cell(page, 0).click(position={"x": 20, "y": 10})
    await page.keyboard.press("Enter")
    await page.wait_for_selector(".tc-cell >> nth=0 >> .cm-content")
    await page.keyboard.press(f"{MOD}+End")
    await page.keyboard.type("\n\nWith $x^2$ math.")
    await page.keyboard.press("Shift+Enter")
    await page.wait_for_selector(".tc-cell >> nth=0 >> .tc-rendered .katex")

    # Undo reverts only this person's changes: a collaborator's edit stays.
    async with await YPeer.open(server, "demo.ipynb") as peer:
        source = peer.notebook.ycells[3]["source"]
        source += "\n# from python"
        await page.wait_for_function(
            "() => document.querySelectorAll('.tc-cell')[3].textContent.includes('# from python')"
        )
        await cell(page, 2).click(position={"x": 20, "y": 10})
        for _ in range(20):
            await page.keyboard.press("z")

        async def undone() -> None:
            sources = [str(c["source"]) for c in peer.notebook.ycells]
            assert sources == [
                "# Title\n\nSome *markdown* with ünïcödé ✓",
                "x1 = 1\nprint(x1)",
                "x2 = 2\nprint(x2)\n# from python",
            ], sources

        await eventually(undone)
        # Redo brings this person's work back.
        for _ in range(20):
            await page.keyboard.press("Shift+Z")
        await eventually(
            lambda: (
                len(peer.notebook.ycells) == 4
                and "With $x^2$" in str(peer.notebook.ycells[0]["source"])
            )
        )

    # Ctrl+S saves: the file on disk has the edits.
    await page.keyboard.press(f"{MOD}+s")
    await page.wait_for_selector(".tc-toast:has-text('Saved')")
    assert "With $x^2$ math." in (root / "demo.ipynb").read_text()
    no_page_errors(page)


async def test_the_app_and_a_python_client_edit_together(
    server: TandemServer, browser: Any
) -> None:
    page = await open_owner(browser, server)
    async with await YPeer.open(server, "demo.ipynb") as peer:
        # Python -> browser: text and a new cell.
        source = peer.notebook.ycells[1]["source"]
        source += "\n# typed in python"
        peer.notebook.append_cell(
            {
                "cell_type": "code",
                "source": "from_python = True",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
        )
        await page.wait_for_function("() => document.querySelectorAll('.tc-cell').length === 4")
        assert await cell_text(page, 3) == "from_python = True"
        await page.wait_for_function(
            "() => document.querySelectorAll('.tc-cell')[1].textContent.includes('# typed in python')"
        )
        # Browser -> python: typing and deleting a cell.
        await edit_cell(page, 3)
        await page.keyboard.type("  # and the browser")
        await eventually(
            lambda: (
                str(peer.notebook.ycells[3]["source"]) == "from_python = True  # and the browser"
            )
        )
        await page.keyboard.press("Escape")
        await cell(page, 2).click(position={"x": 20, "y": 10})
        await page.keyboard.press("d")
        await page.keyboard.press("d")
        await eventually(lambda: len(peer.notebook.ycells) == 3)
        assert [str(c["source"]) for c in peer.notebook.ycells] == [
            "# Title\n\nSome *markdown* with ünïcödé ✓",
            "x1 = 1\nprint(x1)\n# typed in python",
            "from_python = True  # and the browser",
        ]
    no_page_errors(page)


@pytest.mark.parametrize("viewport", [{"width": 820, "height": 1180}])
async def test_tablet_and_keyboard_only_use(
    server: TandemServer, browser: Any, viewport: dict[str, int]
) -> None:
    """A tablet-sized screen; reaching and editing a cell with the keyboard alone; every
    control has an accessible name."""
    page = await open_owner(browser, server, viewport=viewport, has_touch=True)
    unnamed = await page.evaluate(
        "() => [...document.querySelectorAll('button, select, input, [role=toolbar]')]"
        ".filter(e => !(e.getAttribute('aria-label') || e.textContent.trim() || e.title)).map(e => e.outerHTML)"
    )
    assert unnamed == []
    # Nothing overflows sideways on a tablet.
    assert await page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    # Keyboard only. The notebook is one tab stop (its active cell), which has the focus
    # on arrival; Tab leaves it and Shift+Tab comes back.
    focused_cell = "() => document.activeElement?.classList.contains('tc-cell--active')"
    assert await page.evaluate(focused_cell)
    await page.keyboard.press("Tab")
    assert not await page.evaluate("() => !!document.activeElement?.closest('.tc-cell')")
    await page.keyboard.press("Shift+Tab")
    assert await page.evaluate(focused_cell)
    # The toolbar is reachable too: from the top of the page, Tab walks its buttons.
    await page.keyboard.press("Shift+Tab")
    assert await page.evaluate("() => !!document.activeElement?.closest('.tc-toolbar')")
    await page.keyboard.press("Tab")
    assert await page.evaluate(focused_cell)
    # Arrows pick a cell, Enter edits, Escape leaves.
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    await page.keyboard.press(f"{MOD}+End")
    await page.keyboard.type("  # keyboard")
    await page.keyboard.press("Escape")
    assert await page.evaluate("() => document.activeElement?.classList.contains('tc-cell')")

    async def saved() -> None:
        assert (await server_sources(server))[2] == "x2 = 2\nprint(x2)  # keyboard"

    await eventually(saved)
    no_page_errors(page)
