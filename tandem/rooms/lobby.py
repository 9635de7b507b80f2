"""Guests in JupyterLab's global awareness.

JupyterLab lists who is online, and in which document, from the global awareness room
(``JupyterLab:globalAwareness``: jupyter-collaboration's "Online collaborators" panel
reads each state's ``user``, ``current`` and ``documents``). Only the owner's JupyterLab
tabs connect to that room; guests and hub users edit through document rooms and would
never appear there. So the server publishes, in the global room, one state per such
person: the identity the server stamped (never anything they wrote), the documents
they have open and the one they joined last. The state goes when their last socket
closes (a revocation closes it too) and is renewed before clients would drop it as
outdated.

Only the owner reads the global room (every other principal is refused it), and owners
see everyone, so this publishes no more than the document rooms already show the owner.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from .document_room import DocumentRoom
from .manager import RoomManager
from .room import Peer, Room, principal_of

__all__ = ["GLOBAL_AWARENESS", "GuestPresence"]

GLOBAL_AWARENESS = "JupyterLab:globalAwareness"

RENEW_EVERY = 15.0
"""Seconds between renewals: y-protocols clients drop a state not renewed for 30 s."""

WIDGET_OF_KIND = {"notebook": "notebook", "text": "editor"}
"""JupyterLab's widget factory prefix of ``current`` for each kind of document."""


@dataclass
class _Visit:
    identity: dict[str, Any]
    room: DocumentRoom


@dataclass
class _Person:
    client_id: int | None = None
    visits: dict[str, _Visit] = field(default_factory=dict)
    """Their open sockets (peer id -> visit), in the order they joined."""


class GuestPresence:
    """Publishes non-owners' presence in documents into the global awareness room."""

    def __init__(
        self, rooms: RoomManager, renew_every: float = RENEW_EVERY, log: Any = None
    ) -> None:
        self.rooms = rooms
        self.renew_every = renew_every
        self.log = log or logging.getLogger("tandem")
        self._people: dict[str, _Person] = {}
        self._peers: dict[str, str] = {}  # peer id -> person key
        self._dirty: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._renewal: asyncio.TimerHandle | None = None
        self._held = False

    def joined(self, peer: Peer, room: DocumentRoom) -> None:
        """A non-owner's socket joined a document room."""
        key = principal_of(peer)
        person = self._people.setdefault(key, _Person())
        person.visits[peer.peer_id] = _Visit(dict(peer.identity), room)
        self._peers[peer.peer_id] = key
        if self._moved not in room.on_moved:
            room.on_moved.append(self._moved)
        self._changed(key)

    def left(self, peer_id: str) -> None:
        """A socket closed (no-op for sockets that were never published)."""
        key = self._peers.pop(peer_id, None)
        person = self._people.get(key) if key is not None else None
        if key is None or person is None:
            return
        person.visits.pop(peer_id, None)
        self._changed(key)

    def _moved(self, room: DocumentRoom) -> None:
        for key, person in self._people.items():
            if any(visit.room is room for visit in person.visits.values()):
                self._changed(key)

    def _changed(self, key: str) -> None:
        self._dirty.add(key)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._publish())

    async def _publish(self) -> None:
        if self._people and not self._held:
            self.rooms.hold(GLOBAL_AWARENESS)
            self._held = True
        try:
            room = await self.rooms.get(GLOBAL_AWARENESS)
        except Exception as exc:
            self.log.warning("could not publish guests' presence: %r", exc)
            return
        while self._dirty:
            key = self._dirty.pop()
            person = self._people.get(key)
            if person is not None:
                self._publish_one(room, key, person)
        if not self._people and self._held:
            self._held = False
            self.rooms.release(GLOBAL_AWARENESS)
        self._schedule_renewal()

    def _publish_one(self, room: Room, key: str, person: _Person) -> None:
        state = self._state_of(person)
        if state is None:
            if person.client_id is not None:
                room.publish_presence(person.client_id, None)
            del self._people[key]
            for peer_id in person.visits:  # sockets whose close was never reported
                self._peers.pop(peer_id, None)
            return
        if person.client_id is None:
            person.client_id = _free_client_id(room)
        room.publish_presence(person.client_id, state)

    @staticmethod
    def _state_of(person: _Person) -> dict[str, Any] | None:
        """``{"user", "current", "documents"}`` as JupyterLab's own tabs publish them."""
        documents: list[str] = []
        current = None
        identity: dict[str, Any] | None = None
        for peer_id, visit in person.visits.items():
            if peer_id not in visit.room.peers:
                continue  # closed before it was registered as gone
            try:
                path = visit.room.file.path
            except Exception:
                continue  # the file is gone: its room closes this socket
            if path not in documents:
                documents.append(path)
            current = f"{WIDGET_OF_KIND.get(visit.room.kind, 'editor')}:{path}"
            identity = visit.identity
        if identity is None:
            return None
        return {"user": identity, "current": current, "documents": documents}

    def _schedule_renewal(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        if self._people:
            loop = asyncio.get_running_loop()
            self._renewal = loop.call_later(self.renew_every, self._renew)

    def _renew(self) -> None:
        self._renewal = None
        for peer_id, key in list(self._peers.items()):
            person = self._people.get(key)
            visit = person.visits.get(peer_id) if person is not None else None
            if visit is None or peer_id not in visit.room.peers:
                self.left(peer_id)  # a socket whose close was never reported
        for key in self._people:
            self._changed(key)

    def stop(self) -> None:
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        if self._task is not None:
            self._task.cancel()


def _free_client_id(room: Room) -> int:
    """A random 32-bit client id nobody used in ``room`` (as clients pick theirs)."""
    while True:
        client_id = random.getrandbits(32)
        if room.awareness.is_free(client_id):
            return client_id
