"""Server-side awareness: who owns which client id, and identities stamped by the server.

Rules:
- the first peer that announces a client id owns it; states for that id sent by any
  other peer (clients echo each other's awareness) are ignored;
- a state is accepted only if its clock is newer than the one held;
- the ``user`` field of every accepted state is replaced with the owner's
  authenticated identity, so nobody can appear under another name or colour;
- when a peer leaves, its client ids are announced as gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..protocol import AwarenessEntry

__all__ = ["AwarenessRegistry"]

MAX_CLIENT_IDS_PER_PEER = 16


@dataclass
class _Held:
    owner: str
    clock: int
    state: dict[str, Any] | None


class AwarenessRegistry:
    def __init__(self) -> None:
        self._held: dict[int, _Held] = {}

    def accept(
        self, peer_id: str, identity: dict[str, Any], entries: list[AwarenessEntry]
    ) -> list[AwarenessEntry]:
        """Apply a peer's awareness update; return the entries to relay to others."""
        accepted = []
        for entry in entries:
            held = self._held.get(entry.client_id)
            if held is None:
                if entry.state is None or self._owned_count(peer_id) >= MAX_CLIENT_IDS_PER_PEER:
                    continue
            elif held.owner != peer_id or entry.clock <= held.clock:
                continue
            state = None if entry.state is None else {**entry.state, "user": identity}
            self._held[entry.client_id] = _Held(peer_id, entry.clock, state)
            accepted.append(AwarenessEntry(entry.client_id, entry.clock, state))
        return accepted

    def remove_peer(self, peer_id: str) -> list[AwarenessEntry]:
        """Forget a peer's client ids; return the 'gone' entries to relay."""
        gone = []
        for client_id, held in list(self._held.items()):
            if held.owner == peer_id:
                del self._held[client_id]
                if held.state is not None:
                    gone.append(AwarenessEntry(client_id, held.clock + 1, None))
        return gone

    def states(self) -> list[AwarenessEntry]:
        return [
            AwarenessEntry(cid, held.clock, held.state)
            for cid, held in self._held.items()
            if held.state is not None
        ]

    def users(self) -> list[dict[str, Any]]:
        """The identities currently present (one per client id)."""
        return [held.state["user"] for held in self._held.values() if held.state]

    def _owned_count(self, peer_id: str) -> int:
        return sum(1 for held in self._held.values() if held.owner == peer_id)
