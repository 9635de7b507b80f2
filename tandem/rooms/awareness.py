"""Server-side awareness: who owns which client id, limits, and who sees whom.

Rules:
- a client id belongs to the principal (the signed-in user or the guest session) whose
  connection first announced it, for as long as the room lives: after that connection
  dropped only the same principal may take the id up again (a reconnecting tab), so
  nobody can publish a state under another person's client id;
- a state is accepted only if its clock is newer than the one held (a principal taking
  up its id again after its connection dropped may restart the clock);
- the ``user`` field of every accepted state is replaced with the owner's
  authenticated identity, so nobody can appear under another name or colour;
- limits: one state's JSON size, client ids per connection and states per room;
- states not renewed within ``outdated_after`` seconds expire (as in y-protocols,
  whose clients renew theirs every 15 s);
- when a peer leaves, its client ids are announced as gone;
- the server may publish states of its own (:meth:`AwarenessRegistry.publish`, e.g.
  guests in JupyterLab's global awareness): their ids are bound to the server, so no
  client can update or take them up.

What each peer is shown depends on the presence policy (:class:`PresencePolicy`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..protocol import AwarenessEntry

__all__ = [
    "Audience",
    "AwarenessLimits",
    "AwarenessRegistry",
    "PresencePolicy",
    "PresenceSettings",
    "VIEWER_COUNT_CLIENT_ID",
]

VIEWER_COUNT_CLIENT_ID = 0
"""The client id of the server's own awareness entry ``{"tandem": {"viewers": n}}``, which
tells viewers how many other viewers are present when they do not see their states."""

SERVER_PRINCIPAL = "server"
"""The principal of the states the server publishes itself."""

MAX_CLIENT_IDS_PER_PEER = 8
MAX_TOMBSTONES = 4096


class PresencePolicy(str, Enum):
    EVERYONE = "everyone"
    """Everyone sees everyone's state."""
    BY_ROLE = "by-role"
    """Viewers see the states of people who may edit (the presenter, editors, the owner)
    and a count of viewers; everyone else sees everyone."""


class Audience(str, Enum):
    ALL = "all"
    EDITORS_ONLY = "editors-only"


@dataclass(frozen=True)
class AwarenessLimits:
    max_state_bytes: int = 8192
    """Largest JSON text of one awareness state, in bytes."""
    max_ids_per_peer: int = MAX_CLIENT_IDS_PER_PEER
    """Client ids one connection may publish states for."""
    max_states_per_room: int = 2000
    """States one room holds at most; further client ids are ignored."""


@dataclass(frozen=True)
class PresenceSettings:
    policy: PresencePolicy = PresencePolicy.BY_ROLE
    tick: float = 0.05
    """Seconds awareness changes are gathered before they are relayed as one message."""
    outdated_after: float = 30.0
    """Seconds after which a state that was not renewed expires (0: never)."""
    limits: AwarenessLimits = field(default_factory=AwarenessLimits)


def is_viewer(identity: dict[str, Any]) -> bool:
    return identity.get("role") == "view"


@dataclass
class _Held:
    principal: str
    peer_id: str | None  # None once its connection is gone
    clock: int
    state: dict[str, Any] | None
    viewer: bool
    renewed: float


class AwarenessRegistry:
    def __init__(
        self,
        limits: AwarenessLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or AwarenessLimits()
        self._clock = clock
        self._held: dict[int, _Held] = {}
        self._live = 0  # entries with a state

    def accept(
        self,
        peer_id: str,
        principal: str,
        identity: dict[str, Any],
        entries: list[AwarenessEntry],
    ) -> list[AwarenessEntry]:
        """Apply a peer's awareness update; return the entries to relay to others."""
        accepted = []
        now = self._clock()
        for entry in entries:
            if entry.client_id == VIEWER_COUNT_CLIENT_ID:
                continue
            held = self._held.get(entry.client_id)
            if held is None or held.peer_id is None and held.state is None:
                if held is not None and held.principal != principal:
                    continue  # a departed person's id: only they may take it up again
                if entry.state is None:
                    continue
                if self._owned_count(peer_id) >= self.limits.max_ids_per_peer:
                    continue
                if self._live >= self.limits.max_states_per_room:
                    continue
            elif held.peer_id != peer_id:
                continue  # live elsewhere: only the connection that announced it updates it
            elif entry.clock <= held.clock:
                continue  # not newer (e.g. another tab of the same person echoing it)
            state = None if entry.state is None else {**entry.state, "user": identity}
            was_live = held is not None and held.state is not None
            self._held[entry.client_id] = _Held(
                principal, peer_id, entry.clock, state, is_viewer(identity), now
            )
            self._live += (state is not None) - was_live
            accepted.append(AwarenessEntry(entry.client_id, entry.clock, state))
        return accepted

    def publish(self, client_id: int, state: dict[str, Any] | None) -> AwarenessEntry | None:
        """Set (or with ``None`` remove) a state owned by the server; renews it. Returns
        the entry to relay, or None if ``client_id`` belongs to someone else."""
        held = self._held.get(client_id)
        if client_id == VIEWER_COUNT_CLIENT_ID or (
            held is not None and held.principal != SERVER_PRINCIPAL
        ):
            return None
        if held is None and state is None:
            return None
        # A y-protocols client takes a state of a client id it does not know only if its
        # clock is above 0.
        clock = 1 if held is None else held.clock + 1
        viewer = state is not None and is_viewer(state.get("user") or {})
        was_live = held is not None and held.state is not None
        self._held[client_id] = _Held(SERVER_PRINCIPAL, None, clock, state, viewer, self._clock())
        self._live += (state is not None) - was_live
        return AwarenessEntry(client_id, clock, state)

    def is_free(self, client_id: int) -> bool:
        """Whether nobody (no client, not the server) has ever used ``client_id`` here."""
        return client_id != VIEWER_COUNT_CLIENT_ID and client_id not in self._held

    def remove_peer(self, peer_id: str) -> list[AwarenessEntry]:
        """Forget a peer's states (its client ids stay bound to its principal);
        return the 'gone' entries to relay."""
        gone = []
        for client_id, held in self._held.items():
            if held.peer_id == peer_id:
                held.peer_id = None
                if held.state is not None:
                    held.state = None
                    held.clock += 1
                    self._live -= 1
                    gone.append(AwarenessEntry(client_id, held.clock, None))
        self._forget_tombstones()
        return gone

    def expire_older_than(self, seconds: float) -> list[AwarenessEntry]:
        """States not renewed within ``seconds``, now announced as gone."""
        if seconds <= 0:
            return []
        limit = self._clock() - seconds
        gone = []
        for client_id, held in self._held.items():
            if held.state is not None and held.renewed < limit:
                held.state = None
                held.clock += 1
                self._live -= 1
                gone.append(AwarenessEntry(client_id, held.clock, None))
        return gone

    def _forget_tombstones(self) -> None:
        excess = len(self._held) - self._live - MAX_TOMBSTONES
        if excess <= 0:
            return
        gone = [cid for cid, h in self._held.items() if h.peer_id is None and h.state is None]
        for client_id in gone[:excess]:
            del self._held[client_id]

    def is_viewer_entry(self, client_id: int) -> bool:
        held = self._held.get(client_id)
        return held is not None and held.viewer

    def states(self, audience: Audience = Audience.ALL) -> list[AwarenessEntry]:
        return [
            AwarenessEntry(cid, held.clock, held.state)
            for cid, held in self._held.items()
            if held.state is not None and (audience is Audience.ALL or not held.viewer)
        ]

    def viewer_count(self) -> int:
        return sum(1 for held in self._held.values() if held.state is not None and held.viewer)

    def users(self) -> list[dict[str, Any]]:
        """The identities currently present (one per client id)."""
        return [held.state["user"] for held in self._held.values() if held.state]

    def _owned_count(self, peer_id: str) -> int:
        return sum(1 for held in self._held.values() if held.peer_id == peer_id)
