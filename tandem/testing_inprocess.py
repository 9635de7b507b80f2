"""Rooms and peers in one process, for tests of the core without a server or a socket.

``LocalPeer`` implements the :class:`tandem.rooms.room.Peer` protocol the room handler
implements: the room calls ``send``/``close`` on it, and it hands its own frames to
``Room.receive`` as the handler does (closing with 1007 on a :class:`ProtocolError`).
Frames to the room wait in an outbox until ``flush()``, so a test decides exactly when
(and, with ``hold``/``release``, in which order) each one arrives. Example::

    store = MemoryStore()
    await store.start()
    room = await open_document_room(root, "demo.ipynb", store)
    alice = await LocalPeer(room).connect()
    alice.notebook.ycells[0]["source"] += "!"
    await alice.flush()
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

from jupyter_server.services.contents.filemanager import AsyncFileContentsManager
from pycrdt import Doc, TransactionEvent

from .documents.files import DocumentFile
from .documents.model import DocumentKind, new_document
from .protocol import (
    AwarenessEntry,
    MessageType,
    ProtocolError,
    Reader,
    SyncType,
    decode_awareness,
    encode_awareness,
    encode_sync,
    encode_var_string,
    encode_var_uint,
)
from .rooms.document_room import DocumentRoom, RoomSettings
from .rooms.room import Room
from .store.base import DocumentStore

__all__ = ["FAST_SETTINGS", "LocalPeer", "open_document_room"]

# Timers far away, so that nothing happens in a test unless the test makes it happen.
FAST_SETTINGS = RoomSettings(save_delay=60.0, save_max_wait=120.0, poll_interval=60.0)


class LocalPeer:
    """A pycrdt document connected to a room in the same process."""

    def __init__(
        self,
        room: Room,
        kind: DocumentKind = "notebook",
        *,
        identity: dict[str, Any] | None = None,
        can_write: bool = True,
        peer_id: str | None = None,
    ) -> None:
        self.room = room
        self.peer_id = peer_id or uuid.uuid4().hex
        self.identity = identity or {"username": self.peer_id, "name": self.peer_id}
        self.can_write = can_write
        self.doc: Doc[Any] = Doc()
        self.document: Any = new_document(kind, self.doc)
        self.outbox: list[bytes] = []
        self.received: list[bytes] = []
        """Every frame the room sent, in order."""
        self.received_updates: list[bytes] = []
        """The document updates (step 2 and updates) the room sent."""
        self.awareness: dict[int, dict[str, Any] | None] = {}
        self.raw_messages: list[dict[str, Any]] = []
        self.synced = False
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._remote = False
        self._held: list[bytes] | None = None
        self._awareness_clock = 0
        self._subscription = self.doc.observe(self._on_change)

    @property
    def notebook(self) -> Any:
        return self.document

    @property
    def closed(self) -> bool:
        return self.close_code is not None

    async def connect(self) -> LocalPeer:
        """Join the room and sync both ways (as a client's first frames do)."""
        self.room.join(self)
        self.outbox.append(encode_sync(SyncType.STEP1, self.doc.get_state()))
        await self.flush()
        return self

    async def flush(self) -> None:
        """Deliver every queued frame to the room, in order (stops once closed)."""
        while self.outbox and not self.closed:
            frame = self.outbox.pop(0)
            try:
                await self.room.receive(self, frame)
            except ProtocolError as exc:
                self.close(1007, f"malformed message: {exc}")

    async def send_frame(self, frame: bytes) -> None:
        """Deliver one raw frame (well-formed or not) now."""
        self.outbox.append(frame)
        await self.flush()

    def hold(self) -> None:
        """Queue local changes aside instead of in the outbox."""
        if self._held is None:
            self._held = []

    def take_held(self) -> list[bytes]:
        """The held frames (and stop holding), for a test to deliver one by one."""
        held, self._held = self._held or [], None
        return held

    async def release(
        self, rng: random.Random | None = None, order: list[int] | None = None
    ) -> None:
        """Deliver held changes: as made, shuffled by ``rng``, or in ``order`` (indexes)."""
        held, self._held = self._held or [], None
        if order is not None:
            held = [held[i] for i in order]
        elif rng is not None:
            rng.shuffle(held)
        self.outbox.extend(held)
        await self.flush()

    async def set_awareness(
        self, state: dict[str, Any] | None, client_id: int | None = None
    ) -> None:
        self._awareness_clock += 1
        entry = AwarenessEntry(
            self.doc.client_id if client_id is None else client_id, self._awareness_clock, state
        )
        await self.send_frame(encode_awareness([entry]))

    async def request_save(self, request_id: int = 1) -> dict[str, Any]:
        """jupyter-collaboration's save request; returns the room's reply."""
        await self.send_frame(
            encode_var_uint(MessageType.RAW)
            + encode_var_string("save")
            + encode_var_uint(request_id)
        )
        for reply in self.raw_messages:
            if reply.get("type") == "save" and reply.get("responseTo") == request_id:
                return reply
        raise AssertionError(f"no save reply among {self.raw_messages}")

    async def leave(self) -> None:
        """Disconnect as a client that goes away does (the handler's ``on_close``)."""
        await self.flush()
        self.room.leave(self)

    # -- the Peer protocol -----------------------------------------------------------

    def send(self, message: bytes) -> None:
        if self.closed:
            return
        self.received.append(message)
        reader = Reader(message)
        message_type = reader.var_uint()
        if message_type == MessageType.SYNC:
            sync_type = reader.var_uint()
            payload = reader.var_bytes()
            if sync_type == SyncType.STEP1:
                self.outbox.append(encode_sync(SyncType.STEP2, self.doc.get_update(payload)))
                return
            self._remote = True
            try:
                self.doc.apply_update(payload)
            finally:
                self._remote = False
            self.received_updates.append(payload)
            if sync_type == SyncType.STEP2:
                self.synced = True
        elif message_type == MessageType.AWARENESS:
            for entry in decode_awareness(reader.var_bytes()):
                self.awareness[entry.client_id] = entry.state
        elif message_type == MessageType.RAW:
            self.raw_messages.append(json.loads(reader.var_string()))

    def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.close_code, self.close_reason = code, reason
        self.room.leave(self)

    # -- local changes ---------------------------------------------------------------

    def _on_change(self, event: TransactionEvent) -> None:
        if self._remote or event.update == b"\x00\x00":
            return
        frame = encode_sync(SyncType.UPDATE, event.update)
        if self._held is not None:
            self._held.append(frame)
        else:
            self.outbox.append(frame)


def contents_manager(root: Path) -> AsyncFileContentsManager:
    """Jupyter Server's own file contents manager on ``root``."""
    return AsyncFileContentsManager(root_dir=str(root))


async def open_document_room(
    root: Path,
    path: str,
    store: DocumentStore,
    *,
    kind: DocumentKind = "notebook",
    settings: RoomSettings = FAST_SETTINGS,
    key: str | None = None,
    locate: Any = None,
) -> DocumentRoom:
    """A started ``DocumentRoom`` for ``root/path`` through a real contents manager.
    ``key`` (the store key, the file id in the server) defaults to the path;
    ``locate`` (returning the file's current path or None) defaults to the path."""
    file = DocumentFile(contents_manager(root), locate or (lambda: path), kind)
    kind_tag = "json:notebook" if kind == "notebook" else "text:file"
    room = DocumentRoom(f"{kind_tag}:{key or path}", key or path, kind, file, store, settings)
    try:
        await room.start()
    except BaseException:
        await room.stop()
        raise
    return room
