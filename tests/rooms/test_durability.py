"""Restarts, crashes and epochs: nothing anyone saw is lost, nothing is duplicated."""

from __future__ import annotations

import json
import shutil

import nbformat
from pycrdt import Text

from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, NO_SAVE, write_notebook
from tests.eventually import eventually

# Saving is slowed down so that only the store can keep edits across a crash.


def sources(peer: YPeer) -> list[str]:
    return [c["source"] for c in peer.notebook.get()["cells"]]


async def test_epoch_is_stable_across_restarts(server):
    first = await server.session("demo.ipynb")
    await server.restart()
    second = await server.session("demo.ipynb")
    await server.restart(kill=True)
    third = await server.session("demo.ipynb")
    assert first["sessionId"] == second["sessionId"] == third["sessionId"]
    assert first["fileId"] == second["fileId"] == third["fileId"]


async def test_kill_9_after_peer_saw_edits_loses_nothing(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=NO_SAVE) as server:
        writer = await YPeer.open(server, "demo.ipynb")
        watcher = await YPeer.open(server, "demo.ipynb")
        source: Text = writer.notebook.ycells[1]["source"]
        for i in range(200):
            source += f"<{i}>"
        await eventually(lambda: "<199>" in str(watcher.notebook.ycells[1]["source"]))
        await server.stop(kill=True)
        on_disk = nbformat.read(root / "demo.ipynb", as_version=4)
        assert (
            "<0>" not in on_disk.cells[1].source
        )  # the file was not saved: only the store has them
        await server.start()
        fresh = await YPeer.open(server, "demo.ipynb")
        text = str(fresh.notebook.ycells[1]["source"])
        assert all(text.count(f"<{i}>") == 1 for i in range(200))
        assert len(fresh.notebook.ycells) == 3
        # The writer's tab reconnects with its old session id: accepted, merged, no duplicates.
        await writer.reconnect(server)
        assert writer.close_code is None
        await eventually(lambda: sources(writer) == sources(fresh))
        assert len(writer.notebook.ycells) == 3
        for peer in (writer, watcher, fresh):
            await peer.close()


async def test_lost_history_starts_new_epoch_and_old_clients_must_reload(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        old = await YPeer.open(server, "demo.ipynb")
        old_epoch = old.session_id
        await old.close()
        await server.stop()
        shutil.rmtree(tmp_path / "state" / "data" / "tandem")  # the history is lost
        await server.start()
        assert (await server.session("demo.ipynb"))["sessionId"] != old_epoch
        await old.reconnect(server, wait=False)
        await eventually(lambda: old.closed.is_set())
        assert old.close_code == 1003
        reason = json.loads(old.close_reason)
        assert reason["reason"] == "unknown_session" and reason["reloadable"] is True
        # A fresh client sees the file's cells exactly once.
        fresh = await YPeer.open(server, "demo.ipynb")
        assert len(fresh.notebook.ycells) == 3
        await fresh.close()


async def test_file_replaced_wholesale_while_down_starts_new_epoch(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        epoch = (await server.session("demo.ipynb"))["sessionId"]
        await server.stop()
        write_notebook(root / "demo.ipynb", cells=5)  # new cell ids: a different notebook
        await server.start()
        peer = await YPeer.open(server, "demo.ipynb")
        assert peer.session_id != epoch
        assert len(peer.notebook.ycells) == 5
        await peer.close()


async def test_file_edited_while_down_is_merged_in_same_epoch(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=NO_SAVE) as server:
        peer = await YPeer.open(server, "demo.ipynb")
        source: Text = peer.notebook.ycells[2]["source"]
        source += "\n# unsaved line"
        # A second peer seeing the line proves it is durable (relays wait for the commit).
        witness = await YPeer.open(server, "demo.ipynb")
        await eventually(
            lambda: str(witness.notebook.ycells[2]["source"]).endswith("# unsaved line")
        )
        await witness.close()
        await peer.close()
        await server.stop(kill=True)
        nb = nbformat.read(root / "demo.ipynb", as_version=4)
        nb.cells[1].source = "# changed by git pull\n" + nb.cells[1].source
        nbformat.write(nb, root / "demo.ipynb")
        await server.start()
        fresh = await YPeer.open(server, "demo.ipynb")
        assert fresh.session_id == peer.session_id
        cells = sources(fresh)
        assert cells[1].startswith("# changed by git pull\n")
        assert cells[2].endswith("# unsaved line")
        assert len(cells) == 3
        await fresh.close()
