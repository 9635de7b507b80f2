"""RoomManager and server-side awareness, in process."""

from __future__ import annotations

import asyncio

import pytest

from tandem.protocol import AwarenessEntry
from tandem.rooms import Room, RoomManager
from tandem.rooms.awareness import MAX_CLIENT_IDS_PER_PEER, AwarenessRegistry
from tandem.testing_inprocess import LocalPeer
from tests.eventually import eventually


class Factory:
    """Builds plain rooms, counting them; can be made to fail or to be slow."""

    def __init__(self) -> None:
        self.built: list[str] = []
        self.stopped: list[str] = []
        self.fail_next = False
        self.gate: asyncio.Event | None = None

    async def __call__(self, room_id: str) -> Room:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("cannot start")
        self.built.append(room_id)
        room = Room(room_id)
        stop = room.stop

        async def stopped() -> None:
            self.stopped.append(room_id)
            await stop()

        room.stop = stopped  # type: ignore[method-assign]
        return room


async def test_concurrent_requests_share_one_room() -> None:
    factory = Factory()
    factory.gate = asyncio.Event()
    manager = RoomManager(factory, evict_delay=60)
    waiting = [asyncio.create_task(manager.get("r")) for _ in range(5)]
    await asyncio.sleep(0.01)
    factory.gate.set()
    rooms = await asyncio.gather(*waiting)
    assert factory.built == ["r"] and all(room is rooms[0] for room in rooms)
    await manager.stop()
    assert factory.stopped == ["r"]


async def test_a_failed_start_gives_nobody_the_room_and_the_next_request_retries() -> None:
    factory = Factory()
    factory.fail_next = True
    manager = RoomManager(factory, evict_delay=60)
    with pytest.raises(RuntimeError, match="cannot start"):
        await manager.get("r")
    assert manager.rooms == {}
    room = await manager.get("r")
    assert manager.rooms == {"r": room}
    await manager.stop()


async def test_an_idle_room_is_evicted_unless_someone_joins_or_holds_it() -> None:
    factory = Factory()
    manager = RoomManager(factory, evict_delay=0.05)
    room = await manager.get("r")  # nobody joined: eviction is scheduled
    peer = await LocalPeer(room).connect()
    await asyncio.sleep(0.15)
    assert "r" in manager.rooms  # ...and did nothing, since a peer is present
    await peer.leave()
    manager.hold("r")
    manager.schedule_eviction(room)
    await asyncio.sleep(0.15)
    assert "r" in manager.rooms  # held (e.g. a kernel writes into it)
    manager.release("r")
    await eventually(lambda: "r" not in manager.rooms, timeout=5)
    assert factory.stopped == ["r"]
    again = await manager.get("r")  # a new request gets a fresh room
    assert again is not room and factory.built == ["r", "r"]
    await manager.stop()


async def test_a_request_during_a_stop_waits_for_it_and_gets_a_fresh_room() -> None:
    factory = Factory()
    manager = RoomManager(factory, evict_delay=0.01)
    room = await manager.get("r")
    release = asyncio.Event()
    stop = room.stop

    async def slow_stop() -> None:
        await release.wait()
        await stop()

    room.stop = slow_stop  # type: ignore[method-assign]
    await asyncio.sleep(0.05)  # the eviction began and is stuck in stop()
    getting = asyncio.create_task(manager.get("r"))
    await asyncio.sleep(0.01)
    assert not getting.done()
    release.set()
    fresh = await getting
    assert fresh is not room
    await manager.stop()


# -- awareness ---------------------------------------------------------------------


async def test_awareness_is_stamped_with_the_servers_identity_and_relayed() -> None:
    room = Room("aw")
    alice = await LocalPeer(room, identity={"username": "alice", "name": "Alice"}).connect()
    bob = await LocalPeer(room, identity={"username": "bob", "name": "Bob"}).connect()
    await alice.set_awareness({"user": {"name": "Mallory"}, "cursor": 3})
    # Relayed once per tick, not per message.
    await eventually(lambda: alice.doc.client_id in bob.awareness)
    state = bob.awareness[alice.doc.client_id]
    assert state == {"user": {"username": "alice", "name": "Alice"}, "cursor": 3}
    # One message per tick, the same bytes for everyone: the author gets its own state
    # back with the same clock (which y-protocols ignores), stamped like everyone's.
    assert alice.awareness[alice.doc.client_id] == state
    late = await LocalPeer(room).connect()
    assert late.awareness[alice.doc.client_id] == state  # a late joiner gets the states


async def test_nobody_can_speak_for_another_peers_client_id() -> None:
    room = Room("aw")
    alice = await LocalPeer(room, identity={"name": "Alice"}).connect()
    bob = await LocalPeer(room, identity={"name": "Bob"}).connect()
    await alice.set_awareness({"cursor": 1})
    await bob.set_awareness({"cursor": 99}, client_id=alice.doc.client_id)
    await bob.set_awareness(None, client_id=alice.doc.client_id)
    watcher = await LocalPeer(room).connect()
    assert watcher.awareness[alice.doc.client_id] == {"user": {"name": "Alice"}, "cursor": 1}


async def test_leaving_announces_the_peers_states_as_gone() -> None:
    room = Room("aw")
    alice = await LocalPeer(room).connect()
    bob = await LocalPeer(room).connect()
    await alice.set_awareness({"cursor": 1})
    await eventually(lambda: bob.awareness.get(alice.doc.client_id) is not None)
    await alice.leave()
    await eventually(lambda: bob.awareness.get(alice.doc.client_id, "?") is None)
    assert room.awareness.users() == []


def test_awareness_rules_clock_and_per_peer_limit() -> None:
    registry = AwarenessRegistry()
    me = {"name": "me"}
    p, q = "principal:p", "principal:q"
    assert registry.accept("p", p, me, [AwarenessEntry(1, 5, {"a": 1})])
    assert registry.accept("p", p, me, [AwarenessEntry(1, 5, {"a": 2})]) == []  # not newer
    assert registry.accept("p", p, me, [AwarenessEntry(1, 4, {"a": 3})]) == []  # older
    assert registry.accept("q", q, me, [AwarenessEntry(2, 1, None)]) == []  # unknown id, gone
    entries = [AwarenessEntry(100 + i, 1, {}) for i in range(MAX_CLIENT_IDS_PER_PEER + 5)]
    accepted = registry.accept("q", q, me, entries)
    assert len(accepted) == MAX_CLIENT_IDS_PER_PEER
    assert [e.state for e in registry.states() if e.client_id == 1] == [{"a": 1, "user": me}]
