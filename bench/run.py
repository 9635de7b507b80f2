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
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scenarios  # noqa: E402, F401  (puts bench/ and the repository on sys.path)
from scenarios.cold_sync import bench_cold  # noqa: E402
from scenarios.common import (  # noqa: E402
    BENCH,
    FULL,
    QUICK,
    REF_VENV,
    REF_VERSION,
    Kind,
    Profile,
    Server,
    log,
    make_notebook,
    reference_kind,
    tandem_kind,
)
from scenarios.fanout import bench_fanout  # noqa: E402
from scenarios.memory import section_memory  # noqa: E402
from scenarios.store import section_store  # noqa: E402
from scenarios.sustain import bench_sustain  # noqa: E402
from scenarios.table import table  # noqa: E402
from stats import percentile  # noqa: E402

from tandem.testing import YPeer  # noqa: E402

__all__ = ["main", "make_notebook"]  # make_notebook: bench/browser.py imports it from here


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
        out.update(zip(names, listing, strict=False))
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
            f"Tandem vs jupyter-collaboration {REF_VERSION} ({profile.name} run, "
            f"{os.cpu_count()} CPUs, {results['meta']['seconds']:.0f} s); "
            "ratio = Tandem / reference"
        )
        meta = results["meta"]
        print(
            f"disk fdatasync p50 {meta['fsync']['p50_ms']:.1f} / p99 {meta['fsync']['p99_ms']:.1f}"
            f" / max {meta['fsync']['max_ms']:.1f} ms; "
            f"load average before {meta['loadavg_before'][0]:.2f}"
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
