"""A room: one live Y document, its peers and their awareness.

Every change to the document, whoever makes it (a peer, a file merge, the server's
own bookkeeping), goes through :meth:`Room.apply_update` or :meth:`Room.transact`:
applied to the document, appended to the durable log, and relayed to the other peers
only once the log has committed it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from pycrdt import Doc, TransactionEvent, get_update

from ..protocol import (
    MessageType,
    ProtocolError,
    Reader,
    SyncType,
    decode_awareness,
    encode_awareness,
    encode_sync,
)
from .awareness import AwarenessRegistry

__all__ = ["Peer", "Room", "WriteGuard"]

EMPTY_UPDATE = b"\x00\x00"


class Peer(Protocol):
    """A connection to a room. ``identity`` is the authenticated user, ``can_write``
    whether its document updates are accepted."""

    peer_id: str
    identity: dict[str, Any]
    can_write: bool

    def send(self, message: bytes) -> None: ...

    def close(self, code: int, reason: str = "") -> None: ...


def _done() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


class WriteGuard(Protocol):
    """Checks a peer's write inside the write step: ``before`` runs just before the
    update is applied, ``after`` right after; ``after`` may change the document (its
    change is stored and relayed together with the peer's, as one net update) and
    returns whether it did. ``strict``: structs that waited for a dependency were
    integrated too (they may come from anyone), so judge the write as a guest's."""

    def before(self, peer: Peer | None) -> None: ...

    def after(self, peer: Peer | None, strict: bool = False) -> bool: ...


class Room:
    """A live document shared by peers, without persistence (e.g. global awareness)."""

    def __init__(self, room_id: str, log: logging.Logger | None = None) -> None:
        self.room_id = room_id
        self.log = log or logging.getLogger("tandem")
        self.doc = Doc()
        self.peers: dict[str, Peer] = {}
        self.awareness = AwarenessRegistry()
        self.dropped_updates = 0
        self.on_denied: list[Callable[[Peer, str], None]] = []
        self.write_guards: list[WriteGuard] = []
        self._captured: list[bytes] = []
        self._pending: list[bytes] = []
        self._known_state: bytes = self.doc.get_state()
        self._subscription = self.doc.observe(self._on_transaction)
        self._writing = False
        self._catch_up_scheduled = False

    def _on_transaction(self, event: TransactionEvent) -> None:
        update = event.update
        if update != EMPTY_UPDATE:
            self._captured.append(update)
            if not self._writing and not self._catch_up_scheduled:
                # Someone changed the live document directly (e.g. a server extension
                # holding it through the jupyter_server_ydoc shim): store and relay it.
                self._catch_up_scheduled = True
                try:
                    asyncio.get_running_loop().call_soon(self._deferred_catch_up)
                except RuntimeError:
                    self._catch_up_scheduled = False

    def _deferred_catch_up(self) -> None:
        self._catch_up_scheduled = False
        self._captured.clear()
        if self._catch_up():
            self.on_content_changed()

    # -- peers -----------------------------------------------------------------------

    def join(self, peer: Peer) -> None:
        self.peers[peer.peer_id] = peer
        peer.send(encode_sync(SyncType.STEP1, self.doc.get_state()))
        states = self.awareness.states()
        if states:
            peer.send(encode_awareness(states))

    def leave(self, peer: Peer) -> None:
        if self.peers.pop(peer.peer_id, None) is None:
            return
        gone = self.awareness.remove_peer(peer.peer_id)
        if gone:
            self.broadcast(encode_awareness(gone))

    def broadcast(self, message: bytes, exclude: Peer | None = None) -> None:
        for peer in list(self.peers.values()):
            if peer is not exclude:
                peer.send(message)

    def close_all(self, code: int, reason: str) -> None:
        for peer in list(self.peers.values()):
            peer.close(code, reason)

    # -- messages --------------------------------------------------------------------

    async def receive(self, peer: Peer, message: bytes) -> None:
        """Handle one frame from ``peer``; raises :class:`ProtocolError` if malformed
        (nothing has been applied in that case)."""
        reader = Reader(message)
        message_type = reader.var_uint()
        if message_type == MessageType.SYNC:
            sync_type = reader.var_uint()
            payload = reader.var_bytes()
            reader.expect_end()
            await self._receive_sync(peer, sync_type, payload)
        elif message_type == MessageType.AWARENESS:
            payload = reader.var_bytes()
            reader.expect_end()
            accepted = self.awareness.accept(peer.peer_id, peer.identity, decode_awareness(payload))
            if accepted:
                self.broadcast(encode_awareness(accepted), exclude=peer)
        elif message_type == MessageType.RAW:
            await self.receive_raw(peer, reader)
        else:
            raise ProtocolError(f"unknown message type {message_type}")

    async def _receive_sync(self, peer: Peer, sync_type: int, payload: bytes) -> None:
        if sync_type == SyncType.STEP1:
            self._catch_up()
            try:
                reply = self.doc.get_update(payload)
            except Exception as exc:
                raise ProtocolError("state vector does not decode") from exc
            await self.durable()
            peer.send(encode_sync(SyncType.STEP2, reply))
        elif sync_type in (SyncType.STEP2, SyncType.UPDATE):
            if not peer.can_write:
                self.dropped_updates += 1
                self.log.warning(
                    "dropped update from read-only peer %s in %s", peer.peer_id, self.room_id
                )
                for hook in self.on_denied:
                    hook(peer, "document update from a read-only peer")
                return
            self.apply_update(payload, origin=peer)
        else:
            raise ProtocolError(f"unknown sync message type {sync_type}")

    async def receive_raw(self, peer: Peer, reader: Reader) -> None:
        raise ProtocolError("raw messages are not accepted in this room")

    # -- the one write path ----------------------------------------------------------

    def apply_update(self, update: bytes, origin: Peer | None = None) -> asyncio.Future[None]:
        """Apply ``update``; store what it changed; relay it once stored.

        Returns a future resolved when the change is durable. Raises
        :class:`ProtocolError` if the update does not decode (the document is unchanged).
        Structs that wait for a missing dependency are stored (never lost) but not
        relayed: peers are only shown what the server's document holds.
        """
        self._catch_up()
        self._captured.clear()
        for guard in self.write_guards:
            guard.before(origin)
        had_pending = bool(self._pending)
        self._writing = True
        try:
            self.doc.apply_update(update)
        except Exception as exc:
            self._captured.clear()
            raise ProtocolError(f"update does not decode: {exc}") from exc
        finally:
            self._writing = False
        waiting = get_update(update, self.doc.get_state())
        if waiting[0] == 0:
            waiting = b""
        else:
            self._pending.append(waiting)
        if self._pending:
            self._writing = True
            try:
                self._retry_pending()
            finally:
                self._writing = False
        corrected = False
        if self.write_guards:
            self._writing = True
            try:
                for guard in self.write_guards:
                    corrected = guard.after(origin, strict=had_pending) or corrected
            finally:
                self._writing = False
        changes = self._take_captured()
        state = self.doc.get_state()
        if self._pending and state != self._known_state or len(changes) > 1:
            # Waiting structs were integrated: the transactions' own updates can leave
            # some of them out, so take everything the document gained instead.
            changes = [self.doc.get_update(self._known_state)]
        self._known_state = state
        return self._commit(changes, origin, keep=[waiting] if waiting else [], echo=corrected)

    def _retry_pending(self) -> None:
        """Re-apply waiting structs: the CRDT library can leave some waiting even once
        their dependencies have arrived, depending on arrival order."""
        for _ in range(4):
            before = self.doc.get_state()
            for update in list(self._pending):
                self.doc.apply_update(update)
            self.still_pending()
            if not self._pending or self.doc.get_state() == before:
                return

    def _catch_up(self) -> bool:
        """Store and relay anything the document gained outside the write path (waiting
        structs integrated late), so nobody is ever shown a change that is not durable."""
        state = self.doc.get_state()
        if state == self._known_state:
            return False
        self._commit([self.doc.get_update(self._known_state)], None)
        self._known_state = state
        return True

    @contextmanager
    def transact(self, origin: str = "server", *, content: bool = False) -> Iterator[Doc]:
        """A server-side change: ``with room.transact(): ...`` then stored and relayed.
        ``content=True`` marks a change to the file's content (e.g. outputs), to be saved."""
        self._catch_up()
        self._captured.clear()
        self._writing = True
        try:
            with self.doc.transaction(origin=origin):
                yield self.doc
        finally:
            self._writing = False
            self._known_state = self.doc.get_state()
            self._commit(self._take_captured(), None)
        if content:
            self.on_content_changed()

    def _take_captured(self) -> list[bytes]:
        changes, self._captured = self._captured, []
        return changes

    def _commit(
        self,
        changes: list[bytes],
        origin: Peer | None,
        keep: list[bytes] | None = None,
        echo: bool = False,
    ) -> asyncio.Future[None]:
        """Persist ``changes`` (and ``keep``, stored but not relayed); relay once durable,
        to the origin too when ``echo`` (a guard corrected its write)."""
        if not changes and not keep:
            return _done()
        stored = self.persist([*changes, *(keep or [])])
        self.on_changed(origin)

        def relay(future: asyncio.Future[None]) -> None:
            if future.cancelled() or future.exception() is not None:
                error = None if future.cancelled() else future.exception()
                self.log.error("could not store an update in %s: %r", self.room_id, error)
                self.close_all(4500, "the server could not store an update")
                return
            for change in changes:
                self.broadcast(
                    encode_sync(SyncType.UPDATE, change), exclude=None if echo else origin
                )

        stored.add_done_callback(relay)
        return stored

    def persist(self, changes: list[bytes]) -> asyncio.Future[None]:
        """Make ``changes`` durable; the base room keeps nothing."""
        return _done()

    async def durable(self) -> None:
        """Wait until every change applied so far is durable."""

    def on_changed(self, origin: Peer | None) -> None:
        """Called after each change to the document."""

    def on_content_changed(self) -> None:
        """Called after a server-side change to the file's content."""

    def still_pending(self) -> list[bytes]:
        state = self.doc.get_state()
        self._pending = [u for u in self._pending if get_update(u, state)[0] != 0]
        return list(self._pending)

    async def stop(self) -> None:
        self.doc.unobserve(self._subscription)
