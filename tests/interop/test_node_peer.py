"""A real yjs + y-websocket client (Node, with @jupyter/ydoc's document model, as
JupyterLab uses it) co-edits with a pycrdt peer through a real Tandem server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Text

from tandem.testing import TandemServer, YPeer
from tests.conftest import MODULE_LOOP
from tests.eventually import eventually
from tests.files import read_notebook

# One server for the module where a test does not need a fresh one; each such
# test works on files of its own.
pytestmark = MODULE_LOOP

NODE_DIR = Path(__file__).parent / "node"
PEER_SCRIPT = NODE_DIR / "peer.mjs"

pytestmark = pytest.mark.skipif(
    not (NODE_DIR / "node_modules" / "y-websocket").is_dir() or shutil.which("node") is None,
    reason="Node peer not installed: run `make setup` (npm install in tests/interop/node)",
)


class NodePeer:
    """A ``peer.mjs`` process: commands go in as JSON lines, replies and events come out."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: list[dict[str, Any]] = []
        self.client_id: int | None = None
        self._seq = 0
        self._replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._stderr: list[str] = []
        self._eof = False
        self._reader = asyncio.create_task(self._read_stdout())
        self._err_reader = asyncio.create_task(self._read_stderr())

    @classmethod
    async def open(
        cls,
        server: TandemServer,
        path: str,
        kind: str = "notebook",
        *,
        auth: str = "query",
        token: str | None = None,
        wait: bool = True,
    ) -> NodePeer:
        session = await server.session(path, kind)
        config = {
            "url": f"{server.ws_url}/api/collaboration/room",
            "room": f"{session['format']}:{session['type']}:{session['fileId']}",
            "sessionId": session["sessionId"],
            "token": server.token if token is None else token,
            "auth": auth,
            "maxBackoffTime": 300,  # reconnect quickly after a server restart
        }
        process = await asyncio.create_subprocess_exec(
            "node",
            str(PEER_SCRIPT),
            json.dumps(config),
            cwd=NODE_DIR,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        peer = cls(process)
        if wait:
            await peer.wait_event("synced")
        return peer

    async def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace").strip()
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                self._stderr.append(f"(stdout) {line}")
                continue
            if "reply" in message:
                future = self._replies.pop(message["reply"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            else:
                if message.get("event") in ("hello", "synced"):
                    self.client_id = message["clientId"]
                self.events.append(message)
        self._eof = True
        for future in self._replies.values():
            if not future.done():
                future.set_exception(ConnectionError(f"node peer exited: {self.diagnostics()}"))

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip())

    def diagnostics(self) -> str:
        return f"events={self.events} stderr={self._stderr[-20:]}"

    async def wait_event(self, name: str, timeout: float = 20.0) -> dict[str, Any]:
        def seen() -> dict[str, Any]:
            for event in self.events:
                if event.get("event") == name:
                    return event
            assert self.process.returncode is None, f"node peer exited: {self.diagnostics()}"
            if name == "synced":
                closes = [
                    e for e in self.events if e.get("event") in ("connection-close", "closed")
                ]
                assert not closes, f"socket closed before syncing: {self.diagnostics()}"
            raise AssertionError(f"no {name} event yet: {self.diagnostics()}")

        return await eventually(seen, timeout=timeout)

    async def call(self, op: str, timeout: float = 20.0, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        if self._eof:
            raise ConnectionError(f"node peer exited: {self.diagnostics()}")
        self._seq += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[self._seq] = future
        self.process.stdin.write((json.dumps({"seq": self._seq, "op": op, **args}) + "\n").encode())
        await self.process.stdin.drain()
        reply = await asyncio.wait_for(future, timeout)
        if not reply["ok"]:
            raise AssertionError(f"node peer {op} failed: {reply['error']}\n{self.diagnostics()}")
        return reply

    async def close(self) -> None:
        if self.process.returncode is None:
            try:
                await self.call("close", timeout=10)
            except (ConnectionError, BrokenPipeError, ConnectionResetError, asyncio.TimeoutError):
                pass
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        await asyncio.gather(self._reader, self._err_reader, return_exceptions=True)

    async def __aenter__(self) -> NodePeer:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def python_cells(peer: YPeer) -> list[tuple[str, str, str]]:
    return [(c["id"], c["cell_type"], c["source"]) for c in peer.notebook.get()["cells"]]


def node_cells(dump: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(c["id"], c["cell_type"], c["source"]) for c in dump["cells"]]


async def test_node_and_python_peers_coedit_notebook(module_server, module_root, fresh_notebook):
    server, root, nb_path = module_server, module_root, fresh_notebook
    py = await YPeer.open(server, nb_path)
    async with await NodePeer.open(server, nb_path) as node:
        initial = python_cells(py)
        assert len(initial) == 3
        assert node_cells(await node.call("dump")) == initial

        # Concurrently: Python's edits are held back until Node has made its own, so
        # neither side has seen the other's when editing. Different cells, the start and
        # end of the same cell, the very same position, and a new cell from Node.
        py.hold()
        py_source_1: Text = py.notebook.ycells[1]["source"]
        py_source_2: Text = py.notebook.ycells[2]["source"]
        py_source_1.insert(0, "# python was here\n")
        py_source_2 += "\n# python in shared cell"
        py_source_1 += "[py]"
        await node.call("insert", cell=2, index=0, text="# node in shared cell\n")
        await node.call("insert", cell=0, text="\nnode edits markdown: ünïcödé ✓")
        await node.call("insert", cell=1, text="[node]")
        appended = await node.call("append_cell", cell_type="code", source="print('from node')")
        await node.call("insert", cell=3, text="  # and more")
        await py.release()

        expected_sources = [
            initial[0][2] + "\nnode edits markdown: ünïcödé ✓",
            "# python was here\n" + initial[1][2] + "{tail}",
            "# node in shared cell\n" + initial[2][2] + "\n# python in shared cell",
            "print('from node')  # and more",
        ]

        # The same-position inserts land in an order the CRDT picks, identically everywhere.
        tails = ["[py][node]", "[node][py]"]

        def matches(sources: list[str]) -> bool:
            return any(sources == [s.replace("{tail}", t) for s in expected_sources] for t in tails)

        def converged():
            cells = python_cells(py)
            assert matches([c[2] for c in cells]), cells
            assert [c[0] for c in cells] == [c[0] for c in initial] + [appended["id"]]
            assert cells[3][1] == "code"

        await eventually(converged)
        await node.call("wait_for", cell=1, contains="# python was here")
        await node.call("wait_for", cell=2, contains="# python in shared cell")
        await node.call("wait_for", cells=4, cell=1, contains="[py]")
        dump = await node.call("dump")
        assert node_cells(dump) == python_cells(py)
        new_cell = dump["notebook"]["cells"][3]
        assert new_cell["outputs"] == [] and new_cell["execution_count"] is None
        ids = [c[0] for c in python_cells(py)]
        assert len(ids) == len(set(ids)), f"duplicated cells: {ids}"

        def saved():
            nb = read_notebook(root / nb_path)
            assert [c.source for c in nb.cells] == [c[2] for c in python_cells(py)]
            assert matches([c.source for c in nb.cells])
            assert [c.id for c in nb.cells] == ids
            assert nb.cells[3].cell_type == "code"

        await eventually(saved)

        # @jupyter/ydoc marked the document dirty when Node added a cell (as JupyterLab
        # does); once saved, the server clears the flag for everyone.
        async def clean():
            state = (await node.call("dump"))["state"]
            assert state.get("dirty") is False, state

        await eventually(clean)
        assert py.notebook.ystate.get("dirty") is False

        # A third peer joining late sees exactly the same notebook (nothing duplicated in
        # the server's copy either).
        late = await YPeer.open(server, nb_path)
        assert python_cells(late) == python_cells(py)
        await late.close()
    await py.close()


async def test_node_peer_reconnects_after_restart_with_offline_edits(server, root):
    """y-websocket reconnects by itself when the server comes back; what it typed while
    the server was down is merged, once."""
    async with await NodePeer.open(server, "demo.ipynb") as node:
        initial = node_cells(await node.call("dump"))
        await server.restart()
        await node.wait_event("connection-close")
        await node.call("insert", cell=1, index=0, text="# typed offline\n")
        offline = await node.call("append_cell", cell_type="markdown", source="offline cell")

        def resynced():
            assert len([e for e in node.events if e.get("event") == "synced"]) >= 2, (
                node.diagnostics()
            )

        await eventually(resynced, timeout=30)
        expected = [c[2] for c in initial]
        expected[1] = "# typed offline\n" + expected[1]
        expected.append("offline cell")
        py = await YPeer.open(server, "demo.ipynb")
        await eventually(lambda: [c[2] for c in python_cells(py)] == expected)
        assert [c[0] for c in python_cells(py)] == [c[0] for c in initial] + [offline["id"]]
        assert node_cells(await node.call("dump")) == python_cells(py)

        def saved():
            nb = read_notebook(root / "demo.ipynb")
            assert [c.source for c in nb.cells] == expected

        await eventually(saved)
        await py.close()


async def test_node_peer_authentication(module_server, fresh_notebook):
    """y-websocket in Node can also authenticate with a header, like the Python peer;
    with a wrong token it never gets the document."""
    server, nb_path = module_server, fresh_notebook
    async with await NodePeer.open(server, nb_path, auth="header") as node:
        assert len((await node.call("dump"))["cells"]) == 3
    for auth in ("query", "header"):
        async with await NodePeer.open(
            server, nb_path, auth=auth, token="wrong", wait=False
        ) as node:
            await node.wait_event("connection-close")
            assert not [e for e in node.events if e.get("event") == "synced"]
            assert (await node.call("dump"))["cells"] == []


async def test_node_and_python_peers_coedit_text_file_with_non_ascii(
    module_server, module_root, fresh_text
):
    server, root, text_path = module_server, module_root, fresh_text
    original = "line one\nline two\n"
    py = await YPeer.open(server, text_path, kind="text")
    async with await NodePeer.open(server, text_path, kind="text") as node:
        assert (await node.call("dump"))["source"] == original
        source: Text = py.document._ysource

        # Node writes multi-byte text: 2-byte é, 3-byte CJK, and a 4-byte emoji, which is
        # two UTF-16 code units in Yjs but one code point in Python.
        await node.call("insert", index=0, text="é 世界 🎉 ")
        head = "é 世界 🎉 "
        await eventually(lambda: str(source) == head + original)

        # Python inserts after the emoji. pycrdt counts Text positions in UTF-8 bytes,
        # Yjs in UTF-16 code units: each side converts from its own string.
        at = str(source).index("line two")
        py_text = "naïve 😀 "
        source.insert(_utf8_index(str(source), at), py_text)
        expected = head + "line one\n" + py_text + "line two\n"
        assert str(source) == expected
        await node.call("wait_for", contains=py_text)
        assert (await node.call("dump"))["source"] == expected

        # Node inserts after what Python wrote: the end of "line one", then right after
        # Python's emoji, at UTF-16 offsets.
        current = (await node.call("dump"))["source"]
        await node.call("insert", index=_utf16_index(current, current.index("\nnaïve")), text=" ✓")
        current = (await node.call("dump"))["source"]
        await node.call("insert", index=_utf16_index(current, current.index("😀") + 1), text="🚀")
        expected = head + "line one ✓\nnaïve 😀🚀 line two\n"
        await eventually(lambda: str(source) == expected)
        assert (await node.call("dump"))["source"] == expected

        # Saved, and the save finished (the server publishes the file's hash last): an
        # edit on disk made *during* a save is another matter, see
        # test_file_changed_right_after_a_save_is_merged.
        digest = hashlib.sha256(expected.encode("utf-8")).hexdigest()

        def saved():
            assert (root / text_path).read_text(encoding="utf-8") == expected
            assert py.document.ystate.get("hash") == digest
            assert py.document.ystate.get("dirty") is False

        await eventually(saved)

        # A change on disk is merged by the server (which edits its Y.Text by position):
        # the Node peer must see exactly the file's text, emoji and all.
        on_disk = expected.replace("naïve", "naive 🌍") + "added on disk ✓\n"
        (root / text_path).write_text(on_disk, encoding="utf-8")
        await node.call("wait_for", contains="added on disk ✓")
        assert (await node.call("dump"))["source"] == on_disk
        await eventually(lambda: str(source) == on_disk)
    await py.close()


def _utf16_index(text: str, index: int) -> int:
    """The UTF-16 offset (what Yjs counts) of the code point offset ``index``."""
    return len(text[:index].encode("utf-16-le")) // 2


def _utf8_index(text: str, index: int) -> int:
    """The UTF-8 offset (what pycrdt's Text counts) of the code point offset ``index``."""
    return len(text[:index].encode("utf-8"))


async def test_file_changed_right_after_a_save_is_merged(module_server, module_root, fresh_text):
    """Another program rewrites the file just after Tandem saved it (a script, `git
    checkout`, an editor): the change must be merged like any other, never ignored.

    Regression test for a bug found with this test: Tandem took the file's version
    (``last_modified``) with a separate ``get`` *after* its write returned, while the new
    content was already visible to other programs. A write landing in that window (a
    few milliseconds) had its mtime recorded as Tandem's own: the poller never saw it,
    and the next save silently overwrote it. The test aims for the window by rewriting
    the file the moment the saved content appears, many times over.
    """
    server, root, text_path = module_server, module_root, fresh_text
    path = root / text_path
    py = await YPeer.open(server, text_path, kind="text")
    source: Text = py.document._ysource
    async with await NodePeer.open(server, text_path, kind="text") as node:
        for attempt in range(25):
            await node.call("insert", text=f"typed in the browser {attempt} ✓\n")
            typed = (await node.call("dump"))["source"]
            on_disk = typed + f"written by a script {attempt}\n"
            await asyncio.to_thread(_write_once_saved, path, typed, on_disk)
            try:
                await eventually(lambda expected=on_disk: str(source) == expected, timeout=5)
            except AssertionError:
                missed = f"document {str(source)!r} vs file {path.read_text(encoding='utf-8')!r}"
                # One more edit in the browser: its save shows whether the script's
                # change is lost for good.
                await node.call("insert", text="one more edit\n")
                await eventually(lambda: "one more edit" in path.read_text(encoding="utf-8"))
                kept = f"written by a script {attempt}" in path.read_text(encoding="utf-8")
                raise AssertionError(
                    f"attempt {attempt}: the file was rewritten just after a save and the "
                    f"server never merged it ({missed}); after the next save the script's "
                    f"change is {'still in the file' if kept else 'gone from the file: data loss'}"
                ) from None
            await node.call("wait_for", contains=f"written by a script {attempt}")
    await py.close()


def _write_once_saved(path: Path, saved: str, new: str, timeout: float = 15.0) -> None:
    """Watch ``path`` closely (in a thread, away from the event loop's latency) and
    write ``new`` the moment the file holds ``saved``."""
    expected = saved.encode("utf-8")
    deadline = time.monotonic() + timeout
    while path.read_bytes() != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never held {saved!r}")
        time.sleep(0.0002)
    path.write_text(new, encoding="utf-8")


async def test_node_awareness_is_stamped_by_server(module_server, fresh_notebook):
    server, nb_path = module_server, fresh_notebook
    py = await YPeer.open(server, nb_path)
    async with await NodePeer.open(server, nb_path) as node:
        reply = await node.call(
            "awareness", state={"user": {"name": "Spoofed", "color": "#000"}, "cursor": 1}
        )
        client_id = reply["clientId"]

        def seen():
            state = py.awareness.get(client_id)
            assert state is not None and state.get("cursor") == 1, py.awareness

        await eventually(seen)
        state = py.awareness[client_id]
        assert state["user"]["name"] != "Spoofed"
        assert state["user"]["color"] != "#000"

        # And the Node peer sees the Python peer's state, stamped too.
        await py.set_awareness({"user": {"name": "Mallory", "color": "#111"}, "cursor": 2})

        async def node_sees_python():
            states = (await node.call("awareness_states"))["states"]
            state = states.get(str(py.doc.client_id))
            assert state is not None and state.get("cursor") == 2, states
            assert state["user"]["name"] != "Mallory"

        await eventually(node_sees_python)
        await node.call("close")
        # Node left: the Python peer is told its state is gone.
        await eventually(lambda: py.awareness.get(client_id, "x") is None)
    await py.close()
