"""Memory follows the live documents, not the edit history."""

from __future__ import annotations

import asyncio

from pycrdt import Text

from tandem.testing import YPeer
from tests.eventually import eventually

MiB = 1024 * 1024


async def type_edits(writer: YPeer, watcher: YPeer, count: int, start: int = 0) -> None:
    source: Text = writer.notebook.ycells[1]["source"]
    for i in range(start, start + count):
        source += "x"
        if i % 500 == 499:
            await asyncio.sleep(0)  # let the socket drain
    expected = len(str(source))
    await eventually(lambda: len(str(watcher.notebook.ycells[1]["source"])) == expected, timeout=60)


async def test_memory_returns_after_10000_edits_and_eviction(server):
    # Warm up: one open/close cycle so imports and caches are paid for.
    warm = await YPeer.open(server, "demo.ipynb")
    await warm.close()
    await asyncio.sleep(2.0)  # past the 1 s eviction delay
    baseline = server.memory_rss()

    writer = await YPeer.open(server, "demo.ipynb")
    watcher = await YPeer.open(server, "demo.ipynb")
    await type_edits(writer, watcher, 2_000)
    after_2k = server.memory_rss()
    await type_edits(writer, watcher, 8_000, start=2_000)
    after_10k = server.memory_rss()
    await writer.close()
    await watcher.close()

    async def evicted_and_back_near_baseline():
        status, _ = await server.arequest("GET", "/api/status")
        assert status == 200
        assert server.memory_rss() - baseline < 16 * MiB

    await eventually(evicted_and_back_near_baseline, timeout=30)
    print(f"rss MiB: baseline {baseline / MiB:.1f}, 2k {after_2k / MiB:.1f}, 10k {after_10k / MiB:.1f}, end {server.memory_rss() / MiB:.1f}")
    # 8,000 more edits to one cell cost far less than their history would.
    assert after_10k - after_2k < 12 * MiB, (after_2k / MiB, after_10k / MiB)
