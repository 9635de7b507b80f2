"""Fixtures: a root with files, folders and symlinks; a real AccessStore; a movable clock."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tandem.access import AccessService, AccessStore
from tandem.access.codes import new_key

T0 = 1_700_000_000.0


class Clock:
    """An injectable clock: tests move time instead of sleeping."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def key() -> bytes:
    return new_key()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "class").mkdir(parents=True)
    (root / "classic").mkdir()
    (root / "class" / "lesson.ipynb").write_text("{}")
    (root / "class" / "answers.ipynb").write_text("{}")
    (root / "classic" / "x.ipynb").write_text("{}")
    (root / "notes.ipynb").write_text("{}")
    (root / "notes.ipynb.bak").write_text("{}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.ipynb").write_text("{}")
    os.symlink(outside, root / "out")  # a symlink leading out of the root
    os.symlink(outside / "private.ipynb", root / "private-link.ipynb")
    os.symlink(root / "class", root / "alias")  # a symlink that stays inside
    return root


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "tandem.sqlite"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[AccessStore]:
    s = AccessStore(db_path)
    await s.start()
    yield s
    await s.stop()


@pytest.fixture
def service(store: AccessStore, key: bytes, root: Path, clock: Clock) -> AccessService:
    return AccessService(store, key, str(root), clock)
