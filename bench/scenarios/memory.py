"""3. Memory: RSS at rest, per open room, after many edits, and after rooms are evicted."""

from __future__ import annotations

import asyncio
import shutil
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
    tandem_rows,
)
from tandem.testing import YPeer


async def bench_memory(server: Server, profile: Profile, warm: Path) -> dict[str, Any]:
    shutil.copy(warm, server.root / "warm.ipynb")
    for i in range(profile.memory_rooms):
        make_notebook(server.root / f"mem-{i}.ipynb", profile.memory_cells, seed=f" ({i})")
    await server.start()
    # warm-up: one room opened, edited, closed and evicted, so one-time costs
    # (imports, caches, the notebook signing key) are not counted per room
    peer = await YPeer.open(server.harness, "warm.ipynb")
    peer.notebook.ycells[0]["source"] += "#"
    await peer.flush()
    await asyncio.sleep(0.5)
    await peer.close()
    base = await server.settled_rss_mib(wait=2.5)
    log(f"  memory baseline {base:.1f} MiB")
    peers = []
    for i in range(profile.memory_rooms):
        peers.append(await LeanPeer.open(server.harness, f"mem-{i}.ipynb"))
    opened = await server.settled_rss_mib(wait=1.5)
    per_room = (opened - base) / profile.memory_rooms
    log(
        f"  {profile.memory_rooms} rooms of {profile.memory_cells} cells open: {opened:.1f} MiB "
        f"({per_room:.1f} MiB/room)"
    )
    writer = await LeanPeer.open(server.harness, "mem-0.ipynb", doc=Doc())
    tracker = await LeanPeer.open(server.harness, "mem-0.ipynb", doc=Doc())
    seconds = await edit_and_wait(writer, tracker, profile.memory_edits)
    edited = await server.settled_rss_mib(wait=2.0)
    rows = (tandem_rows if server.kind.name == "tandem" else reference_rows)(server.state)
    log(
        f"  after {profile.memory_edits} edits to one cell ({seconds:.1f} s): {edited:.1f} MiB "
        f"(store rows then: {rows})"
    )
    await close_all([*peers, writer, tracker])
    # evict delay 1 s, then saving and cleanup; sample until it stops falling
    evicted = await server.settled_rss_mib(wait=3.0)
    for _ in range(3):
        again = await server.settled_rss_mib(wait=1.0)
        if again >= evicted - 0.5:
            evicted = min(evicted, again)
            break
        evicted = again
    # Tandem logs "evicted room <id>"; the reference "Room <id> deleted" when a room goes
    needle = "evicted room" if server.kind.name == "tandem" else " deleted\n"
    evictions = server.log_count(needle)
    log(
        f"  after all rooms closed: {evicted:.1f} MiB "
        f"({evictions} of {profile.memory_rooms + 1} rooms evicted by then)"
    )
    return {
        "rooms": profile.memory_rooms,
        "cells": profile.memory_cells,
        "baseline_mib": base,
        "rooms_open_mib": opened,
        "per_room_mib": per_room,
        "edits": profile.memory_edits,
        "edit_seconds": seconds,
        "after_edits_mib": edited,
        "edits_delta_mib": edited - opened,
        "store_rows_at_edits_measure": rows,
        "after_evict_mib": evicted,
        "retained_mib": evicted - base,
        "rooms_evicted": evictions,
        "rooms_to_evict": profile.memory_rooms + 1,
    }


async def section_memory(
    kind: Kind, profile: Profile, workdir: Path, notebooks: dict[int, Path]
) -> dict[str, Any]:
    """3: memory, on a fresh server that evicts idle rooms after 1 s."""
    server = Server(kind, workdir, "memory", kind.evict_args)
    try:
        return await bench_memory(server, profile, notebooks[10])
    finally:
        await server.stop(kill=True)
