"""Item 17: ``/api/me?permissions=`` reports a guest's real permissions.

The attack (a lie more than a hole): a view guest was told it may write contents,
execute kernels and terminals and shut the server down.

The tests share one server, each with a guest of its own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest
import pytest_asyncio

from tests.conftest import MODULE_LOOP
from tests.handlers.test_sharing import Guest, share

pytestmark = MODULE_LOOP

ASKED = {
    "contents": ["read", "write"],
    "kernels": ["read", "write", "execute"],
    "terminals": ["execute"],
    "server": ["execute"],
    "sessions": ["write"],
}
QUERY = "/api/me?permissions=" + quote(json.dumps(ASKED))


@pytest_asyncio.fixture(loop_scope="module")
async def guest(module_server) -> AsyncIterator[Guest]:
    client = Guest(module_server)
    yield client
    await client.close()


@pytest.mark.parametrize(
    "role, contents", [("view", ["read"]), ("edit", ["read", "write"]), ("run", ["read", "write"])]
)
async def test_guest_permissions_are_the_real_ones(module_server, guest, role, contents):
    invite = await share(module_server, role=role)
    await guest.join(invite["link"])
    response = await guest.http.get(QUERY)
    assert response.status_code == 200
    permissions = response.json()["permissions"]
    assert permissions["contents"] == contents
    for resource in ("kernels", "terminals", "server", "sessions"):
        assert permissions[resource] == [], resource


async def test_owner_permissions_are_unchanged(module_server):
    status, body = await module_server.arequest("GET", QUERY)
    assert status == 200
    for resource, actions in ASKED.items():
        assert body["permissions"][resource] == actions
