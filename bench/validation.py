#!/usr/bin/env python
"""The cost of checking peers' updates before yrs sees them, and of waiting updates.

    .venv/bin/python bench/validation.py

In-process, no server. Prints, per kind of update, the time of
``tandem.documents.updates.inspect_update`` against the time yrs takes to apply the same
update (p50/p99 over many samples), then the pending-flood case: 600 tiny updates whose
first struct never arrives, sent to a room, and a healthy peer's updates meanwhile.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from pycrdt import Doc, Text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from stats import percentile  # noqa: E402

from tandem.documents.model import new_document  # noqa: E402
from tandem.documents.updates import inspect_update  # noqa: E402
from tandem.protocol import SyncType, encode_sync  # noqa: E402
from tandem.rooms.room import Room, WriteLimits  # noqa: E402


def timed(fn, samples: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)


def keystrokes(count: int) -> tuple[bytes, list[bytes]]:
    doc = Doc()
    text = doc.get("t", type=Text)
    text += "start "
    base = doc.get_update()
    updates = []
    for i in range(count):
        before = doc.get_state()
        text.insert(len(str(text)) // 2, "abcdefghij"[i % 10])
        updates.append(doc.get_update(before))
    return base, updates


def notebook(cells: int) -> bytes:
    doc = Doc()
    new_document("notebook", doc).set(
        {
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
            "cells": [
                {
                    "cell_type": "code",
                    "source": f"# cell {i}\nimport math\nprint(math.sqrt({i}))\n" * 3,
                    "metadata": {},
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": f"{i}\n"}],
                    "execution_count": i,
                }
                for i in range(cells)
            ],
        }
    )
    return doc.get_update()


def row(name: str, size: int, check: list[float], apply: list[float]) -> None:
    p50c, p99c = percentile(check, 50) * 1e6, percentile(check, 99) * 1e6
    p50a, p99a = percentile(apply, 50) * 1e6, percentile(apply, 99) * 1e6
    print(
        f"{name:<28} {size:>9} B  check p50 {p50c:9.1f} us  p99 {p99c:9.1f} us"
        f"   apply p50 {p50a:9.1f} us  p99 {p99a:9.1f} us   check/apply {p50c / p50a:5.2f}"
    )


def bench_validation() -> None:
    base, updates = keystrokes(2000)
    check = sorted(
        t
        for u in updates
        for t in timed(lambda u=u: inspect_update(u), 1)  # type: ignore[misc]
    )
    doc = Doc()
    doc.apply_update(base)
    apply = sorted(t for u in updates for t in timed(lambda u=u: doc.apply_update(u), 1))  # type: ignore[misc]
    row("keystroke", sum(map(len, updates)) // len(updates), check, apply)

    paste_doc = Doc()
    paste_doc.get("t", type=Text).insert(0, "x = 1\n" * 2000)
    paste = paste_doc.get_update()
    row(
        "paste (12 kB)",
        len(paste),
        timed(lambda: inspect_update(paste), 200),
        timed(lambda: Doc().apply_update(paste), 200),
    )
    for cells in (50, 500):
        whole = notebook(cells)
        samples = 30 if cells > 100 else 100
        row(
            f"whole notebook, {cells} cells",
            len(whole),
            timed(lambda whole=whole: inspect_update(whole), samples),  # type: ignore[misc]
            timed(lambda whole=whole: Doc().apply_update(whole), samples),  # type: ignore[misc]
        )


class Sink:
    def __init__(self, peer_id: str) -> None:
        self.peer_id = peer_id
        self.identity: dict[str, str] = {}
        self.can_write = True
        self.closed: tuple[int, str] | None = None

    def send(self, message: bytes) -> None:
        pass

    def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)


async def bench_flood() -> None:
    room = Room("bench")
    room.limits = WriteLimits(max_waiting_updates=0, max_waiting_per_peer=0)  # no caps
    flooder, healthy = Sink("flooder"), Sink("healthy")
    room.join(flooder)
    room.join(healthy)
    orphan_doc = Doc(client_id=77)
    orphan_text = orphan_doc.get("t", type=Text)
    orphan_text += "never sent"
    orphans = []
    for i in range(600):
        before = orphan_doc.get_state()
        orphan_text += str(i % 10)
        orphans.append(encode_sync(SyncType.UPDATE, orphan_doc.get_update(before)))
    absorbing = []
    for frame in orphans:
        begin = time.perf_counter()
        await room.receive(flooder, frame)
        absorbing.append(time.perf_counter() - begin)
    absorbed = sum(absorbing)
    absorbing.sort()
    healthy_base, healthy_updates = keystrokes(500)
    await room.receive(healthy, encode_sync(SyncType.UPDATE, healthy_base))
    times = []
    for update in healthy_updates:
        frame = encode_sync(SyncType.UPDATE, update)
        begin = time.perf_counter()
        await room.receive(healthy, frame)
        times.append(time.perf_counter() - begin)
    times.sort()
    print(
        f"pending flood: 600 orphan updates absorbed in {absorbed * 1e3:.1f} ms"
        f" (each p50 {percentile(absorbing, 50) * 1e6:.0f} us,"
        f" p99 {percentile(absorbing, 99) * 1e6:.0f} us; {room.waiting_updates()} waiting);"
        " a healthy update meanwhile:"
        f" p50 {percentile(times, 50) * 1e6:.0f} us, p99 {percentile(times, 99) * 1e6:.0f} us"
    )
    await room.stop()


def main() -> None:
    bench_validation()
    asyncio.run(bench_flood())


if __name__ == "__main__":
    main()
