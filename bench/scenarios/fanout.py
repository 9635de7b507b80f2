"""2. Fan-out latency: one writer's paced edits, timed to every other peer in the room."""

from __future__ import annotations

import asyncio
import gc
import math
import time
from dataclasses import dataclass
from typing import Any

from client import LeanPeer, edit_arrivals
from pycrdt import Doc
from stats import percentile

from scenarios.common import EDIT_CHARS, Profile, Server, close_all, log, make_notebook, open_lean

WARMUP_SECONDS = 0.5  # edits at the measured rate before each latency measurement
ROOM_SETTLE_SECONDS = 1.0  # idle time after a room opens, before any measurement
DRAIN_SECONDS = 5.0  # how long edits may take to arrive after the last one is sent


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
                        f"{kind} p50 {r[(peers, rate)][-1]['p50_ms']:.1f} "
                        f"p99 {r[(peers, rate)][-1]['p99_ms']:.1f} ms"
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
