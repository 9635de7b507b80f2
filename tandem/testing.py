"""Real servers and real clients for tests, benchmarks and scripts.

``TandemServer`` runs ``tandem`` (or, with ``command=``, any Jupyter server) in a
subprocess on a free port with its own Jupyter directories. ``YPeer`` is a pycrdt
document connected to a room over a real WebSocket, speaking the same protocol as
JupyterLab. Example::

    async with TandemServer(root) as server:
        async with await YPeer.open(server, "notebook.ipynb") as peer:
            print(peer.notebook.get())
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import websockets
from pycrdt import Doc, TransactionEvent

from .documents.model import new_document
from .protocol import (
    AwarenessEntry,
    MessageType,
    Reader,
    SyncType,
    decode_awareness,
    encode_awareness,
    encode_sync,
    encode_var_string,
    encode_var_uint,
)

if TYPE_CHECKING:
    from .prestart import PrestartedProcess

__all__ = ["TandemServer", "YPeer", "free_port"]


def without_repeats(args: list[str]) -> list[str]:
    """Command-line options with later ``--Name.option=value`` replacing earlier ones.
    Jupyter Server refuses an extension's options altogether when one is repeated (it
    logs a warning and starts the extension with none of them), so tests that add an
    override to a shared list must not repeat it."""
    positions: dict[str, int] = {}
    result: list[str] = []
    for arg in args:
        key = arg.split("=", 1)[0] if arg.startswith("--") and "=" in arg else None
        if key is not None and key in positions:
            result[positions[key]] = arg
            continue
        if key is not None:
            positions[key] = len(result)
        result.append(arg)
    return result


# Test servers listen below the kernel's ephemeral range (32768-60999 on Linux), where
# kernels and outgoing connections never take a port, each pytest-xdist worker in a
# slice of its own: a port found free here cannot be taken meanwhile by another worker.
PORT_BASE, PORT_SLICE = 20000, 1500

PRESTART = False
"""Fork ``tandem`` servers from one process that imported the server once
(:mod:`tandem.prestart`) instead of starting each from nothing; the test suite turns it
on. Other commands (a stock ``jupyter server``, the reference) always start afresh."""
_prestarter: Any = None


def port_range() -> range:
    """The ports this process may hand out: a slice per pytest-xdist worker
    (``PYTEST_XDIST_WORKER`` is ``gw0``, ``gw1``, ...), the first one otherwise."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    start = PORT_BASE + (index % 8) * PORT_SLICE
    return range(start, start + PORT_SLICE)


def free_port() -> int:
    """A port nothing listens on now, from this process's ``port_range()``."""
    ports = port_range()
    for port in random.sample(ports, len(ports)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


class TandemServer:
    """A Jupyter server with Tandem in a subprocess. ``state_dir`` holds its Jupyter
    data (and so Tandem's database); reuse it across restarts to keep history."""

    def __init__(
        self,
        root: Path,
        state_dir: Path | None = None,
        *,
        token: str = "tandem-test-token",
        args: list[str] | None = None,
        command: list[str] | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.root = Path(root)
        self.state_dir = (
            Path(state_dir) if state_dir else self.root.parent / (self.root.name + "-state")
        )
        self.token = token
        self.args = without_repeats(list(args or []))
        self.command = command or [sys.executable, "-m", "tandem"]
        self.extra_env = env or {}
        self.port = port or free_port()
        self._port_chosen = port is None
        self.process: subprocess.Popen[bytes] | PrestartedProcess | None = None
        self.log_path = self.state_dir / "server.log"
        self.stop_timeout = 30.0
        """Seconds ``stop()`` waits after SIGTERM before SIGABRT (stacks to the log), then kill."""
        self.hung_on_stop = False
        """Whether the process once outlived ``stop_timeout`` (its stacks are in its log)."""

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and wait until it answers on its port. The server may not
        move to another port (``port_retries=0``); when the port it was given is taken
        meanwhile, a port chosen here is replaced and the server started again."""
        deadline = time.monotonic() + timeout
        for _ in range(5):
            if await self._start_once(deadline):
                return
            self.port = free_port()
        raise RuntimeError(f"server found its port taken five times:\n{self.log_tail()}")

    async def _start_once(self, deadline: float) -> bool:
        """Launch the server; True once it answers, False if its port was taken."""
        for sub in ("data", "runtime", "config"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "JUPYTER_DATA_DIR": str(self.state_dir / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.state_dir / "runtime"),
            "JUPYTER_CONFIG_DIR": str(self.state_dir / "config"),
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYTHONFAULTHANDLER": "1",  # a crash or SIGABRT leaves every thread's stack
            **self.extra_env,
        }
        cmd = [
            *self.command,
            str(self.root),
            f"--port={self.port}",
            "--ip=127.0.0.1",
            "--no-browser",
            f"--IdentityProvider.token={self.token}",
            "--ServerApp.allow_root=True",
            "--ServerApp.port_retries=0",
            *self.args,
        ]
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = self._launch(cmd, env)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                if self._port_chosen and self._port_taken(log_start):
                    return False
                raise RuntimeError(f"server exited early:\n{self.log_tail()}")
            try:
                await asyncio.to_thread(self.request, "GET", "/api/status")
            except (urllib.error.URLError, ConnectionError, OSError):
                await asyncio.sleep(0.1)
                continue
            # Whoever answered may be another process on a port taken meanwhile (ours
            # then exits): only our own process listening on it counts.
            if self._listens(self.process.pid):
                return True
            await asyncio.sleep(0.1)
        raise TimeoutError(f"server did not start:\n{self.log_tail()}")

    def _launch(
        self, cmd: list[str], env: dict[str, str]
    ) -> subprocess.Popen[bytes] | PrestartedProcess:
        tandem = [sys.executable, "-m", "tandem"]
        # What the interpreter reads as it starts (PYTHONPATH, ...) needs a fresh one.
        fresh = any(name.startswith("PYTHON") for name in self.extra_env)
        # JupyterLab servers start afresh: one forked ``tandem lab`` died without a word
        # in a CI run (cause not found yet), and none of the plain servers did.
        plain = cmd[: len(tandem)] == tandem and cmd[len(tandem) : len(tandem) + 1] != ["lab"]
        if PRESTART and plain and not fresh and hasattr(os, "pidfd_open"):
            global _prestarter
            if _prestarter is None:
                from .prestart import Prestarter

                _prestarter = Prestarter()
            return _prestarter.spawn(cmd[len(tandem) :], env, self.log_path)
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

    def _port_taken(self, log_start: int) -> bool:
        with open(self.log_path, "rb") as log:
            log.seek(log_start)
            return b"is already in use" in log.read()

    def _listens(self, pid: int) -> bool:
        """Whether process ``pid`` (or a child of it) listens on this server's port."""
        try:
            import psutil
        except ImportError:  # without psutil (a plain install), trust the answer
            return True
        try:
            parent = psutil.Process(pid)
            for proc in (parent, *parent.children(recursive=True)):
                connections = getattr(proc, "net_connections", None) or proc.connections
                for conn in connections(kind="tcp"):
                    if conn.status == psutil.CONN_LISTEN and conn.laddr.port == self.port:
                        return True
        except psutil.Error:
            return False
        return False

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """A blocking HTTP request; returns (status, parsed JSON or text)."""
        data = (
            json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        )
        req = urllib.request.Request(
            self.http_url + path,
            data=data,
            method=method,
            headers={**self.headers, **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw or b"null")
        except json.JSONDecodeError:
            return status, raw.decode(errors="replace")

    async def arequest(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        return await asyncio.to_thread(self.request, method, path, body, headers)

    async def session(self, path: str, kind: str = "notebook") -> dict[str, Any]:
        fmt, typ = ("json", "notebook") if kind == "notebook" else ("text", "file")
        status, body = await self.arequest(
            "PUT", f"/api/collaboration/session/{path}", {"format": fmt, "type": typ}
        )
        if status not in (200, 201):
            raise RuntimeError(f"session request failed: {status} {body}")
        return body

    async def stop(self, kill: bool = False) -> None:
        proc = self.process
        if proc is None:
            return
        self.process = None
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, self.stop_timeout)
            except subprocess.TimeoutExpired:
                # Hung on its way out: SIGABRT makes faulthandler write where every
                # thread is into the server's log, for whoever reads it next.
                self.hung_on_stop = True
                with open(self.log_path, "a") as log:
                    log.write(f"\n[testing] no exit {self.stop_timeout:g} s after SIGTERM: ")
                    log.write("SIGABRT\n")
                proc.send_signal(signal.SIGABRT)
                try:
                    await asyncio.to_thread(proc.wait, 10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    await asyncio.to_thread(proc.wait)

    async def restart(self, kill: bool = False) -> None:
        await self.stop(kill=kill)
        await self.start()

    def memory_rss(self) -> int:
        """Resident memory of the server process, in bytes."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    async def __aenter__(self) -> TandemServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()


class YPeer:
    """A pycrdt document in a room, over a real WebSocket.

    Local changes are sent as they happen, unless ``hold()`` was called: then they are
    queued until ``release()`` (optionally shuffled), which is how tests simulate
    slow and reordered delivery.
    """

    def __init__(self, kind: str = "notebook") -> None:
        self.kind = kind
        self.doc: Doc[Any] = Doc()
        self.document: Any = new_document("notebook" if kind == "notebook" else "text", self.doc)
        self.ws: Any = None
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.awareness: dict[int, dict[str, Any] | None] = {}
        self.raw_messages: list[dict[str, Any]] = []
        self.received_updates = 0
        self._remote = False
        self._held: list[bytes] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._awareness_clock = 0
        self.doc.observe(self._on_change)
        self.room_url = ""
        self.session_id = ""

    @property
    def notebook(self) -> Any:
        return self.document

    @classmethod
    async def open(
        cls,
        server: TandemServer,
        path: str,
        kind: str = "notebook",
        *,
        session_id: str | None = None,
        headers: dict[str, str] | None = None,
        wait: bool = True,
    ) -> YPeer:
        session = await server.session(path, kind)
        room = f"{session['format']}:{session['type']}:{session['fileId']}"
        sid = session["sessionId"] if session_id is None else session_id
        peer = cls(kind)
        peer.room_url = f"{server.ws_url}/api/collaboration/room/{room}"
        peer.session_id = sid
        await peer.connect(f"{peer.room_url}?sessionId={sid}", headers or server.headers)
        if wait:
            await peer.wait_synced()
        return peer

    async def reconnect(self, server: TandemServer, wait: bool = True) -> None:
        """Reconnect to the same room with the same session id, keeping local state
        (as a browser tab does after a network drop or a server restart)."""
        await self.close()
        url = self.room_url.replace(self.room_url.split("/api/")[0], server.ws_url)
        await self.connect(f"{url}?sessionId={self.session_id}", server.headers)
        if wait:
            await self.wait_synced()

    async def connect(self, url: str, headers: dict[str, str]) -> None:
        self.ws = await websockets.connect(url, additional_headers=headers, max_size=None)
        self.synced.clear()
        self.closed.clear()
        self.close_code = self.close_reason = None
        self._outbox = asyncio.Queue()
        self._reader = asyncio.create_task(self._read_loop())
        self._writer = asyncio.create_task(self._write_loop(self.ws, self._outbox))
        self.send(encode_sync(SyncType.STEP1, self.doc.get_state()))

    async def wait_synced(self, timeout: float = 30.0) -> None:
        waiter = asyncio.ensure_future(self.synced.wait())
        closer = asyncio.ensure_future(self.closed.wait())
        done, _ = await asyncio.wait(
            {waiter, closer}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        waiter.cancel()
        closer.cancel()
        if not self.synced.is_set():
            raise ConnectionError(f"not synced: closed with {self.close_code} {self.close_reason}")

    async def _read_loop(self) -> None:
        try:
            async for message in self.ws:
                self._handle(message)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self.ws is not None and self.ws.close_code is not None:
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason
            self.closed.set()

    def _handle(self, message: bytes) -> None:
        reader = Reader(message)
        message_type = reader.var_uint()
        if message_type == MessageType.SYNC:
            sync_type = reader.var_uint()
            payload = reader.var_bytes()
            if sync_type == SyncType.STEP1:
                self.send(encode_sync(SyncType.STEP2, self.doc.get_update(payload)))
            else:
                self._remote = True
                try:
                    self.doc.apply_update(payload)
                finally:
                    self._remote = False
                self.received_updates += 1
                if sync_type == SyncType.STEP2:
                    self.synced.set()
        elif message_type == MessageType.AWARENESS:
            for entry in decode_awareness(reader.var_bytes()):
                self.awareness[entry.client_id] = entry.state
        elif message_type == MessageType.RAW:
            self.raw_messages.append(json.loads(reader.var_string()))

    def _on_change(self, event: TransactionEvent) -> None:
        if self._remote or event.update == b"\x00\x00":
            return
        message = encode_sync(SyncType.UPDATE, event.update)
        if self._held is not None:
            self._held.append(message)
        elif self.ws is not None:
            self.send(message)

    def send(self, message: bytes) -> None:
        """Queue a frame; frames leave in the order they were queued."""
        self._outbox.put_nowait(message)

    @staticmethod
    async def _write_loop(ws: Any, outbox: asyncio.Queue[bytes]) -> None:
        try:
            while True:
                await ws.send(await outbox.get())
        except websockets.ConnectionClosed:
            pass

    async def flush(self) -> None:
        """Wait until every queued frame has been handed to the socket."""
        while not self._outbox.empty() and not self.closed.is_set():
            await asyncio.sleep(0.005)

    async def send_raw_bytes(self, message: bytes) -> None:
        self.send(message)
        await self.flush()

    def hold(self) -> None:
        """Queue local changes instead of sending them."""
        if self._held is None:
            self._held = []

    async def release(self, rng: random.Random | None = None) -> None:
        """Send queued changes, in random order if ``rng`` is given."""
        held, self._held = self._held or [], None
        if rng is not None:
            rng.shuffle(held)
        for message in held:
            self.send(message)
        await self.flush()

    async def set_awareness(self, state: dict[str, Any] | None) -> None:
        self._awareness_clock += 1
        self.send(
            encode_awareness([AwarenessEntry(self.doc.client_id, self._awareness_clock, state)])
        )
        await self.flush()

    async def request_save(self, request_id: int = 1, timeout: float = 30.0) -> dict[str, Any]:
        self.send(
            encode_var_uint(MessageType.RAW)
            + encode_var_string("save")
            + encode_var_uint(request_id)
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for reply in self.raw_messages:
                if reply.get("type") == "save" and reply.get("responseTo") == request_id:
                    return reply
            await asyncio.sleep(0.02)
        raise TimeoutError("no save reply")

    async def close(self) -> None:
        if self.ws is not None:
            await self.flush()
            await self.ws.close()
        for task in (self._reader, self._writer):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def __aenter__(self) -> YPeer:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
