"""SQLite when the disk is full: a failed commit keeps nothing, and the store recovers."""

from __future__ import annotations

import sqlite3

import pytest

from tandem import faults
from tandem.store import SQLiteStore


async def test_a_failed_commit_keeps_nothing_and_later_writes_succeed(tmp_path, monkeypatch):
    full = tmp_path / "disk-full"
    monkeypatch.setenv(faults.STORE_FULL, str(full))
    store = SQLiteStore(tmp_path / "tandem.sqlite")
    await store.start()
    try:
        await store.reset("doc", "epoch", b"\x00\x00", "fp")
        await store.append("doc", "epoch", b"first")
        full.touch()
        failing = [
            store.append("doc", "epoch", b"lost"),
            store.mark_synced("doc", "epoch", "x", b""),
        ]
        for future in failing:
            with pytest.raises(sqlite3.OperationalError, match="full"):
                await future
        full.unlink()
        history = await store.load("doc")
        assert history is not None
        assert history.updates == [b"\x00\x00", b"first"]
        assert history.file_fingerprint == "fp"
        await store.append("doc", "epoch", b"after")
        history = await store.load("doc")
        assert history is not None and history.updates[-1] == b"after"
    finally:
        await store.stop()
