"""Item 17: ``/api/me?permissions=`` reports a guest's real permissions.

The attack (a lie more than a hole): a view guest was told it may write contents,
execute kernels and terminals and shut the server down.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.handlers.test_sharing import share

ASKED = {
    "contents": ["read", "write"],
    "kernels": ["read", "write", "execute"],
    "terminals": ["execute"],
    "server": ["execute"],
    "sessions": ["write"],
}
QUERY = "/api/me?permissions=" + quote(json.dumps(ASKED))


@pytest.mark.parametrize(
    "role, contents", [("view", ["read"]), ("edit", ["read", "write"]), ("run", ["read", "write"])]
)
async def test_guest_permissions_are_the_real_ones(server, guest, role, contents):
    invite = await share(server, role=role)
    await guest.join(invite["link"])
    response = await guest.http.get(QUERY)
    assert response.status_code == 200
    permissions = response.json()["permissions"]
    assert permissions["contents"] == contents
    for resource in ("kernels", "terminals", "server", "sessions"):
        assert permissions[resource] == [], resource


async def test_owner_permissions_are_unchanged(server):
    status, body = await server.arequest("GET", QUERY)
    assert status == 200
    for resource, actions in ASKED.items():
        assert body["permissions"][resource] == actions
