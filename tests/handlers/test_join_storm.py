"""A class joining at once: every join is audited exactly once before the guest is shown
anything, joins arriving together share commits, a store that cannot commit refuses the
joins of that batch cleanly, and the listening socket holds the whole class."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tandem import faults
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, MODULE_LOOP, populate
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

pytestmark = MODULE_LOOP

GUESTS = 6
SOCKETS_PER_GUEST = 10


@pytest.fixture(scope="module")
def disk_full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """While this file exists, the server's store commits fail as on a full disk."""
    return tmp_path_factory.mktemp("faults") / "disk-full"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def storm_server(
    tmp_path_factory: pytest.TempPathFactory, disk_full: Path
) -> AsyncIterator[TandemServer]:
    root = populate(tmp_path_factory.mktemp("storm") / "root")
    srv = TandemServer(
        root,
        root.parent / "state",
        args=[*FAST, "--TandemApp.listen_backlog=1000"],
        env={faults.STORE_FULL: str(disk_full)},
    )
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


async def audit_of(server: TandemServer, kind: str) -> list[dict]:
    status, body = await server.arequest("GET", f"/tandem/api/audit?kind={kind}")
    assert status == 200, body
    return body["events"]


async def test_a_storm_of_joins_is_audited_once_per_socket_in_order(storm_server, fresh_guests):
    server = storm_server
    invite = await share(server, role="view")
    guests = fresh_guests(GUESTS)
    for i, guest in enumerate(guests):
        await guest.join(invite["link"], name=f"Student {i}")
    before = {e["id"] for e in await audit_of(server, "room_joined")}

    sockets = await asyncio.gather(
        *(guest.peer("demo.ipynb") for guest in guests for _ in range(SOCKETS_PER_GUEST))
    )
    assert all(p.synced.is_set() for p in sockets)
    joined = [e for e in await audit_of(server, "room_joined") if e["id"] not in before]
    assert len(joined) == GUESTS * SOCKETS_PER_GUEST
    assert len({e["id"] for e in joined}) == len(joined)
    principals = {e["principal_id"] for e in joined}
    assert len(principals) == GUESTS
    for principal in principals:
        assert sum(e["principal_id"] == principal for e in joined) == SOCKETS_PER_GUEST

    await asyncio.gather(*(p.close() for p in sockets))

    async def every_leave_audited() -> None:
        events = [
            e
            for e in await audit_of(server, "room_joined") + await audit_of(server, "room_left")
            if e["id"] not in before
        ]
        assert len(events) == 2 * GUESTS * SOCKETS_PER_GUEST
        for principal in principals:
            # Per guest, in the order appended: all its joins, then all its leaves.
            kinds = [
                e["kind"]
                for e in sorted(events, key=lambda e: e["id"])
                if e["principal_id"] == principal
            ]
            assert kinds == ["room_joined"] * SOCKETS_PER_GUEST + ["room_left"] * SOCKETS_PER_GUEST

    await eventually(every_leave_audited)

    status, body = await server.arequest("GET", "/tandem/api/grants")
    assert status == 200
    mine = [g for g in body["grants"] if g["invitation_id"] == invite["invitation"]["id"]]
    assert len(mine) == GUESTS and all(g["last_seen"] for g in mine)


async def test_a_join_whose_audit_cannot_be_stored_is_refused_and_shown_nothing(
    storm_server, fresh_guests, disk_full
):
    server = storm_server
    invite = await share(server, role="view")
    [guest] = fresh_guests(1)
    await guest.join(invite["link"], name="Late Student")
    owner = await YPeer.open(server, "demo.ipynb")  # the room is loaded before the disk fills
    status, body = await server.arequest("GET", "/tandem/api/audit")
    before = {e["id"] for e in body["events"]}
    disk_full.touch()
    try:
        refused = await asyncio.gather(*(guest.peer("demo.ipynb", wait=False) for _ in range(5)))
        for peer in refused:
            await asyncio.wait_for(peer.closed.wait(), 30)
            assert peer.close_code == 4500
            assert not peer.synced.is_set()
            assert peer.received_updates == 0 and len(peer.notebook.ycells) == 0
    finally:
        disk_full.unlink()
    joined = [e for e in await audit_of(server, "room_joined") if e["id"] not in before]
    assert joined == []
    assert [e for e in await audit_of(server, "room_left") if e["id"] not in before] == []

    # The disk has room again: the same guest joins, audited once.
    peer = await guest.peer("demo.ipynb")
    joined = [e for e in await audit_of(server, "room_joined") if e["id"] not in before]
    assert len(joined) == 1
    await peer.close()
    await owner.close()


async def test_the_listening_socket_holds_a_class(storm_server):
    """Tornado's backlog of 128 drops the rest of a class joining at once (their
    clients retry a second later); Tandem's listening socket holds more."""
    listing = subprocess.run(
        ["ss", "-ltnH", f"sport = :{storm_server.port}"], capture_output=True, text=True
    )
    if listing.returncode != 0:
        pytest.skip("ss is not available")
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    backlogs = {int(line.split()[2]) for line in listing.stdout.splitlines() if line.strip()}
    assert backlogs == {min(1000, somaxconn)}


@pytest_asyncio.fixture(loop_scope="module")
async def fresh_guests(storm_server) -> AsyncIterator:
    made: list[Guest] = []

    def make(count: int) -> list[Guest]:
        new = [Guest(storm_server) for _ in range(count)]
        made.extend(new)
        return new

    yield make
    for guest in made:
        await guest.close()
