"""The one write path, in process: stored before relayed, no echoes, waiting structs,
catch-up of direct changes, compaction; read-only peers and malformed frames."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc

from tandem.protocol import SyncType, encode_sync, encode_var_uint
from tandem.rooms import DocumentRoom
from tandem.rooms.document_room import RoomSettings
from tandem.store.memory import MemoryStore
from tandem.testing_inprocess import LocalPeer, open_document_room
from tests.conftest import write_notebook


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    backend = MemoryStore()
    await backend.start()
    yield backend
    await backend.stop()


@pytest.fixture
async def room(tmp_path: Path, store: MemoryStore) -> AsyncIterator[DocumentRoom]:
    write_notebook(tmp_path / "demo.ipynb")
    live = await open_document_room(tmp_path, "demo.ipynb", store)
    yield live
    await live.stop()


def sources(peer: LocalPeer | DocumentRoom) -> list[str]:
    return [str(cell["source"]) for cell in peer.document.ycells]


def type_into(peer: LocalPeer | DocumentRoom, index: int, text: str) -> None:
    """Append ``text`` to cell ``index``'s source (one transaction)."""
    source = peer.document.ycells[index]["source"]
    source += text


async def stored_doc(store: MemoryStore, key: str) -> Doc:
    history = await store.load(key)
    assert history is not None
    doc = Doc()
    for update in history.updates:
        doc.apply_update(update)
    return doc


async def test_peers_sync_on_connect_and_see_each_others_edits(room: DocumentRoom) -> None:
    alice = await LocalPeer(room).connect()
    bob = await LocalPeer(room).connect()
    assert alice.synced and bob.synced
    assert sources(alice) == sources(room) == sources(bob)
    type_into(alice, 1, "  # alice")
    await alice.flush()
    await asyncio.sleep(0)  # the relay runs once the store's future resolves
    await room.durable()
    assert sources(bob)[1].endswith("# alice")
    assert sources(room) == sources(bob)


async def test_an_update_is_relayed_only_once_stored_and_never_echoed(
    room: DocumentRoom, store: MemoryStore
) -> None:
    alice = await LocalPeer(room).connect()
    bob = await LocalPeer(room).connect()
    seen_by_alice, seen_by_bob = len(alice.received_updates), len(bob.received_updates)
    store.hold()
    type_into(alice, 1, "!")
    await alice.flush()
    await asyncio.sleep(0.01)
    assert sources(room)[1].endswith("!")  # applied to the live document...
    assert len(bob.received_updates) == seen_by_bob  # ...but shown to nobody until durable
    store.release()
    await room.durable()
    await asyncio.sleep(0)
    assert len(bob.received_updates) == seen_by_bob + 1 and sources(bob)[1].endswith("!")
    assert len(alice.received_updates) == seen_by_alice  # no echo to its author


async def test_a_store_failure_closes_every_peer_and_relays_nothing(
    room: DocumentRoom, store: MemoryStore
) -> None:
    alice = await LocalPeer(room).connect()
    bob = await LocalPeer(room).connect()
    seen = len(bob.received_updates)
    store.fail(OSError("disk full"))
    type_into(alice, 1, "lost")
    await alice.flush()
    await room.durable()
    await asyncio.sleep(0)
    assert alice.close_code == bob.close_code == 4500
    assert len(bob.received_updates) == seen
    assert room.peers == {}


async def test_reordered_updates_wait_then_land_together(
    room: DocumentRoom, store: MemoryStore
) -> None:
    alice = await LocalPeer(room).connect()
    bob = await LocalPeer(room).connect()
    before = sources(room)[1]
    alice.hold()
    type_into(alice, 1, "A")
    type_into(alice, 1, "B")
    first, second = alice.take_held()
    await alice.send_frame(second)  # depends on the first, which the room lacks: waits
    await room.durable()
    await asyncio.sleep(0)
    assert sources(room)[1] == before  # not integrated...
    assert room.waiting_updates() == 1  # ...held outside the document (yrs never saw it)...
    assert (await stored_doc(store, room.key)).get_state() == room.doc.get_state()  # ...unstored
    assert sources(bob)[1] == before  # ...and shown to nobody
    await alice.send_frame(first)
    await room.durable()
    await asyncio.sleep(0)
    assert room.waiting_updates() == 0
    assert room.still_pending() == []
    assert sources(room)[1] == sources(bob)[1] == before + "AB"
    rebuilt = await stored_doc(store, room.key)
    assert rebuilt.get_state() == room.doc.get_state()


async def test_a_direct_change_to_the_live_document_is_caught_up(
    room: DocumentRoom, store: MemoryStore
) -> None:
    alice = await LocalPeer(room).connect()
    # A server extension holding the document changes it outside the write path.
    type_into(room, 1, "# from an extension")
    await asyncio.sleep(0.01)  # the catch-up is deferred to the next loop turn
    await room.durable()
    await asyncio.sleep(0)
    assert sources(alice)[1].endswith("# from an extension")
    stored = await stored_doc(store, room.key)
    assert stored.get_state() == room.doc.get_state()


async def test_compaction_folds_the_log_and_keeps_the_document(
    tmp_path: Path, store: MemoryStore
) -> None:
    write_notebook(tmp_path / "c.ipynb")
    settings = RoomSettings(save_delay=60, save_max_wait=120, poll_interval=60, compact_updates=10)
    room = await open_document_room(tmp_path, "c.ipynb", store, settings=settings)
    try:
        alice = await LocalPeer(room).connect()
        for i in range(25):
            type_into(alice, 1, str(i % 10))
            await alice.flush()
        await room.durable()
        history = await store.load(room.key)
        assert history is not None and len(history.updates) < 10
        rebuilt = await stored_doc(store, room.key)
        assert rebuilt.get_state() == room.doc.get_state()
        assert sources(room)[1].endswith("0123456789012345678901234")
    finally:
        await room.stop()


async def test_a_read_only_peer_changes_nothing_and_is_reported(
    room: DocumentRoom, store: MemoryStore
) -> None:
    denied: list[str] = []
    room.on_denied.append(lambda peer, why: denied.append(why))
    viewer = await LocalPeer(room, can_write=False).connect()
    writer = await LocalPeer(room).connect()
    before = sources(room)
    dropped = room.dropped_updates
    type_into(viewer, 1, "sneaky")
    await viewer.flush()
    await room.durable()
    assert sources(room) == before == sources(writer)
    assert room.dropped_updates == dropped + 1 and denied
    assert not viewer.closed


@pytest.mark.parametrize(
    "frame",
    [
        b"",  # nothing at all
        b"\x07",  # unknown message type
        encode_var_uint(0) + encode_var_uint(9) + b"\x00",  # unknown sync type
        encode_sync(SyncType.UPDATE, b"\x01\x02\x03"),  # an update that does not decode
        encode_sync(SyncType.UPDATE, b"\x00\x00") + b"trailing",
        encode_var_uint(0) + encode_var_uint(2) + encode_var_uint(50) + b"short",
        encode_var_uint(2) + b"\x04save",  # a raw save without its request id
    ],
    ids=["empty", "type", "sync-type", "garbage-update", "trailing", "truncated", "raw-no-id"],
)
async def test_a_malformed_frame_closes_only_its_peer_and_changes_nothing(
    room: DocumentRoom, store: MemoryStore, frame: bytes
) -> None:
    bad = await LocalPeer(room).connect()
    good = await LocalPeer(room).connect()
    state = room.doc.get_state()
    await bad.send_frame(frame)
    assert bad.close_code == 1007
    assert room.doc.get_state() == state
    assert list(room.peers) == [good.peer_id]
    type_into(good, 1, "still here")
    await good.flush()
    await room.durable()
    assert sources(room)[1].endswith("still here")
