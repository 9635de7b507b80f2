"""What only the server and the owner may write into a notebook: outputs and trust.

JupyterLab renders a cell's outputs *trusted* (HTML with scripts and event handlers,
JavaScript) when the cell's ``metadata.trusted`` is true. A peer who could write that
flag next to an HTML output would run script in the owner's JupyterLab, in the server's
origin. So, for every peer other than the owner (guests, whatever their role):

- ``metadata.trusted`` may only be removed or set false, never set true;
- ``outputs`` may only be cleared (``[]``) or kept as they were for that cell id (a cell
  moved or cut and pasted keeps its outputs), never written;
- ``execution_count`` may only be cleared or kept as it was.

Outputs reach a notebook through the server's own execution (``Room.transact``, not a
peer) or from the owner. A write that breaks the rule is *neutralised* in the same step
it is applied: the offending fields go back to what they were (or are cleared), and the
room stores and relays the net result of both, so no other peer ever receives the
unsafe intermediate state. The writer's own client receives the correction and
converges to it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import Array, Doc, Map, Text

__all__ = ["CellExecution", "OutputGuard", "is_owner"]


def is_owner(peer: Any) -> bool:
    """The owner's connections are the only peers trusted with outputs and trust."""
    identity = getattr(peer, "identity", None) or {}
    return identity.get("role") == "owner"


@dataclass(frozen=True)
class CellExecution:
    """The server-owned part of one cell."""

    outputs: tuple[str, ...]
    execution_count: int | None
    trusted: bool

    @classmethod
    def of(cls, cell: Map) -> CellExecution:
        outputs = cell.get("outputs")
        raw = outputs.to_py() if isinstance(outputs, Array) else (outputs or [])
        count = cell.get("execution_count")
        metadata = cell.get("metadata")
        trusted = metadata.get("trusted") if isinstance(metadata, Map) else None
        return cls(
            tuple(_freeze(o) for o in raw or []),
            int(count) if isinstance(count, (int, float)) else None,
            bool(trusted),
        )


def _freeze(output: Any) -> str:
    return json.dumps(output, sort_keys=True, separators=(",", ":"))


def _thaw_output(frozen: str) -> Map:
    output = json.loads(frozen)
    if output.get("output_type") == "stream":
        text = output.get("text", "")
        output["text"] = Text(text if isinstance(text, str) else "".join(text))
    return Map(output)


_PROTECTED_KEYS = frozenset({"outputs", "execution_count", "metadata"})


def _touches_protected(event: Any) -> bool:
    path = list(getattr(event, "path", []))
    if not path:
        return True  # cells inserted or removed
    if len(path) == 1:
        keys = getattr(event, "keys", None) or {}
        return bool(_PROTECTED_KEYS.intersection(keys))
    if path[1] == "metadata":
        return len(path) > 2 or "trusted" in (getattr(event, "keys", None) or {})
    return path[1] == "outputs"


class OutputGuard:
    """A room's write guard for notebooks: call :meth:`before` just before a peer's
    update is applied and :meth:`after` right after it (both inside the room's write
    step); :meth:`after` returns whether it had to neutralise something."""

    def __init__(
        self,
        get_doc: Callable[[], Doc],
        log: logging.Logger | None = None,
        trusted: Callable[[Any], bool] = is_owner,
    ) -> None:
        self._get_doc = get_doc
        self._trusted = trusted
        self.log = log or logging.getLogger("tandem")
        self.neutralised = 0
        self._doc: Doc | None = None
        self._subscription: Any = None
        self._known: dict[str, list[CellExecution]] = {}
        self._dirty = True

    def _cells(self) -> Array:
        doc = self._get_doc()
        if doc is not self._doc:
            self._doc = doc
            self._subscription = doc.get("cells", type=Array).observe_deep(self._on_events)
            self._dirty = True
        return doc.get("cells", type=Array)

    def _on_events(self, events: list[Any]) -> None:
        if not self._dirty and any(_touches_protected(e) for e in events):
            self._dirty = True

    def _snapshot(self, cells: Array) -> dict[str, list[CellExecution]]:
        known: dict[str, list[CellExecution]] = {}
        for cell in cells:
            if isinstance(cell, Map):
                known.setdefault(str(cell.get("id") or ""), []).append(CellExecution.of(cell))
        return known

    def before(self, peer: Any) -> None:
        """Remember the server-owned fields as they are now, if anything changed them."""
        cells = self._cells()
        if self._dirty:
            self._known = self._snapshot(cells)
            self._dirty = False

    def after(self, peer: Any, strict: bool = False) -> bool:
        """Neutralise what ``peer`` (or, when ``strict``, anyone) may not have written."""
        cells = self._cells()
        if not self._dirty or (not strict and (peer is None or self._trusted(peer))):
            return False
        fixes: list[tuple[Map, CellExecution, CellExecution | None]] = []
        for cell in cells:
            if not isinstance(cell, Map):
                continue
            now = CellExecution.of(cell)
            before = self._known.get(str(cell.get("id") or ""), [])
            if now in before or _harmless(now, before):
                continue
            fixes.append((cell, now, before[0] if before else None))
        if fixes:
            assert self._doc is not None
            with self._doc.transaction(origin="guard"):
                for cell, now, was in fixes:
                    _restore(cell, now, was)
            self.neutralised += len(fixes)
            self.log.warning(
                "neutralised %d cell(s) of outputs, execution count or trust written by %s",
                len(fixes),
                getattr(peer, "peer_id", None) or "an update that waited for a dependency",
            )
        self._known = self._snapshot(cells)
        self._dirty = False
        return bool(fixes)


def _harmless(now: CellExecution, before: list[CellExecution]) -> bool:
    """Each field is cleared or as one of the cell's previous states had it."""
    return (
        (not now.outputs or any(now.outputs == b.outputs for b in before))
        and (
            now.execution_count is None
            or any(now.execution_count == b.execution_count for b in before)
        )
        and (not now.trusted or any(b.trusted and b.outputs == now.outputs for b in before))
    )


def _restore(cell: Map, now: CellExecution, was: CellExecution | None) -> None:
    """Put back the cell's server-owned fields (cleared if the cell is new)."""
    metadata = cell.get("metadata")
    if now.trusted and not (was is not None and was.trusted and was.outputs == now.outputs):
        if isinstance(metadata, Map):
            del metadata["trusted"]
    outputs = cell.get("outputs")
    wanted = was.outputs if was is not None else ()
    if now.outputs and now.outputs != wanted:
        if isinstance(outputs, Array):
            outputs.clear()
            outputs.extend([_thaw_output(o) for o in wanted])
        else:
            cell["outputs"] = Array([_thaw_output(o) for o in wanted])
    count = was.execution_count if was is not None else None
    if now.execution_count is not None and now.execution_count != count:
        cell["execution_count"] = count
