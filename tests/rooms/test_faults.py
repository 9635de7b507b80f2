"""Nothing anyone saw is lost under faults beyond a plain kill -9: crashes during file
writes, a failing store, poisoned and flooding updates, updates that crash the decoder.

Tests that restart, break or limit the server have their own; the others share one, each
in a notebook of its own."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import nbformat
from pycrdt import Text

from tandem import faults
from tandem.protocol import SyncType, encode_sync, encode_var_string, encode_var_uint
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST, MODULE_LOOP
from tests.eventually import eventually
from tests.rooms.frames import POISONED_PENDING, YRS_SEGFAULT

pytestmark = MODULE_LOOP


def cell_text(peer: YPeer, index: int = 1) -> str:
    return str(peer.notebook.ycells[index]["source"])


def file_text(root: Path, index: int = 1) -> str:
    return nbformat.read(root / "demo.ipynb", as_version=4).cells[index].source


def exactly_once(text: str, tokens: list[str]) -> bool:
    return all(text.count(token) == 1 for token in tokens)


async def type_tokens(peer: YPeer, tokens: list[str], index: int = 1) -> None:
    source: Text = peer.notebook.ycells[index]["source"]
    for token in tokens:
        source += token
    await peer.flush()


async def wait_for_file(path: Path) -> None:
    await eventually(lambda: path.exists(), timeout=30)


async def test_two_crashes_during_saves_in_a_row_lose_nothing(root, tmp_path):
    held = tmp_path / "save-held"
    server = TandemServer(
        root, tmp_path / "state", args=FAST, env={faults.HOLD_FILE_WRITE: str(held)}
    )
    await server.start()
    try:
        writer = await YPeer.open(server, "demo.ipynb")
        watcher = await YPeer.open(server, "demo.ipynb")
        first = [f"<a{i}>" for i in range(20)]
        await type_tokens(writer, first)
        await eventually(lambda: exactly_once(cell_text(watcher), first))
        await wait_for_file(held)  # the save recorded what it writes, and is in the write
        await server.stop(kill=True)
        held.unlink()
        await writer.close()
        await watcher.close()
        assert "<a0>" not in file_text(root)

        # Restart: recovery saves the edits, and this save is interrupted too.
        await server.start()
        writer = await YPeer.open(server, "demo.ipynb")
        assert exactly_once(cell_text(writer), first)
        second = [f"<b{i}>" for i in range(20)]
        await type_tokens(writer, second)
        watcher = await YPeer.open(server, "demo.ipynb")
        await eventually(lambda: exactly_once(cell_text(watcher), first + second))
        await wait_for_file(held)
        await server.stop(kill=True)
        held.unlink()
        await watcher.close()
        assert "<a0>" not in file_text(root)

        server.extra_env = {}
        await server.start()
        fresh = await YPeer.open(server, "demo.ipynb")
        assert exactly_once(cell_text(fresh), first + second), cell_text(fresh)
        await eventually(lambda: exactly_once(file_text(root), first + second), timeout=30)
        # the writer's tab comes back with its state: nothing doubles
        await writer.reconnect(server)
        await eventually(lambda: cell_text(writer) == cell_text(fresh))
        assert exactly_once(cell_text(fresh), first + second)
        for peer in (writer, fresh):
            await peer.close()
    finally:
        await server.stop()


async def test_store_failure_rolls_the_room_back_to_what_is_stored(root, tmp_path):
    full = tmp_path / "disk-full"
    server = TandemServer(root, tmp_path / "state", args=FAST, env={faults.STORE_FULL: str(full)})
    await server.start()
    try:
        writer = await YPeer.open(server, "demo.ipynb")
        watcher = await YPeer.open(server, "demo.ipynb")
        await type_tokens(writer, ["<stored>"])
        await eventually(lambda: "<stored>" in cell_text(watcher))
        await eventually(lambda: "<stored>" in file_text(root), timeout=30)
        # The save is complete, its bookkeeping (dirty: false) stored too, before the disk
        # fills: otherwise a reloaded room's first write is that bookkeeping, and it fails.
        await eventually(lambda: watcher.notebook.ystate.get("dirty") is False, timeout=30)

        full.touch()  # the disk is full from now on
        await type_tokens(writer, ["<unstored>"])
        await eventually(lambda: writer.closed.is_set() and watcher.closed.is_set())
        assert writer.close_code == 4500 and watcher.close_code == 4500
        assert "<unstored>" not in cell_text(watcher)

        # Someone joining while the disk is still full is shown only what is stored, or
        # refused (4500) when the reloaded room's own first write fails too: never the
        # unstored edit.
        try:
            joiner = await YPeer.open(server, "demo.ipynb")
        except ConnectionError as refused:
            assert "4500" in str(refused)
        else:
            assert "<stored>" in cell_text(joiner) and "<unstored>" not in cell_text(joiner)
            await joiner.close()
        await asyncio.sleep(1.5)  # past the save delays: an unstored change is never saved
        assert "<unstored>" not in file_text(root)
        await server.stop(kill=True)  # and the server dies while the disk is full
        assert "<unstored>" not in file_text(root)

        full.unlink()
        await server.start()
        fresh = await YPeer.open(server, "demo.ipynb")
        assert fresh.session_id == writer.session_id  # same lineage: the history applied
        assert "<stored>" in cell_text(fresh) and "<unstored>" not in cell_text(fresh)
        # The writer's tab still holds its edit and sends it again: stored once, shown once.
        await writer.reconnect(server)
        assert writer.close_code is None
        await eventually(lambda: "<unstored>" in cell_text(fresh))
        await eventually(
            lambda: exactly_once(file_text(root), ["<stored>", "<unstored>"]), timeout=30
        )
        await server.stop(kill=True)
        await server.start()
        after = await YPeer.open(server, "demo.ipynb")
        assert exactly_once(cell_text(after), ["<stored>", "<unstored>"])
        await writer.reconnect(server)
        await eventually(lambda: cell_text(writer) == cell_text(after))
        assert exactly_once(cell_text(after), ["<stored>", "<unstored>"])
        for peer in (writer, watcher, fresh, after):
            await peer.close()
    finally:
        await server.stop()


async def test_poisoned_pending_frames_keep_the_room_and_its_history(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        attacker = await YPeer.open(server, "demo.ipynb")
        healthy = await YPeer.open(server, "demo.ipynb")
        watcher = await YPeer.open(server, "demo.ipynb")
        for frame in POISONED_PENDING:
            await attacker.send_raw_bytes(frame)
        tokens = [f"<h{i}>" for i in range(10)]
        await type_tokens(healthy, tokens)
        await eventually(lambda: exactly_once(cell_text(watcher), tokens))
        assert healthy.close_code is None and watcher.close_code is None
        epoch = healthy.session_id
        await server.stop(kill=True)
        await server.start()
        fresh = await YPeer.open(server, "demo.ipynb")
        assert fresh.session_id == epoch  # the stored history still applies
        assert exactly_once(cell_text(fresh), tokens)
        await healthy.reconnect(server)
        more = ["<after>"]
        await type_tokens(healthy, more)
        await eventually(lambda: exactly_once(cell_text(fresh), tokens + more))
        for peer in (attacker, healthy, watcher, fresh):
            await peer.close()


async def test_a_waiting_update_that_fails_closes_only_its_sender(module_server, fresh_notebook):
    server, nb = module_server, fresh_notebook
    healthy = await YPeer.open(server, nb)
    attacker = await YPeer.open(server, nb)
    watcher = await YPeer.open(server, nb)
    await type_tokens(healthy, ["<x>"])
    await eventually(lambda: "<x>" in cell_text(attacker))
    client = healthy.doc.client_id
    clock = dict(_state(healthy))[client]
    # "insert into" a character the healthy peer has not typed yet, as if it were a type
    bad = (
        bytes([1, 1])
        + encode_var_uint(attacker.doc.client_id + 1)
        + bytes([0, 0x04, 0])
        + encode_var_uint(client)
        + encode_var_uint(clock + 2)
        + bytes([1, ord("z"), 0])
    )
    await attacker.send_raw_bytes(encode_sync(SyncType.UPDATE, bad))
    await type_tokens(healthy, ["<after>"])
    await eventually(lambda: attacker.closed.is_set())
    assert attacker.close_code == 1007
    await eventually(lambda: "<after>" in cell_text(watcher))
    await type_tokens(healthy, ["<later>"])
    await eventually(lambda: "<later>" in cell_text(watcher))
    assert healthy.close_code is None and watcher.close_code is None
    for peer in (healthy, attacker, watcher):
        await peer.close()


def _state(peer: YPeer) -> list[tuple[int, int]]:
    from tandem.documents.updates import decode_state_vector

    return list(decode_state_vector(peer.doc.get_state()).items())


def orphan_updates(count: int, client: int) -> list[bytes]:
    """Tiny valid updates whose first struct never arrives (clocks start at 1000)."""
    frames = []
    for i in range(count):
        update = (
            bytes([1, 1])
            + encode_var_uint(client)
            + encode_var_uint(1000 + i)
            + bytes([0x04, 1])
            + encode_var_string("t")
            + encode_var_string("o")
            + bytes([0])
        )
        frames.append(encode_sync(SyncType.UPDATE, update))
    return frames


async def test_pending_flood_closes_the_flooder_and_others_keep_working(
    module_server, fresh_notebook
):
    server, nb = module_server, fresh_notebook
    healthy = await YPeer.open(server, nb)
    watcher = await YPeer.open(server, nb)
    flooder = await YPeer.open(server, nb)
    for frame in orphan_updates(600, 4242):
        flooder.send(frame)
    await flooder.flush()
    await eventually(lambda: flooder.closed.is_set())
    assert flooder.close_code == 1008
    assert "waiting" in (flooder.close_reason or "")
    for i in range(10):
        await type_tokens(healthy, [f"<r{i}>"])
        await eventually(lambda i=i: f"<r{i}>" in cell_text(watcher))
    assert healthy.close_code is None and watcher.close_code is None
    for peer in (healthy, watcher, flooder):
        await peer.close()


async def test_updates_that_crash_the_decoder_never_reach_it(module_server, fresh_notebook):
    server, nb = module_server, fresh_notebook
    healthy = await YPeer.open(server, nb)
    watcher = await YPeer.open(server, nb)
    for frame in YRS_SEGFAULT:  # reconnect after each refusal and send the rest
        attacker = await YPeer.open(server, nb)
        await attacker.send_raw_bytes(frame)
        await asyncio.sleep(0.1)
        await attacker.close()
    await type_tokens(healthy, ["<alive>"])
    await eventually(lambda: "<alive>" in cell_text(watcher))
    assert server.process is not None and server.process.poll() is None
    for peer in (healthy, watcher):
        await peer.close()


async def test_raw_save_with_trailing_bytes_is_refused(module_server, fresh_notebook):
    server, nb = module_server, fresh_notebook
    peer = await YPeer.open(server, nb)
    frame = encode_var_uint(2) + encode_var_string("save") + encode_var_uint(7) + b"\x00extra"
    await peer.send_raw_bytes(frame)
    await eventually(lambda: peer.closed.is_set())
    assert peer.close_code == 1007
    assert not any(reply.get("responseTo") == 7 for reply in peer.raw_messages)
    again = await YPeer.open(server, nb)
    assert (await again.request_save(8))["status"] == "success"
    await again.close()


async def test_document_size_limit_refuses_growth_past_it(root, tmp_path):
    args = [*FAST, "--TandemApp.max_document_size=200000"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        writer = await YPeer.open(server, "demo.ipynb")
        watcher = await YPeer.open(server, "demo.ipynb")
        await type_tokens(writer, ["<small>"])
        await eventually(lambda: "<small>" in cell_text(watcher))
        await type_tokens(writer, ["<big>" + "x" * 300_000])
        await eventually(lambda: writer.closed.is_set())
        assert writer.close_code == 1009
        assert "size limit" in (writer.close_reason or "")
        fresh = await YPeer.open(server, "demo.ipynb")
        assert "<small>" in cell_text(fresh) and "<big>" not in cell_text(fresh)
        await asyncio.sleep(0.5)
        assert "<big>" not in file_text(root)
        assert os.path.getsize(root / "demo.ipynb") < 100_000
        await type_tokens(fresh, ["<fits>"])
        await eventually(lambda: "<fits>" in cell_text(watcher))
        for peer in (writer, watcher, fresh):
            await peer.close()
