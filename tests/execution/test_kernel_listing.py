"""Listing kernels while one starts (JupyterLab polls ``GET /api/kernels``): in process,
with jupyter_server's own kernel manager and Tandem's provisioner as the default one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from jupyter_client.provisioning.factory import KernelProvisionerFactory
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

from tandem.sandbox import provisioner


@pytest.fixture
def tandem_provisioner() -> Iterator[None]:
    """Tandem's provisioner as every kernel's, as the extension makes it (no sharing)."""
    assert provisioner.registered()
    factory = KernelProvisionerFactory.instance()
    before = factory.default_provisioner_name
    factory.default_provisioner_name = provisioner.NAME
    try:
        yield
    finally:
        factory.default_provisioner_name = before


async def test_a_starting_kernel_can_be_listed_at_every_turn_of_the_loop(
    tandem_provisioner: None, tmp_path: Path
) -> None:
    manager = AsyncMappingKernelManager(root_dir=str(tmp_path))
    listings: list[int] = []
    failures: list[BaseException] = []
    starting = True

    async def poll() -> None:
        # The handler of GET /api/kernels, run at each turn while the kernel starts: once
        # jupyter_client registered it, it must list (it failed with a TraitError, a 500).
        while starting:
            try:
                listings.append(len(manager.list_kernels()))
            except Exception as error:  # noqa: BLE001 - the assertion reports it
                failures.append(error)
            await asyncio.sleep(0)

    poller = asyncio.create_task(poll())
    try:
        kernel_id = await manager.start_kernel(kernel_name="python3")
    finally:
        starting = False
        await poller
    try:
        assert failures == []
        assert listings and listings[-1] == 1
        [model] = manager.list_kernels()
        assert model["id"] == kernel_id and model["last_activity"]
    finally:
        await manager.shutdown_all(now=True)
