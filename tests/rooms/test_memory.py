"""Memory follows the live documents, not the edit history.

RSS includes the allocator's high-water mark, so the test first runs one full cycle
(open, 10,000 remote edits, close, evict) to warm it, then measures a second cycle: a
server that kept anything per edit (an undo history, a log in memory) or per room grows
again; one that does not stays flat.
"""

from __future__ import annotations

import asyncio

from pycrdt import Text

from tandem.testing import TandemServer, YPeer
from tests.eventually import eventually

MiB = 1024 * 1024


async def edit_cycle(server: TandemServer, path: str, edits: int) -> int:
    """Open a room, make ``edits`` one-character remote edits, close; return peak RSS."""
    writer = await YPeer.open(server, path)
    watcher = await YPeer.open(server, path)
    source: Text = writer.notebook.ycells[1]["source"]
    watched: Text = watcher.notebook.ycells[1]["source"]
    for _ in range(edits // 1000):  # paced, so queues (not the server's state) stay small
        for _ in range(1000):
            source += "x"
        expected = len(str(source))
        await eventually(lambda n=expected: len(str(watched)) == n, timeout=60)
    peak = server.memory_rss()
    await writer.close()
    await watcher.close()
    return peak


async def test_memory_does_not_grow_with_edits_or_closed_rooms(server, root):
    await edit_cycle(server, "demo.ipynb", 10_000)
    await asyncio.sleep(2.5)  # past the 1 s eviction delay
    baseline = server.memory_rss()
    peak = await edit_cycle(server, "demo.ipynb", 10_000)
    await asyncio.sleep(2.5)
    end = server.memory_rss()
    print(f"rss MiB: baseline {baseline / MiB:.1f}, peak {peak / MiB:.1f}, end {end / MiB:.1f}")
    assert peak - baseline < 8 * MiB
    assert end - baseline < 4 * MiB
