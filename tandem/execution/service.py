"""Shared execution for the whole server: one NotebookKernel per notebook, found by file id.

Handlers call this after authorizing; it never sees HTTP. Kernels are Jupyter Server's
(its kernel and session managers), so JupyterLab opening the same notebook finds the same
kernel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from jupyter_core.utils import ensure_async

from .document import ExecutionDocument
from .kernel import ExecutionSettings, NotebookKernel
from .records import Requester, Run, source_hash

__all__ = ["OWNER", "CellRequest", "ExecutionService", "SourceChanged", "UnknownCell"]

OWNER = "owner"
"""The principal id of the server's owner in run records (guests: their session hash)."""


class UnknownCell(LookupError):
    def __init__(self, cell_id: str) -> None:
        super().__init__(f"no code cell with id {cell_id!r}")
        self.cell_id = cell_id


class SourceChanged(Exception):
    """The cell changed since the requester saw it: nothing runs."""

    def __init__(self, cell_id: str) -> None:
        super().__init__(f"cell {cell_id!r} changed since you saw it")
        self.cell_id = cell_id


@dataclass(frozen=True)
class CellRequest:
    cell_id: str
    source_hash: str | None
    """None: run the current source (the owner's own tools, e.g. JupyterLab)."""


class ExecutionService:
    def __init__(
        self,
        rooms: Any,
        file_ids: Any,
        kernel_manager: Any,
        session_manager: Any,
        settings: ExecutionSettings,
        idle_timeout: float,
        log: logging.Logger | None = None,
        authorize: Callable[[Requester, str], Awaitable[bool]] | None = None,
        sandbox: Any = None,
        interrupt_grace: float = 5.0,
        runs_as_owner: Callable[[Requester, str], Awaitable[bool]] | None = None,
    ) -> None:
        self.rooms = rooms
        self.file_ids = file_ids
        self.kernel_manager = kernel_manager
        self.session_manager = session_manager
        self.settings = settings
        self.idle_timeout = idle_timeout
        self.log = log or logging.getLogger("tandem")
        self.notebooks: dict[str, NotebookKernel] = {}
        self.authorize = authorize
        self.runs_as_owner = runs_as_owner
        """Whether a guest's own run link lets their code run as the owner (no sandbox)."""
        self.sandbox = sandbox
        """A :class:`tandem.sandbox.SandboxService`: kernels of notebooks shared for
        running are confined (None: no sandbox; guests' runs are refused)."""
        self.interrupt_grace = interrupt_grace
        self._grace_tasks: set[asyncio.Task[None]] = set()
        self._culler: asyncio.Task[None] | None = None
        self._held: set[str] = set()

    def start(self) -> None:
        if self.idle_timeout > 0:
            self._culler = asyncio.create_task(self._cull_idle(), name="tandem-kernel-culler")

    async def stop(self) -> None:
        if self._culler is not None:
            self._culler.cancel()
        for task in list(self._grace_tasks):
            task.cancel()
        for notebook in list(self.notebooks.values()):
            try:
                await notebook.shutdown()
            except Exception:
                self.log.exception("could not shut down the kernel of %s", notebook.file_id)
        self.notebooks.clear()

    # -- finding notebooks ---------------------------------------------------------------

    def file_id_of(self, path: str) -> str:
        file_id = self.file_ids.get_id(path) or self.file_ids.index(path)
        if file_id is None:
            raise FileNotFoundError(path)
        return str(file_id)

    def notebook(self, file_id: str) -> NotebookKernel:
        notebook = self.notebooks.get(file_id)
        if notebook is None:
            room_id = notebook_room_id(file_id)
            notebook = NotebookKernel(
                file_id,
                lambda: self.rooms.get(room_id),
                self.kernel_manager,
                self._kernel_for,
                _requester_present,
                self.settings,
                self.log,
                partial(self._still_allowed, file_id=file_id),
                self._release,
                self._prepare_kernel,
            )
            self.notebooks[file_id] = notebook
        return notebook

    async def _still_allowed(self, run: Run, file_id: str) -> bool:
        """Checked when a queued run is about to start: the requester may still run code
        in this notebook (guests' access can expire or be revoked while they wait)."""
        if self.authorize is None or run.requester.principal_id == OWNER:
            return True
        path = self.file_ids.get_path(file_id)
        return path is not None and await self.authorize(run.requester, path)

    async def _prepare_kernel(self, notebook: NotebookKernel, run: Run) -> str | None:
        """Before a run starts: the kernel is confined exactly while the notebook is shared
        for running (restarted, with a note, when that changed). Returns why the run may not
        start, or None."""
        guest = run.requester.principal_id != OWNER
        path = self.file_ids.get_path(notebook.file_id)
        if self.sandbox is None:
            return "Guests' code cannot run on this server (no sandbox)." if guest else None
        from ..sandbox import Unconfinable  # the sandbox never imports execution

        try:
            wanted = await self.sandbox.wanted_scope(path) if path is not None else None
        except Unconfinable as error:
            per_share = (
                guest
                and path is not None
                and self.runs_as_owner is not None
                and await self.runs_as_owner(run.requester, path)
            )
            if guest and not self.sandbox.may_run_as_owner(bool(per_share)):
                return (
                    f"This notebook's kernel cannot be confined ({error}), so guests cannot"
                    " run code in it."
                )
            wanted = None
        kernel_id = notebook.kernel_id
        if kernel_id is not None and kernel_id in self.kernel_manager:
            launch = self.sandbox.launches.get(kernel_id)
            current = launch.scope_path if launch is not None else None
            if current != wanted:
                note = (
                    f"The kernel was restarted to run confined to {wanted or '/'!r}: this notebook"
                    " is shared for running, so everyone's code runs in the sandbox."
                    if wanted is not None
                    else "The kernel was restarted unconfined: this notebook is no longer shared"
                    " for running."
                )
                self.log.info("restarting the kernel of %s: %s", path, note)
                await notebook.renew(note)
        await notebook.ensure_kernel()
        doc = await notebook.document()
        kernel_id = notebook.kernel_id
        launch = self.sandbox.launches.get(kernel_id) if kernel_id else None
        got = launch.scope_path if launch is not None else None
        if wanted is not None and got != wanted and guest:
            return (
                "This notebook's kernel could not be started confined, so guests cannot run"
                " code in it."
            )
        doc.set_sandbox(
            {"confined": True, **launch.confinement.describe(), "scope": got}
            if launch is not None and launch.confinement is not None
            else {"confined": False}
        )
        return None

    async def _kernel_for(self, doc: ExecutionDocument) -> tuple[str, str, str]:
        """The notebook's Jupyter session kernel: JupyterLab's if it has one, else a new
        session with the kernel the notebook's metadata names."""
        path = self.file_ids.get_path(doc.room.key) or ""
        for session in await ensure_async(self.session_manager.list_sessions()):
            if session.get("path") == path and session.get("kernel"):
                kernel = session["kernel"]
                return kernel["id"], kernel["name"], self._display_name(kernel["name"])
        name = doc.kernel_spec() or self.kernel_manager.default_kernel_name
        specs = self.kernel_manager.kernel_spec_manager
        if name not in await ensure_async(specs.get_all_specs()):
            name = self.kernel_manager.default_kernel_name
        model = await self.session_manager.create_session(
            path=path, name=os.path.basename(path), type="notebook", kernel_name=name
        )
        kernel = model["kernel"]
        return kernel["id"], kernel["name"], self._display_name(kernel["name"])

    def _display_name(self, name: str) -> str:
        try:
            return str(self.kernel_manager.kernel_spec_manager.get_kernel_spec(name).display_name)
        except Exception:
            return name

    # -- requests ------------------------------------------------------------------------

    async def run(
        self,
        path: str,
        cells: list[CellRequest],
        requester: Requester,
        *,
        can_answer_input: bool = True,
    ) -> list[Run]:
        """Queue ``cells`` in order. Every source is checked before anything is queued."""
        notebook = self.notebook(self.file_id_of(path))
        doc = await notebook.document()
        batch = uuid.uuid4().hex
        runs = []
        for request in cells:
            source = doc.source(request.cell_id)
            if source is None:
                raise UnknownCell(request.cell_id)
            if request.source_hash is not None and source_hash(source) != request.source_hash:
                raise SourceChanged(request.cell_id)
            runs.append(
                Run(
                    request.cell_id,
                    source,
                    requester,
                    batch=batch if len(cells) > 1 else "",
                    can_answer_input=can_answer_input,
                )
            )
        self._hold(notebook)
        await notebook.enqueue(runs)
        return runs

    async def run_on_kernel(
        self, kernel_id: str, file_id: str, cell_id: str, code: str | None, requester: Requester
    ) -> Run:
        """JupyterLab's server-side execution: run ``cell_id`` on the session's kernel."""
        notebook = self.notebook(file_id)
        doc = await notebook.document()
        source = doc.source(cell_id)
        if source is None:
            raise UnknownCell(cell_id)
        if code is not None and code != source:
            raise SourceChanged(cell_id)
        if notebook.kernel_id != kernel_id:
            await notebook.attach(kernel_id)
        run = Run(cell_id, source, requester, can_answer_input=False)
        self._hold(notebook)
        await notebook.enqueue([run])
        return run

    async def wait(self, file_id: str, run: Run) -> None:
        await self.notebook(file_id).wait(run)

    async def interrupt(self, path: str) -> dict[str, Any]:
        notebook = self.notebook(self.file_id_of(path))
        await notebook.interrupt()
        return (await notebook.document()).kernel()

    async def restart(self, path: str) -> dict[str, Any]:
        notebook = self.notebook(self.file_id_of(path))
        await notebook.restart()
        return (await notebook.document()).kernel()

    async def state(self, path: str) -> dict[str, Any]:
        notebook = self.notebook(self.file_id_of(path))
        doc = await notebook.document()
        runs = ([notebook.current] if notebook.current else []) + list(notebook.queue)
        return {"kernel": doc.kernel(), "queue": [run.public() for run in runs]}

    async def answer_input(self, path: str, run_id: str, value: str, requester: Requester) -> bool:
        notebook = self.notebook(self.file_id_of(path))
        run = notebook.current
        if (
            run is None
            or run.run_id != run_id
            or run.requester.principal_id != requester.principal_id
        ):
            return False
        return await notebook.answer_input(run_id, value)

    async def cancel_for(self, principal_ids: Iterable[str]) -> list[Run]:
        """Access was revoked: drop these principals' queued runs and stop their running ones."""
        ids = set(principal_ids)
        dropped: list[Run] = []
        for notebook in list(self.notebooks.values()):
            dropped += await notebook.cancel(lambda run: run.requester.principal_id in ids)
            current = notebook.current
            if current is not None and current.requester.principal_id in ids and notebook.kernel_id:
                await self.kernel_manager.interrupt_kernel(notebook.kernel_id)
                task = asyncio.create_task(self._restart_if_still_running(notebook, current))
                self._grace_tasks.add(task)
                task.add_done_callback(self._grace_tasks.discard)
        return dropped

    async def _restart_if_still_running(self, notebook: NotebookKernel, run: Run) -> None:
        """A revoked person's run was interrupted: if it still runs after the grace period
        (its code catches KeyboardInterrupt), the kernel is restarted and the notebook says why."""
        await asyncio.sleep(self.interrupt_grace)
        if notebook.current is not run:
            return
        try:
            await notebook.renew(
                f"The kernel was restarted: code run by {run.requester.name}, whose access was"
                f" revoked, did not stop within {self.interrupt_grace:g} s of an interrupt."
            )
        except Exception:
            self.log.exception("could not restart the kernel of %s", notebook.file_id)

    def on_room_started(self, room: Any) -> None:
        """A notebook room was (re)loaded: if nothing runs for it, clear stale marks."""
        notebook = self.notebooks.get(getattr(room, "key", ""))
        if notebook is not None and (notebook.busy or notebook.kernel_id):
            return
        if getattr(room, "kind", None) == "notebook" and not getattr(room, "loaded_fresh", False):
            try:
                ExecutionDocument(room).reset_stale()
            except Exception:
                self.log.exception("could not reset execution marks in %s", room.room_id)

    # -- room lifetime and culling --------------------------------------------------------

    def _hold(self, notebook: NotebookKernel) -> None:
        """Keep the room in memory while its kernel writes into it, even with nobody there."""
        if notebook.file_id not in self._held:
            self._held.add(notebook.file_id)
            self.rooms.hold(notebook_room_id(notebook.file_id))

    def _release(self, notebook: NotebookKernel) -> None:
        """The notebook's queue ran dry: its room may be evicted again."""
        if notebook.file_id in self._held:
            self._held.discard(notebook.file_id)
            self.rooms.release(notebook_room_id(notebook.file_id))

    async def _cull_idle(self) -> None:
        while True:
            await asyncio.sleep(min(max(self.idle_timeout / 4, 0.5), 60.0))
            now = time.monotonic()
            for file_id, notebook in list(self.notebooks.items()):
                if (
                    notebook.kernel_id
                    and not notebook.busy
                    and now - notebook.last_activity > self.idle_timeout
                ):
                    self.log.info("culling the idle kernel of %s", file_id)
                    await self._shutdown_notebook(notebook)

    async def _shutdown_notebook(self, notebook: NotebookKernel) -> None:
        kernel_id = notebook.kernel_id
        for session in await ensure_async(self.session_manager.list_sessions()):
            if session.get("kernel", {}).get("id") == kernel_id:
                await self.session_manager.delete_session(session["id"])
        await notebook.shutdown()
        try:
            doc = await notebook.document()
            doc.reset_stale()
        except Exception:
            self.log.exception("could not mark %s's kernel as gone", notebook.file_id)


def notebook_room_id(file_id: str) -> str:
    return f"json:notebook:{file_id}"


def _requester_present(room: Any, run: Run) -> bool:
    for peer in list(getattr(room, "peers", {}).values()):
        if getattr(peer, "principal_id", OWNER) == run.requester.principal_id:
            return True
    return False
