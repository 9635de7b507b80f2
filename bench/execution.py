#!/usr/bin/env python
"""Shared execution: Tandem's server-side execution against JupyterLab-style client-side
execution through the reference server (jupyter-collaboration 5.0.4), in one run.

    .venv/bin/python bench/execution.py           # about 2 minutes
    .venv/bin/python bench/execution.py --quick

Measured, with one "watcher" peer in the room (another collaborator's tab):

* run request -> first output seen by the watcher (p50/p95/p99 over many runs of a
  one-line ``print``). Tandem: ``POST /tandem/api/execution/run/...``; the server runs
  the cell and writes the output. Reference: an executor peer (standing in for the
  JupyterLab tab that pressed Run) sends ``execute_request`` over the kernel WebSocket
  and writes each output message into the shared document, as JupyterLab does.
* printed lines per second reaching the watcher, for a cell printing many short lines.
* ``--sandbox``: the same Tandem measures with the notebook shared for running (its kernel
  confined by tandem.sandbox) beside the unconfined kernel, plus kernel start time (the
  first run, and restarts through the execution API).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import nbformat
import websockets
from nbformat.v4 import new_code_cell, new_notebook
from pycrdt import Map, Text

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))

from stats import percentile  # noqa: E402

from tandem.execution import source_hash  # noqa: E402
from tandem.testing import TandemServer, YPeer  # noqa: E402

REF_VENV = BENCH / ".venv-ref"
NOTEBOOK = "exec.ipynb"


def log(message: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def summary(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": statistics.fmean(values),
    }


def write_notebook(root: Path, lines: int) -> None:
    cells = [
        new_code_cell("n = 0"),
        new_code_cell("n += 1\nprint(n)"),
        new_code_cell(f"for i in range({lines}):\n    print(i)"),
    ]
    for index, cell in enumerate(cells):
        cell.id = f"c{index}"
    nb = new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.write(nb, root / NOTEBOOK)


def cell_map(peer: YPeer, cell_id: str) -> Map:
    for ycell in peer.notebook.ycells:
        if ycell.get("id") == cell_id:
            return ycell
    raise KeyError(cell_id)


def output_text(peer: YPeer, cell_id: str) -> str:
    outputs = cell_map(peer, cell_id).get("outputs")
    parts = []
    for output in outputs or []:
        if output.get("output_type") == "stream":
            parts.append(str(output.get("text")))
    return "".join(parts)


async def wait_for(check: Any, timeout: float = 120.0) -> float:
    """Poll ``check`` every millisecond; returns the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.001)
    return time.monotonic()


# -- Tandem: server-side execution ---------------------------------------------------------


async def tandem_run(
    server: TandemServer, watcher: YPeer, cell_id: str, path: str = NOTEBOOK
) -> None:
    source = str(cell_map(watcher, cell_id)["source"])
    body = {"cells": [{"id": cell_id, "source_hash": source_hash(source)}]}
    status, reply = await server.arequest("POST", f"/tandem/api/execution/run/{path}", body)
    if status != 202:
        raise RuntimeError(f"run failed: {status} {reply}")


async def bench_tandem(workdir: Path, runs: int, lines: int) -> dict[str, Any]:
    root = workdir / "tandem-root"
    root.mkdir()
    write_notebook(root, lines)
    args = ["--TandemApp.max_output_bytes=134217728"]
    async with TandemServer(root, workdir / "tandem-state", args=args) as server:
        watcher = await YPeer.open(server, NOTEBOOK)
        await tandem_run(server, watcher, "c0")  # starts the kernel
        await wait_for(lambda: cell_map(watcher, "c0").get("execution_count") == 1)
        latencies = []
        for k in range(1, runs + 1):
            await wait_for(lambda: cell_map(watcher, "c1").get("execution_state") != "running")
            await asyncio.sleep(0.05)
            started = time.monotonic()
            await tandem_run(server, watcher, "c1")
            seen = await wait_for(lambda k=k: output_text(watcher, "c1") == f"{k}\n")
            latencies.append((seen - started) * 1000)
        started = time.monotonic()
        await tandem_run(server, watcher, "c2")
        done = await wait_for(lambda: output_text(watcher, "c2").count("\n") >= lines, timeout=600)
        rate = lines / (done - started)
        await watcher.close()
    return {"first_output_ms": summary(latencies), "lines_per_second": rate}


# -- Reference: client-side execution (what a JupyterLab tab does) --------------------------


class KernelTab:
    """The tab that pressed Run: talks to the kernel over Jupyter's kernel WebSocket and
    writes every output message into the shared notebook, one transaction each."""

    def __init__(self, server: TandemServer, peer: YPeer, kernel_id: str) -> None:
        self.server = server
        self.peer = peer
        self.kernel_id = kernel_id
        self.session = uuid.uuid4().hex
        self.ws: Any = None
        self.pending: dict[str, tuple[str, asyncio.Future[None]]] = {}
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        url = (
            f"{self.server.ws_url}/api/kernels/{self.kernel_id}/channels?session_id={self.session}"
        )
        self.ws = await websockets.connect(
            url, additional_headers=self.server.headers, max_size=None
        )
        self.reader = asyncio.create_task(self._read())

    async def execute(self, cell_id: str) -> asyncio.Future[None]:
        code = str(cell_map(self.peer, cell_id)["source"])
        msg_id = uuid.uuid4().hex
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.pending[msg_id] = (cell_id, done)
        with self.peer.doc.transaction():
            cell_map(self.peer, cell_id)["outputs"].clear()
        await self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "session": self.session,
                        "username": "bench",
                        "version": "5.3",
                        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        return done

    async def _read(self) -> None:
        async for raw in self.ws:
            if isinstance(raw, bytes):
                continue
            msg = json.loads(raw)
            parent = msg.get("parent_header", {}).get("msg_id")
            if parent not in self.pending or msg.get("channel") != "iopub":
                continue
            cell_id, done = self.pending[parent]
            msg_type = msg["header"]["msg_type"]
            if msg_type == "stream":
                with self.peer.doc.transaction():
                    outputs = cell_map(self.peer, cell_id)["outputs"]
                    last = outputs[len(outputs) - 1] if len(outputs) else None
                    if last is not None and last.get("output_type") == "stream":
                        text = last["text"]
                        text += msg["content"]["text"]
                    else:
                        outputs.append(
                            Map(
                                {
                                    "output_type": "stream",
                                    "name": msg["content"]["name"],
                                    "text": Text(msg["content"]["text"]),
                                }
                            )
                        )
            elif msg_type == "status" and msg["content"]["execution_state"] == "idle":
                self.pending.pop(parent)
                done.set_result(None)

    async def close(self) -> None:
        if self.reader:
            self.reader.cancel()
        if self.ws:
            await self.ws.close()


async def bench_reference(workdir: Path, runs: int, lines: int) -> dict[str, Any]:
    root = workdir / "ref-root"
    root.mkdir()
    write_notebook(root, lines)
    command = [str(REF_VENV / "bin" / "jupyter-server")]
    async with TandemServer(root, workdir / "ref-state", command=command) as server:
        watcher = await YPeer.open(server, NOTEBOOK)
        tab = await YPeer.open(server, NOTEBOOK)
        status, session = await server.arequest(
            "POST",
            "/api/sessions",
            {"path": NOTEBOOK, "name": NOTEBOOK, "type": "notebook", "kernel": {"name": "python3"}},
        )
        if status != 201:
            raise RuntimeError(f"reference session failed: {status} {session}")
        kernel = KernelTab(server, tab, session["kernel"]["id"])
        await kernel.connect()
        await (await kernel.execute("c0"))
        latencies = []
        for k in range(1, runs + 1):
            await asyncio.sleep(0.05)
            started = time.monotonic()
            done = await kernel.execute("c1")
            seen = await wait_for(lambda k=k: output_text(watcher, "c1") == f"{k}\n")
            latencies.append((seen - started) * 1000)
            await done
        started = time.monotonic()
        await kernel.execute("c2")
        done_at = await wait_for(
            lambda: output_text(watcher, "c2").count("\n") >= lines, timeout=600
        )
        rate = lines / (done_at - started)
        await kernel.close()
        await tab.close()
        await watcher.close()
    return {"first_output_ms": summary(latencies), "lines_per_second": rate}


class Measured:
    """One notebook's kernel on the sandbox bench, and what was measured for it."""

    def __init__(self, server: TandemServer, path: str) -> None:
        self.server, self.path = server, path
        self.watcher: Any = None
        self.first_start = 0.0
        self.restarts: list[float] = []
        self.latencies: list[float] = []
        self.rates: list[float] = []
        self.count = 0

    async def start(self) -> None:
        self.watcher = await YPeer.open(self.server, self.path)
        started = time.monotonic()
        await tandem_run(self.server, self.watcher, "c0", self.path)
        await wait_for(lambda: cell_map(self.watcher, "c0").get("execution_count") == 1)
        self.first_start = (time.monotonic() - started) * 1000

    async def restart(self) -> None:
        started = time.monotonic()
        await self.server.arequest("POST", f"/tandem/api/execution/restart/{self.path}", {})
        self.restarts.append((time.monotonic() - started) * 1000)
        self.count = 0
        await tandem_run(self.server, self.watcher, "c0", self.path)
        await wait_for(
            lambda: (
                cell_map(self.watcher, "c0").get("execution_count") == 1
                and cell_map(self.watcher, "c0").get("execution_state") == "idle"
            )
        )

    async def first_output(self) -> None:
        watcher = self.watcher
        await wait_for(lambda: cell_map(watcher, "c1").get("execution_state") != "running")
        await asyncio.sleep(0.05)
        self.count += 1
        started = time.monotonic()
        await tandem_run(self.server, watcher, "c1", self.path)
        expected = f"{self.count}\n"
        seen = await wait_for(lambda: output_text(watcher, "c1") == expected)
        self.latencies.append((seen - started) * 1000)

    async def lines(self, lines: int) -> None:
        watcher = self.watcher
        await wait_for(lambda: cell_map(watcher, "c2").get("execution_state") != "running")
        started = time.monotonic()
        await tandem_run(self.server, watcher, "c2", self.path)
        await wait_for(lambda: cell_map(watcher, "c2").get("execution_state") == "running")
        done = await wait_for(lambda: output_text(watcher, "c2").count("\n") >= lines, 600)
        self.rates.append(lines / (done - started))

    def results(self) -> dict[str, Any]:
        return {
            "first_run_with_kernel_start_ms": self.first_start,
            "restart_ms": summary(self.restarts),
            "first_output_ms": summary(self.latencies),
            "lines_per_second": statistics.median(self.rates),
        }


async def bench_sandbox(
    workdir: Path, runs: int, lines: int, restarts: int, network: str
) -> dict[str, Any]:
    """Unconfined and confined kernels on the same server, measured in turns (so the
    machine's load weighs on both alike)."""
    root = workdir / "sandbox-root"
    args = ["--TandemApp.max_output_bytes=134217728", f"--TandemApp.sandbox_network={network}"]
    for kind in ("unconfined", "confined"):
        folder = root / kind
        folder.mkdir(parents=True)
        write_notebook(folder, lines)
    async with TandemServer(root, workdir / "sandbox-state", args=args) as server:
        status, _ = await server.arequest(
            "POST", "/tandem/api/invitations", {"path": "confined", "role": "run"}
        )
        if status != 201:
            raise RuntimeError(f"could not share for running: {status}")
        kernels = [Measured(server, f"{kind}/{NOTEBOOK}") for kind in ("unconfined", "confined")]
        try:
            await measure_in_turns(kernels, runs, lines, restarts)
        except Exception:
            log(f"failed; the server's log ends with:\n{server.log_tail(80)}")
            raise
        for kernel in kernels:
            await kernel.watcher.close()
    return {
        "network": network,
        "unconfined": kernels[0].results(),
        "confined": kernels[1].results(),
    }


async def measure_in_turns(kernels: list[Measured], runs: int, lines: int, restarts: int) -> None:
    for kernel in kernels:
        await kernel.start()
    for turn in range(restarts):
        for kernel in kernels[:: 1 if turn % 2 else -1]:
            await kernel.restart()
    for turn in range(runs):
        for kernel in kernels[:: 1 if turn % 2 else -1]:
            await kernel.first_output()
    for turn in range(3):
        for kernel in kernels[:: 1 if turn % 2 else -1]:
            await kernel.lines(lines)


def sandbox_table(results: dict[str, Any]) -> str:
    u, c = results["unconfined"], results["confined"]
    rows = ["| measure | unconfined | confined | confined / unconfined |", "|---|---|---|---|"]

    def row(name: str, uv: float, cv: float, fmt: str = ".1f") -> None:
        rows.append(f"| {name} | {uv:{fmt}} | {cv:{fmt}} | {cv / uv:.2f}x |")

    row(
        "first run incl. kernel start (ms)",
        u["first_run_with_kernel_start_ms"],
        c["first_run_with_kernel_start_ms"],
    )
    row("kernel restart, p50 (ms)", u["restart_ms"]["p50"], c["restart_ms"]["p50"])
    for q in ("p50", "p95", "p99"):
        row(f"run -> first output, {q} (ms)", u["first_output_ms"][q], c["first_output_ms"][q])
    row("printed lines/s", u["lines_per_second"], c["lines_per_second"], ",.0f")
    return "\n".join(rows)


def table(results: dict[str, dict[str, Any]]) -> str:
    t, r = results["tandem"], results.get("reference")
    rows = ["| measure | Tandem | reference | Tandem / reference |", "|---|---|---|---|"]
    for q in ("p50", "p95", "p99"):
        tv = t["first_output_ms"][q]
        rv = r["first_output_ms"][q] if r else None
        rows.append(
            f"| run -> first output at another peer, {q} (ms) | {tv:.1f} | "
            f"{'' if rv is None else f'{rv:.1f}'} | {'' if rv is None else f'{tv / rv:.2f}x'} |"
        )
    tv, rv = t["lines_per_second"], (r["lines_per_second"] if r else None)
    rows.append(
        f"| printed lines/s reaching another peer | {tv:,.0f} | {'' if rv is None else f'{rv:,.0f}'} | "
        f"{'' if rv is None else f'{tv / rv:.2f}x'} |"
    )
    return "\n".join(rows)


async def main_async(args: argparse.Namespace) -> int:
    runs, lines = (20, 20_000) if args.quick else (100, 100_000)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="tandem-bench-exec-") as tmp:
        workdir = Path(tmp)
        if args.sandbox:
            log(f"sandbox: unconfined then confined, {runs} runs, then {lines:,} lines")
            results["sandbox"] = await bench_sandbox(
                workdir, runs, lines, 3 if args.quick else 5, args.network
            )
            print(sandbox_table(results["sandbox"]))
            out = BENCH / "results"
            out.mkdir(exist_ok=True)
            (out / "execution-sandbox.json").write_text(json.dumps(results, indent=2))
            return 0
        log(f"Tandem: {runs} runs, then {lines:,} lines")
        results["tandem"] = await bench_tandem(workdir, runs, lines)
        if not args.tandem_only:
            subprocess.run(["bash", str(BENCH / "setup_reference.sh")], check=True)
            log(f"reference: {runs} runs, then {lines:,} lines")
            results["reference"] = await bench_reference(workdir, runs, lines)
    print(table(results))
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "execution.json").write_text(json.dumps(results, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs and lines")
    parser.add_argument("--tandem-only", action="store_true", help="skip the reference server")
    parser.add_argument(
        "--sandbox", action="store_true", help="confined against unconfined kernels only"
    )
    parser.add_argument(
        "--network", default="none", help="sandbox_network of the confined kernel (--sandbox)"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
