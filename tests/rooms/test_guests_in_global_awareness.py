"""Guests in JupyterLab's global awareness (what its "Online collaborators" panel lists):
the server publishes each guest's stamped identity and the documents they are in, never
what they wrote, removes it when they leave or are revoked, and renews it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, MODULE_LOOP, write_notebook
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

pytestmark = MODULE_LOOP

GLOBAL = "JupyterLab:globalAwareness"


async def owner_in_global_room(server: TandemServer) -> YPeer:
    """The owner's JupyterLab tab in the global awareness room."""
    peer = YPeer()
    await peer.connect(f"{server.ws_url}/api/collaboration/room/{GLOBAL}", server.headers)
    await peer.wait_synced()
    return peer


def guests_in(peer: YPeer) -> list[dict[str, Any]]:
    return [
        state
        for state in peer.awareness.values()
        if state and str(state.get("user", {}).get("username", "")).startswith("guest-")
    ]


async def joined_guest(
    server: TandemServer, path: str, name: str, role: str = "edit"
) -> tuple[Guest, YPeer, dict[str, Any]]:
    guest = Guest(server)
    invitation = await share(server, path, role=role)
    response = await guest.join(invitation["link"], name=name)
    assert response.status_code == 303, response.text
    return guest, await guest.peer(path), invitation


async def test_a_guest_in_a_notebook_is_listed_with_their_stamped_identity_and_document(
    module_server: TandemServer, fresh_notebook: str
) -> None:
    lab = await owner_in_global_room(module_server)
    guest, peer, _ = await joined_guest(module_server, fresh_notebook, "Ada <b>L</b>")
    try:
        # What the guest claims about themselves is not what the owner is shown.
        await peer.set_awareness({"user": {"name": "The Owner", "color": "red"}, "cursor": 1})
        await eventually(lambda: len(guests_in(lab)) == 1)
        (state,) = guests_in(lab)
        assert state["current"] == f"notebook:{fresh_notebook}"
        assert state["documents"] == [fresh_notebook]
        user = state["user"]
        assert user["display_name"] == "Ada <b>L</b>"  # text: JupyterLab renders it as text
        assert user["role"] == "edit"
        assert user["color"].startswith("#") and user["color"] != "red"
        assert user["initials"] and user["avatar_url"] is None
        # A JupyterLab tab opened later is shown the guest at once.
        late = await owner_in_global_room(module_server)
        await eventually(lambda: len(guests_in(late)) == 1)
        await late.close()
        # Leaving removes them.
        await peer.close()
        await eventually(lambda: guests_in(lab) == [])
    finally:
        await peer.close()
        await guest.close()
        await lab.close()


async def test_one_entry_per_guest_with_every_document_they_have_open(
    module_server: TandemServer, module_root: Path, fresh_notebook: str
) -> None:
    folder = fresh_notebook.removesuffix(".ipynb")
    (module_root / folder).mkdir()
    first, other = f"{folder}/one.ipynb", f"{folder}/two.ipynb"
    for path in (first, other):
        write_notebook(module_root / path)
    lab = await owner_in_global_room(module_server)
    guest = Guest(module_server)
    invitation = await share(module_server, folder, role="edit")
    peers: list[YPeer] = []
    try:
        await guest.join(invitation["link"], name="Grace")
        peers.append(await guest.peer(first))
        peers.append(await guest.peer(other))
        await eventually(lambda: [s["documents"] for s in guests_in(lab)] == [[first, other]])
        assert guests_in(lab)[0]["current"] == f"notebook:{other}"
        await peers[1].close()
        await eventually(lambda: [s["documents"] for s in guests_in(lab)] == [[first]])
        assert guests_in(lab)[0]["current"] == f"notebook:{first}"
    finally:
        for peer in peers:
            await peer.close()
        await guest.close()
        await lab.close()


async def test_a_revoked_guest_disappears(module_server: TandemServer, fresh_notebook: str) -> None:
    lab = await owner_in_global_room(module_server)
    guest, peer, _ = await joined_guest(module_server, fresh_notebook, "Rev")
    try:
        await eventually(lambda: len(guests_in(lab)) == 1)
        status, listing = await module_server.arequest("GET", "/tandem/api/grants")
        (grant,) = [g for g in listing["grants"] if g["display_name"] == "Rev"]
        status, _ = await module_server.arequest("DELETE", f"/tandem/api/grants/{grant['id']}")
        assert status in (200, 204)
        await eventually(lambda: peer.closed.is_set())
        await eventually(lambda: guests_in(lab) == [])
    finally:
        await peer.close()
        await guest.close()
        await lab.close()


async def test_the_owner_in_a_document_is_not_published_twice(
    module_server: TandemServer, fresh_notebook: str
) -> None:
    """The owner's own tabs publish themselves; the server adds nobody for the owner."""
    lab = await owner_in_global_room(module_server)
    owner = await YPeer.open(module_server, fresh_notebook)
    guest, peer, _ = await joined_guest(module_server, fresh_notebook, "Only")
    try:
        await eventually(lambda: len(guests_in(lab)) == 1)
        assert [s for s in lab.awareness.values() if s] == guests_in(lab)
    finally:
        for p in (peer, owner):
            await p.close()
        await guest.close()
        await lab.close()


class ClockPeer(YPeer):
    """Keeps the clock of every awareness entry it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.clocks: dict[int, int] = {}

    def _handle(self, message: bytes) -> None:
        from tandem.protocol import MessageType, Reader, decode_awareness

        reader = Reader(message)
        if reader.var_uint() == MessageType.AWARENESS:
            for entry in decode_awareness(reader.var_bytes()):
                self.clocks[entry.client_id] = entry.clock
        super()._handle(message)


async def test_the_published_state_is_renewed_before_clients_drop_it(
    root: Path, tmp_path: Path
) -> None:
    args = [*FAST, "--TandemApp.awareness_outdated_after=1"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        lab = ClockPeer()
        await lab.connect(f"{server.ws_url}/api/collaboration/room/{GLOBAL}", server.headers)
        guest, peer, _ = await joined_guest(server, "demo.ipynb", "Renewed")
        try:
            await eventually(lambda: len(guests_in(lab)) == 1)
            (client_id,) = [c for c, s in lab.awareness.items() if s in guests_in(lab)]
            first = lab.clocks[client_id]
            assert first >= 1  # y-protocols clients ignore a new client id's clock 0
            # Renewed every half of the expiry (y-protocols clients drop a state not
            # renewed within it), and never expired by the server itself.
            await eventually(lambda: lab.clocks[client_id] >= first + 3, timeout=20)
            assert len(guests_in(lab)) == 1
        finally:
            await peer.close()
            await guest.close()
            await lab.close()


async def test_a_renamed_document_is_shown_under_its_new_path(
    module_server: TandemServer, module_root: Path, fresh_notebook: str
) -> None:
    folder = fresh_notebook.removesuffix(".ipynb")
    (module_root / folder).mkdir()
    write_notebook(module_root / folder / "before.ipynb")
    lab = await owner_in_global_room(module_server)
    guest = Guest(module_server)
    peer: YPeer | None = None
    try:
        invitation = await share(module_server, folder, role="edit")
        await guest.join(invitation["link"], name="Mover")
        peer = await guest.peer(f"{folder}/before.ipynb")
        await eventually(
            lambda: [s["documents"] for s in guests_in(lab)] == [[f"{folder}/before.ipynb"]]
        )
        status, _ = await module_server.arequest(
            "PATCH", f"/api/contents/{folder}/before.ipynb", {"path": f"{folder}/after.ipynb"}
        )
        assert status == 200
        await eventually(
            lambda: [s["current"] for s in guests_in(lab)] == [f"notebook:{folder}/after.ipynb"]
        )
        assert guests_in(lab)[0]["documents"] == [f"{folder}/after.ipynb"]
    finally:
        if peer is not None:
            await peer.close()
        await guest.close()
        await lab.close()


class _File:
    def __init__(self, path: str) -> None:
        self.path = path


class _DocumentRoom:
    """What GuestPresence reads of a document room."""

    def __init__(self, path: str) -> None:
        self.file = _File(path)
        self.kind = "notebook"
        self.peers: dict[str, Any] = {}
        self.on_moved: list[Any] = []


class _Peer:
    def __init__(self, peer_id: str, principal: str, name: str) -> None:
        self.peer_id = peer_id
        self.principal_id = principal
        self.identity = {"username": f"guest-{principal}", "display_name": name, "role": "edit"}


async def test_a_socket_closed_before_its_join_was_registered_is_dropped_at_renewal() -> None:
    """In process: a join whose socket is no longer in its room (it closed while joining,
    so its close was never reported) is not published, and is forgotten at renewal."""
    from tandem.rooms import Room, RoomManager
    from tandem.rooms.lobby import GLOBAL_AWARENESS, GuestPresence

    async def factory(room_id: str) -> Room:
        return Room(room_id)

    rooms = RoomManager(factory, evict_delay=60)
    presence = GuestPresence(rooms, renew_every=0.05)
    room = _DocumentRoom("a.ipynb")
    live, dead = _Peer("p1", "aaaa", "Live"), _Peer("p2", "bbbb", "Dead")
    room.peers["p1"] = live
    try:
        presence.joined(live, room)  # type: ignore[arg-type]
        presence.joined(dead, room)  # type: ignore[arg-type]
        global_room = await rooms.get(GLOBAL_AWARENESS)

        def names() -> list[str]:
            return sorted(u["display_name"] for u in global_room.awareness.users())

        await eventually(lambda: names() == ["Live"])
        await eventually(lambda: "p2" not in presence._peers)
        assert names() == ["Live"]
        presence.left("p1")
        await eventually(lambda: names() == [])
    finally:
        presence.stop()
        await rooms.stop()
