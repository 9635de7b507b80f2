"""JupyterLab's server-side execution on Tandem, in real Chromium, and the session
``save`` events JupyterLab's docprovider listens to.

With ``--TandemLab.server_side_execution=True`` JupyterLab runs a cell by asking the
server (``POST /api/kernels/{id}/execute`` with the cell id and the document id its
docprovider stored in the shared model) instead of sending ``execute_request`` over the
kernel socket itself. Tandem writes the outputs into the shared notebook, so they keep
landing, and are saved, after the tab that pressed Shift+Enter is closed.

One server for the module, with a short autosave: outputs written while nobody is
connected must reach the file without anyone pressing Ctrl+S.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import pytest_asyncio
import websockets
from nbformat.v4 import new_code_cell, new_notebook
from pycrdt import Text

from tandem.testing import TandemServer, YPeer
from tests.eventually import eventually
from tests.files import read_notebook
from tests.lab.conftest import LabPage, lab_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

SESSION_EVENTS = "https://schema.jupyter.org/jupyter_collaboration/session/v1"
# Replacing LAB_ARGS' (see merged_args): autosave soon after outputs change.
SERVER_SIDE_ARGS = [
    "--TandemLab.server_side_execution=True",
    "--TandemApp.save_delay=0.3",
    "--TandemApp.save_max_wait=1.0",
]
PYTHON3 = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}

PRINTS_THEN_DISPLAYS = (
    "import time\nfor i in range(3):\n    print('line', i, flush=True)\n    time.sleep(0.6)\n6 * 7"
)
SLOW = "import time\nfor i in range(5):\n    print(i, flush=True)\n    time.sleep(0.5)"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(lab_root: Path) -> AsyncIterator[TandemServer]:
    """This module's server: JupyterLab told to execute on the server (overrides the
    conftest's ``lab``, so ``lab_page`` opens pages on it)."""
    lab_root.mkdir(parents=True, exist_ok=True)
    server = lab_server(lab_root, lab_root.parent / "state", extra=SERVER_SIDE_ARGS)
    await server.start(timeout=120)
    try:
        yield server
    finally:
        await server.stop()


class SessionEvents:
    """The owner's ``/api/events/subscribe`` stream, collected in the background."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.received: list[dict[str, Any]] = []
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, server: TandemServer) -> SessionEvents:
        socket = await websockets.connect(
            f"{server.ws_url}/api/events/subscribe", additional_headers=server.headers
        )
        return cls(socket)

    async def _read(self) -> None:
        try:
            async for message in self.socket:
                event = json.loads(message)
                if event.get("schema_id") == SESSION_EVENTS:
                    self.received.append(event)
        except websockets.ConnectionClosed:
            pass

    def actions(self, path: str) -> list[str]:
        return [e.get("action", "") for e in self.received if e.get("path") == path]

    async def close(self) -> None:
        self._reader.cancel()
        await self.socket.close()


def write_python_notebook(path: Path, sources: list[str]) -> None:
    nbformat.write(new_notebook(cells=[new_code_cell(s) for s in sources], metadata=PYTHON3), path)


def stream_text(cell: dict[str, Any]) -> str:
    return "".join(
        str(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream"
    )


def results(cell: dict[str, Any]) -> list[str]:
    return [
        o["data"]["text/plain"]
        for o in cell.get("outputs", [])
        if o.get("output_type") == "execute_result"
    ]


class KernelTraffic:
    """What the page asks of kernels: HTTP requests to ``/api/kernels/*`` and every frame
    it sends on a kernel socket (``execute_request`` there would mean the browser ran
    the cell itself)."""

    def __init__(self, page: Any) -> None:
        self.requests: list[Any] = []
        self.socket_frames: list[bytes] = []
        page.on("request", self._on_request)
        page.on("websocket", self._on_websocket)

    def _on_request(self, request: Any) -> None:
        if "/api/kernels/" in request.url:
            self.requests.append(request)

    def _on_websocket(self, socket: Any) -> None:
        if "/api/kernels/" in socket.url and "/channels" in socket.url:
            socket.on(
                "framesent",
                lambda payload: self.socket_frames.append(
                    payload if isinstance(payload, bytes) else str(payload).encode()
                ),
            )

    def execute_requests(self) -> list[Any]:
        return [
            r
            for r in self.requests
            if r.method == "POST" and r.url.split("?")[0].endswith("/execute")
        ]

    def executes(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (r.url.split("?")[0], json.loads(r.post_data or "{}")) for r in self.execute_requests()
        ]


class EventFrames:
    """Session events the page's own ``/api/events/subscribe`` socket received."""

    def __init__(self, page: Any) -> None:
        self.events: list[dict[str, Any]] = []
        page.on("websocket", self._on_websocket)

    def _on_websocket(self, socket: Any) -> None:
        if "/api/events/subscribe" in socket.url:
            socket.on("framereceived", self._on_frame)

    def _on_frame(self, payload: Any) -> None:
        try:
            event = json.loads(payload)
        except (TypeError, ValueError):
            return
        if event.get("schema_id") == SESSION_EVENTS:
            self.events.append(event)


async def wait_kernel_idle(page: LabPage) -> str:
    """Wait until JupyterLab's session kernel is connected and idle; its id."""
    await page.page.wait_for_function(
        """() => {
            const k = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
            return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
        }""",
        timeout=60_000,
    )
    return await page.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id"
    )


async def shift_enter(page: LabPage, index: int) -> None:
    await (
        page.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        .nth(index)
        .locator(".cm-content")
        .click()
    )
    await page.page.keyboard.press("Shift+Enter")


async def page_outputs(page: LabPage, index: int) -> str:
    cell = page.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)
    return "\n".join(await cell.locator(".jp-OutputArea-output").all_inner_texts())


async def page_prompt(page: LabPage, index: int) -> str:
    cell = page.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(index)
    return (await cell.locator(".jp-InputPrompt").inner_text()).strip()


async def test_shift_enter_runs_on_the_server_and_outputs_outlive_the_tab(
    lab: TandemServer, lab_root: Path, lab_page: LabPage
) -> None:
    path = lab_root / "server-side.ipynb"
    write_python_notebook(path, [PRINTS_THEN_DISPLAYS, SLOW])
    events = await SessionEvents.open(lab)
    traffic = KernelTraffic(lab_page.page)
    page_events = EventFrames(lab_page.page)
    await lab_page.open("server-side.ipynb", kernel_dialog=False)
    kernel_id = await wait_kernel_idle(lab_page)
    document_id = await lab_page.page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.context.model.sharedModel.getState('document_id')"
    )
    session = await lab.session("server-side.ipynb")
    assert "error linking extension" not in lab.log_path.read_text()  # every option applied
    assert document_id == f"json:notebook:{session['fileId']}"
    peer = await YPeer.open(lab, "server-side.ipynb")
    cell_ids = [cell["id"] for cell in peer.notebook.get()["cells"]]

    # Shift+Enter: JupyterLab asks the server to run the cell, and shows what Tandem writes.
    await shift_enter(lab_page, 0)

    async def first_cell_shown() -> None:
        text = await page_outputs(lab_page, 0)
        assert "line 2" in text and "42" in text, text

    await eventually(first_cell_shown, timeout=30)
    text = await page_outputs(lab_page, 0)
    assert [text.count(f"line {i}") for i in range(3)] == [1, 1, 1]  # each line once, not twice
    assert await page_prompt(lab_page, 0) == "[1]:"
    # Playwright reports the page's request on its own connection, which may come after
    # the outputs the server wrote meanwhile.
    await eventually(lambda: len(traffic.executes()) >= 1)
    assert traffic.executes() == [
        (
            f"{lab.http_url}/api/kernels/{kernel_id}/execute",
            {"cell_id": cell_ids[0], "document_id": document_id},
        )
    ]
    response = await traffic.execute_requests()[0].response()
    assert response is not None and response.status == 200
    assert not any(b"execute_request" in frame for frame in traffic.socket_frames)
    cell = peer.notebook.get()["cells"][0]
    assert stream_text(cell) == "line 0\nline 1\nline 2\n" and results(cell) == ["42"]
    # The outputs were autosaved, and the page's event stream heard about it.
    await eventually(
        lambda: stream_text(read_notebook(path).cells[0]) == "line 0\nline 1\nline 2\n"
    )
    await eventually(
        lambda: any(
            e["action"] == "save" and e["path"] == "server-side.ipynb" and e["room"] == document_id
            for e in page_events.events
        )
    )

    # The slow cell: close the tab while it prints, and everybody else too.
    await shift_enter(lab_page, 1)
    await eventually(
        lambda: stream_text(peer.notebook.get()["cells"][1]).startswith("0\n"), timeout=30
    )
    await eventually(lambda: len(traffic.executes()) >= 2)
    assert len(traffic.executes()) == 2
    await lab_page.close()
    saves_before_close = events.actions("server-side.ipynb").count("save")
    assert stream_text(peer.notebook.get()["cells"][1]) != "0\n1\n2\n3\n4\n"  # still running
    await peer.close()

    def saved() -> None:
        cells = read_notebook(path).cells
        assert stream_text(cells[1]) == "0\n1\n2\n3\n4\n"
        assert cells[1].execution_count == 2
        assert stream_text(cells[0]) == "line 0\nline 1\nline 2\n"

    await eventually(saved, timeout=30)
    nbformat.validate(read_notebook(path))
    # Saving what the kernel wrote with nobody connected emitted its event too.
    await eventually(lambda: events.actions("server-side.ipynb").count("save") > saves_before_close)
    await events.close()

    reader = await YPeer.open(lab, "server-side.ipynb")
    cells = reader.notebook.get()["cells"]
    assert stream_text(cells[1]) == "0\n1\n2\n3\n4\n" and cells[1]["execution_count"] == 2
    assert cells[1].get("execution_state", "idle") == "idle"
    await reader.close()

    # A new tab shows everything that ran, including what finished after the first closed.
    again = LabPage(await lab_page.page.context.new_page(), lab)
    await again.open("server-side.ipynb", kernel_dialog=False)

    async def reopened_shows_outputs() -> None:
        assert [line.strip() for line in (await page_outputs(again, 1)).splitlines()] == [
            "0",
            "1",
            "2",
            "3",
            "4",
        ]
        assert "42" in await page_outputs(again, 0)
        assert await page_prompt(again, 1) == "[2]:"

    await eventually(reopened_shows_outputs, timeout=30)
    await again.screenshot("server-side-execution")
    assert lab_page.errors == [], "\n".join(lab_page.errors)
    assert again.errors == [], "\n".join(again.errors)


async def test_each_save_emits_the_session_save_event(lab: TandemServer, lab_root: Path) -> None:
    path = lab_root / "saved-event.ipynb"
    write_python_notebook(path, ["x = 1", "y = 2"])
    events = await SessionEvents.open(lab)
    peer = await YPeer.open(lab, "saved-event.ipynb")
    await eventually(lambda: "initialize" in events.actions("saved-event.ipynb"))
    assert "save" not in events.actions("saved-event.ipynb")  # opening is not saving

    for n, marker in enumerate(["# first edit", "# second edit"], start=1):
        source: Text = peer.notebook.ycells[1]["source"]
        source += f"\n{marker}"
        await eventually(lambda n=n: events.actions("saved-event.ipynb").count("save") >= n)
        # The event comes after the write: the file already holds the edit.
        assert read_notebook(path).cells[1].source.endswith(marker)
    saves = [
        e for e in events.received if e.get("action") == "save" and e["path"] == "saved-event.ipynb"
    ]
    session = await lab.session("saved-event.ipynb")
    assert {e["room"] for e in saves} == {f"json:notebook:{session['fileId']}"}
    assert all(e["level"] == "INFO" and e["store"] == "tandem" for e in saves)
    assert len(saves) == 2  # one per save: nothing more was written
    await peer.close()
    await events.close()
