"""When a shared file is renamed or moved, every guest connected to it is checked again.

A notebook moved out of a shared folder must not stay readable or writable over a
guest's open socket: the room calls :func:`recheck_guests` when its file's path changes.
A guest whose grants no longer cover the new path (or who may no longer see it) is
disconnected with 4403; one who may still read but no longer write becomes read-only.
"""

from __future__ import annotations

from typing import Any

from ..access import Action, InvalidScope
from ..documents.visibility import NotVisible, check_visible

__all__ = ["recheck_guests"]

MOVED_AWAY = "This file was moved out of what is shared with you"


async def recheck_guests(app: Any, room: Any) -> None:
    """Re-authorize each guest peer of ``room`` on the room's current path."""
    access = app.access
    try:
        path = room.file.path
    except Exception:
        return  # gone: the room closes its peers itself
    for peer in list(room.peers.values()):
        user = getattr(peer, "current_user", None)
        principal = getattr(user, "principal", None)
        if getattr(peer, "guest_session", None) is None or principal is None:
            continue
        try:
            resolved = access.resolve(path)
            await check_visible(app.serverapp.contents_manager, resolved, guest=True)
        except (InvalidScope, NotVisible):
            peer.close(4403, MOVED_AWAY)
            continue
        if not (await access.authorize(principal, Action.READ, resolved)).allowed:
            peer.close(4403, MOVED_AWAY)
            continue
        peer.can_write = bool((await access.authorize(principal, Action.WRITE, resolved)).allowed)
        peer.guest_path = resolved
