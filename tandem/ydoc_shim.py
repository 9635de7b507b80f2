"""Lets server extensions that look for ``jupyter_server_ydoc`` use Tandem's documents.

Tools such as jupyter-server-nbmodel and jupyter-mcp-server read
``settings["jupyter_server_ydoc"]`` and call ``await get_document(path=..., content_type=...,
file_format=..., copy=...)``. With ``copy=False`` they get the live document: changes they
make are stored and relayed like any server-side change (the room notices transactions
made outside its write path).
"""

from __future__ import annotations

from typing import Any

from jupyter_ydoc.ybasedoc import YBaseDoc
from pycrdt import Doc

from .documents.model import kind_for, new_document

__all__ = ["YDocShim"]


class YDocShim:
    def __init__(self, rooms: Any, file_ids: Any) -> None:
        self.rooms = rooms
        self.file_ids = file_ids

    async def get_document(
        self,
        *,
        path: str | None = None,
        content_type: str | None = None,
        file_format: str | None = None,
        room_id: str | None = None,
        copy: bool = True,
    ) -> YBaseDoc | None:
        """The document for ``path`` (or ``room_id``); None if it cannot be opened."""
        if room_id is None:
            if path is None or content_type is None or file_format is None:
                raise ValueError("give path, content_type and file_format, or room_id")
            file_id = self.file_ids.get_id(path) or self.file_ids.index(path)
            if file_id is None:
                return None
            room_id = f"{file_format}:{content_type}:{file_id}"
        try:
            room = await self.rooms.get(room_id)
        except Exception:
            return None
        document = getattr(room, "document", None)
        if document is None or not copy:
            return document
        file_format, content_type, _ = room_id.split(":", 2)
        clone = new_document(kind_for(file_format, content_type), Doc())
        clone.ydoc.apply_update(room.doc.get_update())
        return clone
