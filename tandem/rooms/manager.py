"""The registry of live rooms: creation (once per id), sharing, eviction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ..memory import release_freed_memory
from .room import Room

__all__ = ["RoomManager"]


class RoomManager:
    """Creates each room once, hands it to every peer, evicts it when idle.

    ``factory(room_id)`` builds and starts a room; if it raises, nobody gets the room
    and the next request tries again.
    """

    def __init__(
        self,
        factory: Callable[[str], Coroutine[Any, Any, Room]],
        evict_delay: float,
        log: logging.Logger | None = None,
    ) -> None:
        self._factory = factory
        self.evict_delay = evict_delay
        self.log = log or logging.getLogger("tandem")
        self._rooms: dict[str, Room] = {}
        self._starting: dict[str, asyncio.Task[Room]] = {}
        self._evictions: dict[str, asyncio.TimerHandle] = {}
        self._stopping: dict[str, asyncio.Task[None]] = {}
        self._holds: dict[str, int] = {}

    @property
    def rooms(self) -> dict[str, Room]:
        return dict(self._rooms)

    async def get(self, room_id: str) -> Room:
        """The live room for ``room_id``, started if needed; eviction is postponed."""
        self._cancel_eviction(room_id)
        if room_id in self._stopping:
            await asyncio.shield(self._stopping[room_id])
        room = self._rooms.get(room_id)
        if room is not None:
            return room
        task = self._starting.get(room_id)
        if task is None:
            task = asyncio.create_task(self._factory(room_id))
            self._starting[room_id] = task
            task.add_done_callback(lambda _: self._starting.pop(room_id, None))
        room = await asyncio.shield(task)
        self._rooms[room_id] = room
        if self._discard not in room.on_failed:
            room.on_failed.append(self._discard)
        if not room.peers:
            self.schedule_eviction(room)
        return room

    def hold(self, room_id: str) -> None:
        """Keep ``room_id`` in memory without peers (e.g. while a kernel writes into it)."""
        self._holds[room_id] = self._holds.get(room_id, 0) + 1
        self._cancel_eviction(room_id)

    def release(self, room_id: str) -> None:
        count = self._holds.get(room_id, 0) - 1
        if count > 0:
            self._holds[room_id] = count
            return
        self._holds.pop(room_id, None)
        room = self._rooms.get(room_id)
        if room is not None:
            self.schedule_eviction(room)

    def schedule_eviction(self, room: Room) -> None:
        """Evict ``room`` after the idle delay unless a peer arrives first."""
        if room.peers or room.room_id in self._evictions or self._holds.get(room.room_id):
            return
        loop = asyncio.get_running_loop()
        self._evictions[room.room_id] = loop.call_later(
            self.evict_delay, lambda: self._begin_stop(room.room_id)
        )

    def _cancel_eviction(self, room_id: str) -> None:
        handle = self._evictions.pop(room_id, None)
        if handle is not None:
            handle.cancel()

    def _begin_stop(self, room_id: str) -> None:
        self._evictions.pop(room_id, None)
        room = self._rooms.get(room_id)
        if room is None or room.peers or self._holds.get(room_id):
            return
        task = asyncio.create_task(self._stop_room(room))
        self._stopping[room_id] = task
        task.add_done_callback(lambda _: self._stopping.pop(room_id, None))

    async def _stop_room(self, room: Room) -> None:
        self._rooms.pop(room.room_id, None)
        try:
            await room.stop()
        except Exception as exc:
            self.log.error("error while stopping room %s: %r", room.room_id, exc)
        self.log.info("evicted room %s", room.room_id)
        release_freed_memory()

    def _discard(self, room: Room) -> None:
        """Drop a failed room now (its peers are closed); the next peer reloads it."""
        if self._rooms.get(room.room_id) is not room or room.room_id in self._stopping:
            return
        self._cancel_eviction(room.room_id)
        task = asyncio.create_task(self._stop_room(room))
        self._stopping[room.room_id] = task
        task.add_done_callback(lambda _: self._stopping.pop(room.room_id, None))

    async def evict(self, room_id: str) -> None:
        """Stop a room now (closing its peers first)."""
        self._cancel_eviction(room_id)
        room = self._rooms.get(room_id)
        if room is not None:
            await self._stop_room(room)

    async def stop(self) -> None:
        for handle in self._evictions.values():
            handle.cancel()
        self._evictions.clear()
        await asyncio.gather(*self._stopping.values(), return_exceptions=True)
        for room_id in list(self._rooms):
            await self.evict(room_id)
