"""Tandem as an extension of a plain ``jupyter server`` (as a hub's user image runs it)."""

from __future__ import annotations

import sys

from tandem.testing import TandemServer, YPeer


async def test_enabled_inside_jupyter_server(root, tmp_path):
    async with TandemServer(
        root,
        tmp_path / "state",
        command=[sys.executable, "-m", "jupyter", "server"],
        args=['--ServerApp.jpserver_extensions={"tandem": True}'],
    ) as server:
        peer = await YPeer.open(server, "demo.ipynb")
        assert len(peer.notebook.ycells) == 3
        await peer.close()
        status, me = await server.arequest("GET", "/api/me")
        assert status == 200 and me["identity"]["username"]


def test_every_option_has_help():
    from tandem.app import TandemApp

    options = TandemApp.class_traits(config=True)
    assert options
    for name, trait in options.items():
        if name in {"open_browser", "serverapp_config"} or name in TandemApp.__base__.class_traits(
            config=True
        ):
            continue
        assert trait.help and len(trait.help) > 20, name


def test_public_api_does_not_drift():
    import tandem
    import tandem.rooms
    import tandem.store

    assert tandem.__all__ == ["__version__"]
    assert sorted(tandem.store.__all__) == [
        "DocumentHistory",
        "DocumentStore",
        "SQLiteStore",
        "StaleEpoch",
    ]
    assert sorted(tandem.rooms.__all__) == [
        "DocumentRoom",
        "Peer",
        "Room",
        "RoomManager",
        "RoomSettings",
    ]
