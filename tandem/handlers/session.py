"""``PUT /api/collaboration/session/{path}``: a document's file id and epoch."""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..auth import principal_of
from ..documents.files import BadFile, FileGone
from ..documents.model import UnsupportedDocument, kind_for
from ..documents.visibility import NotVisible, check_visible
from ..paths import InvalidPath, normalize_api_path, resolve_inside
from ..rooms import RoomManager
from .errors import JsonErrors
from .guests import require_access
from .ready import ReadyMixin, json_object

__all__ = ["SessionHandler"]


class SessionHandler(JsonErrors, ReadyMixin, APIHandler):
    auth_resource = "contents"
    checks_guests = True

    def initialize(self, rooms: RoomManager) -> None:
        self.rooms = rooms

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        body = json_object(self.request.body)
        file_format, file_type = body.get("format"), body.get("type")
        if not isinstance(file_format, str) or not isinstance(file_type, str):
            raise web.HTTPError(400, "format and type must be strings")
        try:
            kind_for(file_format, file_type)
            path = normalize_api_path(path)
            resolve_inside(self.settings.get("server_root_dir", "."), path)
        except (UnsupportedDocument, InvalidPath) as exc:
            raise web.HTTPError(400, str(exc)) from exc
        await require_access(self, path, "read")
        cm = self.contents_manager
        try:
            await check_visible(cm, path, guest=not principal_of(self.current_user).is_owner)
        except NotVisible as exc:
            raise web.HTTPError(404, f"file {path!r} does not exist") from exc
        if not await ensure_async(cm.file_exists(path)):
            raise web.HTTPError(404, f"file {path!r} does not exist")
        file_ids = self.settings["file_id_manager"]
        file_id = file_ids.get_id(path)
        created = file_id is None
        if created:
            file_id = file_ids.index(path)
            if file_id is None:
                raise web.HTTPError(404, f"file {path!r} does not exist")
        room_id = f"{file_format}:{file_type}:{file_id}"
        session_id = ""
        try:
            room: Any = await self.rooms.get(room_id)
            session_id = room.epoch
        except (BadFile, FileGone) as exc:
            # The room socket reports this with its close code (4400/4404).
            self.log.warning("session for %s: %s", path, exc)
        self.set_status(201 if created else 200)
        self.finish(
            {"format": file_format, "type": file_type, "fileId": file_id, "sessionId": session_id}
        )
