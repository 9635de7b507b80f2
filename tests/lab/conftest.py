"""Stock JupyterLab on Tandem: one ``tandem lab`` server and one Chromium per test module.

``LabPage`` drives a real JupyterLab page and reads its shared notebook model (the
``@jupyter/ydoc`` document the docprovider syncs), exposed through
``LabApp.expose_app_in_browser``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tandem.testing import TandemServer
from tests.browser.conftest import SCREENSHOTS, launched_chromium
from tests.conftest import FAST

LAB_COMMAND = [sys.executable, "-m", "tandem", "lab"]


def merged_args(*groups: list[str]) -> list[str]:
    """Command-line options in order, a later ``--Class.trait=value`` replacing an earlier
    one. Jupyter Server does not let the last one win: it fails to link an extension
    whose option is given twice (logged as a warning) and runs it without its options."""
    by_name: dict[str, str] = {}
    for group in groups:
        for arg in group:
            name = arg.split("=", 1)[0]
            by_name.pop(name, None)
            by_name[name] = arg
    return list(by_name.values())


# Autosave far away, so that what reaches the disk in a test is what Ctrl+S saved.
# No update checks or news from the internet; the app object reachable from the page.
LAB_ARGS = merged_args(
    FAST,
    [
        "--TandemApp.save_delay=60",
        "--TandemApp.save_max_wait=120",
        "--TandemApp.room_evict_delay=60",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.news_url=",
    ],
)


def lab_server(root: Path, state: Path, extra: list[str] | None = None) -> TandemServer:
    """A ``tandem lab`` server with ``LAB_ARGS``; ``extra`` options replace theirs."""
    return TandemServer(root, state, command=LAB_COMMAND, args=merged_args(LAB_ARGS, extra or []))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lab") / "root"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def lab(lab_root: Path) -> AsyncIterator[TandemServer]:
    lab_root.mkdir(parents=True, exist_ok=True)
    server = lab_server(lab_root, lab_root.parent / "state")
    await server.start(timeout=120)
    try:
        yield server
    finally:
        await server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def chromium() -> AsyncIterator[Any]:
    async with launched_chromium() as browser:
        yield browser


class LabPage:
    """One JupyterLab tab. Collects console errors, failed requests and the frames
    its document socket sends and receives."""

    def __init__(self, page: Any, server: TandemServer) -> None:
        self.page = page
        self.server = server
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.sent_frames: list[bytes] = []
        self.received_frames: list[bytes] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("response", self._on_response)
        page.on("websocket", self._on_websocket)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def _on_response(self, response: Any) -> None:
        self.requests.append(f"{response.request.method} {response.url}")
        if response.status >= 400:
            self.errors.append(f"http {response.status}: {response.request.method} {response.url}")

    def _on_websocket(self, socket: Any) -> None:
        if "/api/collaboration/room/json:notebook:" not in socket.url:
            return
        socket.on("framesent", lambda payload: self.sent_frames.append(_as_bytes(payload)))
        socket.on("framereceived", lambda payload: self.received_frames.append(_as_bytes(payload)))

    async def open(self, path: str, kernel_dialog: bool = True) -> None:
        """Open ``path`` in a fresh workspace; wait until its cells are rendered and the
        collaborative model is synced; choose "No Kernel" when JupyterLab asks (it asks
        for notebooks that name no kernel: pass ``kernel_dialog=False`` for the others)."""
        url = f"{self.server.http_url}/lab/tree/{path}?reset&token={self.server.token}"
        await self.page.goto(url)
        await self.wait_ready(path, kernel_dialog)

    async def reload(self, path: str) -> None:
        await self.page.reload()
        await self.wait_ready(path)

    async def wait_ready(self, path: str, kernel_dialog: bool = True) -> None:
        await self.page.wait_for_function(
            """path => {
                const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                return !!(w && w.context && w.context.path === path && w.context.isReady
                    && w.content.widgets.length > 0
                    && w.content.widgets.length === w.context.model.sharedModel.cells.length);
            }""",
            arg=path,
            timeout=60_000,
        )
        if kernel_dialog:
            await self.dismiss_kernel_dialog()

    async def dismiss_kernel_dialog(self) -> None:
        """The test notebooks name no kernel, so JupyterLab always asks which one to
        start: none (no kernel is needed to edit)."""
        await self.page.locator(".jp-Dialog .jp-mod-reject").click(timeout=30_000)
        await self.page.locator(".jp-Dialog").wait_for(state="detached", timeout=30_000)

    async def dismiss_dialogs(self) -> None:
        """Close any dialog JupyterLab shows (e.g. "Server Connection Error" while the
        server is down)."""
        dialog = self.page.locator(".jp-Dialog")
        while await dialog.count():
            await dialog.first.locator(".jp-Dialog-button").first.click()
            await self.page.wait_for_timeout(100)

    async def sources(self) -> list[str]:
        """The cells of the page's shared model (what JupyterLab holds)."""
        return await self.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.context.model.sharedModel.cells.map(c => c.getSource())"
        )

    async def rendered_cells(self) -> int:
        return await self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").count()

    async def wait_rendered(self, count: int) -> None:
        """Wait until exactly ``count`` cells are in the page (JupyterLab renders
        progressively); fails if more ever show up."""
        cells = self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
        await self.page.wait_for_function(
            "n => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length >= n",
            arg=count,
            timeout=30_000,
        )
        assert await cells.count() == count

    async def type_at_end_of_cell(self, index: int, text: str) -> None:
        editor = (
            self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
            .nth(index)
            .locator(".cm-content")
        )
        await editor.click()
        await self.page.keyboard.press("Control+End")
        await self.page.keyboard.type(text)

    async def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / f"lab-{name}.png"))

    async def close(self) -> None:
        await self.page.close()


def _as_bytes(payload: Any) -> bytes:
    return payload if isinstance(payload, bytes) else str(payload).encode()


@pytest_asyncio.fixture(loop_scope="module")
async def lab_page(lab: TandemServer, chromium: Any) -> AsyncIterator[LabPage]:
    context = await chromium.new_context(viewport={"width": 1280, "height": 900})
    page = LabPage(await context.new_page(), lab)
    try:
        yield page
    finally:
        await context.close()
