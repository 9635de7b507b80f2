"""An in-memory store for in-process tests: the SQLite store's contract without a disk.

Writes are queued and applied in enqueue order on the next turn of the event loop, all
that is queued at once as one "commit", so their futures resolve asynchronously as the
SQLite store's do. ``hold()`` keeps writes queued (a slow disk) until ``release()``;
``fail(error)`` makes every queued and later write fail (a broken disk) until ``heal()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from .base import DocumentHistory, StaleEpoch

__all__ = ["MemoryStore"]


@dataclass
class _Record:
    epoch: str
    updates: list[bytes]
    file_fingerprint: str | None
    base_update: bytes | None
    prev_fingerprint: str | None = None
    prev_base: bytes | None = None


@dataclass
class _Write:
    apply: Callable[[dict[str, _Record]], None]
    future: asyncio.Future[None] = field(repr=False)


class MemoryStore:
    """Document histories in a dict; nothing survives the object."""

    def __init__(self) -> None:
        self._docs: dict[str, _Record] = {}
        self._queue: list[_Write] = []
        self._started = False
        self._held = False
        self._failure: BaseException | None = None
        self._drain_scheduled = False
        self.commits = 0  # number of drained batches, like SQLiteStore.commits

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self._started = True

    async def stop(self) -> None:
        self._held = False
        self._drain()
        self._started = False

    # -- test controls ---------------------------------------------------------------

    def hold(self) -> None:
        """Keep writes queued (not durable) until :meth:`release`."""
        self._held = True

    def release(self) -> None:
        self._held = False
        self._schedule()

    def fail(self, error: BaseException) -> None:
        """Fail every write from now on (queued ones included) with ``error``."""
        self._failure = error

    def heal(self) -> None:
        self._failure = None

    @property
    def queued(self) -> int:
        """Writes enqueued but not yet durable."""
        return len(self._queue)

    # -- reads -----------------------------------------------------------------------

    async def load(self, key: str) -> DocumentHistory | None:
        await self._flush()
        record = self._docs.get(key)
        if record is None:
            return None
        return DocumentHistory(
            epoch=record.epoch,
            updates=list(record.updates),
            file_fingerprint=record.file_fingerprint,
            base_update=record.base_update,
            prev_fingerprint=record.prev_fingerprint,
            prev_base=record.prev_base,
        )

    # -- writes ----------------------------------------------------------------------

    def reset(
        self, key: str, epoch: str, snapshot: bytes, fingerprint: str | None
    ) -> asyncio.Future[None]:
        def apply(docs: dict[str, _Record]) -> None:
            docs[key] = _Record(epoch, [snapshot], fingerprint, snapshot)

        return self._enqueue(apply)

    def append(self, key: str, epoch: str, update: bytes) -> asyncio.Future[None]:
        def apply(docs: dict[str, _Record]) -> None:
            _current(docs, key, epoch).updates.append(update)

        return self._enqueue(apply)

    def compact(
        self, key: str, epoch: str, snapshot: bytes, keep: list[bytes]
    ) -> asyncio.Future[None]:
        kept = list(keep)

        def apply(docs: dict[str, _Record]) -> None:
            _current(docs, key, epoch).updates = [snapshot, *kept]

        return self._enqueue(apply)

    def mark_synced(
        self, key: str, epoch: str, fingerprint: str, base_update: bytes
    ) -> asyncio.Future[None]:
        def apply(docs: dict[str, _Record]) -> None:
            record = _current(docs, key, epoch)
            record.prev_fingerprint, record.prev_base = record.file_fingerprint, record.base_update
            record.file_fingerprint, record.base_update = fingerprint, base_update

        return self._enqueue(apply)

    async def delete(self, key: str) -> None:
        def apply(docs: dict[str, _Record]) -> None:
            docs.pop(key, None)

        await self._enqueue(apply)

    # -- queue -----------------------------------------------------------------------

    def _enqueue(self, apply: Callable[[dict[str, _Record]], None]) -> asyncio.Future[None]:
        if not self._started:
            raise RuntimeError("store is not started")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Write(apply, future))
        self._schedule()
        return future

    def _schedule(self) -> None:
        if self._held or self._drain_scheduled or not self._queue:
            return
        self._drain_scheduled = True
        asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        self._drain_scheduled = False
        if self._held:
            return
        batch, self._queue = self._queue, []
        if not batch:
            return
        self.commits += 1
        for write in batch:
            if write.future.done():
                continue
            if self._failure is not None:
                write.future.set_exception(self._failure)
                continue
            try:
                write.apply(self._docs)
            except Exception as exc:  # noqa: BLE001 - reported to that write's caller
                write.future.set_exception(exc)
            else:
                write.future.set_result(None)

    async def _flush(self) -> None:
        """Wait until every write enqueued so far is durable (or has failed)."""
        if self._queue:
            await asyncio.gather(*(w.future for w in self._queue), return_exceptions=True)


def _current(docs: dict[str, _Record], key: str, epoch: str) -> _Record:
    record = docs.get(key)
    if record is None or record.epoch != epoch:
        raise StaleEpoch(f"{key}: epoch {epoch} is not current")
    return record
