"""The access store's group commit: writes queued together share one transaction, each
caller resumes once its own write is durable, and a failed commit stores nothing of its
batch."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from tandem import faults
from tandem.access import AccessService, AccessStore
from tests.access import test_store as records

GUESTS = 100


def guest_grant(i: int):
    return records.grant(id=f"g-{i}", guest_session_id=f"{i:064d}", last_seen=None)


async def test_a_storm_of_joins_shares_commits_and_audits_each_once_in_order(
    service: AccessService, store: AccessStore, clock
):
    await store.add_invitation(records.invitation(max_uses=None))
    for i in range(GUESTS):
        assert await store.add_grant(guest_grant(i), consume_use=True, now=50.0)
    before = store.commits

    async def visits(i: int) -> None:
        # Each guest joins, leaves and joins again, each step awaited: the order it saw.
        for kind in ("room_joined", "room_left", "room_joined"):
            await service.record_visit(
                kind, f"{i:064d}", "class/lesson.ipynb", "10.0.0.1", [f"g-{i}"]
            )

    await asyncio.gather(*(visits(i) for i in range(GUESTS)))

    writes = 3 * GUESTS
    assert store.commits - before < writes / 10, "the joins were not committed together"
    events = await store.audit()
    assert len(events) == writes
    assert len({e.id for e in events}) == writes
    for i in range(GUESTS):
        mine = [e.kind for e in events if e.principal_id == f"{i:064d}"]
        assert mine == ["room_joined", "room_left", "room_joined"]
        assert (await store.get_grant(f"g-{i}")).last_seen == clock()


async def test_one_failing_write_fails_alone_and_leaves_nothing_of_itself(store: AccessStore):
    await store.add_invitation(records.invitation(max_uses=None))
    assert await store.add_grant(guest_grant(0), consume_use=True, now=50.0)
    duplicate = guest_grant(0)  # the same grant id again: its INSERT fails after its UPDATE
    results = await asyncio.gather(
        store.append_audit(at=1.0, kind="room_joined", principal_id="a"),
        store.add_grant(duplicate, consume_use=True, now=50.0),
        store.append_audit(at=2.0, kind="room_joined", principal_id="b"),
        return_exceptions=True,
    )
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert [e.principal_id for e in await store.audit()] == ["a", "b"]
    # The failed write's use of the invitation was rolled back with it.
    assert (await store.get_invitation("i-1")).uses == 1


async def test_a_failed_commit_fails_its_whole_batch_and_stores_none_of_it(
    store: AccessStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    await store.add_invitation(records.invitation(max_uses=None))
    full = tmp_path / "disk-full"
    monkeypatch.setenv(faults.STORE_FULL, str(full))
    full.touch()
    results = await asyncio.gather(
        *(store.add_grant(guest_grant(i), consume_use=True, now=50.0) for i in range(20)),
        *(
            store.append_audit(
                at=3.0, kind="room_joined", principal_id=f"{i:064d}", seen_grants=[f"g-{i}"]
            )
            for i in range(20)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    assert "full" in str(results[0])
    assert await store.list_grants() == []
    assert await store.audit() == []
    assert (await store.get_invitation("i-1")).uses == 0

    full.unlink()  # the disk has room again: the store works, nothing was left half-done
    assert await store.add_grant(guest_grant(0), consume_use=True, now=50.0)
    await store.append_audit(at=4.0, kind="room_joined", principal_id="x", seen_grants=["g-0"])
    assert [e.at for e in await store.audit()] == [4.0]
    assert (await store.get_grant("g-0")).last_seen == 4.0
    assert (await store.get_invitation("i-1")).uses == 1


async def test_stop_commits_what_is_still_queued(db_path: Path):
    store = AccessStore(db_path)
    await store.start()
    pending = [
        asyncio.ensure_future(store.append_audit(at=float(i), kind="room_left", principal_id="p"))
        for i in range(50)
    ]
    await asyncio.sleep(0)  # queued, not yet committed
    await store.stop()
    assert all(p.done() and p.exception() is None for p in pending)
    with pytest.raises(RuntimeError):
        await store.append_audit(at=99.0, kind="room_left", principal_id="p")

    reopened = AccessStore(db_path)
    await reopened.start()
    try:
        assert [e.at for e in await reopened.audit()] == [float(i) for i in range(50)]
    finally:
        await reopened.stop()


async def test_a_write_waits_for_its_commit(store: AccessStore, monkeypatch: pytest.MonkeyPatch):
    """A caller resumes only after the transaction holding its write committed."""
    committed: list[int] = []
    original = store._commit

    def spy(batch):
        results = original(batch)
        committed.append(len(batch))
        return results

    monkeypatch.setattr(store, "_commit", spy)
    event = await store.append_audit(at=1.0, kind="room_joined", principal_id="p")
    assert committed == [1]
    reader = sqlite3.connect(store.path)
    try:
        assert reader.execute("SELECT seq FROM access_audit").fetchall() == [(event.id,)]
    finally:
        reader.close()


async def test_changes_count_grant_and_invitation_writes_not_audit_rows(
    service: AccessService, store: AccessStore
):
    """A socket admitted on grants read while ``changes`` stayed the same may skip reading
    them again; so every write that can take access away advances it before its caller
    resumes, and a join's audit row and ``last_seen`` do not."""
    invitation, code = await service.create_invitation("class", "view")
    grant = await service.redeem(code, "s" * 32, "Ada", "10.0.0.1")
    seen = store.changes
    await service.record_visit("room_joined", grant.guest_session_id, "class", None, [grant.id])
    await service.touch(grant.id)
    await service.record("room_left", grant.guest_session_id, "class")
    assert store.changes == seen
    await service.revoke_grant(grant.id)
    assert store.changes > seen
    seen = store.changes
    await service.revoke_invitation(invitation.id)
    assert store.changes > seen
