"""JupyterLab brings many handlers of its own, and some check only that *someone* is
logged in (``@web.authenticated``, no ``@authorized``). A guest is someone. These tests
prove that a guest who joined through a share link reaches none of them, cannot turn
``PATCH /api/me`` into the owner's login cookie, and never sees the lab page (which
embeds the owner's token); and that Tandem's collaboration events reach the owner's
event stream and nobody else's.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
import pytest_asyncio
import websockets

from tandem.testing import TandemServer
from tests.conftest import write_notebook
from tests.handlers.test_sharing import Guest, share
from tests.lab.conftest import lab_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Every JupyterLab (and jupyter-lsp) endpoint a guest might try, with the methods that change
# something. Some of these are only ``@web.authenticated`` upstream.
LAB_ENDPOINTS = [
    ("GET", "/lab"),
    ("GET", "/lab/tree/demo.ipynb"),
    ("GET", "/lab/api/settings"),
    ("GET", "/lab/api/settings/@jupyterlab/apputils-extension:themes"),
    ("PUT", "/lab/api/settings/@jupyterlab/apputils-extension:themes"),
    ("GET", "/lab/api/workspaces"),
    ("PUT", "/lab/api/workspaces/evil"),
    ("DELETE", "/lab/api/workspaces/default"),
    ("GET", "/lab/api/translations"),
    ("GET", "/lab/api/listings/@jupyterlab/extensionmanager-extension/listings.json"),
    ("GET", "/lab/api/extensions"),
    ("POST", "/lab/api/extensions"),
    ("GET", "/lab/api/plugins"),
    ("POST", "/lab/api/plugins"),
    ("GET", "/lab/api/build"),
    ("POST", "/lab/api/build"),
    ("GET", "/lab/api/licenses/"),
    ("GET", "/lab/api/news"),
    ("GET", "/lab/api/update"),
    ("GET", "/lsp/status"),
    ("GET", "/api/collaboration/timeline/demo.ipynb?format=json&type=notebook"),
    ("PUT", "/api/collaboration/undo_redo/json:notebook:x?action=undo&steps=1&forkRoom=y"),
    ("GET", "/api/collaboration/fork/json:notebook:x"),
    ("PUT", "/api/collaboration/fork/json:notebook:x"),
    ("POST", "/api/events"),
]


@pytest.fixture(scope="module")
def access_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lab-access") / "root"
    write_notebook(root / "demo.ipynb")
    (root / "secret.txt").write_text("owner only", encoding="utf-8")
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(access_root: Path):
    srv = lab_server(access_root, access_root.parent / "state")
    await srv.start(timeout=120)
    try:
        yield srv
    finally:
        await srv.stop()


async def joined_guest(server: TandemServer, role: str = "view") -> Guest:
    guest = Guest(server)
    invite = await share(server, role=role)
    assert (await guest.join(invite["link"])).status_code == 303
    return guest


async def test_owner_reaches_jupyterlab(server: TandemServer) -> None:
    for path in ("/lab", "/lab/api/settings", "/lab/api/workspaces", "/lab/api/translations"):
        status, _ = await server.arequest("GET", path)
        assert status == 200, path


@pytest.mark.parametrize("role", ["view", "run"])
async def test_guests_reach_nothing_of_jupyterlab(server: TandemServer, role: str) -> None:
    guest = await joined_guest(server, role)
    for method, path in LAB_ENDPOINTS:
        response = await guest.http.request(
            method, path, headers=guest.xsrf, json={} if method != "GET" else None
        )
        if response.status_code == 302:  # treated as a visitor who is not logged in
            assert response.headers["Location"].startswith("/login"), (method, path)
            continue
        assert response.status_code in (403, 404, 405), (role, method, path, response.status_code)
        assert server.token not in response.text, (method, path)
    # What a guest is allowed stays allowed.
    assert (await guest.session("demo.ipynb")).status_code in (200, 201)
    assert (await guest.http.get("/api/me")).status_code == 200
    await guest.close()


async def test_patch_me_cannot_make_a_guest_the_owner(server: TandemServer) -> None:
    """JupyterLab's "User Details" dialog sends PATCH /api/me; Jupyter Server persists
    the result in its *login* cookie. For a guest that would be the owner's cookie."""
    guest = await joined_guest(server, "view")
    response = await guest.http.patch("/api/me", json={"name": "Owner"}, headers=guest.xsrf)
    assert response.status_code == 403
    assert not any(name.startswith("username-") for name in guest.http.cookies.keys())
    assert (await guest.http.get("/api/contents/secret.txt")).status_code == 403
    me = (await guest.http.get("/api/me")).json()["identity"]
    assert me["name"] == "Grace Hopper" and "principal" not in me
    # The owner may still change their own name, as JupyterLab's dialog does.
    status, body = await server.arequest("PATCH", "/api/me", {"name": "Ada (owner)"})
    assert status == 200 and body["identity"]["name"] == "Ada (owner)"
    await guest.close()


async def test_session_events_reach_the_owner_event_stream_only(
    server: TandemServer, access_root: Path
) -> None:
    url = f"{server.ws_url}/api/events/subscribe"
    async with websockets.connect(url, additional_headers=server.headers) as events:
        write_notebook(access_root / "events.ipynb")
        await server.session("events.ipynb")

        async def next_session_event() -> dict:
            while True:
                event = json.loads(await events.recv())
                if (
                    event.get("schema_id")
                    == "https://schema.jupyter.org/jupyter_collaboration/session/v1"
                ):
                    return event

        event = await asyncio.wait_for(next_session_event(), timeout=15)
        assert event["path"] == "events.ipynb" and event["action"] == "initialize"
        assert event["room"].startswith("json:notebook:")

    guest = await joined_guest(server, "run")
    cookie = "; ".join(f"{k}={v}" for k, v in guest.http.cookies.items())
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(
            url, additional_headers={"Cookie": cookie, "Origin": server.http_url}
        )
    assert refused.value.response.status_code == 403
    await guest.close()


async def test_the_lab_extra_brings_the_frontend_only() -> None:
    """``jupyter-tandem[lab]`` = JupyterLab + the collaboration frontend, never the
    server half that would answer Tandem's URLs."""
    from importlib.metadata import requires
    from importlib.util import find_spec

    from packaging.requirements import Requirement

    lab_extra = [Requirement(r) for r in requires("jupyter-tandem") or []]
    names = {r.name.lower() for r in lab_extra if r.marker and r.marker.evaluate({"extra": "lab"})}
    assert names == {"jupyterlab", "jupyter-docprovider", "jupyter-collaboration-ui"}
    for frontend in ("jupyter-docprovider", "jupyter-collaboration-ui"):
        assert not any("ydoc" in r for r in requires(frontend) or []), frontend
    assert find_spec("jupyter_server_ydoc") is None
    assert find_spec("jupyter_collaboration") is None


FAKE_YDOC = """
from jupyter_server.extension.application import ExtensionApp


class YDocExtension(ExtensionApp):
    name = "jupyter_server_ydoc"


def _jupyter_server_extension_points():
    return [{"module": "jupyter_server_ydoc", "app": YDocExtension}]
"""


@pytest.mark.parametrize("command", ["lab", "jupyter server"])
async def test_refuses_to_start_next_to_jupyter_server_ydoc(tmp_path: Path, command: str) -> None:
    """A stand-in ``jupyter_server_ydoc`` package (the real one is not installed here),
    enabled next to Tandem: the server exits with a message saying what to do."""
    (tmp_path / "fake" / "jupyter_server_ydoc").mkdir(parents=True)
    (tmp_path / "fake" / "jupyter_server_ydoc" / "__init__.py").write_text(FAKE_YDOC)
    root = tmp_path / "root"
    write_notebook(root / "demo.ipynb")
    if command == "lab":
        argv = [sys.executable, "-m", "tandem", "lab"]
        enable = '--ServerApp.jpserver_extensions={"jupyter_server_ydoc": True}'
    else:
        argv = [sys.executable, "-m", "jupyter", "server"]
        enable = '--ServerApp.jpserver_extensions={"tandem": True, "jupyter_server_ydoc": True}'
    server = TandemServer(
        root,
        tmp_path / "state",
        command=argv,
        args=[enable],
        env={"PYTHONPATH": str(tmp_path / "fake")},
    )
    with pytest.raises(RuntimeError, match="server exited early"):
        await server.start(timeout=60)
    assert server.process is None or server.process.poll() not in (None, 0)
    log = server.log_path.read_text()
    assert "Tandem cannot run next to jupyter_server_ydoc" in log
    assert 'pip install "jupyter-tandem[lab]"' in log
    await server.stop()
