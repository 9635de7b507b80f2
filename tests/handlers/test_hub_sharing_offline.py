"""What the share dialogs ask outside a hub (``/tandem/api/hub-shares``), and JupyterLab
refused to a link guest as a page that lists only what is shared with them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tandem.testing import TandemServer
from tests.conftest import MODULE_LOOP
from tests.handlers.test_sharing import Guest, share
from tests.lab.conftest import lab_server

pytestmark = MODULE_LOOP


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_server(module_root: Path) -> AsyncIterator[TandemServer]:
    """``tandem lab`` (JupyterLab's pages are what a guest is refused here)."""
    server = lab_server(module_root, module_root.parent / "state")
    await server.start(timeout=120)
    try:
        yield server
    finally:
        await server.stop()


async def test_outside_a_hub_the_dialogs_offer_links_only(module_server):
    status, body = await module_server.arequest("GET", "/tandem/api/hub-shares")
    assert status == 200 and body == {"hub": None, "grants": []}
    status, body = await module_server.arequest(
        "POST", "/tandem/api/hub-shares", {"path": "demo.ipynb", "user": "bob"}
    )
    assert status == 400 and body["reason"] == "no_hub", body
    status, grants = await module_server.arequest("GET", "/tandem/api/grants")
    assert status == 200 and grants["grants"] == []


async def test_a_guest_is_refused_the_hub_sharing_api(module_server, fresh_notebook):
    guest = Guest(module_server)
    try:
        await guest.join((await share(module_server, fresh_notebook, role="view"))["link"])
        listed = await guest.http.get("/tandem/api/hub-shares", headers=guest.xsrf)
        assert listed.status_code == 403 and listed.json()["reason"] == "guest_refused"
        made = await guest.http.post(
            "/tandem/api/hub-shares",
            json={"path": fresh_notebook, "user": "bob"},
            headers=guest.xsrf,
        )
        assert made.status_code == 403
    finally:
        await guest.close()


async def test_jupyterlab_for_a_guest_is_a_page_of_their_grants(module_server, fresh_notebook):
    guest = Guest(module_server)
    try:
        await guest.join((await share(module_server, fresh_notebook, role="edit"))["link"])
        for path in ("/lab", "/lab/tree/demo.ipynb"):
            page = await guest.http.get(path)
            assert page.status_code == 403, (path, page.status_code)
            assert page.headers["content-type"].startswith("text/html")
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            assert "Jupyter server</h1>" in page.text
            assert f'tandem/notebook/{fresh_notebook}"' in page.text
            assert "(edit)" in page.text
            assert 'demo.ipynb"' not in page.text and "notes.md" not in page.text
            assert module_server.token not in page.text
        api = await guest.http.get("/api/contents", headers=guest.xsrf)
        assert api.status_code == 403 and api.json()["reason"] == "guest_refused"
    finally:
        await guest.close()


async def test_jupyterlab_without_a_login_still_asks_to_log_in(module_server):
    outsider = Guest(module_server)
    try:
        page = await outsider.http.get("/lab")
        assert page.status_code in (302, 403) and "Jupyter server</h1>" not in page.text
    finally:
        await outsider.close()
