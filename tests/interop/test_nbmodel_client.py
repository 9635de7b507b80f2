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

import pytest
from pycrdt import Doc, Text

from tandem.protocol import MessageType, Reader, SyncType
from tandem.store.sqlite import SQLiteStore
from tandem.testing import TandemServer, YPeer
from tests.conftest import MODULE_LOOP
from tests.eventually import eventually
from tests.files import read_notebook

# One server for the module where a test does not need a fresh one; each such
# test works on files of its own.
pytestmark = MODULE_LOOP

nbmodel = pytest.importorskip("jupyter_nbmodel_client")
NbModelClient = nbmodel.NbModelClient
get_jupyter_notebook_websocket_url = nbmodel.get_jupyter_notebook_websocket_url


def sources(peer: YPeer) -> list[str]:
    return [c["source"] for c in peer.notebook.get()["cells"]]


def cell_ids(peer: YPeer) -> list[str]:
    return [c["id"] for c in peer.notebook.get()["cells"]]


async def websocket_url(server, path: str) -> str:
    # The helper is blocking (requests): keep it off the event loop the server's
    # peers run on.
    return await asyncio.to_thread(
        get_jupyter_notebook_websocket_url,
        server_url=server.http_url,
        path=path,
        token=server.token,
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


def record_redundant_updates(peer: YPeer) -> list[bytes]:
    """From now on, collect the sync updates ``peer`` receives that change nothing in its
    document: a relayed echo (of its own edit or of anyone's) is exactly that. Server-side
    changes (saved state, file merges) are real changes and are not collected."""
    redundant: list[bytes] = []
    handle = peer._handle

    def spy(message: bytes) -> None:
        reader = Reader(message)
        if reader.var_uint() == MessageType.SYNC and reader.var_uint() == SyncType.UPDATE:
            before = peer.doc.get_update()
            handle(message)
            if peer.doc.get_update() == before:
                redundant.append(message)
            return
        handle(message)

    peer._handle = spy  # type: ignore[method-assign]
    return redundant


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


async def test_nbmodel_client_edits_reach_peers_and_disk(
    module_server, module_root, fresh_notebook
):
    server, root, nb_path = module_server, module_root, fresh_notebook
    file_id = (await server.session(nb_path))["fileId"]
    url = await websocket_url(server, nb_path)
    assert url.startswith(f"{server.ws_url}/api/collaboration/room/json:notebook:")
    assert "sessionId=" in url and f"token={server.token}" in url

    py = await YPeer.open(server, nb_path)
    echoes = record_redundant_updates(py)
    original = sources(py)
    original_ids = cell_ids(py)

    async with NbModelClient(url) as client:
        assert client.synced, "nbmodel client did not sync with Tandem"
        assert len(client) == 3
        assert [client[i]["source"] for i in range(3)] == original
        assert [client[i]["id"] for i in range(3)] == original_ids

        # nbmodel has already echoed the whole document back (its sync step 2 reply and
        # the server's step 2 both come straight back as updates).
        client.add_code_cell("print('added by nbmodel')")
        client.set_cell_source(1, "x1 = 'edited by nbmodel'")

        expected = [
            original[0],
            "x1 = 'edited by nbmodel'",
            original[2],
            "print('added by nbmodel')",
        ]
        await eventually(lambda: sources(py) == expected)
        ids = cell_ids(py)
        assert ids[:3] == original_ids and len(set(ids)) == 4

        # The Python peer edits; nbmodel receives it and echoes it straight back: the
        # echo must not be relayed to anyone. nbmodel sends on one ordered socket, so
        # once a later edit of its own has reached us, a relayed echo would have too.
        source_py: Text = py.notebook.ycells[2]["source"]
        source_py += "\n# from python"
        await eventually(lambda: client[2]["source"].endswith("\n# from python"))
        client.set_cell_source(0, "# Title by nbmodel")
        await eventually(lambda: sources(py)[0] == "# Title by nbmodel")
        assert echoes == [], (
            f"the server relayed {len(echoes)} of nbmodel's echoes to the Python peer"
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
        nb = read_notebook(root / nb_path)
        assert [c.source for c in nb.cells] == expected
        assert [c.id for c in nb.cells] == ids
        assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code", "code", "markdown"]

    await eventually(saved)

    # A peer joining now gets the server's copy: the echoes were not stored as changes
    # that could duplicate anything.
    late = await YPeer.open(server, nb_path)
    assert late.notebook.get() == py.notebook.get()
    await late.close()

    # Nor is any of them in the log (every update is logged before it is relayed, and
    # the Python peer has seen them all): each stored update changes the document.
    updates = await stored_updates(server, file_id)
    assert len(updates) > 1, "the log was compacted: nothing left to check"
    assert redundant_updates(updates) == [], f"{len(updates)} updates logged, some are echoes"
    await py.close()


async def test_two_nbmodel_clients_echoing_each_other(module_server, module_root, fresh_notebook):
    """Two echoing clients in one room: their echoes must not ping-pong through the
    server, and each one's cell appears exactly once."""
    server, root, nb_path = module_server, module_root, fresh_notebook
    py = await YPeer.open(server, nb_path)
    echoes = record_redundant_updates(py)
    url_a = await websocket_url(server, nb_path)
    url_b = await websocket_url(server, nb_path)
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
        # A marker from the Python peer reaches both (and both echo it), then each
        # client edits: their echoes precede their edits on their sockets.
        marker: Text = py.notebook.ycells[0]["source"]
        marker += "\nmarker"
        await eventually(
            lambda: a[0]["source"].endswith("marker") and b[0]["source"].endswith("marker")
        )
        a.set_cell_source(1, "x1 = 'A again'")
        b.set_cell_source(2, "x2 = 'B again'")
        await eventually(lambda: sources(py)[1:3] == ["x1 = 'A again'", "x2 = 'B again'"])
        assert echoes == [], f"the server relayed {len(echoes)} echoes to the Python peer"

    def saved():
        nb = read_notebook(root / nb_path)
        assert [c.source for c in nb.cells] == sources(py)
        assert len({c.id for c in nb.cells}) == 5

    await eventually(saved)
    await py.close()
