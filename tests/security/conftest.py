"""Fixtures for the attack tests: a guest client that joins through real links."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.browser.conftest import browser  # noqa: F401  (Chromium, for the browser attacks)
from tests.handlers.test_sharing import Guest


@pytest.fixture
async def guest(server) -> AsyncIterator[Guest]:
    client = Guest(server)
    yield client
    await client.close()
