"""jupyter-nbmodel-client, a third-party client for jupyter-collaboration servers,
edits a notebook through a real Tandem server.

Two things about this client matter to the server: its session request authenticates
with ``Authorization: Bearer <token>`` and its room socket with ``?token=``; and it
sends back *every* update it receives (its document observer does not filter remote
transactions, so each relayed update, and the whole sync step 2, comes straight back).
The server must treat those echoes as the no-ops they are: not relay them, not store
them as new changes, never duplicate a cell.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat
import pytest
from pycrdt import Doc, Text

from tandem.store.sqlite import SQLiteStore
from tandem.testing import TandemServer, YPeer
from tests.eventually import eventually

nbmodel = pytest.importorskip("jupyter_nbmodel_client")
NbModelClient = nbmodel.NbModelClient
get_jupyter_notebook_websocket_url = nbmodel.get_jupyter_notebook_websocket_url


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook on disk. Jupyter's "atomic" save truncates the file and writes it in
    place (the backup copy is only for errors), so a read can catch it half-written:
    that is "not saved yet", not a failure."""
    try:
        return nbformat.read(path, as_version=4)
    except (nbformat.reader.NotJSONError, ValueError) as exc:
        raise AssertionError(f"{path} is being written: {exc}") from exc


def sources(peer: YPeer) -> list[str]:
    return [c["source"] for c in peer.notebook.get()["cells"]]


def cell_ids(peer: YPeer) -> list[str]:
    return [c["id"] for c in peer.notebook.get()["cells"]]


async def websocket_url(server, path: str) -> str:
    # The helper is blocking (requests): keep it off the event loop the server's
    # peers run on.
    return await asyncio.to_thread(
        get_jupyter_notebook_websocket_url, server_url=server.http_url, path=path, token=server.token
    )


async def stored_updates(server: TandemServer, file_id: str) -> list[bytes]:
    """The document's update log, read through the store contract. Read while the room
    is live: once everyone has left, the server may fold the log into one snapshot."""
    store = SQLiteStore(server.state_dir / "data" / "tandem" / "tandem.sqlite")
    await store.start()
    try:
        history = await store.load(file_id)
    finally:
        await store.stop()
    assert history is not None
    return history.updates


def redundant_updates(updates: list[bytes]) -> list[int]:
    """Positions of logged updates that changed nothing when replayed in order
    (an echo stored as a change would be one)."""
    doc = Doc()
    redundant = []
    for position, update in enumerate(updates):
        before = doc.get_update()
        doc.apply_update(update)
        if doc.get_update() == before:
            redundant.append(position)
    return redundant


async def test_nbmodel_client_edits_reach_peers_and_disk(server, root):
    file_id = (await server.session("demo.ipynb"))["fileId"]
    url = await websocket_url(server, "demo.ipynb")
    assert url.startswith(f"{server.ws_url}/api/collaboration/room/json:notebook:")
    assert "sessionId=" in url and f"token={server.token}" in url

    py = await YPeer.open(server, "demo.ipynb")
    original = sources(py)
    original_ids = cell_ids(py)

    async with NbModelClient(url) as client:
        assert client.synced, "nbmodel client did not sync with Tandem"
        assert len(client) == 3
        assert [client[i]["source"] for i in range(3)] == original
        assert [client[i]["id"] for i in range(3)] == original_ids

        # Its echo of the whole document (sync step 2 comes straight back) and its
        # awareness must not have disturbed anything.
        client.add_code_cell("print('added by nbmodel')")
        client.set_cell_source(1, "x1 = 'edited by nbmodel'")

        expected = [original[0], "x1 = 'edited by nbmodel'", original[2], "print('added by nbmodel')"]
        await eventually(lambda: sources(py) == expected)
        ids = cell_ids(py)
        assert ids[:3] == original_ids and len(set(ids)) == 4

        # The Python peer edits; nbmodel receives it and echoes it straight back. The
        # echo must not be relayed back to us. nbmodel sends on one ordered socket, so
        # once a later edit of its own has reached us, any relayed echo would have too.
        source_py: Text = py.notebook.ycells[2]["source"]
        source_py += "\n# from python"
        await eventually(lambda: client[2]["source"].endswith("\n# from python"))
        before = py.received_updates
        client.set_cell_source(0, "# Title by nbmodel")
        await eventually(lambda: sources(py)[0] == "# Title by nbmodel")
        assert py.received_updates - before == 1, (
            f"the Python peer got {py.received_updates - before} updates for one edit: "
            "the server relayed nbmodel's echo of the Python peer's own change"
        )

        # An edit made just before leaving is flushed by the client's close.
        client.add_markdown_cell("last words")

    expected = [
        "# Title by nbmodel",
        "x1 = 'edited by nbmodel'",
        original[2] + "\n# from python",
        "print('added by nbmodel')",
        "last words",
    ]
    await eventually(lambda: sources(py) == expected)
    ids = cell_ids(py)
    assert len(ids) == len(set(ids)) == 5

    def saved():
        nb = read_notebook(root / "demo.ipynb")
        assert [c.source for c in nb.cells] == expected
        assert [c.id for c in nb.cells] == ids
        assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code", "markdown"]

    await eventually(saved)

    # A peer joining now gets the server's copy: the echoes were not stored as changes
    # that could duplicate anything.
    late = await YPeer.open(server, "demo.ipynb")
    assert late.notebook.get() == py.notebook.get()
    await late.close()

    # Nor is any of them in the log (every update is logged before it is relayed, and
    # the Python peer has seen them all): each stored update changes the document.
    updates = await stored_updates(server, file_id)
    assert len(updates) > 1, "the log was compacted: nothing left to check"
    assert redundant_updates(updates) == [], f"{len(updates)} updates logged, some are echoes"
    await py.close()


async def test_two_nbmodel_clients_echoing_each_other(server, root):
    """Two echoing clients in one room: their echoes must not ping-pong through the
    server, and each one's cell appears exactly once."""
    py = await YPeer.open(server, "demo.ipynb")
    url_a = await websocket_url(server, "demo.ipynb")
    url_b = await websocket_url(server, "demo.ipynb")
    async with NbModelClient(url_a) as a, NbModelClient(url_b) as b:
        assert a.synced and b.synced
        a.add_markdown_cell("from A")
        b.add_markdown_cell("from B")
        a.set_cell_source(1, "x1 = 'A'")
        b.set_cell_source(2, "x2 = 'B'")

        def converged():
            got = sources(py)
            assert len(got) == 5, got
            assert got[1:3] == ["x1 = 'A'", "x2 = 'B'"]
            assert sorted(got[3:]) == ["from A", "from B"]
            assert [a[i]["source"] for i in range(len(a))] == got
            assert [b[i]["source"] for i in range(len(b))] == got

        await eventually(converged)
        # Quiet once converged: a marker edit from the Python peer reaches both clients,
        # and in the meantime nothing else arrives at the Python peer.
        before = py.received_updates
        marker: Text = py.notebook.ycells[0]["source"]
        marker += "\nmarker"
        await eventually(lambda: a[0]["source"].endswith("marker") and b[0]["source"].endswith("marker"))
        a.set_cell_source(1, "x1 = 'A again'")
        await eventually(lambda: sources(py)[1] == "x1 = 'A again'")
        assert py.received_updates - before == 1, "echoes were relayed to the Python peer"

    def saved():
        nb = read_notebook(root / "demo.ipynb")
        assert [c.source for c in nb.cells] == sources(py)
        assert len({c.id for c in nb.cells}) == 5

    await eventually(saved)
    await py.close()
