"""Item 2: a guest may not write outputs, execution counts or trust into a notebook.

The attack: an edit guest writes a cell whose ``metadata.trusted`` is true and whose
outputs hold ``text/html`` with an ``onerror`` handler (JupyterLab would render it
trusted, running the script in the server's origin). Against a real server, with the
guest joined through a real link; an owner peer checks the state after every single
frame it receives, so an unsafe intermediate state would be caught too.

The tests share one server; each attacks a notebook (with outputs) of its own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from pycrdt import Map

from tandem.testing import TandemServer, YPeer
from tests.conftest import MODULE_LOOP, write_notebook
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

pytestmark = MODULE_LOOP

EVIL_HTML = '<img src="x" onerror="window.__pwned = document.cookie">'
EVIL_OUTPUT = {
    "output_type": "display_data",
    "data": {"text/html": EVIL_HTML},
    "metadata": {},
}


class WatchingPeer(YPeer):
    """A peer that checks the notebook after every frame it applies."""

    def __init__(self) -> None:
        super().__init__()
        self.unsafe_states: list[Any] = []

    def _handle(self, message: bytes) -> None:
        super()._handle(message)
        for cell in self.notebook.get()["cells"]:
            text = json.dumps(cell)
            if cell.get("metadata", {}).get("trusted") or "onerror" in json.dumps(
                cell.get("outputs", [])
            ):
                self.unsafe_states.append(text)


async def watch(server: TandemServer, path: str) -> WatchingPeer:
    session = await server.session(path)
    peer = WatchingPeer()
    peer.room_url = f"{server.ws_url}/api/collaboration/room/json:notebook:{session['fileId']}"
    await peer.connect(f"{peer.room_url}?sessionId={session['sessionId']}", server.headers)
    await peer.wait_synced()
    return peer


@pytest.fixture
def nb(module_root: Path, fresh_notebook: str) -> str:
    """This test's own notebook (in ``module_root``), with outputs."""
    write_notebook(module_root / fresh_notebook, cells=3, outputs=True)
    return fresh_notebook


@pytest_asyncio.fixture(loop_scope="module")
async def guest(module_server) -> AsyncIterator[Guest]:
    client = Guest(module_server)
    yield client
    await client.close()


def _cells(peer: YPeer) -> list[dict[str, Any]]:
    return peer.notebook.get()["cells"]


async def test_guest_cell_with_trusted_html_output_is_neutralised(
    module_server, guest, module_root, nb
):
    server = module_server
    invite = await share(server, nb, role="edit")
    await guest.join(invite["link"])
    owner = await watch(server, nb)
    attacker = await guest.peer(nb)
    attacker.notebook.append_cell(
        {
            "cell_type": "code",
            "id": "evil",
            "source": "print('hello')",
            "metadata": {"trusted": True},
            "execution_count": 7,
            "outputs": [EVIL_OUTPUT],
        }
    )
    await eventually(lambda: any(c["id"] == "evil" for c in _cells(owner)))
    evil = next(c for c in _cells(owner) if c["id"] == "evil")
    assert evil["source"] == "print('hello')"  # the edit itself is kept
    assert evil["outputs"] == [] and evil["execution_count"] is None
    assert not evil["metadata"].get("trusted")
    assert owner.unsafe_states == []
    # The attacker's own document converges to the neutralised state.
    await eventually(
        lambda: next(c for c in _cells(attacker) if c["id"] == "evil")["outputs"] == []
    )
    late = await watch(server, nb)
    assert late.unsafe_states == []
    saved = await eventually(lambda: _saved_cell(module_root / nb, "evil") or False)
    assert saved["outputs"] == [] and "onerror" not in json.dumps(saved)
    for peer in (owner, attacker, late):
        await peer.close()


def _saved_cell(path: Path, cell_id: str) -> dict[str, Any] | None:
    try:
        nb = json.loads(path.read_text())
    except ValueError:
        return None
    return next((c for c in nb["cells"] if c.get("id") == cell_id), None)


async def test_guest_cannot_trust_or_extend_existing_outputs(module_server, guest, nb):
    server = module_server
    invite = await share(server, nb, role="edit")
    await guest.join(invite["link"])
    owner = await watch(server, nb)
    attacker = await guest.peer(nb)
    before = _cells(owner)[1]
    cell: Map = attacker.notebook.ycells[1]
    with attacker.doc.transaction():
        cell["metadata"]["trusted"] = True
        cell["outputs"].append(Map(EVIL_OUTPUT))
        cell["execution_count"] = 99
    marker = attacker.notebook.ycells[0]["source"]
    marker += " (guest)"
    await eventually(lambda: _cells(owner)[0]["source"].endswith("(guest)"))
    after = _cells(owner)[1]
    assert after["outputs"] == before["outputs"] and after["outputs"]  # the owner's kept
    assert after["execution_count"] == before["execution_count"]
    assert not after["metadata"].get("trusted")
    assert owner.unsafe_states == []
    await eventually(lambda: _cells(attacker)[1]["outputs"] == before["outputs"])
    await attacker.close()
    await owner.close()


async def test_guest_may_clear_outputs_and_move_cells(module_server, guest, nb):
    """What a guest's JupyterLab does on its own: clearing outputs, and moving a cell
    (delete and re-insert a copy with the same id and outputs) keep working."""
    server = module_server
    invite = await share(server, nb, role="edit")
    await guest.join(invite["link"])
    owner = await YPeer.open(server, nb)
    peer = await guest.peer(nb)
    moved = _cells(peer)[2]
    with peer.doc.transaction():
        peer.notebook.ycells.pop(2)
        peer.notebook.ycells.insert(0, peer.notebook.create_ycell(moved))
    await eventually(lambda: _cells(owner)[0]["id"] == moved["id"])
    assert _cells(owner)[0]["outputs"] == moved["outputs"] and moved["outputs"]
    peer.notebook.ycells[0]["outputs"].clear()
    await eventually(lambda: _cells(owner)[0]["outputs"] == [])
    await peer.close()
    await owner.close()


async def test_the_owner_still_writes_outputs_and_trust(module_server, nb):
    server = module_server
    owner = await YPeer.open(server, nb)
    cell: Map = owner.notebook.ycells[1]
    with owner.doc.transaction():
        cell["metadata"]["trusted"] = True
        cell["outputs"].append(
            Map({"output_type": "display_data", "data": {"text/html": "<b>"}, "metadata": {}})
        )
    other = await YPeer.open(server, nb)
    await eventually(lambda: _cells(other)[1]["metadata"].get("trusted") is True)
    assert _cells(other)[1]["outputs"][-1]["data"] == {"text/html": "<b>"}
    await other.close()
    await owner.close()


async def test_a_guest_update_waiting_for_the_owners_next_write_is_judged_too(
    module_server, guest, nb
):
    """The guest crafts an output that depends on a struct the owner has not written yet
    (it knows the owner's client id and clock): the server keeps it waiting, and the
    owner's next write integrates it. That write is judged as a guest's."""
    from pycrdt import Array, Doc

    server = module_server
    invite = await share(server, nb, role="edit")
    await guest.join(invite["link"])
    owner = await watch(server, nb)
    attacker = await guest.peer(nb)
    # The owner's next append to cell 1's outputs, forged with the owner's client id...
    fake = Doc(client_id=owner.doc.client_id)
    fake.apply_update(attacker.doc.get_update())
    fake_cell = fake.get("cells", type=Array)[1]
    fake_cell["outputs"].append(Map({"output_type": "stream", "name": "stdout", "text": "x"}))
    # ...and the attacker's evil output right after it.
    evil = Doc()
    evil.apply_update(fake.get_update())
    evil.get("cells", type=Array)[1]["outputs"].append(Map(EVIL_OUTPUT))
    from tandem.protocol import SyncType, encode_sync

    attacker.send(encode_sync(SyncType.UPDATE, evil.get_update(fake.get_state())))
    await attacker.flush()
    # The owner really appends an output (as JupyterLab does when it runs a cell itself).
    cell: Map = owner.notebook.ycells[1]
    with owner.doc.transaction():
        cell["outputs"].append(Map({"output_type": "stream", "name": "stdout", "text": "o\n"}))
        marker = owner.notebook.ycells[0]["source"]
        marker += " (owner wrote)"
    await eventually(lambda: _late_peer_check(server, nb), timeout=20)
    assert owner.unsafe_states == []
    await attacker.close()
    await owner.close()


async def _late_peer_check(server: TandemServer, path: str) -> bool:
    peer = await watch(server, path)
    try:
        assert _cells(peer)[0]["source"].endswith("(owner wrote)")
        outputs = json.dumps([c.get("outputs", []) for c in _cells(peer)])
        if "onerror" in outputs:
            raise RuntimeError(f"the evil output is in the document: {outputs}")
        return True
    finally:
        await peer.close()
