"""Test servers forked from one process that imported the server once.

A Jupyter server with Tandem spends about a second of CPU importing before it serves; a
test suite starts about 170 of them. ``python -m tandem.prestart`` imports it all once,
then forks a fresh ``tandem`` server for each request, which is a separate process from the
first line of ``main()`` on: its own pid, environment, working folder, log, signals and
exit status, and kill -9 kills it alone. Only :mod:`tandem.testing` uses it, and only
where asked (``tandem.testing.PRESTART``).

Protocol, one Unix-socket connection per server: the client sends one JSON line
``{"argv", "env", "cwd", "log"}``, the prestarter answers ``{"pid": N}`` once forked and
``{"exit": code}`` when that process ends (``code`` as ``Popen.returncode``: negative for
a signal), then closes. The prestarter exits, killing what it started, when its stdin
closes (the test process is gone).
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["Prestarter", "PrestartedProcess"]


def _preload() -> None:
    """What every server imports, imported once here."""
    from .quick_start import defer_iri_parsers

    defer_iri_parsers()
    import jupyter_server.serverapp  # noqa: F401

    from . import app, cli  # noqa: F401


def _run_child(request: dict[str, Any]) -> None:
    """In the forked process: become the server ``request`` asks for, then exit."""
    code = 1
    try:
        for signum in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the prestarter's sockets, pidfds
        import faulthandler

        faulthandler.enable()  # a crash leaves its traceback in the server's log
        from .cli import main

        sys.argv = ["tandem", *request["argv"]]
        try:
            code = main(request["argv"])
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        atexit._run_exitfuncs()
    except BaseException:  # a server that cannot start says why in its log
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(path: str) -> None:
    """The prestarter's loop: accept requests, fork, report each exit; single-threaded,
    so that a fork never copies a lock another thread holds."""
    _preload()
    if threading.active_count() != 1:
        raise RuntimeError("importing the server started a thread: cannot fork safely")
    import gc

    gc.collect()
    gc.freeze()  # keep the imported objects' pages shared with every fork
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    events = selectors.DefaultSelector()
    events.register(listener, selectors.EVENT_READ, "accept")
    events.register(sys.stdin, selectors.EVENT_READ, "stdin")
    children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
    print("ready", flush=True)
    while True:
        for key, _ in events.select():
            if key.data == "stdin":
                if not os.read(sys.stdin.fileno(), 4096):
                    for pid, _conn in children.values():
                        _kill(pid)
                    return
            elif key.data == "accept":
                conn, _ = listener.accept()
                request = json.loads(_read_line(conn))
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    _run_child(request)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (pid, conn)
                events.register(pidfd, selectors.EVENT_READ, "child")
                _send(conn, {"pid": pid})
            else:
                pid, conn = children.pop(key.fd)
                events.unregister(key.fd)
                os.close(key.fd)
                _, status = os.waitpid(pid, 0)
                _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
                conn.close()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the prestarter closed the connection")
        data += chunk
    return data


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:  # the test process gave up on this server
        pass


class PrestartedProcess:
    """A forked server, with the part of ``subprocess.Popen`` the tests use."""

    def __init__(self, conn: socket.socket, pid: int) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.pid = pid
        self.returncode: int | None = None

    def _collect(self, timeout: float | None) -> None:
        with self._lock:
            if self.returncode is not None:
                return
            self._conn.settimeout(timeout)
            try:
                line = _read_line(self._conn)
            except (TimeoutError, BlockingIOError):
                return
            except OSError:  # the prestarter is gone, and what it started with it
                self.returncode = -signal.SIGKILL
            else:
                self.returncode = int(json.loads(line)["exit"])
            self._conn.close()

    def poll(self) -> int | None:
        self._collect(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._collect(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(["tandem"], timeout or 0)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Prestarter:
    """The client: starts ``python -m tandem.prestart`` on first use (one per test
    process) and asks it for servers."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._path = ""
        self._lock = threading.Lock()

    def _ensure(self) -> str:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                folder = tempfile.mkdtemp(prefix="tandem-prestart-")
                self._path = str(Path(folder) / "socket")
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "tandem.prestart", self._path],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
                assert self._process.stdout is not None
                if self._process.stdout.readline().strip() != b"ready":
                    raise RuntimeError("the prestarter did not start (see stderr)")
                atexit.register(self.close)
            return self._path

    def spawn(self, argv: list[str], env: dict[str, str], log: Path) -> PrestartedProcess:
        """A server process running ``tandem <argv>`` with exactly ``env``."""
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self._ensure())
        request = {"argv": argv, "env": env, "cwd": os.getcwd(), "log": str(log)}
        conn.sendall(json.dumps(request).encode() + b"\n")
        return PrestartedProcess(conn, int(json.loads(_read_line(conn))["pid"]))

    def close(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()  # the prestarter kills what it started and exits
            process.wait(10)


if __name__ == "__main__":
    serve(sys.argv[1])
