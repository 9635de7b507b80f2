"""A room: one live Y document, its peers and their awareness.

Every change to the document, whoever makes it (a peer, a file merge, the server's
own bookkeeping), goes through :meth:`Room.apply_update` or :meth:`Room.transact`:
applied to the document, appended to the durable log, and relayed to the other peers
only once the log has committed it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from pycrdt import Doc, TransactionEvent, get_update

from ..protocol import (
    AwarenessEntry,
    MessageType,
    ProtocolError,
    Reader,
    SyncType,
    decode_awareness,
    encode_awareness,
    encode_sync,
)
from .awareness import (
    VIEWER_COUNT_CLIENT_ID,
    Audience,
    AwarenessRegistry,
    PresencePolicy,
    PresenceSettings,
    is_viewer,
)

__all__ = ["Peer", "Room"]

EMPTY_UPDATE = b"\x00\x00"


class Peer(Protocol):
    """A connection to a room. ``identity`` is the authenticated user, ``can_write``
    whether its document updates are accepted."""

    peer_id: str
    identity: dict[str, Any]
    can_write: bool

    def send(self, message: bytes) -> None:
        """Send a document or sync frame: never dropped."""

    def close(self, code: int, reason: str = "") -> None: ...


def principal_of(peer: Peer) -> str:
    """Who a peer is, for binding awareness client ids: its ``principal`` if it has one,
    else its identity's username."""
    principal = getattr(peer, "principal", None)
    return str(principal) if principal else f"user:{peer.identity.get('username', '')}"


def _send_presence(peer: Peer, message: bytes) -> None:
    """Presence may be coalesced or dropped for a peer that is behind."""
    send = getattr(peer, "send_presence", None)
    (send or peer.send)(message)


def _done() -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_result(None)
    return future


class Room:
    """A live document shared by peers, without persistence (e.g. global awareness)."""

    def __init__(self, room_id: str, log: logging.Logger | None = None) -> None:
        self.room_id = room_id
        self.log = log or logging.getLogger("tandem")
        self.doc = Doc()
        self.peers: dict[str, Peer] = {}
        self.presence = PresenceSettings()
        self.awareness = AwarenessRegistry(self.presence.limits)
        self._awareness_changes: dict[int, AwarenessEntry] = {}
        self._awareness_timer: asyncio.TimerHandle | None = None
        self._viewers_shown = 0
        self._viewer_count_clock = 0
        self.shows_viewer_count = True
        """Whether viewers are sent the server's count of viewers (client id 0)."""
        self._last_expiry = 0.0
        self._step2_cache: tuple[bytes, bytes, bytes] | None = None
        self.dropped_updates = 0
        self.on_denied: list[Callable[[Peer, str], None]] = []
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
        snapshot = self.presence_snapshot(peer)
        if snapshot is not None:
            _send_presence(peer, snapshot)

    def leave(self, peer: Peer) -> None:
        if self.peers.pop(peer.peer_id, None) is None:
            return
        self._queue_awareness(self.awareness.remove_peer(peer.peer_id))

    # -- presence --------------------------------------------------------------------

    def configure_presence(self, settings: PresenceSettings) -> None:
        self.presence = settings
        self.awareness.limits = settings.limits

    def _audience(self, peer: Peer) -> Audience:
        if self.presence.policy is PresencePolicy.BY_ROLE and is_viewer(peer.identity):
            return Audience.EDITORS_ONLY
        return Audience.ALL

    def presence_snapshot(self, peer: Peer) -> bytes | None:
        """Every state ``peer`` may see, as one awareness message (None if there is none)."""
        audience = self._audience(peer)
        states = self.awareness.states(audience)
        if audience is Audience.EDITORS_ONLY and self.shows_viewer_count:
            states.append(self._viewer_count_entry(self.awareness.viewer_count()))
        return encode_awareness(states) if states else None

    def _viewer_count_entry(self, count: int) -> AwarenessEntry:
        return AwarenessEntry(
            VIEWER_COUNT_CLIENT_ID, self._viewer_count_clock, {"tandem": {"viewers": count}}
        )

    def _queue_awareness(self, entries: list[AwarenessEntry]) -> None:
        """Gather changes; they are relayed together, once per tick, as the same bytes
        to every peer of an audience."""
        if not entries:
            return
        for entry in entries:
            self._awareness_changes[entry.client_id] = entry
        if self._awareness_timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            self._awareness_timer = loop.call_later(self.presence.tick, self._flush_awareness)

    def _flush_awareness(self) -> None:
        self._awareness_timer = None
        now = time.monotonic()
        if self.presence.outdated_after > 0 and now - self._last_expiry >= 1.0:
            self._last_expiry = now
            for entry in self.awareness.expire_older_than(self.presence.outdated_after):
                self._awareness_changes[entry.client_id] = entry
        changes = list(self._awareness_changes.values())
        self._awareness_changes.clear()
        if not changes or not self.peers:
            return
        everyone = encode_awareness(changes)
        editors_only: bytes | None = everyone
        if self.presence.policy is PresencePolicy.BY_ROLE:
            shown = [c for c in changes if not self.awareness.is_viewer_entry(c.client_id)]
            viewers = self.awareness.viewer_count()
            if viewers != self._viewers_shown and self.shows_viewer_count:
                self._viewers_shown = viewers
                self._viewer_count_clock += 1
                shown.append(self._viewer_count_entry(viewers))
            editors_only = encode_awareness(shown) if shown else None
        for peer in list(self.peers.values()):
            message = everyone if self._audience(peer) is Audience.ALL else editors_only
            if message is not None:
                _send_presence(peer, message)

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
            entries = decode_awareness(payload, self.awareness.limits.max_state_bytes)
            self._queue_awareness(
                self.awareness.accept(peer.peer_id, principal_of(peer), peer.identity, entries)
            )
        elif message_type == MessageType.RAW:
            await self.receive_raw(peer, reader)
        else:
            raise ProtocolError(f"unknown message type {message_type}")

    async def _receive_sync(self, peer: Peer, sync_type: int, payload: bytes) -> None:
        if sync_type == SyncType.STEP1:
            self._catch_up()
            message = self._step2_reply(payload)
            await self.durable()
            peer.send(message)
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

    def _step2_reply(self, state_vector: bytes) -> bytes:
        """The encoded step-2 reply; a join storm (the same state vector against the same
        document state) reuses one."""
        state = self.doc.get_state()
        cached = self._step2_cache
        if cached is not None and cached[0] == state_vector and cached[1] == state:
            return cached[2]
        try:
            reply = self.doc.get_update(state_vector)
        except Exception as exc:
            raise ProtocolError("state vector does not decode") from exc
        message = encode_sync(SyncType.STEP2, reply)
        if len(state_vector) <= 64:
            self._step2_cache = (state_vector, state, message)
        return message

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
        changes = self._take_captured()
        state = self.doc.get_state()
        if self._pending and state != self._known_state or len(changes) > 1:
            # Waiting structs were integrated: the transactions' own updates can leave
            # some of them out, so take everything the document gained instead.
            changes = [self.doc.get_update(self._known_state)]
        self._known_state = state
        return self._commit(changes, origin, keep=[waiting] if waiting else [])

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
        self, changes: list[bytes], origin: Peer | None, keep: list[bytes] | None = None
    ) -> asyncio.Future[None]:
        """Persist ``changes`` (and ``keep``, stored but not relayed); relay once durable."""
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
                self.broadcast(encode_sync(SyncType.UPDATE, change), exclude=origin)

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
        if self._awareness_timer is not None:
            self._awareness_timer.cancel()
            self._awareness_timer = None
        self.doc.unobserve(self._subscription)
