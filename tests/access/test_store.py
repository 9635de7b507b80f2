from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest

from tandem.access import AccessStore, Grant, GrantStatus, Invitation, Role
from tandem.store import SQLiteStore


def invitation(**kw) -> Invitation:
    inv = Invitation(
        id="i-1",
        code_hash="h" * 64,
        scope_path="class",
        scope_is_folder=True,
        role=Role.EDIT,
        created_at=10.0,
        expires_at=100.0,
        max_uses=1,
        uses=0,
        approval_required=False,
        anonymous_allowed=True,
        label="lab",
        revoked_at=None,
    )
    return replace(inv, **kw)


def grant(**kw) -> Grant:
    g = Grant(
        id="g-1",
        invitation_id="i-1",
        guest_session_id="s" * 64,
        display_name="Ada",
        role=Role.EDIT,
        scope_path="class",
        scope_is_folder=True,
        created_at=11.0,
        expires_at=100.0,
        last_seen=11.0,
        revoked_at=None,
        status=GrantStatus.ACTIVE,
    )
    return replace(g, **kw)


async def test_round_trip_and_survives_reopen(db_path):
    store = AccessStore(db_path)
    await store.start()
    inv = invitation()
    await store.add_invitation(inv)
    assert await store.add_grant(grant(), consume_use=True, now=50.0)
    await store.touch("g-1", 60.0)
    await store.append_audit(at=12.0, kind="redeemed", principal_id="x", detail={"a": 1})
    await store.stop()

    store = AccessStore(db_path)
    await store.start()
    try:
        assert await store.get_invitation("i-1") == invitation(uses=1)
        assert await store.invitation_by_code_hash("h" * 64) == invitation(uses=1)
        assert await store.get_grant("g-1") == grant(last_seen=60.0)
        assert await store.grants_for_session("s" * 64) == [grant(last_seen=60.0)]
        [event] = await store.audit()
        assert (event.at, event.kind, event.detail) == (12.0, "redeemed", {"a": 1})
    finally:
        await store.stop()


async def test_use_is_consumed_atomically(store):
    await store.add_invitation(invitation(max_uses=1))
    assert await store.add_grant(grant(), consume_use=True, now=50.0)
    assert not await store.add_grant(
        grant(id="g-2", guest_session_id="t" * 64), consume_use=True, now=50.0
    )
    assert await store.get_grant("g-2") is None
    await store.add_invitation(invitation(id="i-2", code_hash="k" * 64, max_uses=None))
    assert not await store.add_grant(
        grant(id="g-3", invitation_id="i-2"), consume_use=True, now=100.0
    )


async def test_revoke_keeps_first_time(store):
    await store.add_invitation(invitation())
    await store.add_grant(grant(), consume_use=False, now=0)
    assert await store.revoke(invitation_ids=["i-1"], grant_ids=["g-1"], now=20.0) == (
        ["i-1"],
        ["g-1"],
    )
    assert await store.revoke(invitation_ids=["i-1"], grant_ids=["g-1"], now=30.0) == ([], [])
    assert (await store.get_grant("g-1")).revoked_at == 20.0
    assert (await store.get_invitation("i-1")).revoked_at == 20.0


async def test_audit_is_append_only(store, db_path):
    assert not any(hasattr(store, n) for n in ("update_audit", "delete_audit", "clear_audit"))
    await store.append_audit(at=1.0, kind="redeemed", principal_id="p")
    await store.append_audit(at=2.0, kind="refused", principal_id="p")
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE access_audit SET kind = 'x'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM access_audit")
    finally:
        conn.close()
    assert [e.kind for e in await store.audit()] == ["redeemed", "refused"]
    assert [e.kind for e in await store.audit(kind="refused")] == ["refused"]
    assert [e.kind for e in await store.audit(since=1.5)] == ["refused"]
    ids = [e.id for e in await store.audit()]
    assert ids == sorted(ids)


async def test_shares_a_file_with_the_document_store(db_path):
    docs = SQLiteStore(db_path)
    await docs.start()
    access = AccessStore(db_path)
    await access.start()
    try:
        await docs.reset("k", "e1", b"\x00\x00", None)
        await access.add_invitation(invitation())
        assert (await docs.load("k")).epoch == "e1"
        assert await access.get_invitation("i-1") is not None
    finally:
        await access.stop()
        await docs.stop()
