"""Live documents: rooms, their peers and awareness."""

from .document_room import DocumentRoom, RoomSettings
from .manager import RoomManager
from .room import Peer, Room

__all__ = [
    "DocumentRoom",
    "Peer",
    "Room",
    "RoomManager",
    "RoomSettings",
]
