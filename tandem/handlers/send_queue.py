"""A room socket's send path: bounded, batched, never waited on.

Frames queued during one turn of the event loop leave in one write (one ``send()``
system call instead of one per frame, and no Tornado task per frame). Nothing ever
awaits a socket: a slow reader only grows its own backlog, which is bounded:

- document and sync frames are never dropped; a peer whose unsent backlog passes
  ``max_backlog`` is closed with 4408, and its client resyncs when it reconnects;
- awareness frames are dropped while the backlog is over ``presence_backlog``; once it
  is back under, the peer is first sent every state it may see.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from dataclasses import dataclass
from typing import Any

from tornado.iostream import IOStream, StreamClosedError
from tornado.websocket import WebSocketClosedError

__all__ = ["BEHIND_CLOSE_CODE", "SendLimits", "SendQueue"]

BEHIND_CLOSE_CODE = 4408
log = logging.getLogger("tandem")


@dataclass(frozen=True)
class SendLimits:
    max_backlog: int = 16 * 1024 * 1024
    """Unsent bytes a peer may have before it is closed (4408) to resync."""
    presence_backlog: int = 256 * 1024
    """Unsent bytes past which awareness frames for the peer are dropped."""


def _frame_header(length: int) -> bytes:
    if length < 126:
        return bytes((0x82, length))
    if length <= 0xFFFF:
        return struct.pack("!BBH", 0x82, 126, length)
    return struct.pack("!BBQ", 0x82, 127, length)


class SendQueue:
    def __init__(self, handler: Any, limits: SendLimits) -> None:
        self._handler = handler
        # The server's log (prefixed and configured like every other line); the
        # module's logger only for handlers without one.
        self.log: logging.Logger = getattr(handler, "log", None) or log
        self.limits = limits
        self._messages: list[bytes] = []
        self._queued = 0
        self._scheduled = False
        self._largest = 0
        self.presence_stale = False

    def backlog(self) -> int:
        """Bytes queued here or in the socket's write buffer, not yet sent."""
        conn = self._handler.ws_connection
        buffer = getattr(getattr(conn, "stream", None), "_write_buffer", None)
        return self._queued + (len(buffer) if buffer is not None else 0)

    def send(self, message: bytes, *, presence: bool) -> None:
        conn = self._handler.ws_connection
        if conn is None or conn.is_closing():
            return
        backlog = self.backlog()
        if presence:
            if backlog > self.limits.presence_backlog:
                self.presence_stale = True
                return
            if self.presence_stale:
                self.presence_stale = False
                room = self._handler.room
                snapshot = room.presence_snapshot(self._handler) if room is not None else None
                if snapshot is not None:
                    self._queue(snapshot)
        else:
            if backlog > max(self.limits.max_backlog, 2 * self._largest):
                self.log.warning(
                    "peer %s is %d bytes behind; closing it to resync",
                    self._handler.peer_id,
                    backlog,
                )
                self._messages.clear()
                self._queued = 0
                self._handler.close(BEHIND_CLOSE_CODE, "too far behind; reconnect to resync")
                return
            self._largest = max(self._largest, len(message))
        self._queue(message)

    def _queue(self, message: bytes) -> None:
        self._messages.append(message)
        self._queued += len(message)
        if not self._scheduled:
            self._scheduled = True
            _schedule(self)

    def flush(self) -> None:
        self._scheduled = False
        messages, self._messages = self._messages, []
        self._queued = 0
        conn = self._handler.ws_connection
        if conn is None or conn.is_closing() or not messages:
            return
        if getattr(conn, "_compressor", None) is not None or getattr(conn, "mask_outgoing", True):
            for message in messages:  # compressed or client-side: Tornado frames it
                try:
                    self._handler.write_message(message, binary=True).add_done_callback(
                        _ignore_closed
                    )
                except WebSocketClosedError:
                    return
            return
        if len(messages) == 1:
            data = _frame_header(len(messages[0])) + messages[0]
        else:
            data = b"".join(part for m in messages for part in (_frame_header(len(m)), m))
        stream = conn.stream
        if type(stream) is IOStream and not stream.writing() and stream.socket is not None:
            # Nothing buffered, no TLS: hand the bytes to the kernel (Tornado's write
            # path costs a future and buffer bookkeeping per call); only what the
            # socket does not take now goes through the stream's buffer, in order.
            try:
                sent = stream.socket.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                return  # the stream notices the broken socket on its next read
            if sent == len(data):
                return
            data = data[sent:]
        try:
            stream.write(data)  # its future logs nothing if the socket closes
        except StreamClosedError:
            pass


_due: list[SendQueue] = []


def _schedule(queue: SendQueue) -> None:
    """Flush every queue with frames once per turn of the event loop, in one callback."""
    if not _due:
        asyncio.get_running_loop().call_soon(_flush_due)
    _due.append(queue)


def _flush_due() -> None:
    due = list(_due)
    _due.clear()
    for queue in due:
        try:
            queue.flush()
        except Exception:  # one broken socket never stops the others' frames
            queue.log.exception("could not flush a room socket")


def _ignore_closed(future: Any) -> None:
    if not future.cancelled():
        future.exception()
