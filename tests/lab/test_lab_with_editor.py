"""JupyterLab and Tandem's own editor in the same notebook, in real Chromium: the owner in
JupyterLab, a guest (who joined by a real link) in Tandem's editor. Each types at the
start, middle and end of cells while the other watches; both converge, with no console
error on either side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tandem.testing import TandemServer
from tests.browser.test_editor import cell_text, edit_cell, open_guest
from tests.eventually import eventually
from tests.lab.conftest import LabPage
from tests.lab.test_jupyterlab import server_sources

pytestmark = pytest.mark.asyncio(loop_scope="module")


def code_notebook(path: Path, sources: list[str]) -> None:
    """Code cells only: Tandem's editor shows every one as an editor (markdown renders)."""
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources]), path)


def assert_clean(lab_page: LabPage, guest: Any) -> None:
    assert lab_page.errors == [], "\n".join(lab_page.errors)
    assert guest.errors == [], guest.errors


async def lab_types_at(lab_page: LabPage, index: int, where: str, text: str) -> None:
    """Click into JupyterLab's editor of cell ``index``; type at its start, end, or after
    its first character (``middle``)."""
    editor = lab_page.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)
    await editor.locator(".cm-content").click()
    keyboard = lab_page.page.keyboard
    await keyboard.press("Control+End" if where == "end" else "Control+Home")
    if where == "middle":
        await keyboard.press("ArrowRight")
    await keyboard.type(text)


async def guest_types_at(guest: Any, index: int, where: str, text: str) -> None:
    await edit_cell(guest, index, at="end" if where == "end" else "start")
    if where == "middle":
        await guest.keyboard.press("ArrowRight")
    await guest.keyboard.type(text)


async def converged(server: TandemServer, lab_page: LabPage, guest: Any, path: str) -> list[str]:
    """Wait until JupyterLab, the guest's editor and the server hold the same cells."""
    result: list[str] = []

    async def same() -> None:
        expected = await server_sources(server, path)
        assert await lab_page.sources() == expected
        shown = [await cell_text(guest, i) for i in range(len(expected))]
        assert shown == expected
        result[:] = expected

    await eventually(same, timeout=20)
    return result


async def test_guest_typing_at_the_end_of_a_cell_keeps_jupyterlab_in_sync(
    lab: TandemServer, lab_root: Path, lab_page: LabPage, chromium: Any
) -> None:
    code_notebook(lab_root / "pair.ipynb", ["a = 1", "b = 2\nprint(b)", "c = 3"])
    await lab_page.open("pair.ipynb")
    guest, _ = await open_guest(chromium, lab, role="edit", name="Grace", path="pair.ipynb")
    try:
        # The owner's caret is in cell 1 so JupyterLab renders the guest's carets there.
        await lab_types_at(lab_page, 1, "end", "")
        for where in ("end", "start", "middle"):
            await guest_types_at(guest, 1, where, f"G{where}")
            await lab_types_at(lab_page, 1, where, f"L{where}")
            sources = await converged(lab, lab_page, guest, "pair.ipynb")
            assert_clean(lab_page, guest)
            assert f"G{where}" in sources[1] and f"L{where}" in sources[1]
        assert sources[1] == "LLmiddleGmiddlestartGstartb = 2\nprint(b)GendLend"
        assert sources[1].endswith("GendLend")
        # Both ways in other cells too, ending where the bug was: the guest at the end.
        await lab_types_at(lab_page, 2, "end", "\n# from lab")
        await guest_types_at(guest, 2, "end", "\n# from guest")
        await guest_types_at(guest, 0, "end", " tail")
        sources = await converged(lab, lab_page, guest, "pair.ipynb")
        assert sources[2].endswith("\n# from lab\n# from guest")
        assert sources[0].endswith(" tail")
        assert_clean(lab_page, guest)
    finally:
        await guest.context.close()
