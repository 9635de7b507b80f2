"""1. Cold sync: a notebook the server has never opened, from the session request to a
synced peer.

Sections 1 and 2 run on both servers at once (started side by side, used in turn),
alternating which goes first, so that drifting background load on the machine falls on
both alike. Only one server is ever being measured at a time.
"""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from scenarios.common import Profile, Server, log
from tandem.testing import YPeer


async def bench_cold(
    servers: list[Server], profile: Profile, notebooks: dict[int, Path]
) -> dict[str, dict[str, Any]]:
    times: dict[str, dict[int, list[float]]] = {
        s.kind.name: {size: [] for size in profile.cold_sizes} for s in servers
    }
    for size in profile.cold_sizes:
        for rep in range(profile.cold_repeats):
            for server in servers if rep % 2 == 0 else servers[::-1]:
                name = f"cold-{size}-{rep}.ipynb"  # a file this server has never opened
                shutil.copy(notebooks[size], server.root / name)
                t0 = time.perf_counter()
                peer = await YPeer.open(server.harness, name)
                elapsed = time.perf_counter() - t0
                cells = len(peer.notebook.ycells)
                await peer.close()
                if cells != size:
                    raise RuntimeError(f"{server.kind.name}: synced {cells} cells, expected {size}")
                times[server.kind.name][size].append(elapsed * 1000)
        medians = ", ".join(f"{k} {statistics.median(v[size]):.1f} ms" for k, v in times.items())
        log(f"  cold sync {size} cells: {medians}")
    return {
        kind: {
            str(size): {"median_ms": statistics.median(runs), "runs_ms": runs}
            for size, runs in per_size.items()
        }
        for kind, per_size in times.items()
    }
