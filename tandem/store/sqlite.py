"""SQLite store (WAL mode) with group commit.

All database work happens on one dedicated thread. Writes are queued; a writer task
drains everything queued so far and commits it as one transaction, so a burst of
updates from many peers costs one fsync rather than one per keystroke.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import faults
from .base import DocumentHistory, StaleEpoch

__all__ = ["SQLiteStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_key TEXT PRIMARY KEY,
    epoch TEXT NOT NULL,
    file_fingerprint TEXT,
    base_update BLOB,
    prev_fingerprint TEXT,
    prev_base BLOB,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS updates (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_key TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS updates_by_doc ON updates (doc_key, seq);
"""


WAL_SIZE_LIMIT = 4 * 1024 * 1024  # the WAL is truncated back to this after checkpoints


def _pack(value: bytes) -> bytes:
    """Bases are full document states kept only for merging: stored compressed."""
    return zlib.compress(value, 1)


def _unpack(value: Any) -> bytes | None:
    return zlib.decompress(bytes(value)) if value is not None else None


@dataclass
class _Write:
    apply: Callable[[sqlite3.Connection], None]
    future: asyncio.Future[None] = field(repr=False)


class SQLiteStore:
    """Durable document histories in one SQLite file.

    ``synchronous`` is SQLite's pragma: ``FULL`` (default) survives power loss,
    ``NORMAL`` survives process crashes (kill -9) but not power loss.
    """

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tandem-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._queue: list[_Write] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._tail: asyncio.Future[None] | None = None  # the latest write; writes finish in order
        self.commits = 0  # number of transactions, for tests and benchmarks
        self._compactions = 0

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._run(self._open)
        self._writer = asyncio.create_task(self._write_loop(), name="tandem-store-writer")

    def _open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect for new databases
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.executescript(SCHEMA)
        self._conn = conn

    async def stop(self) -> None:
        if self._writer is not None:
            await self._flush()
            self._writer.cancel()
            try:
                await self._writer
            except asyncio.CancelledError:
                pass
            self._writer = None
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # -- reads -----------------------------------------------------------------------

    async def load(self, key: str) -> DocumentHistory | None:
        await self._flush()
        return await self._run(self._load, key)

    def _load(self, key: str) -> DocumentHistory | None:
        assert self._conn is not None
        row = self._conn.execute(
            "SELECT epoch, file_fingerprint, base_update, prev_fingerprint, prev_base"
            " FROM documents WHERE doc_key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        updates = [
            bytes(data)
            for (data,) in self._conn.execute(
                "SELECT data FROM updates WHERE doc_key = ? ORDER BY seq", (key,)
            )
        ]
        return DocumentHistory(
            epoch=row[0],
            updates=updates,
            file_fingerprint=row[1],
            base_update=_unpack(row[2]),
            prev_fingerprint=row[3],
            prev_base=_unpack(row[4]),
        )

    async def size_on_disk(self) -> int:
        """Bytes used by the database file and its WAL."""
        await self._flush()
        return sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))

    # -- writes ----------------------------------------------------------------------

    def reset(
        self, key: str, epoch: str, snapshot: bytes, fingerprint: str | None
    ) -> asyncio.Future[None]:
        def apply(conn: sqlite3.Connection) -> None:
            now = time.time()
            conn.execute("DELETE FROM updates WHERE doc_key = ?", (key,))
            conn.execute(
                "INSERT OR REPLACE INTO documents (doc_key, epoch, file_fingerprint, base_update,"
                " created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                (key, epoch, fingerprint, _pack(snapshot), now, now),
            )
            conn.execute("INSERT INTO updates (doc_key, data) VALUES (?, ?)", (key, snapshot))

        return self._enqueue(apply)

    def append(self, key: str, epoch: str, update: bytes) -> asyncio.Future[None]:
        def apply(conn: sqlite3.Connection) -> None:
            self._check_epoch(conn, key, epoch)
            conn.execute("INSERT INTO updates (doc_key, data) VALUES (?, ?)", (key, update))

        return self._enqueue(apply)

    def compact(
        self, key: str, epoch: str, snapshot: bytes, keep: list[bytes]
    ) -> asyncio.Future[None]:
        def apply(conn: sqlite3.Connection) -> None:
            self._check_epoch(conn, key, epoch)
            conn.execute("DELETE FROM updates WHERE doc_key = ?", (key,))
            conn.executemany(
                "INSERT INTO updates (doc_key, data) VALUES (?, ?)",
                [(key, data) for data in (snapshot, *keep)],
            )
            self._compactions += 1

        return self._enqueue(apply)

    def mark_synced(
        self, key: str, epoch: str, fingerprint: str, base_update: bytes
    ) -> asyncio.Future[None]:
        def apply(conn: sqlite3.Connection) -> None:
            self._check_epoch(conn, key, epoch)
            conn.execute(
                "UPDATE documents SET prev_fingerprint = file_fingerprint, prev_base = base_update,"
                " file_fingerprint = ?, base_update = ?, updated = ? WHERE doc_key = ?",
                (fingerprint, _pack(base_update), time.time(), key),
            )

        return self._enqueue(apply)

    async def delete(self, key: str) -> None:
        def apply(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM updates WHERE doc_key = ?", (key,))
            conn.execute("DELETE FROM documents WHERE doc_key = ?", (key,))

        await self._enqueue(apply)

    @staticmethod
    def _check_epoch(conn: sqlite3.Connection, key: str, epoch: str) -> None:
        row = conn.execute("SELECT epoch FROM documents WHERE doc_key = ?", (key,)).fetchone()
        if row is None or row[0] != epoch:
            raise StaleEpoch(f"{key}: epoch {epoch} is not current")

    # -- group commit ----------------------------------------------------------------

    def _enqueue(self, apply: Callable[[sqlite3.Connection], None]) -> asyncio.Future[None]:
        if self._writer is None:
            raise RuntimeError("store is not started")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Write(apply, future))
        self._tail = future
        self._wakeup.set()
        return future

    async def _flush(self) -> None:
        """Wait until every write enqueued so far has been committed (or has failed)."""
        if self._tail is not None:
            await asyncio.gather(self._tail, return_exceptions=True)

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            batch, self._queue = self._queue, []
            if not batch:
                continue
            results = await self._run(self._commit, batch)
            for write, error in zip(batch, results, strict=True):
                if write.future.done():
                    continue
                if error is None:
                    write.future.set_result(None)
                else:
                    write.future.set_exception(error)

    def _commit(self, batch: list[_Write]) -> list[BaseException | None]:
        """One transaction for the whole batch; each write in its own savepoint so a
        stale write fails alone. If the commit itself fails, every write fails."""
        assert self._conn is not None
        conn = self._conn
        results: list[BaseException | None] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write in batch:
                conn.execute("SAVEPOINT w")
                try:
                    write.apply(conn)
                    conn.execute("RELEASE w")
                    results.append(None)
                except Exception as exc:  # noqa: BLE001 - reported to that write's caller
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    results.append(exc)
            if faults.store_full():
                raise sqlite3.OperationalError("database or disk is full")
            conn.execute("COMMIT")
            self.commits += 1
            if self._compactions:
                # Give back the pages compaction freed, and keep the WAL small.
                self._compactions = 0
                conn.execute("PRAGMA incremental_vacuum").fetchall()
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [exc] * len(batch)
        return results
