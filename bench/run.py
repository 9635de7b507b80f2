#!/usr/bin/env python
"""Tandem against the reference server (jupyter-collaboration 5.0.4), side by side.

    .venv/bin/python bench/run.py            # full run, about 5 minutes
    .venv/bin/python bench/run.py --quick    # smaller run, under 2 minutes

Both servers run as subprocesses (``tandem.testing.TandemServer``) with the same
notebooks and the same clients; only one is being measured at any time. Results: a
table on stdout and ``bench/results/latest.json``. See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import math
import os
import platform
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from pycrdt import Doc

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from client import LeanPeer, edit_arrivals

from tandem.testing import TandemServer, YPeer

REF_VENV = BENCH / ".venv-ref"
REF_VERSION = "5.0.4"
LATENCY_LIMIT_MS = 100.0
WARMUP_SECONDS = 0.5  # edits at the measured rate before each latency measurement
ROOM_SETTLE_SECONDS = 1.0  # idle time after a room opens, before any measurement
RETRY_BELOW_MS = 1000.0  # a sustained-rate step failing with p99 under this is retried once
DRAIN_SECONDS = 5.0  # how long edits may take to arrive after the last one is sent
EDIT_CHARS = "abcdefghijklmnopqrstuvwxyz"


# -- settings ----------------------------------------------------------------------------


@dataclass
class Profile:
    name: str
    cold_sizes: list[int]
    cold_repeats: int
    fanout_peers: list[int]
    fanout_rates: list[int]
    fanout_seconds: float
    fanout_rounds: int
    sustain_peers: int
    sustain_rates: list[int]
    sustain_seconds: float
    memory_rooms: int
    memory_cells: int
    memory_edits: int
    store_edits: int
    store_batch: int
    durability_edits: int


FULL = Profile(
    name="full",
    cold_sizes=[10, 500, 2000],
    cold_repeats=3,
    fanout_peers=[2, 10, 50],
    fanout_rates=[50, 200],
    fanout_seconds=3.0,
    fanout_rounds=2,
    sustain_peers=10,
    sustain_rates=[100, 200, 400, 800, 1600],
    sustain_seconds=3.0,
    memory_rooms=10,
    memory_cells=500,
    memory_edits=10_000,
    store_edits=100_000,
    store_batch=100,
    durability_edits=200,
)

QUICK = Profile(
    name="quick",
    cold_sizes=[10, 500],
    cold_repeats=3,
    fanout_peers=[2, 10],
    fanout_rates=[50, 200],
    fanout_seconds=1.5,
    fanout_rounds=1,
    sustain_peers=10,
    sustain_rates=[100, 400],
    sustain_seconds=1.5,
    memory_rooms=5,
    memory_cells=500,
    memory_edits=2_000,
    store_edits=20_000,
    store_batch=100,
    durability_edits=200,
)


@dataclass
class Kind:
    """How to run one of the two servers."""

    name: str  # "tandem" or "reference"
    command: list[str] | None
    evict_args: list[str]
    args: list[str] = field(default_factory=list)

    def store_files(self, state_dir: Path) -> list[Path]:
        if self.name == "tandem":
            folder = state_dir / "data" / "tandem"
            return sorted(folder.glob("tandem.sqlite*")) if folder.exists() else []
        # jupyter-collaboration's SQLiteYStore: '.jupyter_ystore.db' in the server's
        # working directory (its default db_path), plus its rollback journal if any.
        return sorted(p for p in state_dir.glob(".jupyter_ystore.db*"))


def tandem_kind() -> Kind:
    return Kind("tandem", None, ["--TandemApp.room_evict_delay=1"])


def reference_kind() -> Kind:
    return Kind(
        "reference",
        [str(REF_VENV / "bin" / "jupyter-server")],
        ["--YDocExtension.document_cleanup_delay=1"],
    )


# -- helpers -----------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def make_notebook(path: Path, cells: int, seed: str = "") -> None:
    """``cells`` cells: every fifth markdown, the rest code; half of the code cells
    carry a small stream output."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    code_index = 0
    for i in range(cells):
        if i % 5 == 4:
            cell = nbformat.v4.new_markdown_cell(
                f"## Step {i}{seed}\n\nWhat the next cells compute.", id=f"md-{i}"
            )
        else:
            cell = nbformat.v4.new_code_cell(
                f"import math\nvalue_{i} = math.sqrt({i})\nprint(value_{i})",
                id=f"code-{i}",
                execution_count=None,
            )
            if code_index % 2 == 0:
                cell.execution_count = i + 1
                cell.outputs = [
                    nbformat.v4.new_output("stream", name="stdout", text=f"{math.sqrt(i)}\n")
                ]
            code_index += 1
        nb.cells.append(cell)
    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (may hold inf for lost edits)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def store_size(kind: Kind, state_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in kind.store_files(state_dir) if p.exists()}


def reference_rows(state_dir: Path) -> int | None:
    """Updates the reference's store holds so far (read-only peek while it runs)."""
    path = state_dir / ".jupyter_ystore.db"
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT count(*) FROM yupdates").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return None


def tandem_rows(state_dir: Path) -> int | None:
    path = state_dir / "data" / "tandem" / "tandem.sqlite"
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return int(conn.execute("SELECT count(*) FROM updates").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return None


class Server:
    """A TandemServer started with its own folder as working directory (where the
    reference keeps its store by default)."""

    def __init__(
        self, kind: Kind, workdir: Path, label: str, extra_args: list[str] | None = None
    ) -> None:
        self.kind = kind
        self.base = workdir / kind.name / label
        self.root = self.base / "root"
        self.state = self.base / "state"
        self.root.mkdir(parents=True, exist_ok=True)
        self.state.mkdir(parents=True, exist_ok=True)
        self.harness = TandemServer(
            self.root, self.state, command=kind.command, args=[*kind.args, *(extra_args or [])]
        )

    async def start(self) -> None:
        # The child inherits the working directory; nothing else in the benchmark
        # uses relative paths, so changing it for the start is harmless.
        old = os.getcwd()
        os.chdir(self.state)
        try:
            await self.harness.start(timeout=120)
        finally:
            os.chdir(old)

    async def stop(self, kill: bool = False) -> None:
        await self.harness.stop(kill=kill)

    def rss_mib(self) -> float:
        return self.harness.memory_rss() / 2**20

    async def settled_rss_mib(self, wait: float = 1.0, samples: int = 3) -> float:
        await asyncio.sleep(wait)
        values = []
        for _ in range(samples):
            values.append(self.rss_mib())
            await asyncio.sleep(0.2)
        return statistics.median(values)

    def log_count(self, needle: str) -> int:
        try:
            return self.harness.log_path.read_text(errors="replace").count(needle)
        except OSError:
            return 0


async def close_all(peers: list[Any]) -> None:
    await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)


async def open_lean(server: Server, path: str, count: int, **kwargs: Any) -> list[LeanPeer]:
    peers = []
    for _ in range(count):
        peers.append(await LeanPeer.open(server.harness, path, **kwargs))
    return peers


async def edit_and_wait(
    writer: LeanPeer,
    tracker: LeanPeer,
    edits: int,
    *,
    batch: int = 1,
    window: int = 200,
    timeout: float = 300.0,
) -> float:
    """``edits`` one-character inserts at the end of cell 0, ``batch`` of them per
    update (one transaction each), at most ``window`` updates in flight; returns the
    seconds until ``tracker`` has them all."""
    text = writer.cell_source(0)
    cid = writer.doc.client_id
    start_clock = writer.clock_of(cid)
    t0 = time.perf_counter()
    done = 0
    updates = 0
    while done < edits:
        n = min(batch, edits - done)
        if n == 1:
            text += EDIT_CHARS[done % len(EDIT_CHARS)]
        else:
            with writer.doc.transaction():
                for j in range(n):
                    text += EDIT_CHARS[(done + j) % len(EDIT_CHARS)]
        done += n
        updates += 1
        if updates % window == 0:
            # keep at most one window in flight
            if not await tracker.wait_clock(cid, start_clock + done - window * batch, timeout):
                raise TimeoutError("edits are not arriving")
            await asyncio.sleep(0)
    if not await tracker.wait_clock(cid, start_clock + edits, timeout):
        raise TimeoutError(f"only {tracker.clock_of(cid) - start_clock} of {edits} edits arrived")
    return time.perf_counter() - t0


# -- 1. cold sync ------------------------------------------------------------------------
#
# Sections 1 and 2 run on both servers at once (started side by side, used in turn),
# alternating which goes first, so that drifting background load on the machine
# falls on both alike. Only one server is ever being measured at a time.


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


# -- 2. fan-out latency ------------------------------------------------------------------


async def paced_edits(writer: LeanPeer, count: int, rate: float) -> tuple[list[float], float]:
    """``count`` one-character edits at ``rate`` per second; returns each edit's send
    time and the achieved rate."""
    text = writer.cell_source(0)
    sent: list[float] = []
    t0 = time.perf_counter()
    k = 0
    while k < count:
        due = min(count, int((time.perf_counter() - t0) * rate) + 1)
        while k < due:
            text += EDIT_CHARS[k % len(EDIT_CHARS)]
            sent.append(time.perf_counter())
            k += 1
        delay = t0 + k / rate - time.perf_counter()
        await asyncio.sleep(max(delay, 0))
    span = sent[-1] - sent[0] if len(sent) > 1 else 0.0
    achieved = (len(sent) - 1) / span if span > 0 else float(rate)
    return sent, achieved


async def drain(
    writer: LeanPeer, receivers: list[LeanPeer], tracker: LeanPeer, clock: int, timeout: float
) -> bool:
    """Wait until every receiver has the writer's edits up to ``clock``."""
    cid = writer.doc.client_id
    deadline = time.monotonic() + timeout
    if not await tracker.wait_clock(cid, clock, timeout):
        return False
    target = tracker.update_count
    while any(r.update_count < target for r in receivers):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


@dataclass
class Room:
    """One writer and its receiving peers in one room of one server."""

    server: Server
    writer: LeanPeer
    receivers: list[LeanPeer]
    tracker: LeanPeer

    @classmethod
    async def open(cls, server: Server, path: str, peers: int) -> Room:
        make_notebook(server.root / path, 10)
        writer = await LeanPeer.open(server.harness, path, doc=Doc())
        tracker = await LeanPeer.open(server.harness, path, doc=Doc(), record=True)
        receivers = [tracker, *await open_lean(server, path, peers - 1, record=True)]
        await asyncio.sleep(ROOM_SETTLE_SECONDS)
        return cls(server, writer, receivers, tracker)

    async def close(self) -> None:
        await close_all([self.writer, *self.receivers])

    async def measure(self, rate: int, seconds: float) -> tuple[dict[str, Any], list[float]]:
        """Edits at ``rate`` for ``seconds``; returns a summary and every delivery's
        latency in ms (inf for an edit a peer never got)."""
        writer, receivers, tracker = self.writer, self.receivers, self.tracker
        cid = writer.doc.client_id
        # warm-up at the same rate, delivered, not measured
        await paced_edits(writer, max(5, int(rate * WARMUP_SECONDS)), rate)
        await drain(writer, receivers, tracker, writer.clock_of(cid), 30)
        first = writer.clock_of(cid) + 1
        count = max(10, int(rate * seconds))
        # The client's own garbage collector would pause its event loop for tens of
        # milliseconds (all those recorded frames) and show up as server latency.
        gc.collect()
        gc.disable()
        try:
            sent, achieved = await paced_edits(writer, count, rate)
            last = first + count - 1
            # an edit still undelivered DRAIN_SECONDS after the last was sent is lost
            drained = await drain(writer, receivers, tracker, last, DRAIN_SECONDS)
        finally:
            gc.enable()
        latencies: list[float] = []
        for per_peer in edit_arrivals(receivers, cid, first, last):
            for i in range(count):
                stamp = per_peer.get(first + i)
                latencies.append(math.inf if stamp is None else (stamp - sent[i]) * 1000)
        return {"achieved_rate": achieved, "edits": count, "drained": drained}, latencies


def summarize(latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "deliveries": len(ordered),
        "lost": sum(1 for v in ordered if math.isinf(v)),
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1] if ordered else math.nan,
    }


async def bench_fanout(servers: list[Server], profile: Profile) -> dict[str, dict[str, Any]]:
    pooled: dict[str, dict[tuple[int, int], list[float]]] = {s.kind.name: {} for s in servers}
    runs: dict[str, dict[tuple[int, int], list[dict[str, Any]]]] = {
        s.kind.name: {} for s in servers
    }
    for round_ in range(profile.fanout_rounds):
        for peers in profile.fanout_peers:
            for server in servers if round_ % 2 == 0 else servers[::-1]:
                room = await Room.open(server, f"fanout-{peers}-{round_}.ipynb", peers)
                try:
                    for rate in profile.fanout_rates:
                        info, latencies = await room.measure(rate, profile.fanout_seconds)
                        pooled[server.kind.name].setdefault((peers, rate), []).extend(latencies)
                        runs[server.kind.name].setdefault((peers, rate), []).append(
                            {**info, **summarize(latencies)}
                        )
                finally:
                    await room.close()
            for rate in profile.fanout_rates:
                log(
                    f"  fan-out {peers} peers @ {rate}/s (round {round_ + 1}): "
                    + "; ".join(
                        f"{kind} p50 {r[(peers, rate)][-1]['p50_ms']:.1f} p99 {r[(peers, rate)][-1]['p99_ms']:.1f} ms"
                        for kind, r in runs.items()
                    )
                )
    return {
        kind: {
            f"{peers}x{rate}": {
                "peers": peers,
                "rate": rate,
                **summarize(latencies),
                "runs": runs[kind][(peers, rate)],
            }
            for (peers, rate), latencies in per_config.items()
        }
        for kind, per_config in pooled.items()
    }


async def bench_sustain(servers: list[Server], profile: Profile) -> dict[str, dict[str, Any]]:
    """Step the rate up until p99 passes the limit. A step that fails narrowly (p99
    under RETRY_BELOW_MS, nothing lost) is tried once more, since one stall on a shared
    machine can fail a step; it fails if both tries do."""
    rooms = {
        s.kind.name: await Room.open(s, "sustain.ipynb", profile.sustain_peers) for s in servers
    }
    results: dict[str, dict[str, Any]] = {
        s.kind.name: {"peers": profile.sustain_peers, "max_rate": 0, "steps": [], "stopped": False}
        for s in servers
    }
    try:
        for rate in profile.sustain_rates:
            for server in servers:
                result = results[server.kind.name]
                if result["stopped"]:
                    continue
                attempts = []
                for _attempt in range(2):
                    info, latencies = await rooms[server.kind.name].measure(
                        rate, profile.sustain_seconds
                    )
                    summary = summarize(latencies)
                    client_limited = info["achieved_rate"] < 0.9 * rate
                    ok = (
                        summary["p99_ms"] <= LATENCY_LIMIT_MS
                        and summary["lost"] == 0
                        and not client_limited
                    )
                    attempts.append(
                        {**info, **summary, "passed": ok, "client_limited": client_limited}
                    )
                    if ok or summary["lost"] or summary["p99_ms"] > RETRY_BELOW_MS:
                        break  # passed, or clearly overloaded: no second try
                step = {"rate": rate, **attempts[-1], "attempts": attempts}
                result["steps"].append(step)
                log(
                    f"  sustain {rate}/s to {profile.sustain_peers} peers, {server.kind.name}: p99 "
                    + " then ".join(f"{a['p99_ms']:.1f}" for a in attempts)
                    + f" ms -> {'ok' if step['passed'] else 'FAIL'}"
                )
                if step["passed"]:
                    result["max_rate"] = rate
                else:
                    result["stopped"] = True
            if all(r["stopped"] for r in results.values()):
                break
    finally:
        for room in rooms.values():
            await room.close()
    return results


# -- 3. memory ---------------------------------------------------------------------------


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
        f"  {profile.memory_rooms} rooms of {profile.memory_cells} cells open: {opened:.1f} MiB ({per_room:.1f} MiB/room)"
    )
    writer = await LeanPeer.open(server.harness, "mem-0.ipynb", doc=Doc())
    tracker = await LeanPeer.open(server.harness, "mem-0.ipynb", doc=Doc())
    seconds = await edit_and_wait(writer, tracker, profile.memory_edits)
    edited = await server.settled_rss_mib(wait=2.0)
    rows = (tandem_rows if server.kind.name == "tandem" else reference_rows)(server.state)
    log(
        f"  after {profile.memory_edits} edits to one cell ({seconds:.1f} s): {edited:.1f} MiB (store rows then: {rows})"
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


# -- 4. store size -----------------------------------------------------------------------


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
        f"  store live {sum(live.values()) / 1024:.1f} KiB ({rows} update rows, waited {wait:.1f} s), doc {doc_update / 1024:.1f} KiB"
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


# -- 5. durability -----------------------------------------------------------------------


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


# -- the run -----------------------------------------------------------------------------


async def section_latency(
    kinds: list[Kind], profile: Profile, workdir: Path, notebooks: dict[int, Path]
) -> dict[str, Any]:
    """1-2: cold sync, fan-out and sustained rate; both servers with default settings."""
    servers = [Server(kind, workdir, "main") for kind in kinds]
    out: dict[str, Any] = {kind.name: {} for kind in kinds}
    try:
        for server in servers:
            shutil.copy(notebooks[10], server.root / "warm.ipynb")
            t0 = time.perf_counter()
            await server.start()
            out[server.kind.name]["startup_seconds"] = time.perf_counter() - t0
            peer = await YPeer.open(server.harness, "warm.ipynb")  # warm-up, not measured
            await peer.close()
        for kind, value in (await bench_cold(servers, profile, notebooks)).items():
            out[kind]["cold_sync"] = value
        for kind, value in (await bench_fanout(servers, profile)).items():
            out[kind]["fanout"] = value
        for kind, value in (await bench_sustain(servers, profile)).items():
            out[kind]["sustain"] = value
    finally:
        for server in servers:
            await server.stop(kill=True)  # nothing to keep; the reference can take 30 s to exit
    return out


async def section_memory(
    kind: Kind, profile: Profile, workdir: Path, notebooks: dict[int, Path]
) -> dict[str, Any]:
    """3: memory, on a fresh server that evicts idle rooms after 1 s."""
    server = Server(kind, workdir, "memory", kind.evict_args)
    try:
        return await bench_memory(server, profile, notebooks[10])
    finally:
        await server.stop(kill=True)


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


# -- the table ---------------------------------------------------------------------------


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isinf(value):
            return "lost"
        if math.isnan(value):
            return "-"
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def ratio(t: Any, r: Any) -> str:
    try:
        t, r = float(t), float(r)
    except (TypeError, ValueError):
        return "-"
    if math.isinf(t) or math.isinf(r) or math.isnan(t) or math.isnan(r):
        return "-"
    if r == 0:
        return "-" if t == 0 else "inf"
    return f"{t / r:.2f}x"


def table(results: dict[str, Any]) -> str:
    t, r = results["tandem"], results["reference"]
    rows: list[tuple[str, Any, Any, bool]] = []  # label, tandem, reference, show ratio

    def add(label: str, tv: Any, rv: Any, show_ratio: bool = True) -> None:
        rows.append((label, tv, rv, show_ratio))

    def section(title: str) -> None:
        rows.append((title, None, None, False))

    section("1. cold sync, PUT to synced (median, ms)")
    for size in t["cold_sync"]:
        add(
            f"   {size} cells", t["cold_sync"][size]["median_ms"], r["cold_sync"][size]["median_ms"]
        )
    section("2. fan-out latency, one writer (ms)")
    for key in t["fanout"]:
        tf, rf = t["fanout"][key], r["fanout"][key]
        for q in ("p50", "p95", "p99"):
            add(f"   {tf['peers']} peers @ {tf['rate']}/s {q}", tf[f"{q}_ms"], rf[f"{q}_ms"])
        if tf["lost"] or rf["lost"]:
            add(
                f"   {tf['peers']} peers @ {tf['rate']}/s undelivered",
                tf["lost"],
                rf["lost"],
                False,
            )
    section(
        f"   highest rate with p99 <= {LATENCY_LIMIT_MS:.0f} ms, {t['sustain']['peers']} peers (edits/s)"
    )
    first_rate = (t["sustain"]["steps"] or r["sustain"]["steps"] or [{"rate": 0}])[0]["rate"]

    def sustained(result: dict[str, Any]) -> Any:
        if not result["max_rate"]:
            return f"<{first_rate}"
        # no step failed: the server kept up with the highest rate tried
        return result["max_rate"] if result["stopped"] else f">={result['max_rate']}"

    add("   sustained rate", sustained(t["sustain"]), sustained(r["sustain"]))
    for step_t, step_r in zip_longest_steps(t["sustain"]["steps"], r["sustain"]["steps"]):
        rate = (step_t or step_r)["rate"]
        add(f"     p99 @ {rate}/s", step_t and step_t["p99_ms"], step_r and step_r["p99_ms"])
    section("3. server memory (MiB)")
    tm, rm = t["memory"], r["memory"]
    add("   baseline RSS", tm["baseline_mib"], rm["baseline_mib"])
    add(f"   per open {tm['cells']}-cell room", tm["per_room_mib"], rm["per_room_mib"])
    add(
        f"   growth after {tm['edits']:,} edits to one cell",
        tm["edits_delta_mib"],
        rm["edits_delta_mib"],
    )
    add("   RSS after rooms closed + evicted", tm["after_evict_mib"], rm["after_evict_mib"])
    add("   retained vs baseline", tm["retained_mib"], rm["retained_mib"])
    add(
        "   rooms evicted by then",
        f"{tm['rooms_evicted']}/{tm['rooms_to_evict']}",
        f"{rm['rooms_evicted']}/{rm['rooms_to_evict']}",
        False,
    )
    section("4. store on disk (KiB)")
    ts, rs = t["store"], r["store"]
    add(
        f"   live, after {ts['edits']:,} edits",
        ts["store_live_bytes"] / 1024,
        rs["store_live_bytes"] / 1024,
    )
    add(
        "   after clean shutdown",
        ts["store_after_shutdown_bytes"] / 1024,
        rs["store_after_shutdown_bytes"] / 1024,
    )
    add("   document's own Y update", ts["doc_update_bytes"] / 1024, rs["doc_update_bytes"] / 1024)
    add("   update rows in the store", ts["store_rows"], rs["store_rows"], False)
    section("5. durability: edits surviving kill -9")
    td, rd = t["durability"], r["durability"]
    add(f"   of {td['edits']} seen by a peer", td["survived"], rd["survived"], False)

    width = max(len(label) for label, *_ in rows) + 2
    lines = [f"{'':<{width}}{'Tandem':>12}{'reference':>12}{'T/ref':>9}", "-" * (width + 33)]
    for label, tv, rv, show in rows:
        if tv is None and rv is None and not show:
            lines.append(label)
            continue
        lines.append(
            f"{label:<{width}}{fmt(tv):>12}{fmt(rv):>12}{(ratio(tv, rv) if show else ''):>9}"
        )
    return "\n".join(lines)


def zip_longest_steps(
    a: list[dict[str, Any]], b: list[dict[str, Any]]
) -> Iterator[tuple[Any, Any]]:
    by_rate_a = {s["rate"]: s for s in a}
    by_rate_b = {s["rate"]: s for s in b}
    for rate in sorted(set(by_rate_a) | set(by_rate_b)):
        yield by_rate_a.get(rate), by_rate_b.get(rate)


def fsync_probe(folder: Path, count: int = 100) -> dict[str, float]:
    """fdatasync latency of the disk the servers write to: Tandem commits (and so
    relays) only after one, so its tail latency cannot beat this."""
    path = folder / "fsync-probe.bin"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = os.urandom(4096)
        for _ in range(count):
            os.write(fd, block)
            t0 = time.perf_counter()
            os.fdatasync(fd)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    times.sort()
    return {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99), "max_ms": times[-1]}


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    try:
        out["tandem"] = version("jupyter-tandem")
        out["pycrdt (client, tandem)"] = version("pycrdt")
    except PackageNotFoundError:
        pass
    names = ["jupyter-collaboration", "jupyter-server-ydoc", "pycrdt-websocket", "pycrdt-store"]
    script = f"from importlib.metadata import version as v; print(*(v(n) for n in {names!r}))"
    try:
        listing = subprocess.run(
            [str(REF_VENV / "bin" / "python"), "-c", script],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.split()
        out.update(zip(names, listing))
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"could not read the reference's versions: {exc}")
    return out


def ensure_reference() -> None:
    if (
        not (REF_VENV / "bin" / "jupyter-server").exists()
        or not (REF_VENV / f".installed-{REF_VERSION}").exists()
    ):
        log("building the reference server (bench/setup_reference.sh)")
        subprocess.run(["bash", str(BENCH / "setup_reference.sh")], check=True)


async def main_async(args: argparse.Namespace) -> int:
    profile = QUICK if args.quick else FULL
    ensure_reference()
    kinds = [tandem_kind(), reference_kind()]
    kinds[0].args = shlex.split(args.tandem_args)
    kinds[1].args = shlex.split(args.reference_args)
    if args.only:
        kinds = [k for k in kinds if k.name == args.only]
    workdir = Path(tempfile.mkdtemp(prefix="tandem-bench-", dir=args.workdir))
    started = time.perf_counter()
    results: dict[str, Any] = {
        "meta": {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "profile": asdict(profile),
            "cpus": os.cpu_count(),
            "machine": platform.platform(),
            "versions": versions(),
            "workdir": str(workdir),
            "tandem_args": kinds[0].args if kinds[0].name == "tandem" else [],
            "reference_args": shlex.split(args.reference_args),
            "loadavg_before": os.getloadavg(),
            "fsync": fsync_probe(workdir),
        }
    }
    try:
        notebooks = {}
        for size in sorted(set(profile.cold_sizes) | {10}):
            notebooks[size] = workdir / f"template-{size}.ipynb"
            make_notebook(notebooks[size], size)
        for kind in kinds:
            results[kind.name] = {}
        log(
            "== 1-2. cold sync, fan-out, sustained rate ("
            + " and ".join(k.name for k in kinds)
            + ")"
        )
        for name, value in (await section_latency(kinds, profile, workdir, notebooks)).items():
            results[name].update(value)
        for kind in kinds:
            log(f"== 3. memory ({kind.name})")
            results[kind.name]["memory"] = await section_memory(kind, profile, workdir, notebooks)
        for kind in kinds:
            log(f"== 4-5. store size, durability ({kind.name})")
            results[kind.name].update(await section_store(kind, profile, workdir))
    finally:
        results["meta"]["seconds"] = time.perf_counter() - started
        results["meta"]["loadavg_after"] = os.getloadavg()
        out_dir = BENCH / "results"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "latest.json").write_text(json.dumps(results, indent=2, default=str))
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if "tandem" in results and "reference" in results:
        print()
        print(
            f"Tandem vs jupyter-collaboration {REF_VERSION} ({profile.name} run, {os.cpu_count()} CPUs, "
            f"{results['meta']['seconds']:.0f} s); ratio = Tandem / reference"
        )
        meta = results["meta"]
        print(
            f"disk fdatasync p50 {meta['fsync']['p50_ms']:.1f} / p99 {meta['fsync']['p99_ms']:.1f} / max "
            f"{meta['fsync']['max_ms']:.1f} ms; load average before {meta['loadavg_before'][0]:.2f}"
        )
        print(table(results))
    print(f"\nresults: {BENCH / 'results' / 'latest.json'}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer sizes, rates and peers (under 2 minutes)"
    )
    parser.add_argument(
        "--only", choices=["tandem", "reference"], help="run one server only (no table)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folders (server logs, stores)"
    )
    parser.add_argument(
        "--tandem-args",
        default="",
        help="extra Tandem server options, e.g. "
        "--tandem-args=--TandemApp.sqlite_synchronous=NORMAL (default: Tandem's defaults)",
    )
    parser.add_argument(
        "--reference-args", default="", help="extra options for the reference server"
    )
    parser.add_argument(
        "--workdir", help="where the servers' folders go (default: the system temp dir)"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
