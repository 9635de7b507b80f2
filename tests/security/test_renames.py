"""Item 13: renames re-check every connected guest's scope.

The attack: a notebook moved out of the shared folder stayed writable over the guest's
open socket.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pycrdt import Text

from tandem.testing import TandemServer
from tests.conftest import FAST, write_notebook
from tests.eventually import eventually
from tests.handlers.test_sharing import share


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    write_notebook(folder / "course" / "lesson.ipynb")
    (folder / "course" / "week2").mkdir()
    (folder / "private").mkdir()
    return folder


async def move(server: TandemServer, old: str, new: str) -> None:
    status, body = await server.arequest("PATCH", f"/api/contents/{old}", {"path": new})
    assert status == 200, body


async def test_guest_is_disconnected_when_the_notebook_leaves_the_share(server, guest, root):
    invite = await share(server, path="course", role="edit")
    await guest.join(invite["link"])
    peer = await guest.peer("course/lesson.ipynb")
    await move(server, "course/lesson.ipynb", "private/lesson.ipynb")
    await eventually(lambda: peer.closed.is_set(), timeout=10)
    assert peer.close_code == 4403
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# written after the move"
    await peer.flush()
    assert "written after the move" not in (root / "private" / "lesson.ipynb").read_text()
    await peer.close()


async def test_guest_stays_when_the_notebook_moves_within_the_share(server, guest, root):
    invite = await share(server, path="course", role="edit")
    await guest.join(invite["link"])
    peer = await guest.peer("course/lesson.ipynb")
    await move(server, "course/lesson.ipynb", "course/week2/lesson.ipynb")
    await eventually(lambda: peer.notebook.ystate.get("path") == "course/week2/lesson.ipynb")
    source: Text = peer.notebook.ycells[1]["source"]
    source += "\n# still shared"
    await eventually(lambda: "still shared" in (root / "course/week2/lesson.ipynb").read_text())
    assert not peer.closed.is_set()
    await peer.close()


async def test_no_guest_write_lands_after_a_move_even_before_the_room_notices(
    root: Path, tmp_path: Path
) -> None:
    """The room notices moves only when it polls (here: every 30 s); the guest's socket
    checks the file's current path before applying each message."""
    from tests.handlers.test_sharing import Guest

    args = [*FAST, "--TandemApp.file_poll_interval=30"]
    async with TandemServer(root, tmp_path / "slow-state", args=args) as server:
        guest = Guest(server)
        try:
            invite = await share(server, path="course", role="edit")
            await guest.join(invite["link"])
            peer = await guest.peer("course/lesson.ipynb")
            await move(server, "course/lesson.ipynb", "private/lesson.ipynb")
            source: Text = peer.notebook.ycells[1]["source"]
            source += "\n# written after the move"
            await eventually(lambda: peer.closed.is_set(), timeout=10)
            assert peer.close_code == 4403
            status, body = await server.arequest("GET", "/api/contents/private/lesson.ipynb")
            assert status == 200
            assert "written after the move" not in str(body["content"])
            await peer.close()
        finally:
            await guest.close()
