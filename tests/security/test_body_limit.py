"""Item 10: Tandem's endpoints refuse large bodies before reading them.

The attack: unauthenticated 128 MiB bodies were buffered whole (Jupyter's 512 MiB
``max_body_size``) before any check ran. A server that buffers never answers until the
whole body has arrived; one that limits answers right after the headers.
"""

from __future__ import annotations

import asyncio

import pytest

DECLARED = 128 * 1024 * 1024


async def post_huge(port: int, path: str, chunked: bool = False) -> bytes:
    """Send the headers and the start of a huge body; return what the server says
    within a few seconds (b"" if it says nothing: it is waiting for the rest)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {DECLARED}\r\n"
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n".encode()
    )
    block = b"a" * (64 * 1024)
    try:
        for _ in range(1 if not chunked else 40):
            writer.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
            await writer.drain()
    except ConnectionError:
        pass  # the server refused and closed while we were still sending: read its answer
    try:
        return await asyncio.wait_for(reader.read(200), timeout=5)
    except (asyncio.TimeoutError, ConnectionError):
        return b""
    finally:
        writer.close()


@pytest.mark.parametrize(
    "path", ["/tandem/join/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/api/collaboration/session/x.ipynb"]
)
async def test_huge_declared_body_is_refused_before_it_is_read(server, path):
    answer = await post_huge(server.port, path)
    assert answer.startswith(b"HTTP/1.1 400"), answer


async def test_huge_chunked_body_is_refused_while_it_streams(server):
    answer = await post_huge(server.port, "/tandem/api/invitations", chunked=True)
    assert answer.startswith(b"HTTP/1.1 400"), answer


async def test_small_bodies_still_work(server):
    status, body = await server.arequest(
        "POST", "/tandem/api/invitations", {"path": "demo.ipynb", "role": "view"}
    )
    assert status == 201, body
