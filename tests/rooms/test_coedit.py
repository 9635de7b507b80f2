"""Two pycrdt peers co-edit a notebook through a real server; the file follows."""

from __future__ import annotations

import nbformat
from pycrdt import Text

from tandem.testing import YPeer
from tests.conftest import MODULE_LOOP
from tests.eventually import eventually

# One server for the module where a test does not need a fresh one; each such
# test works on files of its own.
pytestmark = MODULE_LOOP


def cell_source(peer: YPeer, index: int) -> str:
    return str(peer.notebook.ycells[index]["source"])


async def test_two_peers_converge_and_file_matches(module_server, module_root, fresh_notebook):
    server, root, nb_path = module_server, module_root, fresh_notebook
    a = await YPeer.open(server, nb_path)
    b = await YPeer.open(server, nb_path)
    assert len(a.notebook.ycells) == 3
    assert a.notebook.get() == b.notebook.get()

    source_a: Text = a.notebook.ycells[1]["source"]
    source_b: Text = b.notebook.ycells[2]["source"]
    source_a += "\n# from A ✓"
    source_b.insert(0, "# from B\n")
    a.notebook.append_cell({"cell_type": "markdown", "source": "added by A", "metadata": {}})

    def converged():
        assert a.notebook.get() == b.notebook.get()
        assert "# from A ✓" in cell_source(b, 1)
        assert cell_source(a, 2).startswith("# from B")
        assert len(b.notebook.ycells) == 4

    await eventually(converged)

    def saved():
        nb = nbformat.read(root / nb_path, as_version=4)
        assert [c.source for c in nb.cells] == [c["source"] for c in a.notebook.get()["cells"]]

    await eventually(saved)
    await a.close()
    await b.close()


async def test_text_file_coedit(module_server, module_root, fresh_text):
    server, root, text_path = module_server, module_root, fresh_text
    a = await YPeer.open(server, text_path, kind="text")
    b = await YPeer.open(server, text_path, kind="text")
    assert str(a.document._ysource) == "line one\nline two\n"
    a.document._ysource.insert(0, "héllo ")
    await eventually(lambda: str(b.document._ysource).startswith("héllo line one"))
    await eventually(
        lambda: (root / text_path).read_text(encoding="utf-8") == "héllo line one\nline two\n"
    )
    await a.close()
    await b.close()


async def test_awareness_is_stamped_by_server(module_server, fresh_notebook):
    server, nb_path = module_server, fresh_notebook
    a = await YPeer.open(server, nb_path)
    b = await YPeer.open(server, nb_path)
    await a.set_awareness({"user": {"name": "Mallory", "color": "#000000"}, "cursor": 5})
    await eventually(lambda: a.doc.client_id in b.awareness)
    state = b.awareness[a.doc.client_id]
    assert state["cursor"] == 5
    assert state["user"]["name"] != "Mallory"
    assert state["user"]["color"] != "#000000"
    # B echoes A's state back under A's client id: it must not take over A's identity.
    from tandem.protocol import AwarenessEntry, encode_awareness

    await b.send_raw_bytes(
        encode_awareness([AwarenessEntry(a.doc.client_id, 99, {"user": {"name": "Eve"}})])
    )
    await a.set_awareness({"cursor": 6})
    await eventually(lambda: b.awareness[a.doc.client_id]["cursor"] == 6)
    # A leaves: B is told A's state is gone.
    await a.close()
    await eventually(lambda: b.awareness.get(a.doc.client_id, "x") is None)
    await b.close()


async def test_save_request_over_socket(module_server, module_root, fresh_notebook):
    server, root, nb_path = module_server, module_root, fresh_notebook
    a = await YPeer.open(server, nb_path)
    source: Text = a.notebook.ycells[0]["source"]
    source += "\nsaved explicitly"
    reply = await a.request_save(7)
    assert reply == {"type": "save", "responseTo": 7, "status": "success"}
    nb = nbformat.read(root / nb_path, as_version=4)
    assert nb.cells[0].source.endswith("saved explicitly")
    state = a.notebook.ystate
    await eventually(lambda: state.get("dirty") is False and state.get("path") == nb_path)
    await eventually(lambda: isinstance(state.get("hash"), str))
    await a.close()
