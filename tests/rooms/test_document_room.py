"""DocumentRoom in process, on a real contents manager and a tmp folder: epochs across
reopenings, saving, and merges of files changed by other programs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from tandem.rooms import DocumentRoom
from tandem.store.memory import MemoryStore
from tandem.testing_inprocess import FAST_SETTINGS, LocalPeer, open_document_room
from tests.conftest import write_notebook
from tests.eventually import eventually


@pytest.fixture
async def store() -> AsyncIterator[MemoryStore]:
    backend = MemoryStore()
    await backend.start()
    yield backend
    await backend.stop()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_notebook(tmp_path / "demo.ipynb")
    (tmp_path / "notes.md").write_text("line one\nline two\n", encoding="utf-8")
    return tmp_path


def type_into(peer: LocalPeer | DocumentRoom, index: int, text: str) -> None:
    source = peer.document.ycells[index]["source"]
    source += text


def sources_on_disk(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(path, as_version=4).cells]


def edit_on_disk(path: Path, index: int, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    nb.cells[index].source = source
    nbformat.write(nb, path)


async def reopen(room: DocumentRoom, folder: Path, store: MemoryStore) -> DocumentRoom:
    await room.stop()
    return await open_document_room(folder, "demo.ipynb", store)


async def test_the_epoch_survives_reopening_and_edits_are_saved_on_stop(
    folder: Path, store: MemoryStore
) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    epoch = room.epoch
    alice = await LocalPeer(room).connect()
    type_into(alice, 1, "\n# edited")
    await alice.flush()
    await alice.leave()
    room = await reopen(room, folder, store)
    try:
        assert room.epoch == epoch
        assert sources_on_disk(folder / "demo.ipynb")[1].endswith("# edited")
        assert str(room.document.ycells[1]["source"]).endswith("# edited")
    finally:
        await room.stop()


async def test_lost_history_starts_a_new_epoch(folder: Path, store: MemoryStore) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    epoch = room.epoch
    await room.stop()
    await store.delete("demo.ipynb")
    room = await open_document_room(folder, "demo.ipynb", store)
    try:
        assert room.epoch and room.epoch != epoch
    finally:
        await room.stop()


async def test_a_damaged_history_is_never_half_used(folder: Path, store: MemoryStore) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    epoch = room.epoch
    await room.stop()
    await store.append("demo.ipynb", epoch, b"\x01\x02\x03 not an update")
    room = await open_document_room(folder, "demo.ipynb", store)
    try:
        assert room.epoch != epoch
        assert [str(c["source"]) for c in room.document.ycells] == sources_on_disk(
            folder / "demo.ipynb"
        )
    finally:
        await room.stop()


async def test_a_file_edited_while_closed_is_merged_in_the_same_epoch(
    folder: Path, store: MemoryStore
) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    epoch = room.epoch
    await room.stop()
    edit_on_disk(folder / "demo.ipynb", 2, "changed = 'elsewhere'")
    room = await open_document_room(folder, "demo.ipynb", store)
    try:
        assert room.epoch == epoch
        assert str(room.document.ycells[2]["source"]) == "changed = 'elsewhere'"
    finally:
        await room.stop()


async def test_a_file_replaced_wholesale_while_closed_starts_a_new_epoch(
    folder: Path, store: MemoryStore
) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    epoch = room.epoch
    await room.stop()
    write_notebook(folder / "demo.ipynb", cells=2)  # new cell ids: another notebook
    room = await open_document_room(folder, "demo.ipynb", store)
    try:
        assert room.epoch != epoch
        assert len(room.document.ycells) == 2
    finally:
        await room.stop()


async def test_unsaved_edits_recovered_after_a_crash_are_saved(
    folder: Path, store: MemoryStore
) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    epoch = room.epoch
    alice = await LocalPeer(room).connect()
    type_into(alice, 1, "\n# not yet saved")
    await alice.flush()
    await room.durable()
    # A crash: the room never stops (no save); a new process opens the same history.
    room.close_all(1001, "crash")
    again = await open_document_room(folder, "demo.ipynb", store)
    try:
        assert again.epoch == epoch
        assert not sources_on_disk(folder / "demo.ipynb")[1].endswith("# not yet saved")
        assert await again.save() == "success"
        assert sources_on_disk(folder / "demo.ipynb")[1].endswith("# not yet saved")
    finally:
        await again.stop()
        await room.stop()


async def test_save_request_writes_the_file_and_replies(folder: Path, store: MemoryStore) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    try:
        alice = await LocalPeer(room).connect()
        type_into(alice, 1, "\n# saved by request")
        await alice.flush()
        reply = await alice.request_save(7)
        assert reply == {"type": "save", "responseTo": 7, "status": "success"}
        assert sources_on_disk(folder / "demo.ipynb")[1].endswith("# saved by request")
        assert room.document.ystate.get("dirty") is False
        assert await room.save() == "skipped"  # nothing new to write
    finally:
        await room.stop()


async def test_a_change_on_disk_merges_with_unsaved_edits_and_both_are_written(
    folder: Path, store: MemoryStore
) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    try:
        alice = await LocalPeer(room).connect()
        type_into(alice, 1, "\n# alice, unsaved")
        await alice.flush()
        edit_on_disk(folder / "demo.ipynb", 2, "from_disk = True")
        assert await room.save() == "success"  # checks the file first: merges, then writes
        on_disk = sources_on_disk(folder / "demo.ipynb")
        assert on_disk[1].endswith("# alice, unsaved") and on_disk[2] == "from_disk = True"
        await room.durable()
        assert str(alice.document.ycells[2]["source"]) == "from_disk = True"
    finally:
        await room.stop()


async def test_a_text_file_is_saved_as_text(folder: Path, store: MemoryStore) -> None:
    room = await open_document_room(folder, "notes.md", store, kind="text")
    try:
        alice = await LocalPeer(room, kind="text").connect()
        source = alice.document._ysource
        source += "line three\n"
        await alice.flush()
        assert await room.save() == "success"
        assert (folder / "notes.md").read_text() == "line one\nline two\nline three\n"
    finally:
        await room.stop()


async def test_a_deleted_file_closes_the_room_with_4404(folder: Path, store: MemoryStore) -> None:
    room = await open_document_room(folder, "demo.ipynb", store)
    try:
        alice = await LocalPeer(room).connect()
        type_into(alice, 1, "x")
        await alice.flush()
        (folder / "demo.ipynb").unlink()
        assert await room.save() == "failed"
        assert alice.close_code == 4404
    finally:
        await room.stop()


class LaggingLocation:
    """Where the file id manager says a file is: as in Jupyter, it learns a rename a
    moment after the file moved on disk."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self) -> str:
        return self.path

    async def moved(self, folder: Path, new: str, lag: float) -> None:
        (folder / new).parent.mkdir(parents=True, exist_ok=True)
        (folder / self.path).rename(folder / new)
        await asyncio.sleep(lag)
        self.path = new


async def test_a_rename_seen_late_is_followed_and_closes_nobody(
    folder: Path, store: MemoryStore
) -> None:
    where = LaggingLocation("demo.ipynb")
    polling = replace(FAST_SETTINGS, poll_interval=0.05)
    room = await open_document_room(folder, "demo.ipynb", store, settings=polling, locate=where)
    try:
        alice = await LocalPeer(room).connect()
        await where.moved(folder, "week2/demo.ipynb", lag=0.4)  # several polls in between
        await eventually(lambda: room.document.ystate.get("path") == "week2/demo.ipynb")
        assert not alice.closed
    finally:
        await room.stop()


async def test_a_save_during_a_rename_writes_the_file_where_it_went(
    folder: Path, store: MemoryStore
) -> None:
    where = LaggingLocation("demo.ipynb")
    room = await open_document_room(folder, "demo.ipynb", store, locate=where)
    try:
        alice = await LocalPeer(room).connect()
        type_into(alice, 1, "\n# typed during the move")
        await alice.flush()
        moving = asyncio.ensure_future(where.moved(folder, "week2/demo.ipynb", lag=0.3))
        await asyncio.sleep(0)  # the file has moved; its new path is not known yet
        await room.save()
        await moving
        moved = folder / "week2" / "demo.ipynb"
        await eventually(lambda: sources_on_disk(moved)[1].endswith("# typed during the move"))
        assert not (folder / "demo.ipynb").exists()
        assert not alice.closed
    finally:
        await room.stop()


async def test_a_corrupt_file_refuses_to_open_and_is_never_touched(
    folder: Path, store: MemoryStore
) -> None:
    from tandem.documents.files import BadFile

    (folder / "bad.ipynb").write_text("{ not json", encoding="utf-8")
    with pytest.raises(BadFile):
        await open_document_room(folder, "bad.ipynb", store)
    assert (folder / "bad.ipynb").read_text() == "{ not json"
    assert await store.load("bad.ipynb") is None
