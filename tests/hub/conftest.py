"""One real JupyterHub for the module, with alice's server spawned (see ``harness``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

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


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """Started and stopped outside the tests' event loops (one hub for the module)."""
    base = tmp_path_factory.mktemp("hub")
    hub = Hub(base / "state", base / "homes")
    alices_home(hub.homes)
    try:
        asyncio.run(_start(hub))
        yield hub
    finally:
        asyncio.run(hub.stop())


@pytest.fixture
async def browser(hub: Hub) -> AsyncIterator[HubBrowser]:
    client = HubBrowser(hub)
    yield client
    await client.close()
