"""Execution state and outputs in the shared document.

Everything a client needs to show execution lives in the notebook's Y document, written
by the server through the room's one write path (stored, then relayed):

- code cells: ``outputs``, ``execution_count`` and ``execution_state`` (jupyter_ydoc schema);
- the root map ``tandem:execution``: ``kernel`` (status, name), ``queue`` (runs in order)
  and ``cell:<id>`` (state, who asked, a pending ``input()`` prompt, whether output was cut).

Kernel messages are applied in batches, one transaction per batch: a flood of prints
becomes a few appends to one stream text, never one transaction per line.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Array, Map, Text

from .records import CellState, KernelStatus, Run

__all__ = ["EXECUTION_MAP", "ExecutionDocument", "OutputWriter"]

EXECUTION_MAP = "tandem:execution"
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")


class ExecutionDocument:
    """One notebook room's execution state. Always reads the room's current document, so
    an epoch reset (a new Y document) is followed."""

    def __init__(self, room: Any) -> None:
        self.room = room
        self._open = False

    @contextmanager
    def change(self, content: bool = False) -> Iterator[None]:
        """One server transaction; writes inside it (nested ``change`` too) join it."""
        if self._open:
            yield
            return
        self._open = True
        try:
            with self.room.transact(content=content):
                yield
        finally:
            self._open = False

    @property
    def state_map(self) -> Map:
        return self.room.doc.get(EXECUTION_MAP, type=Map)

    def cell(self, cell_id: str) -> Map | None:
        for ycell in self.room.document.ycells:
            if ycell.get("id") == cell_id:
                return ycell
        return None

    def source(self, cell_id: str) -> str | None:
        cell = self.cell(cell_id)
        if cell is None or cell.get("cell_type") != "code":
            return None
        return str(cell.get("source", ""))

    def kernel_spec(self) -> str | None:
        meta = self.room.document._ymeta.get("metadata")
        meta = meta.to_py() if hasattr(meta, "to_py") else meta
        if isinstance(meta, dict):
            spec = meta.get("kernelspec")
            if isinstance(spec, dict) and isinstance(spec.get("name"), str):
                return str(spec["name"])
        return None

    # -- state writes (each a small server transaction) -------------------------------

    def set_kernel(self, status: KernelStatus, name: str = "", display_name: str = "") -> None:
        value = {"status": status.value, "name": name, "display_name": display_name}
        if self.state_map.get("kernel") != value:
            with self.change():
                self.state_map["kernel"] = value

    def set_sandbox(self, value: dict[str, Any] | None) -> None:
        """How the kernel runs, for everyone to see: ``{"confined": bool, ...}``."""
        if self.state_map.get("sandbox") != value:
            with self.change():
                self.state_map["sandbox"] = value

    def set_notice(self, text: str) -> None:
        """A visible note about the kernel (why it was restarted)."""
        with self.change():
            self.state_map["notice"] = {"text": text, "at": time.time()}

    def kernel(self) -> dict[str, Any]:
        value = self.state_map.get("kernel")
        return (
            dict(value)
            if isinstance(value, dict)
            else {"status": KernelStatus.NONE.value, "name": "", "display_name": ""}
        )

    def publish_queue(self, runs: Iterable[Run], changed: Iterable[Run] = ()) -> None:
        """The queue and the cell states of ``changed`` runs, in one transaction."""
        queue = [run.public() for run in runs]
        with self.change():
            self.state_map["queue"] = queue
            for run in changed:
                self._write_cell_state(run)

    def _write_cell_state(self, run: Run, **extra: Any) -> None:
        key = f"cell:{run.cell_id}"
        old = self.state_map.get(key)
        value = dict(old) if isinstance(old, dict) else {"input": None, "truncated": False}
        if run.state is CellState.IDLE and run.msg_id is None:
            # Dropped before it started (interrupt, restart, revocation): the cell's last
            # real run, if any, is what it shows again.
            value.update(
                state=CellState.IDLE.value,
                run_id=value.pop("previous_run_id", None),
                by=value.pop("previous_by", None),
                **extra,
            )
        else:
            if (
                run.state is CellState.QUEUED
                and value.get("state", CellState.IDLE.value) == CellState.IDLE.value
            ):
                value["previous_run_id"], value["previous_by"] = (
                    value.get("run_id"),
                    value.get("by"),
                )
            elif run.state is CellState.RUNNING:
                value.pop("previous_run_id", None)
                value.pop("previous_by", None)
            value.update(
                state=run.state.value, run_id=run.run_id, by=run.requester.public(), **extra
            )
        self.state_map[key] = value
        cell = self.cell(run.cell_id)
        if cell is not None and cell.get("cell_type") == "code":
            running = "running" if run.state is CellState.RUNNING else "idle"
            if cell.get("execution_state") != running:
                cell["execution_state"] = running

    def set_cell(self, run: Run, **extra: Any) -> None:
        with self.change():
            self._write_cell_state(run, **extra)

    def cell_state(self, cell_id: str) -> dict[str, Any] | None:
        value = self.state_map.get(f"cell:{cell_id}")
        return dict(value) if isinstance(value, dict) else None

    def reset_stale(self) -> None:
        """After a restart nothing runs: clear queued/running marks left in the document."""
        state = self.state_map
        stale = [
            key
            for key, value in state.items()
            if key.startswith("cell:")
            and isinstance(value, dict)
            and (value.get("state") != CellState.IDLE.value or value.get("input"))
        ]
        running = [c for c in self.room.document.ycells if c.get("execution_state") == "running"]
        if (
            not stale
            and not running
            and not state.get("queue")
            and self.kernel()["status"] == KernelStatus.NONE.value
        ):
            return
        with self.change():
            for key in stale:
                value = dict(state[key])
                value.update(state=CellState.IDLE.value, input=None)
                state[key] = value
            for cell in running:
                cell["execution_state"] = "idle"
            state["queue"] = []
            state["kernel"] = {"status": KernelStatus.NONE.value, "name": "", "display_name": ""}


@dataclass
class _CellOutputs:
    """What the writer knows about one cell's outputs since it last cleared them."""

    size: int = 0
    truncated: bool = False
    clear_pending: bool = False
    display_ids: list[str | None] = field(default_factory=list)


class OutputWriter:
    """Applies a notebook's kernel messages (iopub) to its document, in batches.

    ``max_output_bytes`` caps each cell's outputs; past it, one visible note is added and
    the rest is dropped until the cell is cleared or run again.
    """

    def __init__(self, doc: ExecutionDocument, max_output_bytes: int) -> None:
        self.doc = doc
        self.max_output_bytes = max_output_bytes
        self._cells: dict[str, _CellOutputs] = {}

    def start_cell(self, cell_id: str) -> None:
        """A run begins: its outputs are replaced (as in JupyterLab)."""
        self._cells[cell_id] = _CellOutputs()
        cell = self.doc.cell(cell_id)
        if cell is None:
            return
        with self.doc.change(content=True):
            outputs = cell.get("outputs")
            if isinstance(outputs, Array):
                outputs.clear()
            else:
                cell["outputs"] = Array()
            cell["execution_count"] = None

    def apply(self, batch: list[tuple[str, dict[str, Any]]]) -> None:
        """Apply ``(cell_id, message)`` pairs in one transaction."""
        if not batch:
            return
        with self.doc.change(content=True):
            for cell_id, msg in batch:
                self._apply_one(cell_id, msg)

    def _apply_one(self, cell_id: str, msg: dict[str, Any]) -> None:
        msg_type = msg["header"]["msg_type"]
        content = msg.get("content", {})
        if msg_type == "update_display_data":
            self._update_display(content)
            return
        cell = self.doc.cell(cell_id)
        if cell is None or cell.get("cell_type") != "code":
            return  # deleted while running: nowhere to write
        info = self._cells.setdefault(cell_id, _CellOutputs())
        outputs = cell.get("outputs")
        if not isinstance(outputs, Array):
            outputs = cell["outputs"] = Array()
        if len(info.display_ids) != len(outputs):
            info.display_ids = [None] * len(outputs)  # someone else changed them
        if msg_type == "execute_input":
            cell["execution_count"] = content.get("execution_count")
        elif msg_type == "clear_output":
            if content.get("wait"):
                info.clear_pending = True
            else:
                self._clear(outputs, info)
        elif msg_type in OUTPUT_TYPES:
            if info.clear_pending:
                self._clear(outputs, info)
            if msg_type == "stream":
                self._append_stream(
                    outputs, info, str(content.get("name", "stdout")), str(content.get("text", ""))
                )
            else:
                self._append_output(outputs, info, msg_type, content)
            if msg_type == "execute_result" and content.get("execution_count") is not None:
                cell["execution_count"] = content["execution_count"]

    def _clear(self, outputs: Array, info: _CellOutputs) -> None:
        outputs.clear()
        info.size, info.truncated, info.clear_pending = 0, False, False
        info.display_ids = []

    def _room_for(self, info: _CellOutputs) -> int:
        """Bytes this cell may still add before the cap."""
        return max(self.max_output_bytes - info.size, 0) if not info.truncated else 0

    def _truncate(self, outputs: Array, info: _CellOutputs) -> None:
        info.truncated = True
        limit = self.max_output_bytes
        shown = f"{limit / 1048576:.1f} MiB" if limit >= 1048576 else f"{limit} bytes"
        note = (
            f"\n[Output truncated: this cell's output passed the limit of {shown}; "
            "the rest was not kept.]\n"
        )
        outputs.append(Map({"output_type": "stream", "name": "stderr", "text": Text(note)}))
        info.display_ids.append(None)

    def _append_stream(self, outputs: Array, info: _CellOutputs, name: str, text: str) -> None:
        if info.truncated or not text:
            return
        data = text.encode("utf-8")
        room = self._room_for(info)
        cut = len(data) > room
        if cut:
            text = data[:room].decode("utf-8", errors="ignore")
        if text:
            last = outputs[len(outputs) - 1] if len(outputs) else None
            if (
                isinstance(last, Map)
                and last.get("output_type") == "stream"
                and last.get("name") == name
            ):
                existing = last.get("text")
                if isinstance(existing, Text):
                    existing += text
                else:
                    last["text"] = Text(str(existing or "") + text)
            else:
                outputs.append(Map({"output_type": "stream", "name": name, "text": Text(text)}))
                info.display_ids.append(None)
            info.size += len(text.encode("utf-8"))
        if cut:
            self._truncate(outputs, info)

    def _append_output(
        self, outputs: Array, info: _CellOutputs, msg_type: str, content: dict[str, Any]
    ) -> None:
        if info.truncated:
            return
        output = _output_of(msg_type, content)
        size = len(json.dumps(output, default=str).encode("utf-8"))
        if size > self._room_for(info):
            self._truncate(outputs, info)
            return
        outputs.append(Map(output))
        info.size += size
        transient = content.get("transient") or {}
        info.display_ids.append(
            transient.get("display_id") if isinstance(transient, dict) else None
        )

    def _update_display(self, content: dict[str, Any]) -> None:
        transient = content.get("transient") or {}
        display_id = transient.get("display_id") if isinstance(transient, dict) else None
        if not display_id:
            return
        for cell_id, info in self._cells.items():
            if display_id not in info.display_ids:
                continue
            cell = self.doc.cell(cell_id)
            outputs = cell.get("outputs") if cell is not None else None
            if not isinstance(outputs, Array) or len(outputs) != len(info.display_ids):
                continue
            for index, known in enumerate(info.display_ids):
                if known == display_id:
                    output = outputs[index]
                    output["data"] = dict(content.get("data") or {})
                    output["metadata"] = dict(content.get("metadata") or {})


def _output_of(msg_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """An nbformat output from a kernel message's content."""
    if msg_type == "error":
        return {
            "output_type": "error",
            "ename": str(content.get("ename", "")),
            "evalue": str(content.get("evalue", "")),
            "traceback": [str(line) for line in content.get("traceback") or []],
        }
    output: dict[str, Any] = {
        "output_type": msg_type,
        "data": dict(content.get("data") or {}),
        "metadata": dict(content.get("metadata") or {}),
    }
    if msg_type == "execute_result":
        output["execution_count"] = content.get("execution_count")
    return output
