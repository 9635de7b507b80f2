"""Bad input gets a clean close code or a 4xx; the room, its file and other peers are fine."""

from __future__ import annotations

import os

import pytest
from pycrdt import Text

from tandem.protocol import encode_var_bytes
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, MODULE_LOOP
from tests.eventually import eventually

# One server for the module (the oversized-message test starts its own, with a limit).
pytestmark = MODULE_LOOP

BAD_FRAMES = {
    "empty": b"",
    "truncated varint": b"\x80",
    "overlong varint": b"\xff" * 12,
    "unknown message type": b"\x07\x00",
    "unknown sync type": b"\x00\x09" + encode_var_bytes(b"\x00"),
    "length past end": b"\x00\x02\x7f\x01",
    "trailing bytes": b"\x00\x02" + encode_var_bytes(b"\x00\x00") + b"junk",
    "update that does not decode": b"\x00\x02" + encode_var_bytes(b"\x05\x01\xff\xff\xff"),
    "state vector that does not decode": b"\x00\x00" + encode_var_bytes(b"\x03\x01"),
    "awareness not json": b"\x01" + encode_var_bytes(b"\x01\x01\x01" + encode_var_bytes(b"{nope")),
    "awareness truncated": b"\x01" + encode_var_bytes(b"\x02\x01"),
    "raw unknown command": b"\x02" + encode_var_bytes(b"delete-everything"),
}


@pytest.mark.parametrize("frame", list(BAD_FRAMES.values()), ids=list(BAD_FRAMES))
async def test_malformed_frame_closes_only_that_peer(
    module_server, module_root, fresh_notebook, frame
):
    server, root, notebook = module_server, module_root, fresh_notebook
    before = (root / notebook).read_bytes()
    good = await YPeer.open(server, notebook)
    bad = await YPeer.open(server, notebook)
    await bad.send_raw_bytes(frame)
    await eventually(lambda: bad.closed.is_set())
    assert bad.close_code == 1007
    assert not good.closed.is_set()
    # The room still works for the good peer, and a newcomer sees the same document.
    source: Text = good.notebook.ycells[1]["source"]
    source += "\n# still alive"
    newcomer = await YPeer.open(server, notebook)
    await eventually(lambda: str(newcomer.notebook.ycells[1]["source"]).endswith("# still alive"))
    assert len(newcomer.notebook.ycells) == 3
    await eventually(lambda: (root / notebook).read_bytes() != before)
    await good.close()
    await newcomer.close()


async def test_text_frame_is_refused(module_server):
    server = module_server
    peer = await YPeer.open(server, "demo.ipynb")
    await peer.ws.send("hello")
    await eventually(lambda: peer.closed.is_set())
    assert peer.close_code == 1007


async def test_oversized_message_is_refused(root, tmp_path):
    async with TandemServer(
        root, tmp_path / "state", args=[*FAST, "--TandemApp.max_message_size=65536"]
    ) as server:
        good = await YPeer.open(server, "demo.ipynb")
        big = await YPeer.open(server, "demo.ipynb")
        source: Text = big.notebook.ycells[1]["source"]
        source += "x" * 100_000
        await eventually(lambda: big.closed.is_set())
        assert big.close_code == 1009
        newcomer = await YPeer.open(server, "demo.ipynb")
        assert "x" * 1000 not in str(newcomer.notebook.ycells[1]["source"])
        assert not good.closed.is_set()
        for peer in (good, newcomer):
            await peer.close()


@pytest.mark.parametrize(
    "path",
    [
        "../outside.ipynb",
        "sub/../../outside.ipynb",
        "%2e%2e/outside.ipynb",
        "%252e%252e/outside.ipynb",
        "link-out/outside.ipynb",
        "demo.ipynb%00.txt",
    ],
)
async def test_session_paths_outside_root_are_refused(module_server, module_root, path):
    server, root = module_server, module_root
    (root.parent / "outside.ipynb").write_text("{}")
    os.makedirs(root / "sub", exist_ok=True)
    if not (root / "link-out").exists():
        os.symlink(root.parent, root / "link-out")
    status, body = await server.arequest(
        "PUT", f"/api/collaboration/session/{path}", {"format": "json", "type": "notebook"}
    )
    assert status in (400, 404), body
    assert (root.parent / "outside.ipynb").read_text() == "{}"


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"format": 1, "type": "notebook"}',
        b'{"format": "binary", "type": "blob"}',
    ],
)
async def test_bad_session_bodies_get_400(module_server, body):
    server = module_server
    status, _ = await server.arequest("PUT", "/api/collaboration/session/demo.ipynb", body)
    assert status == 400


async def test_missing_file_gets_404(module_server):
    server = module_server
    status, _ = await server.arequest(
        "PUT", "/api/collaboration/session/nope.ipynb", {"format": "json", "type": "notebook"}
    )
    assert status == 404


async def test_unknown_room_ids_close_cleanly(module_server):
    server = module_server
    for room in ("json:notebook:not-a-file-id", "no-colons-here", "xml:weird:abc"):
        peer = YPeer()
        await peer.connect(f"{server.ws_url}/api/collaboration/room/{room}", server.headers)
        await eventually(peer.closed.is_set)
        assert peer.close_code in (4400, 4404), room


async def test_unauthenticated_requests_are_refused(module_server):
    server = module_server
    status, _ = await server.arequest(
        "PUT",
        "/api/collaboration/session/demo.ipynb",
        {"format": "json", "type": "notebook"},
        headers={"Authorization": ""},
    )
    assert status == 403
    import websockets

    session = await server.session("demo.ipynb")
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(
            f"{server.ws_url}/api/collaboration/room/json:notebook:{session['fileId']}"
        )


async def test_cross_origin_websocket_with_login_cookie_is_refused(module_server):
    """A page on another origin must not ride the owner's login cookie into a room.
    (Token-header requests cannot come from a foreign page, so only cookies matter.)"""
    server = module_server
    import urllib.request

    import websockets

    opener = urllib.request.build_opener()
    with opener.open(f"{server.http_url}/tandem/?token={server.token}") as resp:
        cookies = [c.split(";")[0] for c in resp.headers.get_all("Set-Cookie") or []]
    cookie = "; ".join(c for c in cookies if c.startswith("username-"))
    assert cookie
    session = await server.session("demo.ipynb")
    url = f"{server.ws_url}/api/collaboration/room/json:notebook:{session['fileId']}"
    with pytest.raises(websockets.InvalidStatus):
        await websockets.connect(
            url, additional_headers={"Cookie": cookie}, origin="http://evil.example"
        )
    same_origin = await websockets.connect(
        url, additional_headers={"Cookie": cookie}, origin=server.http_url
    )
    await same_origin.close()
