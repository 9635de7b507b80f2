"""The owner has one name: the configured ``TandemApp.owner_name`` (default: the hub
user, else the account's name), the same from every login and browser, in ``/api/me``
(what JupyterLab shows), the awareness the server stamps, and the join page."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tandem.identity import owner_user
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST
from tests.eventually import eventually
from tests.handlers.test_sharing import share


async def test_the_owner_is_the_configured_name_from_every_login(
    root: Path, tmp_path: Path
) -> None:
    server = TandemServer(
        root, tmp_path / "state", args=[*FAST, "--TandemApp.owner_name=Ada Lovelace"]
    )
    await server.start()
    try:
        # Two logins (token in a header, no cookie: a fresh session each time) used to be
        # two different "Anonymous <moon>" people.
        identities = [(await server.arequest("GET", "/api/me"))[1]["identity"] for _ in range(2)]
        assert identities[0] == identities[1]
        me = identities[0]
        assert me["name"] == me["display_name"] == "Ada Lovelace"
        assert me["initials"] == "AL"
        assert "Anonymous" not in str(me)

        # The server stamps the same identity into the owner's awareness.
        async with await YPeer.open(server, "demo.ipynb") as peer:
            await peer.set_awareness({"cursors": []})
            async with await YPeer.open(server, "demo.ipynb") as other:

                def names() -> set[str]:
                    return {
                        s["user"]["name"] for s in other.awareness.values() if s and "user" in s
                    }

                await eventually(lambda: "Ada Lovelace" in names())

        # And the join page names her.
        invitation = await share(server, "demo.ipynb", role="view")
        async with httpx.AsyncClient(base_url=server.http_url) as guest:
            page = await guest.get(invitation["link"].split(str(server.port), 1)[1])
        assert re.search(r"Ada Lovelace shares a notebook with you", page.text), page.text[:500]
    finally:
        await server.stop()


def test_owner_user_defaults_to_the_hub_user(monkeypatch) -> None:
    from jupyter_server.auth import User

    monkeypatch.setenv("JUPYTERHUB_USER", "grace")
    anonymous = User(username="0f3a", name="Anonymous Kale", display_name="Anonymous Kale")
    owner = owner_user(anonymous)
    assert (owner.username, owner.name, owner.display_name, owner.initials) == (
        "grace",
        "grace",
        "grace",
        "G",
    )
    assert owner_user(anonymous, "Grace Hopper").display_name == "Grace Hopper"
    assert owner_user(anonymous).color == owner_user(anonymous, "x").color
