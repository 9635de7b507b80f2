"""Records of shared execution: who asked, what runs, and the public shapes clients see."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["CellState", "KernelStatus", "Requester", "Run", "source_hash"]


class KernelStatus(str, Enum):
    NONE = "none"
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    RESTARTING = "restarting"
    DEAD = "dead"


class CellState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    IDLE = "idle"


def source_hash(source: str) -> str:
    """What a run request carries: SHA-256 (hex) of the cell source as UTF-8."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Requester:
    """Who asked for a run. ``principal_id`` is ``"owner"`` or a guest's session hash."""

    principal_id: str
    username: str
    name: str
    color: str
    principal: Any = field(default=None, compare=False, repr=False)
    """The access principal (guests), so access is checked again when the run starts."""

    def public(self) -> dict[str, str]:
        return {"username": self.username, "name": self.name, "color": self.color}


@dataclass
class Run:
    """One queued execution of one cell, with the source its requester reviewed."""

    cell_id: str
    source: str
    requester: Requester
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: CellState = CellState.QUEUED
    batch: str = ""
    """Runs requested together (run all): an error stops the rest of the batch."""
    can_answer_input: bool = True
    msg_id: str | None = None
    failed: bool = False
    input_pending: bool = False

    def public(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "cell_id": self.cell_id,
            "state": self.state.value,
            "by": self.requester.public(),
        }
