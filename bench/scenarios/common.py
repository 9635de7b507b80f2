"""What every scenario uses: run profiles, the two servers, notebooks, clients, edits."""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from client import LeanPeer

from tandem.testing import TandemServer

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
REF_VENV = BENCH / ".venv-ref"
REF_VERSION = "5.0.4"
EDIT_CHARS = "abcdefghijklmnopqrstuvwxyz"


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
