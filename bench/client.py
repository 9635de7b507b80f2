"""A lean y-websocket client for the benchmarks.

``tandem.testing.YPeer`` keeps a full notebook model per peer and goes through the
``websockets`` library; with 50 peers receiving hundreds of updates a second the
client process (which shares the machine's two cores with the server) would be the
bottleneck. ``LeanPeer`` speaks just enough RFC 6455 over a raw asyncio protocol:

* no extensions, binary frames, masks with an all-zero key (legal framing; the
  payload goes out unchanged, so sending costs one ``transport.write``);
* answers pings and close frames;
* a receiving peer only timestamps and keeps each update frame (``record=True``);
  working out which edit a frame carried happens after the measurement
  (:func:`edit_arrivals`), so it costs nothing while the clock runs;
* a peer given a ``Doc`` applies what it receives (used as the writer, and as a
  "tracker" that knows how far a writer's edits have arrived).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from pycrdt import Array, Doc, Text

__all__ = ["LeanPeer", "decode_state", "edit_arrivals", "writer_clock"]

SYNC, AWARENESS = 0, 1
STEP1, STEP2, UPDATE = 0, 1, 2
EMPTY_UPDATE = b"\x00\x00"
ZERO_MASK = b"\x00\x00\x00\x00"


def _var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_var_uint(data: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def encode_sync(sync_type: int, payload: bytes) -> bytes:
    return bytes((SYNC, sync_type)) + _var_uint(len(payload)) + payload


def decode_state(state: bytes) -> dict[int, int]:
    """A Y state vector as ``{client_id: clock}``."""
    count, pos = _read_var_uint(state, 0)
    clocks = {}
    for _ in range(count):
        client, pos = _read_var_uint(state, pos)
        clock, pos = _read_var_uint(state, pos)
        clocks[client] = clock
    return clocks


def writer_clock(doc: Doc, client_id: int) -> int:
    return decode_state(doc.get_state()).get(client_id, 0)


class _WSProtocol(asyncio.Protocol):
    def __init__(self, on_message: Callable[[bytes], None]) -> None:
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handshake: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[tuple[int | None, str]] = (
            asyncio.get_running_loop().create_future()
        )
        self._fragments: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(
                ConnectionError(f"connection lost during handshake: {exc}")
            )
        if not self.closed.done():
            self.closed.set_result((None, str(exc or "connection lost")))

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.handshake.done():
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            self.handshake.set_result(head)
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            header = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = struct.unpack_from("!H", buf, pos + 2)[0]
                header = 4
            elif length == 127:
                if size - pos < 10:
                    break
                length = struct.unpack_from("!Q", buf, pos + 2)[0]
                header = 10
            if b1 & 0x80:  # servers never mask; tolerate it anyway
                header += 4
            if size - pos < header + length:
                break
            payload = bytes(buf[pos + header : pos + header + length])
            if b1 & 0x80:
                mask = buf[pos + header - 4 : pos + header]
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            pos += header + length
            self._frame(b0 & 0x80, b0 & 0x0F, payload)
        if pos:
            del buf[:pos]

    def _frame(self, fin: int, opcode: int, payload: bytes) -> None:
        if opcode in (0x1, 0x2, 0x0):
            if not fin:
                self._fragments.append(payload)
                return
            if self._fragments:
                payload = b"".join(self._fragments) + payload
                self._fragments = []
            self.on_message(payload)
        elif opcode == 0x9:  # ping
            self.send_frame(0xA, payload)
        elif opcode == 0x8:  # close
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
            reason = payload[2:].decode("utf-8", "replace")
            if not self.closed.done():
                self.closed.set_result((code, reason))
            self.send_frame(0x8, payload[:2])
            if self.transport is not None:
                self.transport.close()

    def send_frame(self, opcode: int, payload: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        n = len(payload)
        if n < 126:
            head = bytes((0x80 | opcode, 0x80 | n))
        elif n < 65536:
            head = bytes((0x80 | opcode, 0x80 | 126)) + struct.pack("!H", n)
        else:
            head = bytes((0x80 | opcode, 0x80 | 127)) + struct.pack("!Q", n)
        transport.write(head + ZERO_MASK + payload)


class LeanPeer:
    """One y-websocket connection to a room.

    ``record``: keep ``(perf_counter(), update)`` for every update frame received.
    ``doc``: a pycrdt document kept in sync with the room (needed to make edits, or
    to follow how far another peer's edits have arrived).
    """

    def __init__(self, *, record: bool = False, doc: Doc | None = None) -> None:
        self.record = record
        self.doc = doc
        self.frames: list[tuple[float, bytes]] = []
        self.update_count = 0
        self.sync_payload: bytes | None = None
        self.synced = asyncio.Event()
        self.protocol: _WSProtocol | None = None
        self._remote = False
        self._progress: asyncio.Event = asyncio.Event()
        if doc is not None:
            doc.observe(self._on_local_change)

    # -- connecting ------------------------------------------------------------------

    @classmethod
    async def open(cls, server: Any, path: str, **kwargs: Any) -> LeanPeer:
        session = await server.session(path)
        room = f"{session['format']}:{session['type']}:{session['fileId']}"
        peer = cls(**kwargs)
        await peer.connect(
            server.ws_url,
            f"/api/collaboration/room/{room}?sessionId={session['sessionId']}",
            server.headers,
        )
        await peer.wait_synced()
        return peer

    async def connect(self, ws_url: str, path: str, headers: dict[str, str]) -> None:
        url = urlsplit(ws_url)
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_connection(
            lambda: _WSProtocol(self._on_message), url.hostname, url.port
        )
        self.protocol = protocol
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {url.hostname}:{url.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(protocol.handshake, 30)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            transport.close()
            raise ConnectionError(f"handshake refused: {status.decode(errors='replace')}")
        state = self.doc.get_state() if self.doc is not None else b"\x00"
        self.send(encode_sync(STEP1, state))

    async def wait_synced(self, timeout: float = 60.0) -> None:
        assert self.protocol is not None
        synced = asyncio.ensure_future(self.synced.wait())
        await asyncio.wait(
            {synced, self.protocol.closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        synced.cancel()
        if not self.synced.is_set():
            reason = self.protocol.closed.result() if self.protocol.closed.done() else "timeout"
            raise ConnectionError(f"not synced: {reason}")

    def send(self, message: bytes) -> None:
        assert self.protocol is not None
        self.protocol.send_frame(0x2, message)

    async def close(self) -> None:
        protocol = self.protocol
        if protocol is None or protocol.transport is None:
            return
        if not protocol.closed.done():
            protocol.send_frame(0x8, struct.pack("!H", 1000))
            try:
                await asyncio.wait_for(asyncio.shield(protocol.closed), 5)
            except asyncio.TimeoutError:
                pass
        protocol.transport.close()

    @property
    def closed(self) -> bool:
        return self.protocol is None or self.protocol.closed.done()

    # -- messages --------------------------------------------------------------------

    def _on_message(self, message: bytes) -> None:
        if not message or message[0] != SYNC:
            return  # awareness and raw messages do not matter here
        sync_type = message[1]
        length, pos = _read_var_uint(message, 2)
        payload = message[pos : pos + length]
        if sync_type == UPDATE:
            self.update_count += 1
            if self.record:
                self.frames.append((time.perf_counter(), payload))
            if self.doc is not None:
                self._apply(payload)
        elif sync_type == STEP1:
            reply = self.doc.get_update(payload) if self.doc is not None else EMPTY_UPDATE
            self.send(encode_sync(STEP2, reply))
        elif sync_type == STEP2:
            self.sync_payload = payload
            if self.doc is not None:
                self._apply(payload)
            self.synced.set()

    def _apply(self, payload: bytes) -> None:
        assert self.doc is not None
        self._remote = True
        try:
            self.doc.apply_update(payload)
        finally:
            self._remote = False
        self._progress.set()

    def _on_local_change(self, event: Any) -> None:
        if self._remote or event.update == EMPTY_UPDATE or self.protocol is None:
            return
        self.send(encode_sync(UPDATE, event.update))

    # -- editing ---------------------------------------------------------------------

    def cell_source(self, index: int = 0) -> Text:
        assert self.doc is not None
        return self.doc.get("cells", type=Array)[index]["source"]

    def clock_of(self, client_id: int) -> int:
        assert self.doc is not None
        return writer_clock(self.doc, client_id)

    async def wait_clock(self, client_id: int, clock: int, timeout: float) -> bool:
        """Wait until this peer's document holds ``client_id``'s edits up to ``clock``."""
        deadline = time.monotonic() + timeout
        while self.clock_of(client_id) < clock:
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return False
            self._progress.clear()
            try:
                await asyncio.wait_for(self._progress.wait(), min(left, 0.5))
            except asyncio.TimeoutError:
                pass
        return True


def edit_arrivals(
    peers: list[LeanPeer], writer_id: int, first_clock: int, last_clock: int
) -> list[dict[int, float]]:
    """For each recording peer: ``{clock: arrival time}`` of the writer's edits with
    clocks ``first_clock..last_clock`` (a writer's clock counts its one-character
    edits, so edit number *c* is the one that takes its clock from *c - 1* to *c*).

    Each peer's frames (all of them since it synced) are replayed into a scratch
    document seeded with what the peer received at sync, to learn how far the
    writer's clock had got after each frame; merged or split frames are handled.
    Peers normally receive identical frames, so the clock reached after a frame is
    cached by (clock before, frame bytes) and most peers replay nothing.
    """
    cache: dict[tuple[int, bytes], int] = {}
    results = []
    for peer in peers:
        doc: Doc | None = None
        clock = -1
        arrivals: dict[int, float] = {}
        next_clock = first_clock
        for index, (stamp, payload) in enumerate(peer.frames):
            key = (clock, payload)
            new_clock = cache.get(key)
            if new_clock is None:
                if doc is None:
                    doc = Doc()
                    if peer.sync_payload:
                        doc.apply_update(peer.sync_payload)
                    for _stamp, earlier in peer.frames[:index]:
                        doc.apply_update(earlier)
                doc.apply_update(payload)
                new_clock = writer_clock(doc, writer_id)
                cache[key] = new_clock
            elif doc is not None:
                doc.apply_update(payload)
            clock = new_clock
            while next_clock <= min(clock, last_clock):
                arrivals[next_clock] = stamp
                next_clock += 1
        results.append(arrivals)
    return results
