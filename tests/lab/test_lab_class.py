"""JupyterLab, as the owner, in a room full of view guests (a class watching).

The server sends the viewer-count entry (client id 0, ``{"tandem": {"viewers": n}}``)
only to viewers; JupyterLab is the owner's, who sees everyone. So JupyterLab shows each
viewer once, never a phantom collaborator for client id 0, and keeps working with no
console error while the class publishes its cursors.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tandem.testing import TandemServer, YPeer
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share
from tests.lab.conftest import LabPage
from tests.lab.test_jupyterlab import server_sources

pytestmark = pytest.mark.asyncio(loop_scope="module")

VIEWERS = 40
CELLS = 20

STATES = """() => {
    const states = window.jupyterapp.shell.currentWidget.context.model.sharedModel
        .awareness.getStates();
    return [...states.entries()].map(([id, s]) => [id, s && s.user ? s.user.role : null,
        s && s.user ? (s.user.display_name || s.user.name) : null, s ? Object.keys(s) : []]);
}"""


async def open_people(lab_page: LabPage) -> Any:
    page = lab_page.page
    await page.evaluate("() => { window.jupyterapp.commands.execute('tandem:people'); }")
    panel = page.locator("#tandem-people")
    await panel.wait_for()
    return panel


async def class_of_viewers(server: TandemServer, path: str) -> tuple[list[Guest], list[YPeer]]:
    """``VIEWERS`` view guests, each in their own browser session, in the notebook."""
    invite = await share(server, path=path, role="view")
    guests = [Guest(server) for _ in range(VIEWERS)]
    for i, guest in enumerate(guests):
        await guest.join(invite["link"], name=f"Student {i:02d}")
    peers = list(await asyncio.gather(*(guest.peer(path) for guest in guests)))
    return guests, peers


async def publish_cursors(peers: list[YPeer], stop: asyncio.Event) -> None:
    """Each viewer moves to a cell about once a second, as Tandem's editor publishes."""
    rng = random.Random(16)
    while not stop.is_set():
        peer = rng.choice(peers)
        cell = rng.randrange(CELLS)
        await peer.set_awareness({"cell": f"cell-{cell}", "cursors": []})
        await asyncio.sleep(1.0 / len(peers))


async def test_jupyterlab_shows_a_class_of_viewers_without_a_phantom(
    lab: TandemServer, lab_root: Path, lab_page: LabPage
) -> None:
    lab_root.mkdir(parents=True, exist_ok=True)
    cells = [new_code_cell(f"step_{i} = {i}", id=f"cell-{i}") for i in range(CELLS)]
    nbformat.write(new_notebook(cells=cells), lab_root / "lecture.ipynb")
    await lab_page.open("lecture.ipynb")
    guests, peers = await class_of_viewers(lab, "lecture.ipynb")
    stop = asyncio.Event()
    cursors = asyncio.ensure_future(publish_cursors(peers, stop))
    try:
        # JupyterLab holds each viewer's state, stamped by the server, and nothing for id 0.
        async def every_viewer_present() -> None:
            states = await lab_page.page.evaluate(STATES)
            assert 0 not in [client for client, *_ in states]
            viewers = {name for _, role, name, _ in states if role == "view"}
            assert viewers == {f"Student {i:02d}" for i in range(VIEWERS)}
            assert all(name for _, _, name, _ in states), states  # no nameless entry

        await eventually(every_viewer_present, timeout=30)

        # Tandem's People panel: each viewer once, as a viewer; no nameless entry.
        panel = await open_people(lab_page)
        people = panel.locator(".tandem-People-here .tandem-People-person")

        async def listed() -> None:
            names = await people.evaluate_all("items => items.map(i => i.dataset.name)")
            assert sorted(n for n in names if n.startswith("Student")) == [
                f"Student {i:02d}" for i in range(VIEWERS)
            ]
            assert len(names) == VIEWERS + 1  # and the owner, "(you)"
            assert await panel.locator(".tandem-People-person[data-client='0']").count() == 0

        await eventually(listed, timeout=30)
        first = panel.locator(".tandem-People-person[data-name='Student 00']")
        assert "view" in await first.inner_text()

        # The owner keeps typing while the class moves around: it reaches the server.
        await lab_page.type_at_end_of_cell(3, " # while watched")

        async def typed() -> None:
            assert (await server_sources(lab, "lecture.ipynb"))[3] == "step_3 = 3 # while watched"

        await eventually(typed, timeout=30)
    finally:
        stop.set()
        await cursors
        await asyncio.gather(*(p.close() for p in peers))
        for guest in guests:
            await guest.close()

    # Once the class has left, JupyterLab's People panel shows only the owner again.
    async def class_gone() -> None:
        names = await people.evaluate_all("items => items.map(i => i.dataset.name)")
        assert not [n for n in names if n.startswith("Student")]

    await eventually(class_gone, timeout=40)
    assert lab_page.errors == []
