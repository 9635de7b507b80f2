"""Presence at class scale against a real server: coalesced relays, the policy by role,
and a reader too slow to keep up that cannot stall the room."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import socket
import struct
import time

from pycrdt import Text

from tandem.protocol import MessageType, SyncType, encode_sync
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, NO_SAVE
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share


class CountingPeer(YPeer):
    """Keeps every awareness frame it receives."""

    def __init__(self) -> None:
        super().__init__()
        self.awareness_frames: list[bytes] = []

    def _handle(self, message: bytes) -> None:
        if message and message[0] == MessageType.AWARENESS:
            self.awareness_frames.append(message)
        super()._handle(message)


async def open_counting(
    server: TandemServer, headers: dict[str, str] | None = None
) -> CountingPeer:
    session = await server.session("demo.ipynb")
    peer = CountingPeer()
    room = f"{session['format']}:{session['type']}:{session['fileId']}"
    await peer.connect(
        f"{server.ws_url}/api/collaboration/room/{room}?sessionId={session['sessionId']}",
        headers or server.headers,
    )
    await peer.wait_synced()
    return peer


async def test_awareness_is_relayed_once_per_tick_as_the_same_bytes(root, tmp_path):
    args = [*FAST, "--TandemApp.awareness_tick=0.5"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        first, second = await open_counting(server), await open_counting(server)
        publishers = [await YPeer.open(server, "demo.ipynb") for _ in range(12)]
        await asyncio.sleep(0.6)
        first.awareness_frames.clear()
        second.awareness_frames.clear()
        for peer in publishers:
            peer.send(_awareness(peer, {"cursor": peer.doc.client_id % 97}))
        await eventually(lambda: all(p.doc.client_id in first.awareness for p in publishers))
        await eventually(lambda: all(p.doc.client_id in second.awareness for p in publishers))
        # Twelve changes within one tick: one or two relayed messages, not twelve...
        assert len(first.awareness_frames) <= 3, len(first.awareness_frames)
        # ...and every peer was sent the same bytes.
        assert first.awareness_frames == second.awareness_frames
        for peer in [*publishers, first, second]:
            await peer.close()


def _awareness(peer: YPeer, state: dict) -> bytes:
    from tandem.protocol import AwarenessEntry, encode_awareness

    peer._awareness_clock += 1
    return encode_awareness([AwarenessEntry(peer.doc.client_id, peer._awareness_clock, state)])


async def _guest_peer(server: TandemServer, role: str, name: str) -> tuple[Guest, YPeer]:
    guest = Guest(server)
    invite = await share(server, role=role)
    await guest.join(invite["link"], name=name)
    return guest, await guest.peer("demo.ipynb")


async def test_viewers_see_the_presenter_and_editors_and_a_count_of_viewers(server):
    owner = await YPeer.open(server, "demo.ipynb")
    guests = []
    try:
        editor_guest, editor = await _guest_peer(server, "edit", "Eddie")
        ann_guest, ann = await _guest_peer(server, "view", "Ann")
        bob_guest, bob = await _guest_peer(server, "view", "Bob")
        guests = [editor_guest, ann_guest, bob_guest]
        for peer in (owner, editor, ann, bob):
            await peer.set_awareness({"cursor": 1})
        everyone = {p.doc.client_id for p in (editor, ann, bob)}
        # The owner (and an editor) see everyone.
        await eventually(lambda: everyone <= set(owner.awareness))
        await eventually(lambda: {owner.doc.client_id, ann.doc.client_id} <= set(editor.awareness))
        # A viewer sees the owner's and the editor's states and how many viewers there are.
        await eventually(lambda: (ann.awareness.get(0) or {}).get("tandem") == {"viewers": 2})
        assert owner.doc.client_id in ann.awareness and editor.doc.client_id in ann.awareness
        assert bob.doc.client_id not in ann.awareness
        # A late viewer is shown the same, at once.
        late_guest, late = await _guest_peer(server, "view", "Cy")
        guests.append(late_guest)
        await eventually(lambda: owner.doc.client_id in late.awareness)
        assert ann.doc.client_id not in late.awareness
        assert late.awareness[0] == {"tandem": {"viewers": 2}}
        # A viewer leaving updates the count.
        await bob.close()
        await eventually(lambda: ann.awareness[0] == {"tandem": {"viewers": 1}})
        for peer in (owner, editor, ann, late):
            await peer.close()
    finally:
        for guest in guests:
            await guest.close()


async def test_presence_policy_everyone_shows_viewers_to_viewers(root, tmp_path):
    args = [*FAST, "--TandemApp.presence_policy=everyone"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        ann_guest, ann = await _guest_peer(server, "view", "Ann")
        bob_guest, bob = await _guest_peer(server, "view", "Bob")
        await bob.set_awareness({"cursor": 1})
        await eventually(lambda: bob.doc.client_id in ann.awareness)
        assert 0 not in ann.awareness
        for peer in (ann, bob):
            await peer.close()
        await ann_guest.close()
        await bob_guest.close()


async def _stuck_socket(server: TandemServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket client that syncs and then stops reading."""
    session = await server.session("demo.ipynb")
    room = f"{session['format']}:{session['type']}:{session['fileId']}"
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 20)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET /api/collaboration/room/{room}?sessionId={session['sessionId']} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: token {server.token}\r\n\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 101 " in head
    payload = encode_sync(SyncType.STEP1, b"\x00")
    writer.write(bytes((0x82, 0x80 | len(payload))) + b"\x00\x00\x00\x00" + payload)
    await writer.drain()
    return reader, writer


async def _read_until_closed(reader: asyncio.StreamReader) -> int | None:
    """Read frames until the server's close frame or EOF; the close code if any."""
    while True:
        try:
            header = await reader.readexactly(2)
        except asyncio.IncompleteReadError:
            return None
        length = header[1] & 0x7F
        if length == 126:
            length = struct.unpack("!H", await reader.readexactly(2))[0]
        elif length == 127:
            length = struct.unpack("!Q", await reader.readexactly(8))[0]
        try:
            payload = await reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return None
        if header[0] & 0x0F == 0x8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


async def test_a_reader_that_falls_behind_is_closed_and_nobody_waits_for_it(root, tmp_path):
    # Saving a notebook of megabytes after every edit is not what this test is about.
    args = [*NO_SAVE, "--TandemApp.max_send_backlog=1048576"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        reader, writer = await _stuck_socket(server)
        author = await YPeer.open(server, "demo.ipynb")
        watcher = await YPeer.open(server, "demo.ipynb")
        source: Text = author.notebook.ycells[1]["source"]
        started = time.monotonic()
        # 12 MB: more than the socket buffers and the backlog hold, in edits small enough
        # that a reader keeping up is never a megabyte behind (500 KB edits closed it once).
        for i in range(200):
            source += f"# {i} " + "x" * 60_000 + "\n"
            await asyncio.sleep(0.01)
        await eventually(lambda: "# 199 " in str(watcher.notebook.ycells[1]["source"]), 60)
        # The watcher got everything while the stuck socket held megabytes back.
        assert time.monotonic() - started < 60
        await eventually(lambda: "closing it to resync" in server.log_tail(200), 30)
        # Said in the server's own log format, like every other line.
        (line,) = [x for x in server.log_tail(200).splitlines() if "closing it to resync" in x]
        assert re.match(r"\[W \d{4}-\d\d-\d\d [\d:.]+ ServerApp\] peer ", line), line
        code = await asyncio.wait_for(_read_until_closed(reader), 30)
        assert code in (4408, None)
        writer.close()
        assert not watcher.closed.is_set()
        await author.close()
        await watcher.close()


async def test_a_state_not_renewed_expires(root, tmp_path):
    """As in y-protocols: a state its client stopped renewing is announced as gone."""
    args = [*FAST, "--TandemApp.awareness_outdated_after=1"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        silent = await YPeer.open(server, "demo.ipynb")
        active = await YPeer.open(server, "demo.ipynb")
        observer = await YPeer.open(server, "demo.ipynb")
        await silent.set_awareness({"cursor": 1})
        await eventually(lambda: silent.doc.client_id in observer.awareness)
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:  # the active peer renews its state
            await active.set_awareness({"cursor": 2})
            await asyncio.sleep(0.3)
        assert observer.awareness.get(silent.doc.client_id) is None
        assert observer.awareness[active.doc.client_id]["cursor"] == 2
        assert not silent.closed.is_set()
        late = await YPeer.open(server, "demo.ipynb")
        await eventually(lambda: active.doc.client_id in late.awareness)
        assert silent.doc.client_id not in late.awareness
        for peer in (silent, active, observer, late):
            await peer.close()
