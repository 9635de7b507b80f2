"""``/api/collaboration/room/{format}:{type}:{fileId}``: the y-websocket room socket.

Close codes follow jupyter-collaboration: 1003 with a JSON reason when the client's
``sessionId`` is not the document's epoch or the room cannot initialize, 4404 when the
file is gone, 4400 when it cannot be read, 4500 on a server error. Malformed frames
close with 1007, frames over the size limit with 1009.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..access import AuditKind
from ..auth import GuestUser, access_of
from ..documents.files import BadFile, FileGone
from ..documents.model import UnsupportedDocument
from ..documents.visibility import NotVisible, check_visible
from ..identity import identity_of
from ..protocol import ProtocolError
from ..rooms import DocumentRoom, Room, RoomManager
from .guests import guest_decision
from .moves import recheck_peer
from .ready import ReadyMixin

__all__ = ["RoomHandler"]

GLOBAL_AWARENESS = "JupyterLab:globalAwareness"
MAX_REASON = 120  # a close frame carries at most 123 bytes of reason


def _reason(text: str) -> str:
    data = text.encode("utf-8")[:MAX_REASON]
    return data.decode("utf-8", "ignore")


class RoomHandler(ReadyMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):  # type: ignore[misc]
    auth_resource = "contents"
    checks_guests = True

    def initialize(self, rooms: RoomManager, max_message_size: int) -> None:
        self.rooms = rooms
        self._max_message_size = max_message_size
        self.room: Room | None = None
        self.peer_id = uuid.uuid4().hex
        self.identity: dict[str, Any] = {}
        self.can_write = False
        self.access_expires_at: float | None = None
        self.guest_session: str | None = None
        self.guest_path: str | None = None

    @property
    def max_message_size(self) -> int:  # type: ignore[override]
        return self._max_message_size

    @ws_authenticated
    @authorized
    async def get(self, *args: Any, **kwargs: Any) -> None:
        return await super().get(*args, **kwargs)

    async def open(self, room_id: str) -> None:  # type: ignore[override]
        self.set_nodelay(True)
        user = self.current_user
        if isinstance(user, GuestUser):
            if not await self._admit_guest(user, room_id):
                return
        else:
            self.can_write = bool(self.authorizer.is_authorized(self, user, "write", "contents"))
            self.identity = identity_of(user, "owner" if self.can_write else "view")
        try:
            room = await self.rooms.get(room_id)
        except FileGone as exc:
            return self.close(4404, _reason(str(exc)))
        except (BadFile, UnsupportedDocument) as exc:
            return self.close(4400, _reason(str(exc)))
        except NotVisible:
            return self.close(4403, "not shared with you")
        except Exception as exc:
            self.log.exception("room %s failed to initialize", room_id)
            return self.close(1003, _session_reason("initialization_error", "", str(exc)))
        session_id = self.get_query_argument("sessionId", "")
        if isinstance(room, DocumentRoom) and session_id and session_id != room.epoch:
            self.rooms.schedule_eviction(room)
            return self.close(1003, _session_reason("unknown_session", session_id, ""))
        self.room = room
        room.join(self)

    async def _admit_guest(self, user: GuestUser, room_id: str) -> bool:
        """Scope and role of a guest for this room; closes the socket (4403) if none."""
        parts = room_id.split(":", 2)
        path = None
        if len(parts) == 3:
            path = self.settings["file_id_manager"].get_path(parts[2])
        if path is None:
            self.close(4403, "not shared with you")
            return False
        allowed, expires, role = await guest_decision(self, path, "read")
        if allowed:
            try:
                await check_visible(self.contents_manager, path, guest=True)
            except NotVisible:
                allowed = False
        if not allowed:
            self.close(4403, "not shared with you")
            return False
        self.can_write = (await guest_decision(self, path, "write"))[0]
        self.identity = identity_of(user, role)
        self.access_expires_at = expires
        assert user.principal is not None
        self.guest_session = user.principal.id
        self.settings["tandem"].add_guest_peer(self.guest_session, self)
        self._audit(AuditKind.ROOM_JOINED, path)
        self.guest_path = path
        return True

    def _audit(self, kind: AuditKind, path: str) -> None:
        access = access_of(self)
        if access is None or self.guest_session is None:
            return
        address = self.request.remote_ip
        session = self.guest_session

        async def record() -> None:
            await access.record(kind, session, path, address)
            for grant in await access.grants_for_session_hash(session):
                if grant.valid(access.clock()):
                    await access.touch(grant.id)

        asyncio.ensure_future(record())

    async def on_message(self, message: str | bytes) -> None:
        room = self.room
        if room is None:
            return
        if self.access_expires_at is not None and time.time() >= self.access_expires_at:
            return self.close(4403, "Your access expired")
        if isinstance(message, str):
            return self.close(1007, "text frames are not part of the protocol")
        if self.guest_path is not None and isinstance(room, DocumentRoom):
            try:
                current: str | None = room.file.path
            except FileGone:
                current = None
            if current != self.guest_path:
                # Moved since this guest was admitted: check again before applying.
                if not await recheck_peer(self.settings["tandem"], current, self):
                    return
        try:
            await room.receive(self, message)
        except ProtocolError as exc:
            self.log.warning("closing peer %s of %s: %s", self.peer_id, room.room_id, exc)
            self.close(1007, _reason(f"malformed message: {exc}"))
        except Exception:
            self.log.exception("error handling a message in %s", room.room_id)
            self.close(4500, "server error")

    def on_close(self) -> None:
        if self.guest_session is not None:
            self.settings["tandem"].remove_guest_peer(self.guest_session, self)
            if self.guest_path is not None:
                self._audit(AuditKind.ROOM_LEFT, self.guest_path)
                self.guest_path = None
        room, self.room = self.room, None
        if room is not None:
            room.leave(self)
            if not room.peers:
                self.rooms.schedule_eviction(room)

    # -- Peer protocol ---------------------------------------------------------------

    def send(self, message: bytes) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        try:
            sent = self.write_message(message, binary=True)
        except WebSocketClosedError:
            return
        # A socket that closes mid-write fails the write's future; nobody else reads it.
        sent.add_done_callback(_ignore_closed)

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        super().close(code, reason)
        if self.room is not None:
            self.on_close()


def _session_reason(reason: str, session_id: str, error: str) -> str:
    payload = {
        "reason": reason,
        "sessionId": session_id[:36],
        "reloadable": reason != "initialization_error",
    }
    text = json.dumps(payload, separators=(",", ":"))
    room_left = MAX_REASON - len(text.encode()) - len(',"errorReason":""')
    if room_left > 0 and error:
        payload["errorReason"] = error.encode()[:room_left].decode("utf-8", "ignore")
    return json.dumps(payload, separators=(",", ":"))


def _ignore_closed(future: Any) -> None:
    if not future.cancelled():
        future.exception()
