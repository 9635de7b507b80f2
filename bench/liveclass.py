"""A live class: one presenter types, V viewers watch with presence on.

For each V, on a fresh server: a presenter makes 10 one-character edits per second into
a 200-cell notebook while every viewer publishes an awareness update about once a
second (jittered, as JupyterLab's and Tandem's editors do). Latency is from the
presenter handing an edit to its socket to each viewer receiving it; an edit not
delivered 5 s after the last one was sent is missing. Then the join storm: V viewers
connect at once to a 500-cell notebook the presenter has open; time to synced.

Viewers run in several client processes (``--worker``), so the harness is not the
limit; timestamps are ``time.perf_counter()`` (CLOCK_MONOTONIC, comparable across
processes on one machine). On Tandem the viewers are view guests (one share link,
redeemed once); the reference has no roles, so its viewers use the token.

    .venv/bin/python bench/liveclass.py                       # V = 50..500, both servers
    .venv/bin/python bench/liveclass.py --viewers 50 300 --reference-viewers 50
    .venv/bin/python bench/liveclass.py --targets             # issue 16's targets, one run

``--targets`` measures every target in one run (about 7 minutes on 2 cores): Tandem at
50, 300 and 500 viewers, the reference at 50, each with its join storm, then bench/run.py's
cold sync and fan-out for Tandem and ``--baseline`` (default ``main``) side by side, and
prints each target with its verdict.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from client import AWARENESS, LeanPeer, _var_uint, edit_arrivals  # noqa: E402
from pycrdt import Doc  # noqa: E402

EDIT_RATE = 10.0
WARMUP_SECONDS = 2.0
DRAIN_SECONDS = 5.0
VIEWERS_PER_WORKER = 100


# -- worker process ----------------------------------------------------------------------


def awareness_message(client_id: int, clock: int, cell: int) -> bytes:
    state = {
        "user": {"username": f"viewer-{client_id}", "name": "Viewer", "color": "#1f77b4"},
        "current": "notebook:liveclass.ipynb",
        "cell": f"code-{cell}",
        "cursors": [{"anchor": cell * 7, "head": cell * 7, "primary": True, "empty": True}],
    }
    raw = json.dumps(state, separators=(",", ":")).encode()
    body = _var_uint(1) + _var_uint(client_id) + _var_uint(clock) + _var_uint(len(raw)) + raw
    return bytes((AWARENESS,)) + _var_uint(len(body)) + body


async def presence_loop(peers: list[LeanPeer], stop: asyncio.Event) -> None:
    """Each peer publishes its cursor about once a second, with jitter."""
    rng = random.Random(os.getpid())
    ids = [rng.randrange(1, 2**31) for _ in peers]
    clocks = [0] * len(peers)
    due = [time.perf_counter() + rng.random() for _ in peers]
    while not stop.is_set():
        now = time.perf_counter()
        for i, peer in enumerate(peers):
            if due[i] <= now and not peer.closed:
                clocks[i] += 1
                peer.send(awareness_message(ids[i], clocks[i], rng.randrange(200)))
                due[i] = now + rng.uniform(0.8, 1.2)
        await asyncio.sleep(0.02)


async def worker_main() -> None:
    config = json.loads(sys.stdin.readline())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    async def open_peer(path: str, tracker: bool, headers: dict[str, str]) -> LeanPeer:
        peer = LeanPeer(record=True, doc=Doc() if tracker else None)
        await peer.connect(config["ws_url"], path, headers)
        return peer

    peers = []
    for i in range(config["count"]):
        peers.append(await open_peer(config["room_path"], i == 0, config["headers"]))
    await asyncio.gather(*(p.wait_synced() for p in peers))
    stop = asyncio.Event()
    presence = asyncio.ensure_future(presence_loop(peers, stop)) if config["presence"] else None
    reply({"ready": True})
    cpu_start = time.process_time()
    while True:
        line = await reader.readline()
        if not line:
            break
        command = json.loads(line)
        if command["cmd"] == "measure":
            gc.disable()
            writer, first, last = command["writer"], command["first"], command["last"]
            tracker = peers[0]
            await tracker.wait_clock(writer, last, command["drain"])
            deadline = time.monotonic() + 1.0
            while any(p.update_count < tracker.update_count for p in peers):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.02)
            cpu = time.process_time() - cpu_start
            gc.enable()
            sent = command["sent"]
            latencies = []
            for arrivals in edit_arrivals(peers, writer, first, last):
                for i, clock in enumerate(range(first, last + 1)):
                    stamp = arrivals.get(clock)
                    latencies.append(None if stamp is None else (stamp - sent[i]) * 1000)
            reply({"latencies": latencies, "cpu": cpu, "closed": sum(p.closed for p in peers)})
        elif command["cmd"] == "storm":
            stop.set()
            if presence is not None:
                await presence
            await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
            peers = []
            await asyncio.sleep(max(0.0, command["at"] - time.perf_counter()))

            async def join(
                path: str, headers: dict[str, str], joined: list[LeanPeer]
            ) -> tuple[float, float]:
                start = time.perf_counter()
                peer = await open_peer(path, False, headers)
                upgraded = time.perf_counter() - start
                joined.append(peer)
                await peer.wait_synced(60)
                return upgraded, time.perf_counter() - start

            results = await asyncio.gather(
                *(join(command["path"], command["headers"], peers) for _ in range(config["count"])),
                return_exceptions=True,
            )
            done = [r for r in results if isinstance(r, tuple)]
            reply(
                {
                    "synced_ms": [r[1] * 1000 for r in done],
                    "upgraded_ms": [r[0] * 1000 for r in done],
                    "failed": len(results) - len(done),
                }
            )
        elif command["cmd"] == "quit":
            break
    stop.set()
    await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)


# -- the harness -------------------------------------------------------------------------


class Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, config: dict[str, Any]) -> Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=256 * 1024 * 1024,
        )
        worker = cls(process)
        worker.send(config)
        return worker

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())

    async def receive(self, timeout: float = 120.0) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not line:
            raise RuntimeError("a worker exited")
        return json.loads(line)

    async def stop(self) -> None:
        if self.process.returncode is None:
            try:
                self.send({"cmd": "quit"})
                await asyncio.wait_for(self.process.wait(), 15)
            except (asyncio.TimeoutError, ConnectionError):
                self.process.kill()
                await self.process.wait()


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def guest_cookie(server: Any, path: str) -> tuple[str, str]:
    """Redeem one view link; every viewer of the class uses the guest's cookie and the
    room token its editor page gives (a link guest's room socket must carry it)."""
    import httpx

    status, invite = await server.harness.arequest(
        "POST", "/tandem/api/invitations", {"path": path, "role": "view"}
    )
    assert status == 201, invite
    link_path = invite["link"].split(str(server.harness.port), 1)[1]
    async with httpx.AsyncClient(base_url=server.harness.http_url) as http:
        page = await http.get(link_path)
        token = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        assert token is not None, page.text[:200]
        await http.post(link_path, data={"name": "Student", "_xsrf": token.group(1)})
        editor = await http.get(f"/tandem/notebook/{path}")
        config = re.search(r'id="tandem-config">(.*?)</script>', editor.text)
        assert config is not None, editor.text[:200]
        room_token = json.loads(config.group(1))["roomToken"]
        return "; ".join(f"{k}={v}" for k, v in http.cookies.items()), room_token


def stats(values: list[float]) -> dict[str, float]:
    from stats import percentile

    ordered = sorted(values)
    return {
        "p50": percentile(ordered, 50),
        "p95": percentile(ordered, 95),
        "p99": percentile(ordered, 99),
        "max": ordered[-1] if ordered else math.nan,
    }


async def run_class(
    kind: Any,
    viewers: int,
    seconds: float,
    workdir: Path,
    result: dict[str, Any],
    guests: bool = True,
) -> dict[str, Any]:
    """Fills ``result`` as it goes, so a configuration that breaks part way (the
    reference past 100 viewers) still reports what it measured."""
    from run import Server, log, make_notebook
    from scenarios.fanout import paced_edits

    server = Server(kind, workdir, f"class-{viewers}")
    make_notebook(server.root / "liveclass.ipynb", 200)
    make_notebook(server.root / "storm.ipynb", 500, seed="-storm")
    await server.start()
    workers: list[Worker] = []
    try:
        session = await server.harness.session("liveclass.ipynb")
        room = f"{session['format']}:{session['type']}:{session['fileId']}"
        storm_session = await server.harness.session("storm.ipynb")
        storm_room = f"{storm_session['format']}:{storm_session['type']}:{storm_session['fileId']}"
        headers = dict(server.harness.headers)
        guests = guests and kind.name.startswith("tandem")
        room_token = storm_token = ""
        if guests:
            cookie, token = await guest_cookie(server, "liveclass.ipynb")
            headers = {"Cookie": cookie, "Origin": server.harness.http_url}
            room_token = f"&roomToken={token}"
        presenter = await LeanPeer.open(server.harness, "liveclass.ipynb", doc=Doc())
        writer_id = presenter.doc.client_id
        count = max(2, math.ceil(viewers / VIEWERS_PER_WORKER))
        shares = [viewers // count + (i < viewers % count) for i in range(count)]
        t0 = time.perf_counter()
        for share in shares:
            workers.append(
                await Worker.start(
                    {
                        "ws_url": server.harness.ws_url,
                        "room_path": f"/api/collaboration/room/{room}"
                        f"?sessionId={session['sessionId']}{room_token}",
                        "headers": headers,
                        "count": share,
                        "presence": True,
                    }
                )
            )
        for worker in workers:
            await worker.receive(300)
        log(f"  {kind.name} V={viewers}: viewers synced in {time.perf_counter() - t0:.1f} s")
        await asyncio.sleep(1.0)
        await paced_edits(presenter, int(EDIT_RATE * WARMUP_SECONDS), EDIT_RATE)
        first = presenter.clock_of(writer_id) + 1
        count_edits = int(EDIT_RATE * seconds)
        rss_before = server.rss_mib()
        cpu0, wall0 = cpu_seconds(server.harness.process.pid), time.perf_counter()
        harness0 = time.process_time()
        sent, achieved = await paced_edits(presenter, count_edits, EDIT_RATE)
        cpu1, wall1 = cpu_seconds(server.harness.process.pid), time.perf_counter()
        harness_parent = time.process_time() - harness0
        rss = server.rss_mib()
        last = first + count_edits - 1
        for worker in workers:
            worker.send(
                {
                    "cmd": "measure",
                    "writer": writer_id,
                    "first": first,
                    "last": last,
                    "sent": sent,
                    "drain": DRAIN_SECONDS,
                }
            )
        latencies: list[float] = []
        harness_cpu = 0.0
        closed = 0
        for worker in workers:
            answer = await worker.receive(120)
            latencies += [math.inf if v is None else v for v in answer["latencies"]]
            harness_cpu += answer["cpu"]
            closed += answer["closed"]
        missing = sum(1 for v in latencies if math.isinf(v))
        result.update(
            {
                "latency_ms": stats(latencies),
                "deliveries": len(latencies),
                "missing": missing,
                "viewers_closed": closed,
                "server_cpu": (cpu1 - cpu0) / (wall1 - wall0),
                "server_rss_mib": rss,
                "server_rss_before_mib": rss_before,
                "harness_cpu_s": harness_cpu + harness_parent,
                "edit_rate": achieved,
            }
        )
        log(
            f"  {kind.name} V={viewers}: p50 {result['latency_ms']['p50']:.1f} p99 "
            f"{result['latency_ms']['p99']:.1f} ms, missing {missing}, "
            f"CPU {result['server_cpu'] * 100:.0f}%"
        )
        # The join storm: the live viewers leave, V newcomers join the 500-cell notebook.
        storm_presenter = await LeanPeer.open(server.harness, "storm.ipynb")
        if guests:
            storm_cookie, token = await guest_cookie(server, "storm.ipynb")
            headers = {"Cookie": storm_cookie, "Origin": server.harness.http_url}
            storm_token = f"&roomToken={token}"
        at = time.perf_counter() + 2.0
        for worker in workers:
            worker.send(
                {
                    "cmd": "storm",
                    "headers": headers,
                    "path": f"/api/collaboration/room/{storm_room}"
                    f"?sessionId={storm_session['sessionId']}{storm_token}",
                    "at": at,
                }
            )
        synced: list[float] = []
        upgraded: list[float] = []
        failed = 0
        for worker in workers:
            answer = await worker.receive(180)
            synced += answer["synced_ms"]
            upgraded += answer["upgraded_ms"]
            failed += answer["failed"]
        result["storm"] = {**stats(synced), "failed": failed, "upgraded_ms": stats(upgraded)}
        log(
            f"  {kind.name} V={viewers} join storm: p50 {result['storm']['p50']:.0f} max "
            f"{result['storm']['max']:.0f} ms (socket upgraded: p50 "
            f"{result['storm']['upgraded_ms']['p50']:.0f} max "
            f"{result['storm']['upgraded_ms']['max']:.0f} ms), failed {failed}"
        )
        await presenter.close()
        await storm_presenter.close()
    finally:
        for worker in workers:
            await worker.stop()
        await server.stop()
    return result


def table(results: dict[str, list[dict[str, Any]]]) -> str:
    lines = [
        "| server | viewers | p50 / p95 / p99 / max ms | missing | server CPU | RSS MiB "
        "| harness CPU s | join storm p50 / p95 / max ms |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        for row in rows:
            if "latency_ms" not in row:
                lines.append(f"| {name} | {row['viewers']} | {row['error']} | | | | | |")
                continue
            lat = row["latency_ms"]
            storm = row.get("storm") or {"p50": math.nan, "p95": math.nan, "max": math.nan}
            failed = f" (failed {storm['failed']})" if storm.get("failed") else ""
            if "storm" not in row:
                failed = f" ({row.get('error', 'not run')})"
            lines.append(
                f"| {name} | {row['viewers']} | {lat['p50']:.1f} / {lat['p95']:.1f} / "
                f"{lat['p99']:.1f} / {lat['max']:.0f} | {row['missing']} | "
                f"{row['server_cpu'] * 100:.0f}% | {row['server_rss_mib']:.0f} | "
                f"{row['harness_cpu_s']:.1f} | {storm['p50']:.0f} / {storm['p95']:.0f} / "
                f"{storm['max']:.0f}{failed} |"
            )
    return "\n".join(lines)


async def sync_and_fanout(kinds: list[Any], workdir: Path) -> dict[str, Any]:
    """bench/run.py's cold sync (10, 500, 2000 cells) and fan-out (2, 10, 50 peers at 50
    and 200 edits/s, two rounds) for the same servers, side by side."""
    from dataclasses import replace

    from run import FULL, Server, bench_cold, bench_fanout, make_notebook

    profile = replace(FULL, cold_sizes=[10, 500, 2000])
    notebooks = {}
    for size in profile.cold_sizes:
        notebooks[size] = workdir / f"template-{size}.ipynb"
        make_notebook(notebooks[size], size)
    servers = [Server(kind, workdir, "run") for kind in kinds]
    try:
        for server in servers:
            shutil.copy(notebooks[10], server.root / "warm.ipynb")
            await server.start()
            from tandem.testing import YPeer

            await (await YPeer.open(server.harness, "warm.ipynb")).close()
        cold = await bench_cold(servers, profile, notebooks)
        fanout = await bench_fanout(servers, profile)
    finally:
        for server in servers:
            await server.stop(kill=True)
    return {"cold_sync": cold, "fanout": fanout}


def sync_table(results: dict[str, Any]) -> str:
    names = list(results["cold_sync"])
    lines = ["| measure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for size in results["cold_sync"][names[0]]:
        values = [f"{results['cold_sync'][n][size]['median_ms']:.0f}" for n in names]
        lines.append(f"| cold sync {size} cells, median ms | " + " | ".join(values) + " |")
    for key in results["fanout"][names[0]]:
        values = []
        for n in names:
            row = results["fanout"][n][key]
            values.append(f"p50 {row['p50_ms']:.1f} / p99 {row['p99_ms']:.1f}, lost {row['lost']}")
        lines.append(f"| fan-out {key} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def baseline_kind(rev: str, args: list[str]) -> Any:
    """Tandem as of git revision ``rev`` (its ``tandem/`` package exported to a temporary
    folder put first on the server's path), to compare before and after in one run."""
    import subprocess

    from run import Kind

    folder = Path(tempfile.mkdtemp(prefix="tandem-baseline-"))
    archive = subprocess.run(
        ["git", "-C", str(BENCH.parent), "archive", rev, "tandem"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    static = BENCH.parent / "tandem" / "static"
    if static.is_dir():  # the built web app (not in git): the editor page gives room tokens
        shutil.copytree(static, folder / "tandem" / "static", dirs_exist_ok=True)
    command = ["env", f"PYTHONPATH={folder}", sys.executable, "-m", "tandem"]
    return Kind(f"tandem@{rev[:10]}", command, ["--TandemApp.room_evict_delay=1"], list(args))


TARGET_VIEWERS = [50, 300, 500]
FANOUT_SLACK = (1.25, 10.0)
"""A fan-out p99 regressed when it is over the baseline's times 1.25 plus 10 ms (the
runs of one loaded machine differ by that much)."""


def verdicts(
    results: dict[str, list[dict[str, Any]]], sync: dict[str, Any], tandem: str, baseline: str
) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each of issue 16's targets."""
    rows = {row["viewers"]: row for row in results.get(tandem, [])}
    reference = {row["viewers"]: row for row in results.get("reference", [])}
    out: list[tuple[str, str, bool]] = []

    def latency(v: int) -> tuple[float, int, float]:
        row = rows.get(v, {})
        if "latency_ms" not in row:
            return math.inf, -1, math.inf
        return row["latency_ms"]["p99"], row["missing"], row["server_cpu"]

    p99, missing, cpu = latency(300)
    out.append(
        (
            "300 viewers: p99 <= 100 ms, nothing missing, server CPU < 1 core",
            f"p99 {p99:.1f} ms, missing {missing}, CPU {cpu * 100:.0f}%",
            p99 <= 100 and missing == 0 and cpu < 1.0,
        )
    )
    p99, missing, _ = latency(500)
    out.append(
        (
            "500 viewers: p99 <= 250 ms",
            f"p99 {p99:.1f} ms, missing {missing}",
            p99 <= 250 and missing == 0,
        )
    )
    p99, missing, _ = latency(50)
    ref = reference.get(50, {}).get("latency_ms", {}).get("p99", math.nan)
    out.append(
        (
            "50 viewers: p99 <= 81 ms and below the reference",
            f"p99 {p99:.1f} ms (reference {ref:.1f} ms), missing {missing}",
            p99 <= 81 and missing == 0 and not p99 >= ref,
        )
    )
    storm = rows.get(300, {}).get("storm", {})
    storm_max, failed = storm.get("max", math.inf), storm.get("failed", -1)
    out.append(
        (
            "join storm, 300 viewers on 500 cells: every viewer synced <= 2 s",
            f"max {storm_max:.0f} ms, failed {failed}",
            storm_max <= 2000 and failed == 0,
        )
    )
    fanout = sync.get("fanout", {})
    if tandem in fanout and baseline in fanout:
        for key, now in fanout[tandem].items():
            before = fanout[baseline][key]
            factor, slack = FANOUT_SLACK
            out.append(
                (
                    f"fan-out {key}: not regressed",
                    f"p99 {now['p99_ms']:.1f} ms vs {before['p99_ms']:.1f} ms, "
                    f"lost {now['lost']} vs {before['lost']}",
                    now["p99_ms"] <= before["p99_ms"] * factor + slack
                    and now["lost"] <= before["lost"],
                )
            )
    return out


def verdict_table(rows: list[tuple[str, str, bool]]) -> str:
    lines = ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {'yes' if ok else 'NO'} |" for t, m, ok in rows]
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    from run import ensure_reference, log, reference_kind, tandem_kind

    if args.targets:
        args.viewers, args.reference_viewers, args.only = TARGET_VIEWERS, [50], None
        args.baseline = args.baseline or "main"
        args.baseline_viewers = []
    kinds = []
    if args.only in (None, "tandem"):
        kind = tandem_kind()
        kind.args = args.tandem_args.split()
        kinds.append((kind, args.viewers))
        if args.baseline:
            kinds.append((baseline_kind(args.baseline, kind.args), args.baseline_viewers))
    if args.only in (None, "reference"):
        ensure_reference()
        kinds.append((reference_kind(), args.reference_viewers))
    workdir = Path(tempfile.mkdtemp(prefix="tandem-liveclass-", dir=args.workdir))
    results: dict[str, list[dict[str, Any]]] = {}
    sync: dict[str, Any] = {}
    load = os.getloadavg()
    started = time.perf_counter()
    try:
        if args.sync_and_fanout:
            log("== cold sync and fan-out (bench/run.py's measurements)")
            sync = await sync_and_fanout([kind for kind, _ in kinds], workdir)
            (BENCH / "results").mkdir(exist_ok=True)
            (BENCH / "results" / "liveclass-sync.json").write_text(json.dumps(sync, indent=2))
            print(sync_table(sync))
            return 0
        every = set(args.viewers) | set(args.reference_viewers)
        if args.baseline:
            every |= set(args.baseline_viewers)
        for viewers in sorted(every):
            for kind, sizes in kinds:
                if viewers not in sizes:
                    continue
                log(f"== {kind.name}, {viewers} viewers")
                row: dict[str, Any] = {"viewers": viewers}
                try:
                    await asyncio.wait_for(
                        run_class(
                            kind, viewers, args.seconds, workdir, row, not args.token_viewers
                        ),
                        args.timeout,
                    )
                except Exception as exc:  # a broken configuration is a result too
                    log(f"  {kind.name} V={viewers} failed: {exc!r}")
                    row["error"] = f"failed: {type(exc).__name__}"
                results.setdefault(kind.name, []).append(row)
        if args.targets:
            log("== cold sync and fan-out, Tandem and the baseline")
            sync = await sync_and_fanout(
                [kind for kind, _ in kinds if kind.name.startswith("tandem")], workdir
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    meta = {
        "loadavg_before": load,
        "loadavg_after": os.getloadavg(),
        "seconds": time.perf_counter() - started,
        "edit_rate": EDIT_RATE,
        "measured_seconds": args.seconds,
        "tandem_args": args.tandem_args,
    }
    (out / "liveclass.json").write_text(json.dumps({"meta": meta, **results}, indent=2))
    print(
        f"\nLive class: presenter {EDIT_RATE:.0f} edits/s into 200 cells for {args.seconds:.0f} s,"
        f" every viewer's presence ~1/s; {meta['seconds']:.0f} s total; load average "
        f"{load[0]:.2f} before, {meta['loadavg_after'][0]:.2f} after"
    )
    print(table(results))
    if args.targets:
        print()
        print(sync_table(sync))
        names = [kind.name for kind, _ in kinds]
        rows = verdicts(results, sync, names[0], names[1])
        (out / "liveclass-targets.json").write_text(
            json.dumps(
                {
                    "meta": meta,
                    "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in rows],
                    "sync": sync,
                },
                indent=2,
            )
        )
        print()
        print(verdict_table(rows))
    return 0


def main() -> int:
    if "--worker" in sys.argv:
        asyncio.run(worker_main())
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, nargs="+", default=[50, 100, 200, 300, 500])
    parser.add_argument(
        "--reference-viewers",
        type=int,
        nargs="*",
        default=[50, 100],
        help="class sizes for the reference (it breaks past 100 viewers; default 50 100)",
    )
    parser.add_argument(
        "--baseline-viewers",
        type=int,
        nargs="*",
        default=[50, 100, 200],
        help="class sizes for --baseline (default 50 100 200)",
    )
    parser.add_argument(
        "--token-viewers",
        action="store_true",
        help="Tandem's viewers use the owner's token instead of a view link (no roles, "
        "no guest admission or audit)",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per size")
    parser.add_argument("--only", choices=["tandem", "reference"])
    parser.add_argument("--tandem-args", default="", help="extra Tandem options")
    parser.add_argument("--timeout", type=float, default=240.0, help="bound per configuration")
    parser.add_argument("--workdir", help="where the servers' folders go")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run Tandem as of git revision REV (e.g. main), in the same run",
    )
    parser.add_argument(
        "--targets",
        action="store_true",
        help="measure issue 16's targets in one run: Tandem at 50, 300, 500 viewers, the "
        "reference at 50, then cold sync and fan-out against --baseline (default main)",
    )
    parser.add_argument(
        "--sync-and-fanout",
        action="store_true",
        help="instead: bench/run.py's cold sync (up to 2000 cells) and fan-out, side by side",
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
