"""Item 3: hidden files inside a shared folder are out of reach, as Jupyter hides them.

The attack: a guest of folder ``proj/`` opens ``proj/.env`` and ``proj/.git/config``
through ``text:file`` rooms, and an edit guest rewrites ``.git/hooks/pre-commit``.

The tests share one server on one root; each has a guest of its own and changes no file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tandem.testing import YPeer
from tests.conftest import MODULE_LOOP, write_notebook
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

pytestmark = MODULE_LOOP

SECRET = "API_KEY=sk-live-123\n"


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root ``module_server`` serves."""
    folder = tmp_path_factory.mktemp("hidden") / "root"
    proj = folder / "proj"
    (proj / ".git" / "hooks").mkdir(parents=True)
    write_notebook(proj / "lesson.ipynb")
    (proj / ".env").write_text(SECRET)
    (proj / ".git" / "config").write_text("[core]\n")
    hook = proj / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\nexit 0\n")
    hook.chmod(0o755)
    (proj / "notes.txt").write_text("visible\n")
    (proj / "draft.txt~").write_text("editor backup\n")
    return folder


@pytest_asyncio.fixture(loop_scope="module")
async def guest(module_server) -> AsyncIterator[Guest]:
    client = Guest(module_server)
    yield client
    await client.close()


async def text_session(guest: Guest, path: str):
    return await guest.http.put(
        f"/api/collaboration/session/{path}",
        json={"format": "text", "type": "file"},
        headers=guest.xsrf,
    )


async def text_peer(guest: Guest, file_id: str, session_id: str = "") -> YPeer:
    cookie = guest.cookie_header
    token = await guest.room_token("proj/lesson.ipynb")
    peer = YPeer("text")
    url = (
        f"{guest.server.ws_url}/api/collaboration/room/text:file:{file_id}"
        f"?sessionId={session_id}&roomToken={token}"
    )
    await peer.connect(url, {"Cookie": cookie, "Origin": guest.server.http_url})
    return peer


@pytest.mark.parametrize("path", ["proj/.env", "proj/.git/config", "proj/.git/hooks/pre-commit"])
async def test_guest_cannot_open_hidden_files_in_a_shared_folder(module_server, guest, path):
    server = module_server
    invite = await share(server, path="proj", role="edit")
    await guest.join(invite["link"])
    assert (await text_session(guest, "proj/notes.txt")).status_code in (200, 201)
    response = await text_session(guest, path)
    assert response.status_code == 404, response.text
    assert SECRET not in response.text


async def test_guest_cannot_open_names_left_out_of_listings(module_server, guest):
    server = module_server
    invite = await share(server, path="proj", role="view")
    await guest.join(invite["link"])
    assert (await text_session(guest, "proj/draft.txt~")).status_code == 404


async def test_owner_sessions_follow_allow_hidden(module_server):
    server = module_server
    status, _ = await server.arequest(
        "PUT", "/api/collaboration/session/proj/.env", {"format": "text", "type": "file"}
    )
    assert status == 404
    assert (await server.session("proj/notes.txt", kind="text"))["fileId"]


async def test_guest_who_knows_a_file_id_cannot_join_its_room(module_server, guest):
    """The room checks the file's path at every join, not only the session endpoint: the
    owner opened an unlisted file (its id is now known), a guest connects to it by id."""
    server = module_server
    info = await server.session("proj/draft.txt~", kind="text")
    owner = YPeer("text")
    url = f"{server.ws_url}/api/collaboration/room/text:file:{info['fileId']}"
    await owner.connect(f"{url}?sessionId={info['sessionId']}", server.headers)
    await owner.wait_synced()
    invite = await share(server, path="proj", role="edit")
    await guest.join(invite["link"])
    intruder = await text_peer(guest, info["fileId"], info["sessionId"])
    await eventually(lambda: intruder.closed.is_set(), timeout=10)
    assert intruder.close_code == 4403
    assert "editor backup" not in str(intruder.document.get())
    await intruder.close()
    await owner.close()
