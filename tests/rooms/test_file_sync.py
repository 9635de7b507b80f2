"""The file on disk and the live document: out-of-band changes, renames, deletions."""

from __future__ import annotations

import nbformat
from pycrdt import Text

from tandem.testing import YPeer
from tests.conftest import MODULE_LOOP
from tests.eventually import eventually

# One server for the module; each test edits, renames or deletes files of its own.
pytestmark = MODULE_LOOP


def sources(peer: YPeer) -> list[str]:
    return [c["source"] for c in peer.notebook.get()["cells"]]


async def test_disk_change_while_two_peers_type_keeps_everything(
    module_server, module_root, fresh_notebook
):
    server, root, nb = module_server, module_root, fresh_notebook
    a = await YPeer.open(server, nb)
    b = await YPeer.open(server, nb)
    # Both peers type, but their edits are held (unsaved, not even delivered yet).
    a.hold()
    b.hold()
    cell1: Text = a.notebook.ycells[1]["source"]
    cell2: Text = b.notebook.ycells[2]["source"]
    cell1 += "\n# typed by A"
    cell2.insert(0, "# typed by B\n")
    # Another program rewrites the file: edits cell 0, deletes nothing, adds a cell.
    on_file = nbformat.read(root / nb, as_version=4)
    on_file.cells[0].source += "\nfrom git pull"
    on_file.cells.append(nbformat.v4.new_markdown_cell("a cell from disk"))
    nbformat.write(on_file, root / nb)
    await eventually(lambda: len(a.notebook.ycells) == 4)
    await a.release()
    await b.release()

    def everything_present():
        for peer in (a, b):
            cells = sources(peer)
            assert len(cells) == 4
            assert cells[0].endswith("from git pull") and cells[0].count("from git pull") == 1
            assert cells[1].endswith("# typed by A") and cells[1].count("typed by A") == 1
            assert cells[2].startswith("# typed by B\n") and cells[2].count("typed by B") == 1
            assert cells[3] == "a cell from disk"

    await eventually(everything_present)

    def file_has_everything():
        on_disk = [c.source for c in nbformat.read(root / nb, as_version=4).cells]
        assert on_disk == sources(a)

    await eventually(file_has_everything)
    await a.close()
    await b.close()


async def test_text_file_changed_on_disk_is_merged_line_by_line(
    module_server, module_root, fresh_text
):
    server, root, notes = module_server, module_root, fresh_text
    a = await YPeer.open(server, notes, kind="text")
    a.hold()
    a.document._ysource.insert(0, "typed ")
    (root / notes).write_text("line one\nline two\nline three from disk\n", encoding="utf-8")
    await eventually(lambda: str(a.document._ysource).endswith("line three from disk\n"))
    await a.release()
    expected = "typed line one\nline two\nline three from disk\n"
    await eventually(lambda: (root / notes).read_text(encoding="utf-8") == expected)
    assert str(a.document._ysource) == expected
    await a.close()


async def test_rename_through_jupyter_follows_the_document(
    module_server, module_root, fresh_notebook
):
    server, root, nb = module_server, module_root, fresh_notebook
    a = await YPeer.open(server, nb)
    status, _ = await server.arequest("PATCH", f"/api/contents/{nb}", {"path": f"renamed-{nb}"})
    assert status == 200
    await eventually(lambda: a.notebook.ystate.get("path") == f"renamed-{nb}")
    source: Text = a.notebook.ycells[1]["source"]
    source += "\n# after rename"
    await eventually(
        lambda: (
            nbformat.read(root / f"renamed-{nb}", as_version=4)
            .cells[1]
            .source.endswith("# after rename")
        )
    )
    assert not (root / nb).exists()
    await a.close()


async def test_deleted_file_closes_the_room_with_4404(module_server, module_root, fresh_notebook):
    server, root, nb = module_server, module_root, fresh_notebook
    a = await YPeer.open(server, nb)
    status, _ = await server.arequest("DELETE", f"/api/contents/{nb}")
    assert status == 204
    await eventually(lambda: a.closed.is_set())
    assert a.close_code == 4404
    assert not (root / nb).exists()  # and it was not re-created by a save


async def test_corrupt_notebook_closes_with_4400_and_is_never_touched(
    module_server, module_root, fresh_notebook
):
    server, root, nb = module_server, module_root, fresh_notebook
    bad = b'{"cells": [ this is not json'
    (root / "bad.ipynb").write_bytes(bad)
    session = await server.session("bad.ipynb")
    peer = YPeer()
    url = f"{server.ws_url}/api/collaboration/room/json:notebook:{session['fileId']}"
    await peer.connect(url, server.headers)
    await eventually(lambda: peer.closed.is_set())
    assert peer.close_code == 4400
    assert "bad.ipynb" in peer.close_reason
    assert (root / "bad.ipynb").read_bytes() == bad
    # The server keeps serving everyone else.
    good = await YPeer.open(server, nb)
    assert len(good.notebook.ycells) == 3
    await good.close()


async def test_invalid_notebook_schema_closes_with_4400(module_server, module_root):
    server, root = module_server, module_root
    invalid = (
        '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "bogus"}]}'
    )
    (root / "invalid.ipynb").write_text(invalid)
    session = await server.session("invalid.ipynb")
    peer = YPeer()
    await peer.connect(
        f"{server.ws_url}/api/collaboration/room/json:notebook:{session['fileId']}", server.headers
    )
    await eventually(lambda: peer.closed.is_set())
    assert peer.close_code == 4400
    assert (root / "invalid.ipynb").read_text() == invalid


async def test_file_keeps_up_while_someone_types_continuously(
    module_server, module_root, fresh_notebook
):
    """save_max_wait (1 s in tests): a steady typist is saved while still typing."""
    server, root, nb = module_server, module_root, fresh_notebook
    import asyncio

    a = await YPeer.open(server, nb)
    source: Text = a.notebook.ycells[1]["source"]
    saved_while_typing = False
    for _ in range(200):  # up to 10 s of typing, a keystroke every 50 ms: never quiet for 100 ms
        source += "k"
        await asyncio.sleep(0.05)
        if "kkkkk" in nbformat.read(root / nb, as_version=4).cells[1].source:
            saved_while_typing = True
            break
    assert saved_while_typing
    await a.close()
