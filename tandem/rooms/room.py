"""A room: one live Y document, its peers and their awareness.

Every change to the document, whoever makes it (a peer, a file merge, the server's
own bookkeeping), goes through :meth:`Room.apply_update` or :meth:`Room.transact`:
applied to the document, appended to the durable log, and relayed to the other peers
only once the log has committed it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from pycrdt import Doc, TransactionEvent, get_update

from ..documents.updates import InvalidUpdate, UpdateShape, decode_state_vector, inspect_update
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

__all__ = ["Peer", "Room", "WriteGuard", "WriteLimits"]

EMPTY_UPDATE = b"\x00\x00"
MiB = 1024 * 1024


@dataclass(frozen=True)
class WriteLimits:
    """Bounds on what peers may write into one room (0 disables a bound)."""

    max_document_size: int = 64 * MiB
    """Bytes the document (plus its waiting updates) may grow to; past it, updates are
    refused and their sender is closed (1009)."""
    max_waiting_updates: int = 1000
    """Updates a room holds while they wait for missing data."""
    max_waiting_per_peer: int = 200
    """Of those, how many one peer may have waiting."""
    max_waiting_bytes: int = 8 * MiB
    """Bytes of waiting updates a room holds."""


@dataclass
class _Waiting:
    """A peer's update held outside the document until what it depends on arrives."""

    update: bytes
    peer_id: str
    shape: UpdateShape


class Peer(Protocol):
    """A connection to a room. ``identity`` is the authenticated user, ``can_write``
    whether its document updates are accepted."""

    peer_id: str
    identity: dict[str, Any]

    @property
    def can_write(self) -> bool:
        """Asked for every document update (a permission can end while connected)."""
        ...

    def send(self, message: bytes) -> None:
        """Send a document or sync frame: never dropped."""

    def close(self, code: int, reason: str = "") -> None: ...


def principal_of(peer: Peer) -> str:
    """Who a peer is, for binding awareness client ids: its principal's id if it has one
    (the owner, a guest session, a hub user), else its identity's username."""
    principal = getattr(peer, "principal_id", None)
    return f"principal:{principal}" if principal else f"user:{peer.identity.get('username', '')}"


def _send_presence(peer: Peer, message: bytes) -> None:
    """Presence may be coalesced or dropped for a peer that is behind."""
    send = getattr(peer, "send_presence", None)
    (send or peer.send)(message)


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
        self.doc: Doc[Any] = Doc()
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
        self.write_guards: list[WriteGuard] = []
        self._captured: list[bytes] = []
        self._pending: list[bytes] = []
        self._known_state: bytes = self.doc.get_state()
        self._subscription = self.doc.observe(self._on_transaction)
        self._writing = False
        self._catch_up_scheduled = False
        self.limits = WriteLimits()
        self.failed = False
        """Set once a change could not be stored: the room then accepts nothing more."""
        self.on_failed: list[Callable[[Room], None]] = []
        self._waiting: dict[int, _Waiting] = {}
        self._waiting_seq = 0
        self._waiting_heaps: dict[int, list[tuple[int, int]]] = {}
        self._waiting_bytes = 0
        self._waiting_by_peer: dict[str, int] = {}
        self._size_estimate: int | None = None
        self._vector_bytes = b""
        self._vector: dict[int, int] = {}

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
        self._drop_waiting_of(peer.peer_id)  # its sender resends them when it reconnects
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

    def publish_presence(self, client_id: int, state: dict[str, Any] | None) -> bool:
        """Publish (``None``: withdraw) a state of the server's own under ``client_id``,
        relayed with the next tick; False if the id belongs to a client."""
        entry = self.awareness.publish(client_id, state)
        if entry is None:
            return False
        self._queue_awareness([entry])
        return True

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
                if payload == EMPTY_UPDATE:
                    return  # a sync reply that changes nothing: no write was attempted
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
            decode_state_vector(state_vector)  # yrs never sees a malformed one
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
        :class:`ProtocolError` if the update is malformed (the document is unchanged).
        A peer's update is checked strictly before the CRDT library sees it; if it
        depends on data the document lacks, it waits outside the document (bounded by
        :attr:`limits`) and is applied once that data arrives: peers are only shown,
        and the store only keeps, what the server's document holds.
        """
        if self.failed:
            if origin is not None:
                origin.close(4500, "the server could not store an update; reconnect")
            return _done()
        self._catch_up()
        if origin is None:
            return self._integrate(update, None)
        try:
            shape = inspect_update(update)
        except InvalidUpdate as exc:
            raise ProtocolError(f"update is malformed: {exc}") from exc
        if self._exceeds_size_limit(update, origin):
            return _done()
        if shape.missing(self._state_vector()):
            self._hold(update, shape, origin)
            return _done()
        return self._integrate(update, origin)

    def _integrate(self, update: bytes, origin: Peer | None) -> asyncio.Future[None]:
        self._captured.clear()
        for guard in self.write_guards:
            guard.before(origin)
        had_pending = bool(self._pending)
        self._writing = True
        try:
            self.doc.apply_update(update)
        except Exception as exc:
            self._captured.clear()
            raise ProtocolError(f"update does not apply: {exc}") from exc
        finally:
            self._writing = False
        released = self._release_waiting() if self._waiting else 0
        left = get_update(update, self.doc.get_state())
        keep: list[bytes] = []
        if left[0] != 0:
            # The library keeps part of it waiting internally: store it (never lost),
            # relay it once integrated (see _catch_up).
            self._pending.append(left)
            keep.append(left)
        corrected = False
        if self.write_guards:
            # Released waiting updates may be anyone's: judge the whole write strictly.
            strict = had_pending or bool(released)
            self._writing = True
            try:
                for guard in self.write_guards:
                    corrected = guard.after(origin, strict=strict) or corrected
            finally:
                self._writing = False
        changes = self._take_captured()
        state = self.doc.get_state()
        echo = False
        if released or len(changes) > 1:
            # Several transactions: relay what the document gained as one update, to
            # everyone (waiting updates of other peers were part of it).
            changes = [self.doc.get_update(self._known_state)] if state != self._known_state else []
            echo = True
        self._known_state = state
        if self._pending:
            self.still_pending()
        return self._commit(changes, origin, keep=keep, echo=echo or corrected)

    # -- waiting updates -------------------------------------------------------------

    def _state_vector(self) -> dict[int, int]:
        state = self.doc.get_state()
        if state != self._vector_bytes:
            self._vector = decode_state_vector(state)
            self._vector_bytes = state
        return self._vector

    def _hold(self, update: bytes, shape: UpdateShape, origin: Peer) -> None:
        limits = self.limits
        peer_id = origin.peer_id
        if (
            (limits.max_waiting_updates and len(self._waiting) >= limits.max_waiting_updates)
            or (
                limits.max_waiting_per_peer
                and self._waiting_by_peer.get(peer_id, 0) >= limits.max_waiting_per_peer
            )
            or (
                limits.max_waiting_bytes
                and self._waiting_bytes + len(update) > limits.max_waiting_bytes
            )
        ):
            self.log.warning(
                "closing peer %s of %s: too many updates waiting for missing data",
                peer_id,
                self.room_id,
            )
            self._drop_waiting_of(peer_id)
            origin.close(1008, "too many updates waiting for missing data")
            return
        self._waiting_seq += 1
        key = self._waiting_seq
        self._waiting[key] = _Waiting(update, peer_id, shape)
        self._waiting_bytes += len(update)
        self._waiting_by_peer[peer_id] = self._waiting_by_peer.get(peer_id, 0) + 1
        for client, clock in shape.missing(self._state_vector()).items():
            heapq.heappush(self._waiting_heaps.setdefault(client, []), (clock, key))

    def _forget_waiting(self, key: int) -> _Waiting | None:
        entry = self._waiting.pop(key, None)
        if entry is not None:
            self._waiting_bytes -= len(entry.update)
            count = self._waiting_by_peer.get(entry.peer_id, 0) - 1
            if count > 0:
                self._waiting_by_peer[entry.peer_id] = count
            else:
                self._waiting_by_peer.pop(entry.peer_id, None)
        return entry

    def _drop_waiting_of(self, peer_id: str) -> None:
        for key in [k for k, e in self._waiting.items() if e.peer_id == peer_id]:
            self._forget_waiting(key)

    def _release_waiting(self) -> int:
        """Apply the waiting updates whose dependencies have now arrived. Only updates
        waiting on a client whose clock advanced are looked at (the per-client heaps),
        so the cost follows the new data, not the size of the waiting set. An update
        that fails to apply is dropped and its sender closed; the room carries on."""
        released = 0
        while True:
            state = self._state_vector()
            ready: set[int] = set()
            for client, heap in list(self._waiting_heaps.items()):
                have = state.get(client, 0)
                while heap and heap[0][0] <= have:
                    _, key = heapq.heappop(heap)
                    entry = self._waiting.get(key)
                    if entry is not None and not entry.shape.missing(state):
                        ready.add(key)
                if not heap:
                    del self._waiting_heaps[client]
            if not ready:
                return released
            for key in sorted(ready):
                entry = self._forget_waiting(key)
                assert entry is not None
                self._writing = True
                try:
                    self.doc.apply_update(entry.update)
                    released += 1
                except Exception as exc:
                    self.log.warning(
                        "dropped a waiting update from %s in %s: %r",
                        entry.peer_id,
                        self.room_id,
                        exc,
                    )
                    self._drop_waiting_of(entry.peer_id)
                    culprit = self.peers.get(entry.peer_id)
                    if culprit is not None:
                        culprit.close(1007, "malformed message: an update does not apply")
                finally:
                    self._writing = False

    def waiting_updates(self) -> int:
        """How many peers' updates wait for missing data (for tests and monitoring)."""
        return len(self._waiting)

    def _exceeds_size_limit(self, update: bytes, origin: Peer) -> bool:
        """Refuse (and close the sender of) an update that would take the document past
        :attr:`WriteLimits.max_document_size`; the running estimate only grows, and is
        measured exactly when it would cross the limit."""
        limit = self.limits.max_document_size
        if not limit:
            return False
        if self._size_estimate is not None and self._size_estimate + len(update) <= limit:
            return False
        growth = len(get_update(update, self.doc.get_state()))
        self._size_estimate = len(self.doc.get_update()) + self._waiting_bytes
        if self._size_estimate + growth <= limit:
            return False
        self.log.warning(
            "refused an update from %s in %s: document size limit of %d bytes",
            origin.peer_id,
            self.room_id,
            limit,
        )
        origin.close(1009, f"document size limit ({limit // MiB} MiB) reached; change not kept")
        return True

    def _retry_pending(self) -> None:
        """Re-apply structs the library still holds waiting (e.g. from a stored history):
        it can leave some waiting even once their dependencies have arrived, depending
        on arrival order. One that fails is dropped."""
        for _ in range(4):
            before = self.doc.get_state()
            for update in list(self._pending):
                try:
                    self.doc.apply_update(update)
                except Exception as exc:
                    self.log.warning("dropped a waiting update in %s: %r", self.room_id, exc)
                    self._pending.remove(update)
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
        *,
        echo: bool = False,
    ) -> asyncio.Future[None]:
        """Persist ``changes`` (and ``keep``, stored but not relayed); relay once durable,
        to everyone but ``origin`` (to everyone with ``echo``)."""
        if self.failed or (not changes and not keep):
            return _done()
        stored = self.persist([*changes, *(keep or [])])
        if self._size_estimate is not None:
            self._size_estimate += sum(map(len, changes)) + sum(map(len, keep or []))
        self.on_changed(origin)

        def relay(future: asyncio.Future[None]) -> None:
            if future.cancelled() or future.exception() is not None:
                self.fail(None if future.cancelled() else future.exception())
                return
            for change in changes:
                self.broadcast(
                    encode_sync(SyncType.UPDATE, change), exclude=None if echo else origin
                )

        stored.add_done_callback(relay)
        return stored

    def fail(self, error: BaseException | None) -> None:
        """A change could not be stored: the live document now holds something the store
        does not. Nobody may see, save or build on it: every peer is closed, the room
        accepts nothing more, and ``on_failed`` listeners (the room manager) discard it,
        so the next peer gets a room reloaded from what is stored."""
        if self.failed:
            return
        self.failed = True
        self.log.error(
            "could not store an update in %s: %r; reloading the room", self.room_id, error
        )
        self.close_all(4500, "the server could not store an update; reconnect")
        for hook in self.on_failed:
            try:
                hook(self)
            except Exception:  # a listener never stops the others
                self.log.exception("on_failed listener failed for %s", self.room_id)

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
