"""Invitations keep the owner's per-link "runs as me" choice, in new and older databases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tandem.access import AccessStore, Role

from .test_store import invitation

OLD_INVITATIONS = """
CREATE TABLE access_invitations (
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
    revoked_at REAL
);
INSERT INTO access_invitations VALUES
    ('i-old', 'x', 'class', 1, 'run', 1.0, 100.0, NULL, 0, 0, 0, 'before', NULL);
"""


async def test_a_database_made_before_the_choice_gains_it_unset(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_INVITATIONS)
    store = AccessStore(path)
    await store.start()
    try:
        old = await store.get_invitation("i-old")
        assert old is not None and old.role is Role.RUN and old.runs_as_owner is False
        await store.add_invitation(invitation(id="i-new", role=Role.RUN, runs_as_owner=True))
        new = await store.get_invitation("i-new")
        assert new is not None and new.runs_as_owner is True
    finally:
        await store.stop()
    # Opening it again changes nothing (the migration is idempotent).
    store = AccessStore(path)
    await store.start()
    try:
        assert [i.runs_as_owner for i in await store.list_invitations()] == [False, True]
    finally:
        await store.stop()
