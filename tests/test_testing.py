"""The test harness's ports: two pytest-xdist workers never share one, and a server
whose port was taken meanwhile never lets a test talk to whoever took it. A server that
hangs on its way out leaves its threads' stacks in its log."""

from __future__ import annotations

import asyncio
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tandem.testing import TandemServer, free_port, port_range


def test_each_worker_has_its_own_ports_below_the_ephemeral_range(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slices = []
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        ports = port_range()
        assert free_port() in ports
        slices.append(set(ports))
    assert not slices[0] & slices[1] and not slices[1] & slices[2]
    ephemeral_start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert max(max(s) for s in slices) < ephemeral_start


class Impostor(http.server.BaseHTTPRequestHandler):
    """Answers every request with 200, as a server of another worker would."""

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        body = b'{"impostor": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def impostor_on(port: int) -> Iterator[None]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Impostor)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_a_taken_port_is_replaced_and_the_other_listener_never_answers(
    root: Path, tmp_path: Path
) -> None:
    server = TandemServer(root, tmp_path / "state")
    taken = server.port
    with impostor_on(taken):
        await server.start()
        try:
            assert server.port != taken
            status, body = await server.arequest("GET", "/api/status")
            assert status == 200 and "impostor" not in body
            assert "is already in use" in server.log_path.read_text()
        finally:
            await server.stop()


async def test_a_port_given_by_the_caller_is_never_replaced(root: Path, tmp_path: Path) -> None:
    port = free_port()
    server = TandemServer(root, tmp_path / "state", port=port)
    with impostor_on(port):
        with pytest.raises(RuntimeError, match="exited early"):
            await server.start(timeout=60)
    assert server.port == port


# -- servers forked from the prestarter (tandem.prestart) --------------------------------


async def test_a_prestarted_server_is_a_process_of_its_own(root: Path, tmp_path: Path) -> None:
    """Its own environment and log; kill -9 ends it alone, with Popen's return code."""
    import tandem.testing
    from tandem.prestart import PrestartedProcess

    if not tandem.testing.PRESTART:
        pytest.skip("TANDEM_TEST_PRESTART=0: servers start afresh")
    first = TandemServer(root, tmp_path / "one")
    second = TandemServer(root, tmp_path / "two")
    await first.start()
    await second.start()
    try:
        assert isinstance(first.process, PrestartedProcess)
        assert first.process.pid != second.process.pid
        for name in ("one", "two"):  # each took its JUPYTER_DATA_DIR from its environment
            assert (tmp_path / name / "data" / "tandem" / "tandem.sqlite").exists()
        assert f":{first.port}/" in first.log_path.read_text()
        assert f":{second.port}/" not in first.log_path.read_text()
        process = first.process
        await first.stop(kill=True)
        assert process.poll() == -9
        status, _ = await second.arequest("GET", "/api/status")
        assert status == 200
        await first.start()  # again, in the same state folder
        assert (await first.arequest("GET", "/api/status"))[0] == 200
    finally:
        await first.stop()
        await second.stop()


async def test_a_prestarted_server_that_cannot_start_exits_and_says_why(
    root: Path, tmp_path: Path
) -> None:
    server = TandemServer(root / "missing", tmp_path / "state", port=free_port())
    with pytest.raises(RuntimeError, match="exited early"):
        await server.start(timeout=60)
    assert "missing" in server.log_path.read_text()


async def test_a_server_that_ignores_sigterm_leaves_its_stacks_in_its_log(tmp_path: Path) -> None:
    server = TandemServer(tmp_path / "root", tmp_path / "state")
    server.state_dir.mkdir(parents=True)
    server.stop_timeout = 0.5
    stubborn = "\n".join(
        [
            "import signal, time",
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
            "print('ready', flush=True)",
            "def waiting_forever():",
            "    time.sleep(60)",
            "waiting_forever()",
        ]
    )
    with open(server.log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", stubborn],
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server.process = process
    while "ready" not in server.log_tail():
        await asyncio.sleep(0.05)
    await server.stop()
    assert server.hung_on_stop and process.returncode is not None
    log = server.log_path.read_text()
    assert "[testing] no exit 0.5 s after SIGTERM: SIGABRT" in log
    assert "Fatal Python error: Aborted" in log and "waiting_forever" in log
