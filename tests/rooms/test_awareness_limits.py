"""Awareness attacks against a real server: sizes, counts, hostile JSON and clocks, and
client ids taken over after their owner's socket dropped.

Most tests share one server, each in a notebook of its own; the memory test and the
per-room cap have their own."""

from __future__ import annotations

import asyncio

import pytest
from pycrdt import Doc

from tandem.protocol import AwarenessEntry, encode_awareness, encode_var_bytes, encode_var_uint
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, MODULE_LOOP
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

pytestmark = MODULE_LOOP


def awareness_frame(raw: bytes, client_id: int = 7, clock: int = 1) -> bytes:
    body = encode_var_uint(1) + encode_var_uint(client_id) + encode_var_uint(clock)
    return encode_var_uint(1) + encode_var_bytes(body + encode_var_bytes(raw))


HOSTILE = {
    "nested 100,000 deep": awareness_frame(b"[" * 100_000 + b"]" * 100_000),
    "nested 100,000 deep object": awareness_frame(b'{"a":' * 100_000 + b"1" + b"}" * 100_000),
    "NaN": awareness_frame(b'{"cursor": NaN}'),
    "Infinity": awareness_frame(b'{"cursor": Infinity}'),
    "-Infinity": awareness_frame(b'{"cursor": -Infinity}'),
    "number overflowing to Infinity": awareness_frame(b'{"cursor": 1e400}'),
    "integer with 5,000 digits": awareness_frame(b'{"cursor": ' + b"9" * 5000 + b"}"),
    "clock 2^53": awareness_frame(b'{"cursor": 1}', clock=2**53),
    "client id 2^53": awareness_frame(b'{"cursor": 1}', client_id=2**53),
    "state of 4 MiB": awareness_frame(b'{"pad": "' + b"x" * (4 << 20) + b'"}'),
}


@pytest.mark.parametrize("frame", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_hostile_awareness_closes_1007_and_is_not_relayed(
    module_server, frame, fresh_notebook
):
    server, nb = module_server, fresh_notebook
    good = await YPeer.open(server, nb)
    bad = await YPeer.open(server, nb)
    await bad.send_raw_bytes(frame)
    await eventually(lambda: bad.closed.is_set())
    assert bad.close_code == 1007, (bad.close_code, bad.close_reason)
    await good.set_awareness({"cursor": 1})
    newcomer = await YPeer.open(server, nb)
    await eventually(lambda: good.doc.client_id in newcomer.awareness)
    assert 7 not in newcomer.awareness and 7 not in good.awareness
    assert not good.closed.is_set()
    assert "Traceback" not in server.log_tail(200)
    await good.close()
    await newcomer.close()


async def test_large_states_never_reach_late_joiners(server):
    """The reported attack: states of 4 MiB from several sockets, a late joiner downloads
    them all. Each one is refused; the server's memory stays put."""
    before = server.memory_rss()
    attackers = [await YPeer.open(server, "demo.ipynb") for _ in range(3)]
    for attacker in attackers:
        entries = [AwarenessEntry(100 + i, 1, {"pad": "x" * (4 << 20)}) for i in range(4)]
        attacker.send(encode_awareness(entries))
    for attacker in attackers:
        await eventually(lambda a=attacker: a.closed.is_set())
        assert attacker.close_code == 1007
    late = await YPeer.open(server, "demo.ipynb")
    await asyncio.sleep(0.3)
    assert late.awareness == {}
    assert server.memory_rss() - before < 200 << 20
    await late.close()


async def test_client_ids_per_connection_are_capped(module_server, fresh_notebook):
    server, nb = module_server, fresh_notebook
    observer = await YPeer.open(server, nb)
    flooder = await YPeer.open(server, nb)
    entries = [AwarenessEntry(1000 + i, 1, {"cursor": i}) for i in range(40)]
    await flooder.send_raw_bytes(encode_awareness(entries))
    await eventually(lambda: len(observer.awareness) >= 8)
    await asyncio.sleep(0.3)
    assert len(observer.awareness) == 8
    await flooder.close()
    await observer.close()


async def test_states_per_room_are_capped(root, tmp_path):
    args = [*FAST, "--TandemApp.awareness_max_states_per_room=3"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        peers = [await YPeer.open(server, "demo.ipynb") for _ in range(5)]
        for peer in peers:
            await peer.set_awareness({"cursor": 1})
        late = await YPeer.open(server, "demo.ipynb")
        await eventually(lambda: len(late.awareness) == 3)
        await asyncio.sleep(0.3)
        assert len(late.awareness) == 3
        # A state that leaves frees its place.
        gone = next(p for p in peers if p.doc.client_id in late.awareness)
        await gone.close()
        waiting = next(p for p in peers if p.doc.client_id not in late.awareness)
        await waiting.set_awareness({"cursor": 2})
        await eventually(lambda: waiting.doc.client_id in late.awareness)
        for peer in [*peers, late]:
            await peer.close()


async def test_a_guest_cannot_take_over_the_owners_client_id(module_server, fresh_notebook):
    """After the owner's socket drops, a guest publishing under the owner's client id
    is ignored, by those present and by late joiners."""
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit")
    guest = Guest(server)
    try:
        await guest.join(invite["link"], name="Mallory")
        owner = await YPeer.open(server, nb)
        witness = await YPeer.open(server, nb)
        owner_id = owner.doc.client_id
        await owner.set_awareness({"cursor": 1})
        await eventually(lambda: (witness.awareness.get(owner_id) or {}).get("cursor") == 1)
        await owner.close()
        await eventually(lambda: witness.awareness.get(owner_id, "x") is None)

        intruder = await guest.peer(nb)
        await intruder.send_raw_bytes(
            encode_awareness([AwarenessEntry(owner_id, 50, {"cursor": 666})])
        )
        await intruder.set_awareness({"cursor": 2})  # its own id still works
        await eventually(lambda: intruder.doc.client_id in witness.awareness)
        await asyncio.sleep(0.3)
        assert witness.awareness.get(owner_id) is None
        late = await YPeer.open(server, nb)
        await eventually(lambda: intruder.doc.client_id in late.awareness)
        assert owner_id not in late.awareness
        for peer in (intruder, witness, late):
            await peer.close()
    finally:
        await guest.close()


async def test_a_reconnecting_person_takes_up_their_client_id_again(module_server, fresh_notebook):
    """The binding is to the principal, not to the first connection: the same guest
    reconnecting (a tab after a network drop) is shown under its client id again,
    another guest is not."""
    server, nb = module_server, fresh_notebook
    invite = await share(server, nb, role="edit")
    ada, eve = Guest(server), Guest(server)
    try:
        await ada.join(invite["link"], name="Ada")
        await eve.join(invite["link"], name="Eve")
        witness = await YPeer.open(server, nb)
        first = await ada.peer(nb)
        ada_id = first.doc.client_id
        await first.set_awareness({"cursor": 1})
        await eventually(lambda: ada_id in witness.awareness)
        url = first.ws.request.path
        await first.close()
        await eventually(lambda: witness.awareness.get(ada_id, "x") is None)

        other = await eve.peer(nb)
        await other.send_raw_bytes(encode_awareness([AwarenessEntry(ada_id, 9, {"cursor": 6})]))
        await other.set_awareness({"cursor": 0})
        await eventually(lambda: other.doc.client_id in witness.awareness)
        assert witness.awareness.get(ada_id) is None

        again = YPeer()
        again.doc = Doc(client_id=ada_id)
        cookie = "; ".join(f"{k}={v}" for k, v in ada.http.cookies.items())
        await again.connect(f"{server.ws_url}{url}", {"Cookie": cookie, "Origin": server.http_url})
        await again.wait_synced()
        await again.set_awareness({"cursor": 3})
        await eventually(lambda: (witness.awareness.get(ada_id) or {}).get("cursor") == 3)
        assert witness.awareness[ada_id]["user"]["name"] == "Ada"
        for peer in (other, again, witness):
            await peer.close()
    finally:
        await ada.close()
        await eve.close()
