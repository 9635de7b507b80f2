"""Real Chromium through Playwright, for the web app's and JupyterLab's browser tests.

Debian's Chromium (``make browser`` installs it) is driven by Playwright's Python API;
no browser download is needed. Screenshots land in ``test-artifacts/screenshots`` (git-ignored).

One Chromium serves every test in this folder (they all run in the folder's event loop);
each test gets its own browser contexts (cookies, storage), and those it leaves open are
closed after it, so no test sees another's pages or sessions.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

CHROMIUM = os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@asynccontextmanager
async def launched_chromium() -> AsyncIterator[Any]:
    """Debian's Chromium under Playwright, closed on exit."""
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


HERE = Path(__file__).resolve().parent
PACKAGE_LOOP = pytest.mark.asyncio(loop_scope="package")


def pytest_collectstart(collector: pytest.Collector) -> None:
    """This folder's tests run in its loop, where the shared Chromium lives."""
    if isinstance(collector, pytest.Module) and HERE in collector.path.resolve().parents:
        collector.add_marker(PACKAGE_LOOP)


@pytest_asyncio.fixture(scope="package", loop_scope="package")
async def shared_chromium() -> AsyncIterator[Any]:
    async with launched_chromium() as chromium:
        yield chromium


@pytest_asyncio.fixture(loop_scope="package")
async def browser(shared_chromium: Any) -> AsyncIterator[Any]:
    """The shared Chromium; the contexts this test opens are closed after it."""
    before = set(shared_chromium.contexts)
    yield shared_chromium
    for context in shared_chromium.contexts:
        if context not in before:
            await context.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
