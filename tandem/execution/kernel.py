"""One notebook's kernel, its run queue, and the pumps that carry kernel messages into
the shared document."""

from __future__ import annotations

import asyncio
import logging
import queue
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from .document import ExecutionDocument, OutputWriter
from .records import CellState, KernelStatus, Run

__all__ = ["ExecutionSettings", "NotebookKernel"]

FINISHED_KEPT = 1000
FLUSH_BURST = 3


@dataclass(frozen=True)
class ExecutionSettings:
    max_output_bytes: int = 1024 * 1024
    flush_interval: float = 0.05
    input_timeout: float = 300.0
    kernel_start_timeout: float = 60.0


class NotebookKernel:
    """The kernel session of one notebook (by file id) and its shared run queue.

    ``room`` returns the notebook's live room (started if needed); ``kernel_for`` starts or
    finds the kernel and returns ``(kernel_id, name, display_name)``; ``present`` tells
    whether a requester still has a connection to the room (for ``input()``).
    """

    def __init__(
        self,
        file_id: str,
        room: Callable[[], Awaitable[Any]],
        kernel_manager: Any,
        kernel_for: Callable[[ExecutionDocument], Awaitable[tuple[str, str, str]]],
        present: Callable[[Any, Run], bool],
        settings: ExecutionSettings,
        log: logging.Logger,
        allowed: Callable[[Run], Awaitable[bool]] | None = None,
        on_idle: Callable[[NotebookKernel], None] | None = None,
        prepare: Callable[[NotebookKernel, Run], Awaitable[str | None]] | None = None,
    ) -> None:
        self.file_id = file_id
        self._room = room
        self.kernel_manager = kernel_manager
        self._kernel_for = kernel_for
        self._present = present
        self._allowed = allowed
        self._on_idle = on_idle
        self._prepare = prepare
        self._waiters: dict[str, asyncio.Future[None]] = {}
        self.settings = settings
        self.log = log
        self.kernel_id: str | None = None
        self.kernel_name = ""
        self.display_name = ""
        self.queue: deque[Run] = deque()
        self.current: Run | None = None
        self.finished: dict[str, Run] = {}
        self.last_activity = time.monotonic()
        self._client: Any = None
        self._worker: asyncio.Task[None] | None = None
        self._pumps: list[asyncio.Task[None]] = []
        self._done: asyncio.Future[None] | None = None
        self._writer: OutputWriter | None = None
        self._doc: ExecutionDocument | None = None
        self._input_watch: asyncio.Task[None] | None = None
        self._start_lock = asyncio.Lock()

    # -- the queue -------------------------------------------------------------------

    async def document(self) -> ExecutionDocument:
        room = await self._room()
        if self._doc is None or self._doc.room is not room:
            self._doc = ExecutionDocument(room)
            self._writer = OutputWriter(self._doc, self.settings.max_output_bytes)
        return self._doc

    async def enqueue(self, runs: list[Run]) -> None:
        doc = await self.document()
        self.queue.extend(runs)
        self.last_activity = time.monotonic()
        doc.publish_queue(self._all_runs(), changed=runs)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name=f"tandem-run-{self.file_id}")

    def _finish(self, run: Run) -> None:
        """Remember a finished run for status requests (only the most recent ones) and
        wake whoever waits for it."""
        self.finished[run.run_id] = run
        while len(self.finished) > FINISHED_KEPT:
            del self.finished[next(iter(self.finished))]
        waiter = self._waiters.pop(run.run_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, run: Run) -> None:
        """Until ``run`` has finished (ran, failed or was dropped)."""
        if run.run_id in self.finished:
            return
        waiter = self._waiters.setdefault(run.run_id, asyncio.get_running_loop().create_future())
        await asyncio.shield(waiter)

    def _all_runs(self) -> list[Run]:
        return ([self.current] if self.current else []) + list(self.queue)

    async def cancel(self, predicate: Callable[[Run], bool]) -> list[Run]:
        """Drop queued runs matching ``predicate``; returns them."""
        dropped = [run for run in self.queue if predicate(run)]
        if not dropped:
            return []
        self.queue = deque(run for run in self.queue if not predicate(run))
        for run in dropped:
            run.state = CellState.IDLE
            self._finish(run)
        doc = await self.document()
        doc.publish_queue(self._all_runs(), changed=dropped)
        return dropped

    async def _work(self) -> None:
        try:
            while self.queue:
                run = self.queue[0]
                doc = await self.document()
                if doc.cell(run.cell_id) is None:
                    self.queue.popleft()
                    run.state = CellState.IDLE
                    self._finish(run)
                    doc.publish_queue(self._all_runs())
                    continue
                if self._allowed is not None and not await self._allowed(run):
                    # Access ended (expired, revoked) while the run waited: it never starts.
                    self.queue.popleft()
                    run.state = CellState.IDLE
                    self._finish(run)
                    doc.publish_queue(self._all_runs(), changed=[run])
                    continue
                refusal = await self._prepare(self, run) if self._prepare is not None else None
                if not self.queue or self.queue[0] is not run:
                    continue  # cancelled while the kernel (re)started
                if refusal is not None:
                    # The kernel cannot be what this run needs (a confined one): it never starts.
                    self.queue.popleft()
                    await self._write_error(run, "RunRefused", refusal)
                    run.state = CellState.IDLE
                    run.failed = True
                    self._finish(run)
                    doc.publish_queue(self._all_runs(), changed=[run])
                    continue
                await self._ensure_kernel(doc)
                if not self.queue or self.queue[0] is not run:
                    continue  # cancelled while the kernel started
                self.queue.popleft()
                self.current = run
                run.state = CellState.RUNNING
                assert self._writer is not None
                with doc.change(content=True):  # one transaction: one commit before the run
                    doc.publish_queue(self._all_runs(), changed=[run])
                    doc.set_kernel(KernelStatus.BUSY, self.kernel_name, self.display_name)
                    self._writer.start_cell(run.cell_id)
                self._done = asyncio.get_running_loop().create_future()
                run.msg_id = self._client.execute(run.source, allow_stdin=True, stop_on_error=False)
                await self._wait_for(run)
                self.current = None
                run.state = CellState.IDLE
                self._finish(run)
                self.last_activity = time.monotonic()
                doc = await self.document()
                doc.publish_queue(self._all_runs(), changed=[run])
                if run.failed and run.batch:
                    await self.cancel(partial(_in_batch, batch=run.batch))
            doc = await self.document()
            if self.kernel_id is not None:
                doc.set_kernel(KernelStatus.IDLE, self.kernel_name, self.display_name)
        except Exception:  # never leave the queue stuck: report and reset
            self.log.exception("execution of %s failed", self.file_id)
            await self._abandon()
        finally:
            if self.queue:  # enqueued while this worker was winding down
                self._worker = asyncio.create_task(self._work(), name=f"tandem-run-{self.file_id}")
            elif self._on_idle is not None:
                self._on_idle(self)

    async def _wait_for(self, run: Run) -> None:
        """Until the kernel reports the run idle; checks that the kernel is alive."""
        assert self._done is not None
        while True:
            try:
                await asyncio.wait_for(asyncio.shield(self._done), timeout=1.0)
                return
            except asyncio.TimeoutError:
                kernel = self._kernel()
                if kernel is None or not await kernel.is_alive():
                    await self._write_error(
                        run, "KernelDied", "The kernel died while running this cell."
                    )
                    run.failed = True
                    await self._drop_kernel(KernelStatus.DEAD)
                    return

    async def _write_error(self, run: Run, ename: str, evalue: str) -> None:
        assert self._writer is not None
        self._writer.apply(
            [
                (
                    run.cell_id,
                    {
                        "header": {"msg_type": "error"},
                        "content": {
                            "ename": ename,
                            "evalue": evalue,
                            "traceback": [f"{ename}: {evalue}"],
                        },
                    },
                )
            ]
        )

    async def _abandon(self) -> None:
        """Every run ends (not run); used when the server cannot go on or shuts down."""
        runs = self._all_runs()
        self.queue.clear()
        self.current = None
        for run in runs:
            run.state = CellState.IDLE
            self._finish(run)
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
        try:
            doc = await self.document()
            doc.publish_queue([], changed=runs)
        except Exception:
            self.log.exception("could not reset the execution state of %s", self.file_id)

    # -- the kernel --------------------------------------------------------------------

    def _kernel(self) -> Any:
        if self.kernel_id is None or self.kernel_id not in self.kernel_manager:
            return None
        return self.kernel_manager.get_kernel(self.kernel_id)

    async def _ensure_kernel(self, doc: ExecutionDocument, kernel_id: str | None = None) -> None:
        async with self._start_lock:
            if kernel_id is not None and kernel_id != self.kernel_id:
                await self._disconnect()
                self.kernel_id = kernel_id
            if self._client is not None and self._kernel() is not None:
                return
            doc.set_kernel(KernelStatus.STARTING, self.kernel_name, self.display_name)
            if self._kernel() is None:
                self.kernel_id, self.kernel_name, self.display_name = await self._kernel_for(doc)
            else:
                kernel = self._kernel()
                self.kernel_name = kernel.kernel_name
                self.display_name = (
                    kernel.kernel_spec.display_name if kernel.kernel_spec else kernel.kernel_name
                )
            await self._connect()
            doc.set_kernel(KernelStatus.IDLE, self.kernel_name, self.display_name)

    async def ensure_kernel(self) -> None:
        """Start the kernel (or find the session's) if there is none."""
        await self._ensure_kernel(await self.document())

    async def attach(self, kernel_id: str) -> None:
        """Use ``kernel_id`` (chosen by JupyterLab's session) for this notebook from now on."""
        doc = await self.document()
        await self._ensure_kernel(doc, kernel_id)

    async def _connect(self) -> None:
        kernel = self._kernel()
        client = kernel.client()
        client.start_channels()
        await asyncio.wait_for(client.wait_for_ready(), self.settings.kernel_start_timeout)
        self._client = client
        self._pumps = [
            asyncio.create_task(self._pump_iopub(client), name=f"tandem-iopub-{self.file_id}"),
            asyncio.create_task(self._pump_stdin(client), name=f"tandem-stdin-{self.file_id}"),
        ]

    async def _disconnect(self) -> None:
        for task in self._pumps:
            task.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        self._pumps = []
        if self._input_watch is not None:
            self._input_watch.cancel()
            self._input_watch = None
        if self._client is not None:
            self._client.stop_channels()
            self._client = None

    async def _drop_kernel(self, status: KernelStatus) -> None:
        await self._disconnect()
        self.kernel_id = None
        doc = await self.document()
        doc.set_kernel(status, self.kernel_name, self.display_name)

    async def interrupt(self) -> None:
        """Stop the running cell and drop the queue (as Jupyter's stop button does)."""
        await self.cancel(lambda run: True)
        if self._kernel() is not None:
            await self.kernel_manager.interrupt_kernel(self.kernel_id)

    async def restart(self) -> None:
        """A fresh kernel process: every variable is gone; queue and running cell end."""
        await self.cancel(lambda run: True)
        doc = await self.document()
        if self._kernel() is None:
            return
        doc.set_kernel(KernelStatus.RESTARTING, self.kernel_name, self.display_name)
        await self._disconnect()
        await self.kernel_manager.restart_kernel(self.kernel_id)
        if self.current is not None:
            await self._write_error(self.current, "KernelRestarted", "The kernel was restarted.")
            self.current.failed = True
            if self._done is not None and not self._done.done():
                self._done.set_result(None)
        await self._connect()
        doc.set_kernel(KernelStatus.IDLE, self.kernel_name, self.display_name)

    async def renew(self, note: str) -> None:
        """A fresh kernel process that keeps the queue (its confinement changed, or a run
        ignored its interrupt). The running cell, if any, fails; ``note`` says why, in the
        cell and in the notebook's execution state."""
        doc = await self.document()
        if self._kernel() is None:
            return
        async with self._start_lock:
            doc.set_kernel(KernelStatus.RESTARTING, self.kernel_name, self.display_name)
            await self._disconnect()
            await self.kernel_manager.restart_kernel(self.kernel_id)
            if self.current is not None:
                await self._write_error(self.current, "KernelRestarted", note)
                self.current.failed = True
                if self._done is not None and not self._done.done():
                    self._done.set_result(None)
            doc.set_notice(note)
            await self._connect()
        doc.set_kernel(
            KernelStatus.BUSY if self.current else KernelStatus.IDLE,
            self.kernel_name,
            self.display_name,
        )

    async def shutdown(self) -> None:
        await self._abandon()
        kernel_id = self.kernel_id
        await self._disconnect()
        self.kernel_id = None
        if kernel_id is not None and kernel_id in self.kernel_manager:
            await self.kernel_manager.shutdown_kernel(kernel_id)

    @property
    def busy(self) -> bool:
        return self.current is not None or bool(self.queue)

    # -- kernel messages -> document ---------------------------------------------------

    async def _pump_iopub(self, client: Any) -> None:
        """Kernel output into the document, in batches. A few writes may follow each other
        at once (a run's count, then its first output); past ``FLUSH_BURST`` writes in one
        ``flush_interval``, messages gather into one write per interval, however fast the
        kernel prints."""
        loop = asyncio.get_running_loop()
        recent: deque[float] = deque()
        while True:
            batch = [await client.get_iopub_msg()]
            now = loop.time()
            while recent and now - recent[0] > self.settings.flush_interval:
                recent.popleft()
            if len(recent) >= FLUSH_BURST:
                await asyncio.sleep(recent[0] + self.settings.flush_interval - now)
            while len(batch) < 5000:
                try:
                    batch.append(await client.get_iopub_msg(timeout=0))
                except queue.Empty:
                    break
            finished, wrote = self._write_batch(batch)
            if wrote:
                recent.append(loop.time())
            if finished and self._done is not None and not self._done.done():
                self._done.set_result(None)

    def _write_batch(self, batch: list[dict[str, Any]]) -> tuple[bool, bool]:
        """(the run finished, something was written)."""
        run = self.current
        if run is None or self._writer is None:
            return False, False
        writes: list[tuple[str, dict[str, Any]]] = []
        finished = False
        for msg in batch:
            if msg.get("parent_header", {}).get("msg_id") != run.msg_id:
                continue
            msg_type = msg["header"]["msg_type"]
            if msg_type == "status":
                finished = finished or msg["content"].get("execution_state") == "idle"
            else:
                run.failed = run.failed or msg_type == "error"
                writes.append((run.cell_id, msg))
        self._writer.apply(writes)
        return finished, bool(writes)

    async def _pump_stdin(self, client: Any) -> None:
        while True:
            msg = await client.get_stdin_msg()
            run = self.current
            if run is None or msg.get("parent_header", {}).get("msg_id") != run.msg_id:
                continue
            if msg["header"]["msg_type"] != "input_request":
                continue
            content = msg["content"]
            doc = await self.document()
            room = doc.room
            if not run.can_answer_input or not self._present(room, run):
                await self._fail_input(
                    run, "input() needs the person who ran the cell, and they are not connected."
                )
                continue
            run.input_pending = True
            doc.set_cell(
                run,
                input={
                    "prompt": str(content.get("prompt", "")),
                    "password": bool(content.get("password", False)),
                    "username": run.requester.username,
                    "run_id": run.run_id,
                },
            )
            self._input_watch = asyncio.create_task(self._watch_input(run))

    async def _watch_input(self, run: Run) -> None:
        """Fail a pending ``input()`` cleanly if its person leaves or never answers."""
        deadline = time.monotonic() + self.settings.input_timeout
        while run.input_pending and self.current is run:
            await asyncio.sleep(0.5)
            doc = await self.document()
            if not self._present(doc.room, run):
                await self._fail_input(run, f"{run.requester.name} left before answering input().")
                return
            if time.monotonic() > deadline:
                await self._fail_input(run, "Nobody answered input() in time.")
                return

    async def _fail_input(self, run: Run, reason: str) -> None:
        run.input_pending = False
        doc = await self.document()
        doc.set_cell(run, input=None)
        await self._write_error(run, "InputUnavailable", reason)
        if self._kernel() is not None:
            await self.kernel_manager.interrupt_kernel(self.kernel_id)

    async def answer_input(self, run_id: str, value: str) -> bool:
        run = self.current
        if run is None or run.run_id != run_id or not run.input_pending or self._client is None:
            return False
        run.input_pending = False
        self._client.input(value)
        doc = await self.document()
        doc.set_cell(run, input=None)
        return True


def _in_batch(run: Run, batch: str) -> bool:
    """Whether ``run`` belongs to ``batch`` (the runs of one "run all")."""
    return run.batch == batch
