"""The durable store contract: an append-only update log per document, plus snapshots.

A document's history is a list of Y updates in one *epoch* (lineage). Applying them in
order to an empty ``pycrdt.Doc`` rebuilds the document. Write operations are *enqueued
synchronously* and return a future that resolves once the operation is durable; the
store executes them in enqueue order, so a caller that applies an update to its live
document and enqueues it in the same step keeps the log and the document in lockstep
(compaction relies on this: a snapshot taken now replaces exactly the updates enqueued
before it).

Implementations: :class:`tandem.store.sqlite.SQLiteStore`. Every implementation must
pass ``tests/store/test_store_contract.py``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

__all__ = ["DocumentHistory", "DocumentStore", "StaleEpoch"]


class StaleEpoch(RuntimeError):
    """A write named an epoch that is no longer the document's current one."""


@dataclass(frozen=True)
class DocumentHistory:
    """What the store holds for one document."""

    epoch: str
    updates: list[bytes]
    file_fingerprint: str | None
    """Content fingerprint of the file as last written or read by Tandem."""
    base_update: bytes | None
    """Full Y state when the document equalled that content (base for merging file changes)."""
    prev_fingerprint: str | None = None
    """The pair before: a crash between recording a save and writing the file leaves the
    file at this content, and then this base applies."""
    prev_base: bytes | None = None


@runtime_checkable
class DocumentStore(Protocol):
    async def start(self) -> None:
        """Open connections, create the schema."""

    async def stop(self) -> None:
        """Flush pending writes and close."""

    async def load(self, key: str) -> DocumentHistory | None:
        """The document's history, or None if the store has none."""

    def reset(
        self, key: str, epoch: str, snapshot: bytes, fingerprint: str | None
    ) -> asyncio.Future[None]:
        """Start a new epoch whose whole history is ``snapshot``; older history is dropped."""

    def append(self, key: str, epoch: str, update: bytes) -> asyncio.Future[None]:
        """Append one update to the log (group-committed with its neighbours)."""

    def compact(
        self, key: str, epoch: str, snapshot: bytes, keep: list[bytes]
    ) -> asyncio.Future[None]:
        """Replace the log enqueued so far with ``snapshot`` followed by ``keep``."""

    def mark_synced(
        self, key: str, epoch: str, fingerprint: str, base_update: bytes
    ) -> asyncio.Future[None]:
        """Record that the file holds (or is about to hold) content ``fingerprint``, which the
        document had at ``base_update``; the previous pair is kept as ``prev_*``."""

    async def delete(self, key: str) -> None:
        """Forget the document entirely."""
