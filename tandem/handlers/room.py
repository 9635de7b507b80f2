"""``/api/collaboration/room/{format}:{type}:{fileId}``: the y-websocket room socket.

Close codes follow jupyter-collaboration: 1003 with a JSON reason when the client's
``sessionId`` is not the document's epoch or the room cannot initialize, 4404 when the
file is gone, 4400 when it cannot be read, 4403 when it is not shared with the caller
(or a link guest's socket lacks its editor page's ``roomToken``), 4500 on a server
error. Malformed frames close with 1007, frames over the size limit with 1009.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado.websocket import WebSocketHandler

from ..access import Action, AuditKind, Decision, LiveConnection, Principal
from ..auth import (
    GrantedUser,
    GuestUser,
    TandemIdentityMixin,
    access_of,
    permissions_of,
    principal_of,
)
from ..documents.files import BadFile, FileGone
from ..documents.model import UnsupportedDocument
from ..documents.visibility import NotVisible, check_visible
from ..identity import identity_of
from ..protocol import ProtocolError
from ..rooms import DocumentRoom, Room, RoomManager
from .guests import audit_refusal, decide_access
from .moves import recheck_peer
from .ready import ReadyMixin
from .send_queue import SendLimits, SendQueue

__all__ = ["RoomHandler"]

MAX_REASON = 120  # a close frame carries at most 123 bytes of reason


def _reason(text: str) -> str:
    data = text.encode("utf-8")[:MAX_REASON]
    return data.decode("utf-8", "ignore")


class RoomHandler(ReadyMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    auth_resource = "contents"
    checks_guests = True

    def initialize(self, rooms: RoomManager, max_message_size: int) -> None:
        self.rooms = rooms
        self._max_message_size = max_message_size
        self.room: Room | None = None
        self.peer_id = uuid.uuid4().hex
        self.identity: dict[str, Any] = {}
        self.principal: Principal = Principal.anonymous()
        self.live: LiveConnection | None = None
        """This socket in the live registry: its principal and the end of each permission."""
        self.joined_path: str | None = None
        """The path whose join was audited (non-owners), so the leave is audited too."""
        self._gone = False
        """Set once the socket has closed (its ``on_close`` ran)."""
        self._outbox = SendQueue(self, self.settings.get("tandem_send_limits") or SendLimits())

    @property
    def max_message_size(self) -> int:
        return self._max_message_size

    @property
    def can_write(self) -> bool:
        """Checked for every document update: ends at the write permission's own end."""
        live = self.live
        return live is not None and live.may(Action.WRITE, self._registry.clock())

    @property
    def principal_id(self) -> str:
        return self.principal.id

    @property
    def _registry(self) -> Any:
        return self.settings["tandem"].live

    @ws_authenticated
    @authorized
    async def get(self, *args: Any, **kwargs: Any) -> None:
        return await super().get(*args, **kwargs)

    async def open(self, room_id: str) -> None:
        self.set_nodelay(True)
        if not await self._admit(room_id):
            return
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
        if self.ws_connection is None:
            return  # closed (revoked, expired) while the room loaded
        self.room = room
        room.join(self)
        if isinstance(room, DocumentRoom) and not self.principal.is_owner:
            self.settings["tandem"].guest_presence.joined(self, room)

    async def _admit(self, room_id: str) -> bool:
        """The principal's permissions for this room, each with its own end, registered
        as a live connection; closes the socket (4403) if it may not read. Whether it may
        write is only asked (never audited): a refused write is audited when tried."""
        user = self.current_user
        self.principal = principal_of(user)
        path = None
        if self.principal.is_owner:
            until: dict[Action, float | None] = {Action.READ: None}
            if self.authorizer.is_authorized(self, user, "write", "contents"):
                until[Action.WRITE] = None
            role = "owner" if Action.WRITE in until else "view"
        else:
            if isinstance(user, GuestUser) and not self._has_room_token(user):
                # The editor knows this reason (STALE_PAGE) and loads itself again.
                self.close(4403, "This page is out of date: reload it to reconnect")
                return False
            parts = room_id.split(":", 2)
            if len(parts) == 3:
                path = self.settings["file_id_manager"].get_path(parts[2])
            if path is None:
                self.close(4403, "not shared with you")
                return False
            read = await decide_access(self, path, Action.READ)
            if read.allowed and not await self._visible_to_guests(path):
                read = Decision(False, "hidden file")
            if not read.allowed or read.role is None:
                await audit_refusal(self, path, Action.READ, read, room=room_id[:64])
                self.close(4403, "not shared with you")
                return False
            until = {Action.READ: read.until}
            write = await decide_access(self, path, Action.WRITE)
            if write.allowed:
                until[Action.WRITE] = write.until
            role = read.role.value
        self.identity = identity_of(user, role)
        provider = self.identity_provider
        recheck = (
            provider.revalidator(self)
            if isinstance(provider, TandemIdentityMixin) and not self.principal.is_owner
            else None
        )
        self.live = LiveConnection(self.peer_id, self.principal, path, until, self.close, recheck)
        self._registry.add(self.live)
        if path is not None and not await self._still_readable(path):
            # Revoked between the handshake (grants loaded) and registration: the
            # revocation could not see this socket yet.
            self.close(4403, "Your access was revoked")
            return False
        if path is not None and not self.principal.is_owner:
            # Nobody but the owner is shown a document before their join is durably
            # audited; joins arriving together share one commit (AccessStore).
            try:
                await self._audit(AuditKind.ROOM_JOINED, path)
            except Exception:
                self.log.exception("could not audit a join of %s", path)
                self.close(4500, "server error")
                return False
            self.joined_path = path
            if self._gone:  # the client left while its join was being audited
                self._audit_leave(path)
                self.joined_path = None
        return self.ws_connection is not None  # not closed (revoked) while it waited

    def _has_room_token(self, user: GuestUser) -> bool:
        """A link guest's socket carries the ``roomToken`` of the guest's editor page. On
        a shared origin (JupyterHub without subdomains) any page can make the browser
        send the guest's cookie; only Tandem's editor page knows the token."""
        access = access_of(self)
        token = self.get_query_argument("roomToken", "")
        return access is not None and access.room_token_valid(user.principal.id, token)

    async def _visible_to_guests(self, path: str) -> bool:
        """Hidden files (``.env``, ``.git/``...) and names the contents manager leaves out
        of listings are never served to anyone but the owner, even inside a share."""
        try:
            await check_visible(self.contents_manager, path, guest=True)
        except NotVisible:
            return False
        return True

    async def _still_readable(self, path: str) -> bool:
        """Read access on fresh grants (not those loaded with the identity), read again
        only if a grant or invitation changed since those were loaded."""
        access = access_of(self)
        if access is None:
            return False
        user = self.current_user
        if (
            isinstance(user, GrantedUser)
            and user.grants_as_of >= 0
            and user.grants_as_of == access.store.changes
        ):
            return True  # the read decision at admission used grants that are current
        try:
            resolved = access.resolve(path)
        except Exception:
            return False
        return bool(await access.authorize(self.principal, Action.READ, resolved))

    async def _audit(self, kind: AuditKind, path: str) -> None:
        """Audit a non-owner's join or leave; the valid grants it used are marked seen."""
        access = access_of(self)
        if access is None or self.principal.is_owner:
            return
        now = access.clock()
        seen = [g.id for g in permissions_of(self).grants if g.valid(now)]
        await access.record_visit(kind, self.principal.id, path, self.request.remote_ip, seen)

    def _audit_leave(self, path: str) -> None:
        """The leave's audit row, written in the background (the socket is gone)."""

        def done(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                self.log.error("could not audit a leave of %s: %s", path, task.exception())

        asyncio.ensure_future(self._audit(AuditKind.ROOM_LEFT, path)).add_done_callback(done)

    async def on_message(self, message: str | bytes) -> None:
        room = self.room
        if room is None:
            return
        live = self.live
        if live is not None and live.ended(self._registry.clock()):
            return self.close(4403, "Your access expired")
        if isinstance(message, str):
            return self.close(1007, "text frames are not part of the protocol")
        admitted_on = live.path if live is not None and not self.principal.is_owner else None
        if admitted_on is not None and isinstance(room, DocumentRoom):
            try:
                current: str | None = room.file.path
            except FileGone:
                current = None
            if current != admitted_on:
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
        self._gone = True
        self.settings["tandem"].guest_presence.left(self.peer_id)
        if self.live is not None:
            self._registry.discard(self.live.key)
        if self.joined_path is not None:
            self._audit_leave(self.joined_path)
            self.joined_path = None
        room, self.room = self.room, None
        if room is not None:
            room.leave(self)
            if not room.peers:
                self.rooms.schedule_eviction(room)

    # -- Peer protocol: the send path ------------------------------------------------

    def send(self, message: bytes) -> None:
        """Queue a document or sync frame. Never dropped: a peer whose unsent backlog
        passes the limit is closed (4408) and resyncs when its client reconnects."""
        self._outbox.send(message, presence=False)

    def send_presence(self, message: bytes) -> None:
        """Queue an awareness frame; dropped while this peer is behind (it is sent the
        states it missed once it has caught up)."""
        self._outbox.send(message, presence=True)

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
