"""Live documents: rooms, their peers and awareness."""

from .document_room import DocumentRoom, RoomSettings
from .lobby import GLOBAL_AWARENESS, GuestPresence
from .manager import RoomManager
from .room import Peer, Room

__all__ = [
    "GLOBAL_AWARENESS",
    "DocumentRoom",
    "GuestPresence",
    "Peer",
    "Room",
    "RoomManager",
    "RoomSettings",
]
