"""Data-loss reports from the field, as regression scenarios.

- Notebooks cleared, or truncated to one blank cell, after reconnects
  (jupyter-server-documents #252, #305).
- Cells and cell text duplicated after restarts and reconnects (jupyter-collaboration
  #594, #545).
- A notebook open in a room overwritten remotely (another client saving over it through
  the contents API).
"""

from __future__ import annotations

import nbformat
from pycrdt import Text

from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, NO_SAVE
from tests.eventually import eventually


def sources(peer: YPeer) -> list[str]:
    return [str(c["source"]) for c in peer.notebook.ycells]


def file_sources(root) -> list[str]:
    return [c.source for c in nbformat.read(root / "demo.ipynb", as_version=4).cells]


async def test_reconnects_after_restarts_never_clear_or_truncate_the_notebook(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        tab = await YPeer.open(server, "demo.ipynb")
        original = sources(tab)
        assert len(original) == 3
        for kill in (True, False, True):
            await tab.close()
            await server.restart(kill=kill)
            # a tab that lost its state entirely (a reload) and one that kept it
            blank = await YPeer.open(server, "demo.ipynb")
            await tab.reconnect(server)
            for peer in (blank, tab):
                assert sources(peer) == original, (kill, sources(peer))
            await blank.close()
        assert file_sources(root) == original
        # a client that had deleted nothing but reconnects with an empty document
        empty = YPeer()
        empty.room_url, empty.session_id = tab.room_url, tab.session_id
        await empty.reconnect(server)
        assert sources(empty) == original
        await eventually(lambda: file_sources(root) == original)
        for peer in (tab, empty):
            await peer.close()


async def test_offline_edits_after_restarts_are_never_duplicated(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        tab = await YPeer.open(server, "demo.ipynb")
        other = await YPeer.open(server, "demo.ipynb")
        for round_ in range(3):
            await tab.close()  # the tab goes offline and keeps typing
            source: Text = tab.notebook.ycells[1]["source"]
            source += f"\n# offline {round_}"
            tab.notebook.append_cell(
                {"cell_type": "code", "source": f"new_{round_}()", "metadata": {}, "outputs": []}
            )
            text: Text = other.notebook.ycells[2]["source"]
            text += f"\n# online {round_}"
            await other.flush()
            await eventually(lambda r=round_: f"# online {r}" in file_sources(root)[2])
            await other.close()
            await server.restart(kill=round_ != 1)
            await tab.reconnect(server)
            await other.reconnect(server)
            await eventually(lambda: sources(tab) == sources(other))
        fresh = await YPeer.open(server, "demo.ipynb")
        cells = sources(fresh)
        assert len(cells) == 6
        for round_ in range(3):
            assert cells[1].count(f"# offline {round_}") == 1
            assert cells[2].count(f"# online {round_}") == 1
            assert cells.count(f"new_{round_}()") == 1
        ids = [c["id"] for c in fresh.notebook.ycells]
        assert len(set(ids)) == len(ids)
        await eventually(lambda: file_sources(root) == cells)
        for peer in (tab, other, fresh):
            await peer.close()


async def test_remote_overwrite_of_an_open_notebook_keeps_live_unsaved_work(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=NO_SAVE) as server:
        typist = await YPeer.open(server, "demo.ipynb")
        watcher = await YPeer.open(server, "demo.ipynb")
        source: Text = typist.notebook.ycells[2]["source"]
        source += "\n# typed live"
        await eventually(lambda: sources(watcher)[2].endswith("# typed live"))
        assert "# typed live" not in file_sources(root)[2]  # not saved yet
        # Another client saves its copy of the file over it, changing cell 1.
        status, model = await server.arequest("GET", "/api/contents/demo.ipynb?content=1")
        assert status == 200
        content = model["content"]
        content["cells"][1]["source"] = "# overwritten remotely\n" + content["cells"][1]["source"]
        status, _ = await server.arequest(
            "PUT",
            "/api/contents/demo.ipynb",
            {"type": "notebook", "format": "json", "content": content},
        )
        assert status == 200
        await eventually(lambda: sources(watcher)[1].startswith("# overwritten remotely\n"))
        await eventually(lambda: sources(typist) == sources(watcher))
        for peer in (typist, watcher):
            cells = sources(peer)
            assert len(cells) == 3
            assert cells[1].count("# overwritten remotely") == 1
            assert cells[2].count("# typed live") == 1
        expected = sources(watcher)
        await typist.close()
        await watcher.close()
        await server.restart()  # a clean stop saves the merged result
        assert file_sources(root) == expected
        fresh = await YPeer.open(server, "demo.ipynb")
        assert sources(fresh) == expected
        await fresh.close()
