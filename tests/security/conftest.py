"""Fixtures for the attack tests: a guest client that joins through real links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.browser.conftest import launched_chromium
from tests.handlers.test_sharing import Guest


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Chromium of this test's own, for the browser attacks."""
    async with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
async def guest(server) -> AsyncIterator[Guest]:
    client = Guest(server)
    yield client
    await client.close()
