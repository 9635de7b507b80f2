"""Updates that wait for missing data, in-process: held outside the document, bounded,
applied once their dependencies arrive, and never able to poison the room."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from pycrdt import Doc, Text, get_update

from tandem.protocol import ProtocolError, Reader, SyncType, encode_sync
from tandem.rooms.room import Room, WriteLimits
from tests.rooms.frames import POISONED_PENDING


@dataclass
class FakePeer:
    peer_id: str
    identity: dict[str, Any] = field(default_factory=dict)
    can_write: bool = True
    sent: list[bytes] = field(default_factory=list)
    closed: tuple[int, str] | None = None

    def send(self, message: bytes) -> None:
        self.sent.append(message)

    def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)

    def updates(self) -> list[bytes]:
        found = []
        for message in self.sent:
            reader = Reader(message)
            if reader.var_uint() == 0 and reader.var_uint() == SyncType.UPDATE:
                found.append(reader.var_bytes())
        return found


def text_of(updates: list[bytes]) -> str:
    doc = Doc()
    for update in updates:
        doc.apply_update(update)
    return str(doc.get("t", type=Text))


def typed(client_id: int, *chunks: str) -> list[bytes]:
    """One update per chunk, as a client typing them at the end of root text "t"."""
    doc = Doc(client_id=client_id)
    text = doc.get("t", type=Text)
    updates = []
    for chunk in chunks:
        before = doc.get_state()
        text += chunk
        updates.append(doc.get_update(before))
    return updates


def bad_child_of(client: int, clock: int) -> bytes:
    """An update from client 99 inserting "x" into the item (client, clock) as if it
    were a shared type: well-formed, but it fails once that item exists (a string)."""
    return bytes([1, 1, 99, 0, 0x04, 0, client, clock, 1, ord("x"), 0])


async def send(room: Room, peer: FakePeer, update: bytes) -> None:
    await room.receive(peer, encode_sync(SyncType.UPDATE, update))
    await asyncio.sleep(0)  # relays run once the (here immediate) store write is done


@pytest.fixture
async def room():
    room = Room("test-room")
    yield room
    await room.stop()


async def test_update_waits_for_missing_data_then_reaches_everyone(room):
    late, early = FakePeer("late"), FakePeer("early")
    watcher = FakePeer("watcher")
    for peer in (late, early, watcher):
        room.join(peer)
    first, second = typed(7, "hello ", "world")
    await send(room, late, second)  # arrives before what it builds on
    assert room.waiting_updates() == 1
    assert watcher.updates() == []  # nobody is shown what the document does not hold
    await send(room, early, first)
    assert room.waiting_updates() == 0
    assert str(room.doc.get("t", type=Text)) == "hello world"
    # everyone, the sender of the dependency included, receives the released update
    assert text_of(watcher.updates()) == "hello world"
    assert text_of(early.updates()) == "hello world"


async def test_a_waiting_update_that_fails_closes_its_sender_never_the_room(room):
    attacker, healthy, watcher = FakePeer("attacker"), FakePeer("healthy"), FakePeer("watcher")
    for peer in (attacker, healthy, watcher):
        room.join(peer)
    await send(room, attacker, bad_child_of(1, 2))  # waits for (1, 2)
    assert room.waiting_updates() == 1
    (hello,) = typed(1, "hello")
    await send(room, healthy, hello)  # (1, 2) arrives: the waiting update fails
    assert attacker.closed is not None and attacker.closed[0] == 1007
    assert healthy.closed is None and room.waiting_updates() == 0
    assert text_of(watcher.updates()) == "hello"
    more = typed(1, "hello", " again")[1]
    await send(room, healthy, more)
    assert str(room.doc.get("t", type=Text)) == "hello again"
    assert text_of(watcher.updates()) == "hello again"


async def test_poisoned_pending_frames_never_poison_the_room(room):
    writer, healthy, watcher = FakePeer("writer"), FakePeer("healthy"), FakePeer("watcher")
    for peer in (writer, healthy, watcher):
        room.join(peer)
    for frame in POISONED_PENDING:
        await room.receive(writer, frame)
        await asyncio.sleep(0)
    chunks = [f"<{i}>" for i in range(20)]
    for update in typed(5, *chunks):
        await send(room, healthy, update)
    assert healthy.closed is None and watcher.closed is None
    assert text_of(watcher.updates()) == "".join(chunks)
    # what the document holds is a history that applies
    assert text_of([room.doc.get_update()]) == "".join(chunks)


async def test_waiting_updates_are_capped_per_peer_and_per_room(room):
    room.limits = WriteLimits(max_waiting_updates=8, max_waiting_per_peer=5)
    flooder, other, healthy = FakePeer("flooder"), FakePeer("other"), FakePeer("healthy")
    for peer in (flooder, other, healthy):
        room.join(peer)
    orphans = typed(3, *"abcdefghijklmnop")[1:]  # the first never arrives
    for update in orphans[:5]:
        await send(room, flooder, update)
    assert room.waiting_updates() == 5 and flooder.closed is None
    await send(room, flooder, orphans[5])
    assert flooder.closed is not None and flooder.closed[0] == 1008
    assert room.waiting_updates() == 0  # its waiting updates went with it
    for update in orphans[:5]:
        await send(room, other, update)
    for update in typed(4, "1", "2", "3", "4")[1:]:
        await send(room, healthy, update)
    assert room.waiting_updates() == 8 and other.closed is None and healthy.closed is None
    await send(room, healthy, typed(6, "x", "y")[1])
    assert healthy.closed is not None and healthy.closed[0] == 1008
    # the room itself keeps working for a complete update
    newcomer = FakePeer("newcomer")
    room.join(newcomer)
    await send(room, newcomer, typed(8, "fine")[0])
    assert "fine" in str(room.doc.get("t", type=Text))


async def test_waiting_updates_of_a_departed_peer_are_dropped(room):
    peer = FakePeer("gone")
    room.join(peer)
    await send(room, peer, typed(3, "a", "b")[1])
    assert room.waiting_updates() == 1
    room.leave(peer)
    assert room.waiting_updates() == 0


async def test_retries_cost_follows_new_data_not_the_waiting_set(room):
    room.limits = WriteLimits(max_waiting_updates=0, max_waiting_per_peer=0)
    flooder, healthy = FakePeer("flooder"), FakePeer("healthy")
    room.join(flooder)
    room.join(healthy)
    for update in typed(3, *[str(i % 10) for i in range(601)])[1:]:
        await send(room, flooder, update)
    assert room.waiting_updates() == 600
    applied: list[bytes] = []
    original = room.doc.apply_update

    def counting(update: bytes) -> None:
        applied.append(update)
        original(update)

    room.doc.apply_update = counting  # type: ignore[method-assign]
    for update in typed(4, *[f"<{i}>" for i in range(50)]):
        await send(room, healthy, update)
    assert len(applied) == 50  # none of the 600 waiting updates was retried


async def test_document_size_limit_refuses_an_update_and_keeps_nothing_of_it(room):
    room.limits = WriteLimits(max_document_size=20_000)
    writer, watcher = FakePeer("writer"), FakePeer("watcher")
    room.join(writer)
    room.join(watcher)
    small, big = typed(2, "a" * 8_000, "b" * 16_000)
    await send(room, writer, small)
    state = room.doc.get_update()
    await send(room, writer, big)
    assert writer.closed is not None and writer.closed[0] == 1009
    assert "size limit" in writer.closed[1]
    assert room.doc.get_update() == state
    assert text_of(watcher.updates()) == "a" * 8_000
    # a peer resending what the document already holds is not growth
    again = FakePeer("again")
    room.join(again)
    await send(room, again, get_update(state, b"\x00"))
    assert again.closed is None


async def test_malformed_update_and_state_vector_are_refused_unapplied(room):
    peer = FakePeer("peer")
    room.join(peer)
    state = room.doc.get_state()
    (update,) = typed(2, "hello")
    with pytest.raises(ProtocolError):
        await send(room, peer, update + b"\x00")
    with pytest.raises(ProtocolError):
        await room.receive(peer, encode_sync(SyncType.STEP1, b"\x01\x05"))
    assert room.doc.get_state() == state


async def test_a_released_update_counts_as_a_peer_edit(room):
    edits: list[object] = []
    room.on_changed = edits.append  # type: ignore[method-assign]
    late, early = FakePeer("late"), FakePeer("early")
    room.join(late)
    room.join(early)
    first, second = typed(7, "a", "b")
    await send(room, late, second)
    assert edits == []
    await send(room, early, first)
    assert edits == [early]  # a peer's edit: a document room saves it
