"""Stock JupyterLab (with only the collaboration frontend) on Tandem, in real Chromium.

One ``tandem lab`` server and one browser for the module; each test opens its own
notebook in a fresh page. Every test also checks that the page logged no error and
got no 4xx/5xx answer during a normal session.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from pycrdt import Text

from tandem.protocol import MessageType, Reader
from tandem.testing import TandemServer, YPeer
from tests.conftest import write_notebook
from tests.eventually import eventually
from tests.files import read_notebook
from tests.lab.conftest import LabPage

pytestmark = pytest.mark.asyncio(loop_scope="module")


def raw_messages(frames: list[bytes]) -> list[str]:
    """The jupyter-collaboration "raw" (type 2) messages among socket frames, as text."""
    found = []
    for frame in frames:
        reader = Reader(frame)
        try:
            if reader.var_uint() == MessageType.RAW:
                found.append(reader.var_string())
        except Exception:
            continue
    return found


async def server_sources(server: TandemServer, path: str) -> list[str]:
    """The notebook as the server holds it, read by a fresh client."""
    peer = await YPeer.open(server, path)
    try:
        return [cell["source"] for cell in peer.notebook.get()["cells"]]
    finally:
        await peer.close()


def assert_clean(page: LabPage) -> None:
    assert page.errors == [], "\n".join(page.errors)


async def test_lab_page_is_configured_for_tandem(lab: TandemServer) -> None:
    status, html = await lab.arequest("GET", "/lab")
    assert status == 200
    config = json.loads(
        html.split('id="jupyter-config-data" type="application/json">', 1)[1].split("</script>", 1)[
            0
        ]
    )
    assert config["disableRTC"] is False
    assert config["serverSideExecution"] is False
    assert "@jupyter/docprovider-extension:statusBarTimeline" in config["disabledExtensions"]
    names = {ext["name"] for ext in config["federated_extensions"]}
    assert {"@jupyter/docprovider-extension", "@jupyter/collaboration-extension"} <= names
    # The identity JupyterLab shows on cursors: every field present for the owner.
    status, me = await lab.arequest("GET", "/api/me")
    assert status == 200
    for field in ("username", "name", "display_name", "initials", "color"):
        assert me["identity"][field], field
    assert "principal" not in me["identity"]


async def test_typing_in_lab_reaches_a_python_client_and_back(
    lab: TandemServer, lab_root: Path, lab_page: LabPage
) -> None:
    write_notebook(lab_root / "typing.ipynb")
    await lab_page.open("typing.ipynb")
    peer = await YPeer.open(lab, "typing.ipynb")
    await lab_page.type_at_end_of_cell(1, "\n# typed in JupyterLab")
    await eventually(
        lambda: str(peer.notebook.ycells[1]["source"]).endswith("\n# typed in JupyterLab")
    )

    source: Text = peer.notebook.ycells[2]["source"]
    source += "\n# typed in Python"

    async def page_has_it() -> None:
        assert (await lab_page.sources())[2].endswith("\n# typed in Python")

    await eventually(page_has_it)
    assert (
        await lab_page.page.locator(".jp-Notebook .jp-Cell")
        .nth(2)
        .get_by_text("# typed in Python")
        .count()
        == 1
    )

    # JupyterLab's cursor carries the server's identity for this user, not a name the
    # page chose: the same one /api/me gives.
    _, me = await lab.arequest("GET", "/api/me", headers={"Cookie": await cookie_header(lab_page)})
    names = {
        state["user"]["name"] for state in peer.awareness.values() if state and "user" in state
    }
    assert me["identity"]["name"] in names
    assert await lab_page.sources() == await server_sources(lab, "typing.ipynb")
    await peer.close()
    assert_clean(lab_page)


async def cookie_header(page: LabPage) -> str:
    cookies = await page.page.context.cookies()
    return "; ".join(f"{c['name']}={c['value']}" for c in cookies)


async def test_ctrl_s_saves_through_the_socket_then_reads_metadata(
    lab: TandemServer, lab_root: Path, lab_page: LabPage
) -> None:
    path = lab_root / "saving.ipynb"
    write_notebook(path)
    await lab_page.open("saving.ipynb")
    await lab_page.type_at_end_of_cell(1, "\n# saved with ctrl+s")
    peer = await YPeer.open(lab, "saving.ipynb")
    await eventually(lambda: str(peer.notebook.ycells[1]["source"]).endswith("# saved with ctrl+s"))
    await peer.close()
    assert "ctrl+s" not in path.read_text()  # autosave is a minute away in this module
    lab_page.requests.clear()

    await lab_page.page.keyboard.press("Control+s")
    await eventually(lambda: read_notebook(path).cells[1].source.endswith("# saved with ctrl+s"))
    # The save request went over the document socket, the server answered success...
    assert "save" in raw_messages(lab_page.sent_frames)
    await eventually(
        lambda: any(
            json.loads(m).get("type") == "save" and json.loads(m).get("status") == "success"
            for m in raw_messages(lab_page.received_frames)
            if m.startswith("{")
        )
    )
    # ...and JupyterLab then read the file's metadata (no content) through the contents API.
    await eventually(
        lambda: any(
            r.startswith("GET ") and "/api/contents/saving.ipynb" in r and "content=0" in r
            for r in lab_page.requests
        )
    )

    # The model is clean once JupyterLab has handled that answer (the request being sent
    # is not enough: asserting right then failed under load).
    async def clean() -> None:
        dirty = await lab_page.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.context.model.dirty"
        )
        assert dirty is False

    await eventually(clean)
    assert await lab_page.page.locator(".jp-Dialog").count() == 0  # no "file changed on disk"
    nbformat.validate(read_notebook(path))
    assert_clean(lab_page)


async def test_reload_shows_the_same_notebook_without_duplicated_cells(
    lab: TandemServer, lab_root: Path, lab_page: LabPage
) -> None:
    write_notebook(lab_root / "reload.ipynb", cells=5)
    await lab_page.open("reload.ipynb")
    await lab_page.type_at_end_of_cell(3, "\n# before reload")
    await eventually(lambda: server_has(lab, "reload.ipynb", 3, "# before reload"))
    before = await lab_page.sources()
    for _ in range(2):
        await lab_page.reload("reload.ipynb")
        assert await lab_page.sources() == before
        await lab_page.wait_rendered(5)
    assert await server_sources(lab, "reload.ipynb") == before
    assert_clean(lab_page)


async def server_has(server: TandemServer, path: str, index: int, text: str) -> None:
    sources = await server_sources(server, path)
    assert sources[index].count(text) == 1, sources[index]


async def test_timeline_and_forks_are_refused_cleanly(lab: TandemServer) -> None:
    status, body = await lab.arequest(
        "GET", "/api/collaboration/timeline/typing.ipynb?format=json&type=notebook"
    )
    assert status == 404 and "timeline" in body["message"]
    status, body = await lab.arequest(
        "PUT", "/api/collaboration/undo_redo/json:notebook:x?action=undo&steps=1&forkRoom=y", {}
    )
    assert status == 404
    status, body = await lab.arequest("GET", "/api/collaboration/fork/json:notebook:x")
    assert status == 200 and body == {}
    status, body = await lab.arequest(
        "PUT", "/api/collaboration/fork/json:notebook:x", {"synchronize": True}
    )
    assert status == 501 and "fork" in body["message"]
    status, body = await lab.arequest("DELETE", "/api/collaboration/fork/abc")
    assert status == 404


async def test_kill_9_while_lab_is_open_keeps_every_edit_exactly_once(
    lab: TandemServer, lab_root: Path, lab_page: LabPage
) -> None:
    """Runs last in the module: it kills and restarts the module's server."""
    write_notebook(lab_root / "crash.ipynb", cells=4)
    await lab_page.open("crash.ipynb")
    await lab_page.type_at_end_of_cell(1, "\n# before the crash")
    await eventually(lambda: server_has(lab, "crash.ipynb", 1, "# before the crash"))

    await lab_page.type_at_end_of_cell(2, "")  # the cursor waits in cell 2
    await lab.stop(kill=True)
    # Keyboard only: JupyterLab may soon cover the page with "Server Connection Error".
    await lab_page.page.keyboard.type("\n# typed while the server was down")
    await lab.start(timeout=120)
    # JupyterLab reconnects by itself and sends what it typed while disconnected.
    await eventually(
        lambda: server_has(lab, "crash.ipynb", 2, "# typed while the server was down"), timeout=60
    )
    await lab_page.dismiss_dialogs()
    await lab_page.type_at_end_of_cell(3, "\n# after the restart")
    await eventually(lambda: server_has(lab, "crash.ipynb", 3, "# after the restart"), timeout=30)

    on_server = await server_sources(lab, "crash.ipynb")

    async def page_matches() -> None:
        assert await lab_page.sources() == on_server

    await eventually(page_matches)
    assert len(on_server) == 4
    await lab_page.wait_rendered(4)
    for marker in (
        "# before the crash",
        "# typed while the server was down",
        "# after the restart",
    ):
        assert "\n".join(on_server).count(marker) == 1, marker
    await lab_page.screenshot("after-kill-9")
    # The server being down is the only thing JupyterLab may complain about: its socket
    # drops, a request it makes meanwhile is refused (ServerConnection's NetworkError
    # keeps the browser's "Failed to fetch"), and one in flight as it dies is reset.
    down = ("ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "WebSocket", "Failed to fetch")
    unexpected = [e for e in lab_page.errors if not any(mark in e for mark in down)]
    assert unexpected == [], "\n".join(unexpected)
