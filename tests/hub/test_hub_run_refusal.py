"""A ``run`` share with a hub user where code cannot be confined, on a real hub.

Erin's server runs without the sandbox (``TandemApp.sandbox = False``, as on a machine
where Linux cannot confine code): her run share with bob is refused, with what to do,
and shares nothing, in Tandem or in the hub. Frank's server also lets every run share's
code run as him (``TandemApp.guests_run_as_me``): his run share is made and says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MODULE_LOOP, write_notebook
from tests.hub.harness import Hub, HubBrowser

pytestmark = MODULE_LOOP

CONFIG = {
    "erin": "c.TandemApp.sandbox = False\n",
    "frank": "c.TandemApp.sandbox = False\nc.TandemApp.guests_run_as_me = True\n",
}


def home_of(homes: Path, name: str) -> None:
    """A notebook, and the server's own Jupyter config (read from the user's home)."""
    home = homes / name
    write_notebook(home / "demo.ipynb")
    (home / ".jupyter").mkdir(parents=True, exist_ok=True)
    (home / ".jupyter" / "jupyter_server_config.py").write_text(
        "c = get_config()  # noqa\n" + CONFIG[name], encoding="utf-8"
    )


@pytest.fixture(scope="module")
def servers(hub: Hub) -> Iterator[Hub]:
    """Erin's and frank's servers on the package's hub, started for this module with
    their config (a server an earlier login spawned is stopped first)."""

    async def spawn() -> None:
        for name in (*CONFIG, "bob"):
            await hub.add_user(name)
        await asyncio.gather(*(hub.stop_server(name) for name in CONFIG))
        for name in CONFIG:
            home_of(hub.homes, name)
        await asyncio.gather(*(hub.spawn(name) for name in CONFIG))

    async def stop() -> None:
        await asyncio.gather(*(hub.stop_server(name) for name in CONFIG))

    asyncio.run(spawn())
    try:
        yield hub
    finally:
        asyncio.run(stop())


async def owner(hub: Hub, name: str) -> HubBrowser:
    browser = HubBrowser(hub)
    await browser.login(name)
    home = await browser.get(f"/user/{name}/tandem/")  # through the hub's OAuth
    assert home.status_code == 200, home.text[:300]
    return browser


async def share_with_bob(browser: HubBrowser, name: str, **body: object) -> tuple[int, dict]:
    response = await browser.http.post(
        f"/user/{name}/tandem/api/hub-shares",
        json={"path": "demo.ipynb", "user": "bob", **body},
        headers=browser.xsrf_headers(name),
    )
    return response.status_code, response.json()


async def shared_in_the_hub(hub: Hub, name: str) -> list[str]:
    response = await hub.api("GET", f"/shares/{name}/")
    assert response.status_code == 200, response.text
    return [(s.get("user") or {}).get("name") for s in response.json()["items"]]


async def test_a_run_share_is_refused_where_code_cannot_be_confined(servers: Hub) -> None:
    hub = servers
    erin = await owner(hub, "erin")
    try:
        status, body = await share_with_bob(erin, "erin", role="run")
        assert status == 400, body
        assert body["reason"] and "guests cannot run code" in body["message"], body
        assert "TandemApp.guests_run_as_me" in body["message"], body  # what to do
        # Nothing was shared: no Tandem grant, no hub share.
        listed = await erin.http.get(
            "/user/erin/tandem/api/hub-shares", headers=erin.xsrf_headers("erin")
        )
        assert listed.status_code == 200 and listed.json()["grants"] == [], listed.text
        assert await shared_in_the_hub(hub, "erin") == []
        # A hub share has no per-share "run as me" (only the server-wide setting).
        status, body = await share_with_bob(erin, "erin", role="run", runs_as_owner=True)
        assert status == 400, body
        assert await shared_in_the_hub(hub, "erin") == []
        # The refusal is about running: an edit share is made.
        status, body = await share_with_bob(erin, "erin", role="edit")
        assert status == 201 and "runs" not in body, body
        assert await shared_in_the_hub(hub, "erin") == ["bob"]
    finally:
        await erin.close()


async def test_a_run_share_runs_as_the_owner_where_the_server_lets_every_run_share(
    servers: Hub,
) -> None:
    hub = servers
    frank = await owner(hub, "frank")
    try:
        status, body = await share_with_bob(frank, "frank", role="run")
        assert status == 201, body
        assert body["runs"]["mode"] == "as_owner" and body["grant"]["role"] == "run", body
        assert await shared_in_the_hub(hub, "frank") == ["bob"]
    finally:
        await frank.close()
