"""Thin Tornado handlers: parse, authorize, delegate."""

from .room import RoomHandler
from .session import SessionHandler

__all__ = ["RoomHandler", "SessionHandler"]
