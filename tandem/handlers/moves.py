"""When a shared file is renamed or moved, every guest connected to it is checked again.

A notebook moved out of a shared folder must not stay readable or writable over a
guest's open socket. The room calls :func:`recheck_guests` when its file's path changes
(it notices within its poll interval), and a guest's socket calls :func:`recheck_peer`
before applying a message when the file's current path is not the one it was admitted
on (so no write lands after a move through Jupyter's API). A guest whose grants no
longer cover the new path (or who may no longer see it) is disconnected with 4403; one
who may still read but no longer write becomes read-only.
"""

from __future__ import annotations

from typing import Any

from ..access import Action, InvalidScope
from ..documents.visibility import NotVisible, check_visible

__all__ = ["MOVED_AWAY", "recheck_guests", "recheck_peer"]

MOVED_AWAY = "This file was moved out of what is shared with you"


async def recheck_guests(app: Any, room: Any) -> None:
    """Re-authorize each guest peer of ``room`` on the room's current path."""
    try:
        path = room.file.path
    except Exception:
        return  # gone: the room closes its peers itself
    for peer in list(room.peers.values()):
        await recheck_peer(app, path, peer)


async def recheck_peer(app: Any, path: str | None, peer: Any) -> bool:
    """Re-authorize one non-owner peer on ``path`` (None: the file is gone), on fresh
    grants. Returns whether the peer may stay; its live permissions follow the new path."""
    principal = getattr(peer, "principal", None)
    live = getattr(peer, "live", None)
    if principal is None or principal.is_owner or live is None:
        return True
    access = app.access
    try:
        if path is None:
            raise InvalidScope("gone")
        resolved = access.resolve(path)
        await check_visible(app.serverapp.contents_manager, resolved, guest=True)
    except (InvalidScope, NotVisible):
        peer.close(4403, MOVED_AWAY)
        return False
    permissions = await access.permissions_for(principal)
    read = permissions.decide(Action.READ, resolved)
    if not read.allowed:
        peer.close(4403, MOVED_AWAY)
        return False
    until = {Action.READ: read.until}
    write = permissions.decide(Action.WRITE, resolved)
    if write.allowed:
        until[Action.WRITE] = write.until
    live.until, live.path = until, path
    return True
