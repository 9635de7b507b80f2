"""The contract every DocumentStore must honour, run against each backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from tandem.store import DocumentStore, SQLiteStore, StaleEpoch
from tandem.store.memory import MemoryStore


@pytest.fixture(params=["sqlite", "memory"])
async def store(request, tmp_path: Path) -> AsyncIterator[DocumentStore]:
    backend: SQLiteStore | MemoryStore
    if request.param == "sqlite":
        backend = SQLiteStore(tmp_path / "db" / "tandem.sqlite")
    else:
        backend = MemoryStore()
    await backend.start()
    yield backend
    await backend.stop()


def edits(n: int) -> tuple[Doc, list[bytes]]:
    doc = Doc()
    text = doc.get("t", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for i in range(n):
        text += f"{i},"
    return doc, updates


def rebuild(updates: list[bytes]) -> str:
    doc = Doc()
    text = doc.get("t", type=Text)
    for update in updates:
        doc.apply_update(update)
    return str(text)


async def test_unknown_document_has_no_history(store):
    assert await store.load("nope") is None


async def test_reset_append_load_round_trip(store):
    doc, updates = edits(20)
    await store.reset("k", "e1", updates[0], "hash0")
    await asyncio.gather(*(store.append("k", "e1", u) for u in updates[1:]))
    history = await store.load("k")
    assert history is not None
    assert history.epoch == "e1" and history.file_fingerprint == "hash0"
    assert rebuild(history.updates) == str(doc.get("t", type=Text))


async def test_group_commit_batches_a_burst(store):
    _, updates = edits(200)
    await store.reset("k", "e1", updates[0], None)
    before = store.commits
    await asyncio.gather(*(store.append("k", "e1", u) for u in updates[1:]))
    assert store.commits - before < 20  # 199 appends, a handful of transactions


async def test_compact_replaces_what_was_enqueued_before_it(store):
    doc, updates = edits(50)
    await store.reset("k", "e1", updates[0], None)
    for u in updates[1:40]:
        store.append("k", "e1", u)
    scratch = Doc()
    for u in updates[:40]:
        scratch.apply_update(u)
    store.compact("k", "e1", scratch.get_update(), keep=[])
    await asyncio.gather(*(store.append("k", "e1", u) for u in updates[40:]))
    history = await store.load("k")
    assert len(history.updates) == 1 + 10
    assert rebuild(history.updates) == str(doc.get("t", type=Text))


async def test_compact_keeps_updates_waiting_for_dependencies(store):
    doc, updates = edits(10)
    await store.reset("k", "e1", updates[0], None)
    orphan = updates[9]  # depends on updates 1..8, never stored
    await store.compact("k", "e1", updates[0], keep=[orphan])
    history = await store.load("k")
    assert history.updates == [updates[0], orphan]


async def test_writes_for_a_stale_epoch_fail_and_change_nothing(store):
    _, updates = edits(3)
    await store.reset("k", "e1", updates[0], None)
    await store.reset("k", "e2", updates[0], None)
    with pytest.raises(StaleEpoch):
        await store.append("k", "e1", updates[1])
    with pytest.raises(StaleEpoch):
        await store.compact("k", "e1", updates[0], [])
    good = store.append("k", "e2", updates[1])  # a neighbour in the same batch still lands
    await good
    history = await store.load("k")
    assert history.epoch == "e2" and history.updates == [updates[0], updates[1]]


async def test_mark_synced_records_fingerprint_and_base_and_keeps_the_previous_pair(store):
    _, updates = edits(2)
    await store.reset("k", "e1", updates[0], "f0")
    await store.mark_synced("k", "e1", "f1", b"base1")
    history = await store.load("k")
    assert history.file_fingerprint == "f1" and history.base_update == b"base1"
    assert history.prev_fingerprint == "f0" and history.prev_base == updates[0]
    await store.mark_synced("k", "e1", "f2", b"base2")
    history = await store.load("k")
    assert (history.prev_fingerprint, history.prev_base) == ("f1", b"base1")


async def test_history_survives_reopening(tmp_path):
    path = tmp_path / "reopen.sqlite"
    first = SQLiteStore(path)
    await first.start()
    doc, updates = edits(5)
    await first.reset("k", "e1", updates[0], None)
    for u in updates[1:]:
        first.append("k", "e1", u)
    await first.stop()  # flushes pending appends
    second = SQLiteStore(path)
    await second.start()
    history = await second.load("k")
    await second.stop()
    assert rebuild(history.updates) == str(doc.get("t", type=Text))


async def test_delete_forgets_everything(store):
    _, updates = edits(2)
    await store.reset("k", "e1", updates[0], None)
    await store.delete("k")
    assert await store.load("k") is None


async def test_memory_store_writes_wait_while_held_and_fail_while_broken():
    store = MemoryStore()
    await store.start()
    _, updates = edits(3)
    await store.reset("k", "e1", updates[0], None)
    store.hold()
    held = store.append("k", "e1", updates[1])
    await asyncio.sleep(0.01)
    assert not held.done() and store.queued == 1
    store.release()
    await held
    store.fail(OSError("disk full"))
    with pytest.raises(OSError, match="disk full"):
        await store.append("k", "e1", updates[2])
    store.heal()
    history = await store.load("k")
    assert history is not None and history.updates == updates[:2]
    await store.stop()
