"""AccessStore: invitations, grants and the audit log in SQLite (WAL).

Writes run on one dedicated thread, as in :mod:`tandem.store.sqlite`, and reads on another
with their own connection; the file may be the document store's (the tables here are
prefixed ``access_``). Writes are group
committed: the writes queued while the previous commit ran share one transaction (one
fsync), each in its own savepoint, so one write's error fails that write alone, and a
failed commit fails every write of the batch with nothing of it stored. A write's caller
resumes only once its transaction is durable. The audit table is append-only: this class
has no method that changes or deletes an audit row, and triggers make the database refuse
it too.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from .. import faults
from .records import AuditEvent, Grant, GrantStatus, Invitation, Role

__all__ = ["AccessStore"]

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS access_invitations (
    id TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    scope_path TEXT NOT NULL,
    scope_is_folder INTEGER NOT NULL,
    role TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    approval_required INTEGER NOT NULL,
    anonymous_allowed INTEGER NOT NULL,
    label TEXT NOT NULL,
    revoked_at REAL,
    runs_as_owner INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS access_sealed_codes (
    invitation_id TEXT PRIMARY KEY REFERENCES access_invitations (id),
    sealed TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS access_grants (
    id TEXT PRIMARY KEY,
    invitation_id TEXT NOT NULL REFERENCES access_invitations (id),
    guest_session_id TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    scope_path TEXT NOT NULL,
    scope_is_folder INTEGER NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    last_seen REAL,
    revoked_at REAL,
    status TEXT NOT NULL,
    UNIQUE (invitation_id, guest_session_id)
);
CREATE INDEX IF NOT EXISTS access_grants_by_session ON access_grants (guest_session_id);
CREATE TABLE IF NOT EXISTS access_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    path TEXT,
    client_address TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS access_audit_by_time ON access_audit (at);
CREATE TRIGGER IF NOT EXISTS access_audit_no_update BEFORE UPDATE ON access_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS access_audit_no_delete BEFORE DELETE ON access_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

_INVITATION_COLUMNS = (
    "id, code_hash, scope_path, scope_is_folder, role, created_at, expires_at, max_uses,"
    " uses, approval_required, anonymous_allowed, label, revoked_at, runs_as_owner"
)

MIGRATIONS = (
    # (table, column, definition): columns added after the first release, for databases
    # made before them (CREATE TABLE IF NOT EXISTS leaves an existing table as it was).
    ("access_invitations", "runs_as_owner", "INTEGER NOT NULL DEFAULT 0"),
)


def _migrate(conn: sqlite3.Connection) -> None:
    """Add the columns an older database lacks (additive only, in one transaction)."""
    for table, column, definition in MIGRATIONS:
        columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


_GRANT_COLUMNS = (
    "id, invitation_id, guest_session_id, display_name, role, scope_path, scope_is_folder,"
    " created_at, expires_at, last_seen, revoked_at, status"
)


def _invitation(row: tuple[Any, ...]) -> Invitation:
    return Invitation(
        id=row[0],
        code_hash=row[1],
        scope_path=row[2],
        scope_is_folder=bool(row[3]),
        role=Role(row[4]),
        created_at=row[5],
        expires_at=row[6],
        max_uses=row[7],
        uses=row[8],
        approval_required=bool(row[9]),
        anonymous_allowed=bool(row[10]),
        label=row[11],
        revoked_at=row[12],
        runs_as_owner=bool(row[13]),
    )


def _grant(row: tuple[Any, ...]) -> Grant:
    return Grant(
        id=row[0],
        invitation_id=row[1],
        guest_session_id=row[2],
        display_name=row[3],
        role=Role(row[4]),
        scope_path=row[5],
        scope_is_folder=bool(row[6]),
        created_at=row[7],
        expires_at=row[8],
        last_seen=row[9],
        revoked_at=row[10],
        status=GrantStatus(row[11]),
    )


def _event(row: tuple[Any, ...]) -> AuditEvent:
    return AuditEvent(
        id=row[0],
        at=row[1],
        kind=row[2],
        principal_id=row[3],
        path=row[4],
        client_address=row[5],
        detail=json.loads(row[6]),
    )


@dataclass
class _Write:
    """One queued write: its statements and the future its caller awaits."""

    apply: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any] = field(repr=False)
    changes_access: bool = True


class AccessStore:
    """Durable access records in one SQLite file. ``synchronous`` as in SQLiteStore."""

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._reader: ThreadPoolExecutor | None = None
        self._read_conn: sqlite3.Connection | None = None
        self._queue: list[_Write] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._stopping = False
        self.commits = 0
        """Transactions committed (for tests and benchmarks: a batch is one)."""
        self.changes = 0
        """Counts batches that changed invitations or grants (not audit rows or
        ``last_seen``), advanced once such a batch is committed and before its callers
        resume: grants read while it stayed the same are still current."""

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tandem-access")
        await self._run(self._open)
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tandem-access-read")
        self._read_conn = await asyncio.get_running_loop().run_in_executor(
            self._reader, self._connect
        )
        self._stopping = False
        self._writer = asyncio.create_task(self._write_loop(), name="tandem-access-writer")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")  # the document store may hold the write lock
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        return conn

    def _open(self) -> None:
        conn = self._connect()
        conn.executescript(SCHEMA)
        _migrate(conn)
        self._conn = conn

    async def stop(self) -> None:
        """Commit what is queued, then close."""
        if self._executor is None:
            return
        if self._writer is not None:
            self._stopping = True
            self._wakeup.set()
            await self._writer
            self._writer = None
        if self._reader is not None:
            if self._read_conn is not None:
                await asyncio.get_running_loop().run_in_executor(
                    self._reader, self._read_conn.close
                )
                self._read_conn = None
            self._reader.shutdown(wait=True)
            self._reader = None
        if self._conn is not None:
            await self._run(self._conn.close)
            self._conn = None
        self._executor.shutdown(wait=True)
        self._executor = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise RuntimeError("access store is not started")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Reads have their own connection and thread (WAL: readers never wait for the
        writer), so identifying a guest never queues behind a commit's fsync. A write's
        caller resumes after its commit, so what it reads next includes it."""

        def run() -> T:
            assert self._read_conn is not None
            return fn(self._read_conn)

        if self._reader is None:
            raise RuntimeError("access store is not started")
        return await asyncio.get_running_loop().run_in_executor(self._reader, run)

    async def _write(
        self, fn: Callable[[sqlite3.Connection], T], *, changes_access: bool = True
    ) -> T:
        """Queue ``fn`` for the next group commit; its result once that is durable.
        ``changes_access``: False for writes of audit rows and ``last_seen`` only."""
        if self._writer is None or self._writer.done():
            raise RuntimeError("access store is not started")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Write(fn, future, changes_access))
        self._wakeup.set()
        return await future

    async def _write_loop(self) -> None:
        """Commit what is queued, batch after batch; on stop, until the queue is empty."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self._commit_queued()
            if self._stopping and not self._queue:
                return

    async def _commit_queued(self) -> None:
        batch, self._queue = self._queue, []
        if not batch:
            return
        try:
            results = await self._run(self._commit, batch)
        except asyncio.CancelledError:
            for write in batch:
                write.future.cancel()
            raise
        except Exception as exc:  # the thread itself failed: no write may hang
            results = [(False, exc)] * len(batch)
        if any(write.changes_access for write in batch):
            self.changes += 1
        for write, (ok, value) in zip(batch, results, strict=True):
            if write.future.done():
                continue
            if ok:
                write.future.set_result(value)
            else:
                write.future.set_exception(value)

    def _commit(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        """One transaction for the batch, each write in its own savepoint. If the commit
        fails, every write of the batch fails and none of it is stored."""
        assert self._conn is not None
        conn = self._conn
        results: list[tuple[bool, Any]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for write in batch:
                conn.execute("SAVEPOINT w")
                try:
                    results.append((True, write.apply(conn)))
                    conn.execute("RELEASE w")
                except Exception as exc:  # noqa: BLE001 - reported to that write's caller
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    results.append((False, exc))
            if faults.store_full():
                raise sqlite3.OperationalError("database or disk is full")
            conn.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(False, exc)] * len(batch)
        return results

    # -- invitations -----------------------------------------------------------------

    async def add_invitation(self, inv: Invitation) -> None:
        await self._write(
            lambda conn: conn.execute(
                f"INSERT INTO access_invitations ({_INVITATION_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    inv.id,
                    inv.code_hash,
                    inv.scope_path,
                    int(inv.scope_is_folder),
                    inv.role.value,
                    inv.created_at,
                    inv.expires_at,
                    inv.max_uses,
                    inv.uses,
                    int(inv.approval_required),
                    int(inv.anonymous_allowed),
                    inv.label,
                    inv.revoked_at,
                    int(inv.runs_as_owner),
                ),
            )
        )

    async def put_sealed_code(self, invitation_id: str, sealed: str) -> None:
        """Keep a link's code, encrypted (see :func:`tandem.access.codes.seal_code`)."""
        await self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO access_sealed_codes (invitation_id, sealed) VALUES (?, ?)",
                (invitation_id, sealed),
            )
        )

    async def sealed_code(self, invitation_id: str) -> str | None:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT sealed FROM access_sealed_codes WHERE invitation_id = ?", (invitation_id,)
            ).fetchone()
        )
        return str(row[0]) if row else None

    async def get_invitation(self, invitation_id: str) -> Invitation | None:
        return await self._one_invitation("id", invitation_id)

    async def invitation_by_code_hash(self, code_hash: str) -> Invitation | None:
        return await self._one_invitation("code_hash", code_hash)

    async def _one_invitation(self, column: str, value: str) -> Invitation | None:
        row = await self._read(
            lambda conn: conn.execute(
                f"SELECT {_INVITATION_COLUMNS} FROM access_invitations WHERE {column} = ?", (value,)
            ).fetchone()
        )
        return _invitation(row) if row else None

    async def list_invitations(self) -> list[Invitation]:
        rows = await self._read(
            lambda conn: conn.execute(
                f"SELECT {_INVITATION_COLUMNS} FROM access_invitations ORDER BY created_at, id"
            ).fetchall()
        )
        return [_invitation(r) for r in rows]

    # -- grants ----------------------------------------------------------------------

    async def add_grant(self, grant: Grant, *, consume_use: bool, now: float) -> bool:
        """Insert ``grant``; with ``consume_use``, only if its invitation is still redeemable
        at ``now``, taking one use in the same transaction. False if it was not."""

        def apply(conn: sqlite3.Connection) -> bool:
            if consume_use:
                cur = conn.execute(
                    "UPDATE access_invitations SET uses = uses + 1 WHERE id = ?"
                    " AND revoked_at IS NULL AND expires_at > ?"
                    " AND (max_uses IS NULL OR uses < max_uses)",
                    (grant.invitation_id, now),
                )
                if cur.rowcount != 1:
                    return False
            conn.execute(
                f"INSERT INTO access_grants ({_GRANT_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    grant.id,
                    grant.invitation_id,
                    grant.guest_session_id,
                    grant.display_name,
                    grant.role.value,
                    grant.scope_path,
                    int(grant.scope_is_folder),
                    grant.created_at,
                    grant.expires_at,
                    grant.last_seen,
                    grant.revoked_at,
                    grant.status.value,
                ),
            )
            return True

        return await self._write(apply)

    async def get_grant(self, grant_id: str) -> Grant | None:
        rows = await self._grants("WHERE id = ?", (grant_id,))
        return rows[0] if rows else None

    async def grants_for_session(self, session_hash: str) -> list[Grant]:
        return await self._grants("WHERE guest_session_id = ?", (session_hash,))

    async def grant_for(self, invitation_id: str, session_hash: str) -> Grant | None:
        rows = await self._grants(
            "WHERE invitation_id = ? AND guest_session_id = ?", (invitation_id, session_hash)
        )
        return rows[0] if rows else None

    async def list_grants(self) -> list[Grant]:
        return await self._grants("", ())

    async def _grants(self, where: str, args: tuple[Any, ...]) -> list[Grant]:
        rows = await self._read(
            lambda conn: conn.execute(
                f"SELECT {_GRANT_COLUMNS} FROM access_grants {where} ORDER BY created_at, id", args
            ).fetchall()
        )
        return [_grant(r) for r in rows]

    async def decide_grant(self, grant_id: str, status: GrantStatus) -> bool:
        """Move a pending, unrevoked grant to ``status``; False if it was not pending."""
        changed = await self._write(
            lambda conn: (
                conn.execute(
                    "UPDATE access_grants SET status = ? WHERE id = ? AND status = ?"
                    " AND revoked_at IS NULL",
                    (status.value, grant_id, GrantStatus.PENDING.value),
                ).rowcount
            )
        )
        return changed == 1

    async def rebind_session(self, old_hash: str, new_hash: str) -> int:
        """Move every grant of one guest session to another (a fresh session id issued at
        redemption or admission). Returns how many grants moved."""
        return await self._write(
            lambda conn: (
                conn.execute(
                    "UPDATE access_grants SET guest_session_id = ? WHERE guest_session_id = ?",
                    (new_hash, old_hash),
                ).rowcount
            )
        )

    async def touch(self, grant_id: str, now: float) -> None:
        await self._write(
            lambda conn: conn.execute(
                "UPDATE access_grants SET last_seen = ? WHERE id = ?", (now, grant_id)
            ),
            changes_access=False,
        )

    async def revoke(
        self, *, invitation_ids: Iterable[str] = (), grant_ids: Iterable[str] = (), now: float
    ) -> tuple[list[str], list[str]]:
        """Revoke these invitations and grants in one transaction (already revoked ones
        keep their time). Returns the ids of those revoked now: (invitations, grants)."""
        inv_ids, grant_ids = list(invitation_ids), list(grant_ids)

        def apply(conn: sqlite3.Connection) -> tuple[list[str], list[str]]:
            done_inv = [
                i
                for i in inv_ids
                if conn.execute(
                    "UPDATE access_invitations SET revoked_at = ? WHERE id = ?"
                    " AND revoked_at IS NULL",
                    (now, i),
                ).rowcount
            ]
            done_grants = [
                g
                for g in grant_ids
                if conn.execute(
                    "UPDATE access_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                    (now, g),
                ).rowcount
            ]
            return done_inv, done_grants

        return await self._write(apply)

    # -- audit (append-only) ---------------------------------------------------------

    async def append_audit(
        self,
        *,
        at: float,
        kind: str,
        principal_id: str,
        path: str | None = None,
        client_address: str | None = None,
        detail: dict[str, Any] | None = None,
        seen_grants: Iterable[str] = (),
    ) -> AuditEvent:
        """Append one event; ``seen_grants`` get ``last_seen = at`` in the same write."""
        detail = dict(detail or {})
        text = json.dumps(detail, sort_keys=True, default=str)
        seen = list(seen_grants)

        def apply(conn: sqlite3.Connection) -> int:
            cur = conn.execute(
                "INSERT INTO access_audit (at, kind, principal_id, path, client_address, detail)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (at, kind, principal_id, path, client_address, text),
            )
            conn.executemany(
                "UPDATE access_grants SET last_seen = ? WHERE id = ?", [(at, g) for g in seen]
            )
            return int(cur.lastrowid or 0)

        seq = await self._write(apply, changes_access=False)
        return AuditEvent(seq, at, kind, principal_id, path, client_address, json.loads(text))

    async def audit(
        self, *, kind: str | None = None, since: float | None = None
    ) -> list[AuditEvent]:
        """Events in the order they were appended, optionally of one kind or since a time."""
        clauses: list[str] = []
        args: list[Any] = []
        if kind is not None:
            clauses.append("kind = ?")
            args.append(kind)
        if since is not None:
            clauses.append("at >= ?")
            args.append(since)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = await self._read(
            lambda conn: conn.execute(
                "SELECT seq, at, kind, principal_id, path, client_address, detail"
                f" FROM access_audit {where} ORDER BY seq",
                args,
            ).fetchall()
        )
        return [_event(r) for r in rows]
