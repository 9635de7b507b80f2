"""4. Store on disk: its size after many edits, live and after a clean shutdown; then 5."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

from client import LeanPeer
from pycrdt import Doc

from scenarios.common import (
    Kind,
    Profile,
    Server,
    close_all,
    edit_and_wait,
    log,
    make_notebook,
    reference_rows,
    store_size,
    tandem_rows,
)
from scenarios.durability import bench_durability


async def bench_store(server: Server, profile: Profile) -> dict[str, Any]:
    path = "store.ipynb"
    writer = await LeanPeer.open(server.harness, path, doc=Doc())
    tracker = await LeanPeer.open(server.harness, path, doc=Doc())
    await asyncio.sleep(1.5)
    before = sum(store_size(server.kind, server.state).values())
    updates = math.ceil(profile.store_edits / profile.store_batch)
    seconds = await edit_and_wait(
        writer, tracker, profile.store_edits, batch=profile.store_batch, window=20
    )
    log(f"  {profile.store_edits} edits in {updates} updates relayed in {seconds:.1f} s")
    # wait until the store has caught up (the reference writes in the background)
    rows_fn = tandem_rows if server.kind.name == "tandem" else reference_rows
    t0 = time.monotonic()
    last_change = time.monotonic()
    last = None
    caught_up = False
    while time.monotonic() - t0 < 120:
        await asyncio.sleep(0.5)
        snapshot = (store_size(server.kind, server.state), rows_fn(server.state))
        if snapshot != last:
            last, last_change = snapshot, time.monotonic()
        rows = snapshot[1]
        if server.kind.name == "reference" and rows is not None and rows >= updates + 1:
            caught_up = True
            await asyncio.sleep(1.0)
            break
        if server.kind.name == "tandem" and time.monotonic() - last_change > 2.0:
            caught_up = True
            break
    wait = time.monotonic() - t0
    live = store_size(server.kind, server.state)
    rows = rows_fn(server.state)
    doc_update = len(tracker.doc.get_update())
    source_len = len(str(tracker.cell_source(0)))
    await close_all([writer, tracker])
    log(
        f"  store live {sum(live.values()) / 1024:.1f} KiB ({rows} update rows, "
        f"waited {wait:.1f} s), doc {doc_update / 1024:.1f} KiB"
    )
    return {
        "edits": profile.store_edits,
        "batch": profile.store_batch,
        "updates": updates,
        "relay_seconds": seconds,
        "store_before_bytes": before,
        "store_live_files": live,
        "store_live_bytes": sum(live.values()),
        "store_rows": rows,
        "store_caught_up": caught_up,
        "store_wait_seconds": wait,
        "doc_update_bytes": doc_update,
        "cell_source_chars": source_len,
    }


async def section_store(kind: Kind, profile: Profile, workdir: Path) -> dict[str, Any]:
    """4-5: store size, then durability (kill -9 and restart) on one fresh server."""
    server = Server(kind, workdir, "store")
    make_notebook(server.root / "store.ipynb", 10)
    make_notebook(server.root / "durability.ipynb", 10)
    out: dict[str, Any] = {}
    try:
        await server.start()
        out["store"] = await bench_store(server, profile)
        out["durability"] = await bench_durability(server, profile)
        await server.stop()
        # the store once the server has shut down cleanly (Tandem folds its WAL back)
        out["store"]["store_after_shutdown_files"] = store_size(kind, server.state)
        out["store"]["store_after_shutdown_bytes"] = sum(
            out["store"]["store_after_shutdown_files"].values()
        )
    finally:
        await server.stop(kill=True)
    return out
