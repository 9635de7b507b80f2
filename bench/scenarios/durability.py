"""5. Durability: edits a second peer has seen, then kill -9 and restart: how many survive."""

from __future__ import annotations

import time
from typing import Any

import nbformat
from client import LeanPeer
from pycrdt import Doc

from scenarios.common import EDIT_CHARS, Profile, Server, close_all, log
from tandem.testing import YPeer


async def bench_durability(server: Server, profile: Profile) -> dict[str, Any]:
    path = "durability.ipynb"
    original = nbformat.read(str(server.root / path), as_version=4).cells[0].source
    writer = await LeanPeer.open(server.harness, path, doc=Doc())
    second = await LeanPeer.open(server.harness, path, doc=Doc())
    cid = writer.doc.client_id
    start = writer.clock_of(cid)
    text = writer.cell_source(0)
    inserted = "".join(EDIT_CHARS[i % len(EDIT_CHARS)] for i in range(profile.durability_edits))
    for ch in inserted:
        text += ch
    seen = await second.wait_clock(cid, start + profile.durability_edits, 60)
    seen_at = time.perf_counter()
    await server.stop(kill=True)
    killed_after = (time.perf_counter() - seen_at) * 1000
    await close_all([writer, second])
    await server.start()
    peer = await YPeer.open(server.harness, path)
    source = str(peer.notebook.ycells[0]["source"])
    await peer.close()
    if source == original:
        survived = 0
    elif source.startswith(original) and inserted.startswith(source[len(original) :]):
        survived = len(source) - len(original)
    else:
        survived = -1  # something else came back; see the JSON
    on_disk = nbformat.read(str(server.root / path), as_version=4).cells[0].source
    log(f"  durability: {survived}/{profile.durability_edits} edits survived kill -9")
    return {
        "edits": profile.durability_edits,
        "seen_by_second_peer": seen,
        "killed_ms_after_seen": killed_after,
        "survived": survived,
        "source_after_restart": source if survived < 0 else None,
        "file_had_edits_at_restart": len(on_disk) - len(original)
        if on_disk.startswith(original)
        else None,
    }
