"""A room whose document is a file: durable history, epochs, saving and file merges."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_ydoc import YNotebook
from pycrdt import Doc

from .. import faults
from ..documents.files import DocumentFile, FileChanged, FileGone, FileReadOnly
from ..documents.merge import file_change_update
from ..documents.model import DocumentKind, content_fingerprint, new_document, repair_notebook
from ..documents.notebook_file import NotebookFileCache
from ..protocol import ProtocolError, Reader, encode_raw_json
from ..store import DocumentStore
from .room import Peer, Room

__all__ = ["DocumentRoom", "RoomSettings"]


@dataclass(frozen=True)
class RoomSettings:
    save_delay: float = 0.5
    """Seconds without edits before the file is saved."""
    save_max_wait: float = 3.0
    """Longest time an edit may stay unsaved while people keep typing."""
    poll_interval: float = 1.0
    """Seconds between checks of the file for changes made by other programs."""
    compact_updates: int = 500
    """Fold the log into a snapshot once it holds this many updates..."""
    compact_age: float = 60.0
    """...or once its oldest uncompacted update is this many seconds old."""
    gone_grace: float = 1.0
    """Seconds a missing file is looked for again before the room closes: a file renamed
    through Jupyter moves a moment before the file id manager knows its new path."""


class DocumentRoom(Room):
    def __init__(
        self,
        room_id: str,
        key: str,
        kind: DocumentKind,
        file: DocumentFile,
        store: DocumentStore,
        settings: RoomSettings,
        log: logging.Logger | None = None,
    ) -> None:
        super().__init__(room_id, log)
        self.key = key
        self.kind = kind
        self.file = file
        self.store = store
        self.settings = settings
        self.document = new_document(kind, self.doc)
        self.epoch = ""
        self._base_update = b""
        self._synced_fingerprint: str | None = None
        self._file_cache: NotebookFileCache | None = None
        self._file_version: Any = None
        self._path: str | None = None
        self._tail: asyncio.Future[None] | None = None
        self._log_count = 0
        self._log_since: float | None = None
        self._dirty_since: float | None = None
        self._edit_seq = 0
        self._save_timer: asyncio.TimerHandle | None = None
        self._save_lock = asyncio.Lock()
        self._poller: asyncio.Task[None] | None = None
        self._started = False
        self.loaded_fresh = False
        """True when the document was just built from its file (nothing ran in it yet)."""
        self.on_saved: list[Callable[[DocumentRoom], None]] = []
        """Called after each successful save (e.g. to emit JupyterLab's session event)."""
        self.on_moved: list[Callable[[DocumentRoom], None]] = []
        """Called when the file was renamed or moved (e.g. to re-check guests' scope)."""

    # -- loading and epochs ----------------------------------------------------------

    async def start(self) -> None:
        """Load the file and the stored history; decide the epoch. Raises FileGone/BadFile."""
        snapshot = await self.file.read()
        self._path = self.file.path
        on_disk = content_fingerprint(self.kind, snapshot.content)
        history = await self.store.load(self.key)
        recovered = history is not None and self._replay(history.updates)
        if history is not None and recovered:
            self.epoch = history.epoch
            current = self._content_for_file()
            if content_fingerprint(self.kind, current) == on_disk:
                self._base_update = self.doc.get_update()
                self._mark_synced(on_disk)
            elif on_disk in (history.file_fingerprint, history.prev_fingerprint):
                # The file is one Tandem wrote; the history holds later edits: save them.
                self.log.info("%s: recovered edits not yet saved; saving them", self._path)
                current_pair = on_disk == history.file_fingerprint
                self._base_update = (
                    history.base_update if current_pair else history.prev_base
                ) or b""
                # Record the pair this relies on: if the next save is interrupted too,
                # the file still matches a recorded pair (not a foreign change).
                self._mark_synced(on_disk)
                self._note_edit()
            elif history.base_update and not self._replaced_wholesale(current, snapshot.content):
                self.log.info(
                    "%s: changed on disk while closed; merging (%s vs %s/%s)",
                    self._path,
                    on_disk,
                    history.file_fingerprint,
                    history.prev_fingerprint,
                )
                self._base_update = history.base_update
                self._merge_file(snapshot.content)
            else:
                recovered = False
        if not recovered:
            await self._new_epoch(snapshot.content, on_disk)
        self._file_version = snapshot.version
        self._set_state(path=self._path, dirty=False, hash=snapshot.hash)
        self._started = True
        self._poller = asyncio.create_task(self._poll_file(), name=f"tandem-poll-{self.key}")

    def _replay(self, updates: list[bytes]) -> bool:
        try:
            with self.doc.transaction(origin="store"):
                for update in updates:
                    self.doc.apply_update(update)
        except Exception as exc:  # a damaged history is treated as lost, never half-used
            self.log.error(
                "stored history of %s does not apply (%r); starting a new epoch", self.key, exc
            )
            self._reset_doc()
            return False
        self._pending = list(updates)
        self.still_pending()
        if self._pending:
            self._retry_pending()
        self._captured.clear()
        self._known_state = self.doc.get_state()
        self._log_count = len(updates)
        self._log_since = time.monotonic()
        return True

    def _reset_doc(self) -> None:
        self.doc.unobserve(self._subscription)
        self.doc = Doc()
        self._subscription = self.doc.observe(self._on_transaction)
        self.document = new_document(self.kind, self.doc)
        self._captured.clear()
        self._pending = []
        self._known_state = self.doc.get_state()

    def _replaced_wholesale(self, current: Any, content: Any) -> bool:
        if self.kind != "notebook":
            return False
        ours = {c.get("id") for c in current.get("cells", [])}
        theirs = {c.get("id") for c in content.get("cells", [])}
        return bool(ours) and bool(theirs) and not (ours & theirs)

    async def _new_epoch(self, content: Any, fingerprint: str | None = None) -> None:
        if len(self.doc.get_update()) > 2:
            self._reset_doc()
        with self.doc.transaction(origin="load"):
            self.document.set(content)
        self._captured.clear()
        self._known_state = self.doc.get_state()
        self.epoch = uuid.uuid4().hex
        snapshot = self.doc.get_update()
        self._base_update = snapshot
        self._synced_fingerprint = fingerprint or content_fingerprint(self.kind, content)
        self.loaded_fresh = True
        self._tail = self.store.reset(self.key, self.epoch, snapshot, self._synced_fingerprint)
        await self._tail
        self._log_count, self._log_since = 1, None
        self.log.info("%s: new epoch %s", self._path, self.epoch)

    # -- persistence hooks -----------------------------------------------------------

    def persist(self, changes: list[bytes]) -> asyncio.Future[None]:
        for change in changes:
            self._tail = self.store.append(self.key, self.epoch, change)
        self._log_count += len(changes)
        if self._log_since is None:
            self._log_since = time.monotonic()
        assert self._tail is not None
        tail = self._tail
        if self._log_count >= self.settings.compact_updates:
            self.compact()
        return tail

    async def durable(self) -> None:
        if self._tail is not None:
            await asyncio.gather(self._tail, return_exceptions=True)

    def compact(self) -> asyncio.Future[None] | None:
        """Fold the log into one snapshot (plus updates still waiting for dependencies)."""
        if self._log_count <= 1 or not self.epoch:
            return None
        self._tail = self.store.compact(
            self.key, self.epoch, self.doc.get_update(), self.still_pending()
        )
        self._log_count, self._log_since = 1, None
        return self._tail

    def on_changed(self, origin: Peer | None) -> None:
        if origin is not None:
            self._note_edit()

    def on_content_changed(self) -> None:
        self._note_edit()

    # -- saving ----------------------------------------------------------------------

    def _note_edit(self) -> None:
        self._edit_seq += 1
        now = time.monotonic()
        if self._dirty_since is None:
            self._dirty_since = now
        delay = min(self.settings.save_delay, self._dirty_since + self.settings.save_max_wait - now)
        if self._save_timer is not None:
            self._save_timer.cancel()
        self._save_in(max(delay, 0))

    def _save_in(self, delay: float) -> None:
        """Save ``delay`` seconds from now (0: as soon as the running save is done)."""
        self._save_timer = asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self.save())
        )

    async def save(self) -> str:
        """Write the document to its file now. Returns "success", "skipped" or "failed"."""
        if not self._started:
            return "skipped"
        if self.failed:
            return "failed"  # the live document holds a change the store does not
        async with self._save_lock:
            if self._save_timer is not None:
                self._save_timer.cancel()
                self._save_timer = None
            previous: tuple[str | None, bytes] | None = None
            try:
                await self._check_file()
                if self._dirty_since is None:
                    return "skipped"
                seq = self._edit_seq
                content, data, fingerprint = self._file_for_save()
                base = self.doc.get_update()
                # Record what is about to be written before writing it: after a crash,
                # the file then always matches one recorded (fingerprint, base) pair.
                previous = (self._synced_fingerprint, self._base_update)
                self._base_update = base
                self._mark_synced(fingerprint)
                await self.durable()
                if self.failed:
                    return "failed"
                await faults.hold_file_write()
                saved = await self.file.write(content, self._file_version, data)
            except FileChanged:
                # Someone wrote the file while we prepared ours: merge theirs, save again.
                self.log.info("%s changed while saving; merging first", self._path)
                self._restore_synced(previous)
                self._save_in(0)
                return "failed"
            except FileGone:
                self._restore_synced(previous)
                if await self._still_gone():
                    self._file_gone()
                else:  # it was being renamed: save where it is now
                    self._save_in(0)
                return "failed"
            except FileReadOnly:
                # As Jupyter does: a read-only file is never overwritten; the edits stay
                # in the room's history, and the document's state says why it is unsaved.
                self._restore_synced(previous)
                self._set_state(save_error=f"{self._path} is read-only: changes are not saved")
                self.log.warning("%s is read-only; not saving it", self._path)
                return "failed"
            except Exception as exc:
                self.log.error("could not save %s: %r", self._path, exc)
                return "failed"
            self._file_version = saved.version
            self._dirty_since = None
            if self.document.ystate.get("save_error"):
                self._set_state(save_error="")
            if self._edit_seq == seq:
                self._set_state(dirty=False, hash=saved.hash)
            else:
                self._note_edit()
            if (
                self._log_since is not None
                and time.monotonic() - self._log_since > self.settings.compact_age
            ):
                self.compact()
            self._notify_saved()
            return "success"

    def _restore_synced(self, previous: tuple[str | None, bytes] | None) -> None:
        """The write did not happen: the file still holds what was synced before
        (``previous``: that state, or None when the save failed before recording it)."""
        if previous is not None and previous[0] is not None:
            self._base_update = previous[1]
            self._mark_synced(previous[0])

    def _notify_saved(self) -> None:
        for hook in self.on_saved:
            try:
                hook(self)
            except Exception:  # a listener never fails a save
                self.log.exception("on_saved listener failed for %s", self._path)

    def _file_for_save(self) -> tuple[Any, bytes | None, str]:
        """The content to write, its bytes (None: the file serializes it) and its
        fingerprint. Notebooks reuse what is unchanged since the last save."""
        if self.kind != "notebook":
            content = self.document.get()
            return content, None, content_fingerprint(self.kind, content)
        document = self.document
        assert isinstance(document, YNotebook)
        cache = self._file_cache
        if cache is None or cache.document is not document:
            if cache is not None:
                cache.close()
            cache = self._file_cache = NotebookFileCache(document, self.log)
        built = cache.build()
        if built.errors:
            self.log.error("Notebook JSON is invalid: %s", "; ".join(built.errors))
        return built.content, built.data, built.fingerprint

    def _content_for_file(self) -> Any:
        content = self.document.get()
        return repair_notebook(content) if self.kind == "notebook" else content

    def _mark_synced(self, fingerprint: str) -> None:
        """The file holds (or is about to hold) ``fingerprint``, the document's content at
        ``self._base_update``; recorded durably in order with the updates."""
        self._synced_fingerprint = fingerprint
        if self.epoch:
            self._tail = self.store.mark_synced(
                self.key, self.epoch, fingerprint, self._base_update
            )

    def _set_state(self, **values: Any) -> None:
        state = self.document.ystate
        changed = {k: v for k, v in values.items() if v is not None and state.get(k) != v}
        if changed:
            with self.transact():
                for key, value in changed.items():
                    state[key] = value

    async def receive_raw(self, peer: Peer, reader: Reader) -> None:
        """jupyter-collaboration's save request: ``"save"`` then a var-uint request id.

        The reply is ``{"type": "save", "responseTo": id, "status": ...}`` where status
        is "success" once the file holds the document, or "failed"."""
        command = reader.var_string()
        if command != "save":
            raise ProtocolError(f"unknown raw command {command[:32]!r}")
        request_id = reader.var_uint()
        reader.expect_end()
        status = await self.save() if self._dirty_since is not None else "success"
        if status == "skipped":
            status = "success"
        peer.send(encode_raw_json({"type": "save", "responseTo": request_id, "status": status}))

    # -- the file on disk ------------------------------------------------------------

    async def _poll_file(self) -> None:
        while not self.failed:
            await asyncio.sleep(self.settings.poll_interval)
            try:
                async with self._save_lock:
                    await self._check_file()
            except FileGone:
                if await self._still_gone():
                    self._file_gone()
                    return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.warning("could not check %s: %r", self._path, exc)

    async def _check_file(self) -> None:
        """Follow renames; merge changes other programs made to the file."""
        path = self.file.path
        if path != self._path:
            self._path = path
            self._set_state(path=path)
            for hook in self.on_moved:
                hook(self)
        stat = await self.file.stat()
        if stat.version == self._file_version:
            return
        snapshot = await self.file.read()
        self._file_version = snapshot.version
        if content_fingerprint(self.kind, snapshot.content) == self._synced_fingerprint:
            return
        self.log.info("%s changed on disk; merging into the live document", path)
        self._merge_file(snapshot.content)
        self._set_state(hash=snapshot.hash)

    def _merge_file(self, content: Any) -> None:
        """Merge a file changed by another program: its changes relative to the last
        synced state are replayed into the live document, so peers keep unsaved work."""
        update = file_change_update(self._base_update, self.kind, content)
        self.apply_update(update)
        scratch: Doc[Any] = Doc()
        scratch.apply_update(self._base_update)
        scratch.apply_update(update)
        self._base_update = scratch.get_update()
        on_disk = content_fingerprint(self.kind, content)
        self._mark_synced(on_disk)
        if content_fingerprint(self.kind, self._content_for_file()) != on_disk:
            self._note_edit()  # peers had unsaved work: write the merged result back
        else:
            self._set_state(dirty=False)

    async def _still_gone(self) -> bool:
        """Whether the file is still missing after ``gone_grace`` seconds of looking
        (where the file id manager says it is now, each time)."""
        deadline = time.monotonic() + self.settings.gone_grace
        while time.monotonic() < deadline:
            await asyncio.sleep(min(0.1, self.settings.gone_grace))
            try:
                await self.file.stat()
            except FileGone:
                continue
            return False
        return True

    def _file_gone(self) -> None:
        self.log.warning("%s is gone; closing room %s", self._path, self.room_id)
        self.close_all(4404, f"File {self._path} was deleted or moved.")

    # -- shutdown --------------------------------------------------------------------

    async def stop(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
        if self._started and self._dirty_since is not None and not self.failed:
            await self.save()
        if self._save_timer is not None:
            self._save_timer.cancel()
        if self._started and not self.failed:
            self.compact()
            await self.durable()
        await super().stop()
