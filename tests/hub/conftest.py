"""One real JupyterHub for all hub tests, with alice's server spawned (see ``harness``).

The package's modules run on one pytest-xdist worker (``SHARED_PACKAGES``) and share it:
after each module alice's server is shared with nobody again (``hub``); a module that
needs other users' servers spawns them itself (``test_hub_run_refusal``)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import write_notebook
from tests.hub.harness import PROXY, Hub, HubBrowser

pytest.importorskip("jupyterhub", reason="the hub tests need jupyter-tandem[hub]")

if not PROXY.exists():
    pytest.skip("configurable-http-proxy is not installed (make setup)", allow_module_level=True)


def alices_home(homes: Path) -> Path:
    home = homes / "alice"
    home.mkdir(parents=True, exist_ok=True)
    write_notebook(home / "demo.ipynb")
    write_notebook(home / "other.ipynb")
    write_notebook(home / "project" / "private.ipynb")
    (home / "secret.txt").write_text("alice's secret\n", encoding="utf-8")
    return home


async def _start(hub: Hub) -> None:
    await hub.start()
    for name in ("alice", "bob", "carol"):
        await hub.add_user(name)
    await hub.add_user("admin", admin=True)
    await hub.spawn("alice")


@pytest.fixture(scope="package")
def package_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """Started and stopped outside the tests' event loops (one hub for the package)."""
    base = tmp_path_factory.mktemp("hub")
    hub = Hub(base / "state", base / "homes")
    alices_home(hub.homes)
    try:
        asyncio.run(_start(hub))
        yield hub
    finally:
        asyncio.run(hub.stop())


async def unshare_everything(hub: Hub, owner: str = "alice") -> None:
    """Revoke every Tandem grant of ``owner``'s server (with the hub shares Tandem made)
    and remove the hub shares left, through the server's own token, as ``tandem revoke``
    would."""
    runtime = hub.homes / owner / ".local" / "share" / "jupyter" / "runtime"
    info = json.loads(next(runtime.glob("jpserver-*.json")).read_text())
    base, headers = info["url"].rstrip("/"), {"Authorization": f"token {info['token']}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        listed = await client.get("/tandem/api/grants")
        assert listed.status_code == 200, listed.text
        for grant in listed.json()["grants"]:
            if grant["revoked_at"] is None:
                response = await client.delete(f"/tandem/api/grants/{grant['id']}")
                assert response.status_code == 204, response.text
    response = await hub.api("DELETE", f"/shares/{owner}/")
    assert response.status_code in (200, 204), response.text


@pytest.fixture(scope="module")
def hub(package_hub: Hub) -> Iterator[Hub]:
    """The package's hub; after the module, alice's server is shared with nobody again."""
    yield package_hub
    asyncio.run(unshare_everything(package_hub))


@pytest.fixture
async def browser(hub: Hub) -> AsyncIterator[HubBrowser]:
    client = HubBrowser(hub)
    yield client
    await client.close()
