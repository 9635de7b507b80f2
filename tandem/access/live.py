"""Live connections of every principal, in one registry.

Each connection holds its principal and the end of each permission it uses (``until``), so
write access ends at the edit grant's own end even while a longer view grant remains.
Revocation closes the connections of the affected principals; the expiry sweep closes the
ones whose read access ended. No Tornado here: a connection is anything with ``close``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from .records import HUB_GROUP_PREFIX, Action, Principal

__all__ = ["LiveConnection", "LiveRegistry"]

REVOKED = (4403, "Your access was revoked")
EXPIRED = (4403, "Your access expired")
LOGIN_LOST = (4403, "Your access to this server was removed")


@dataclass(eq=False)
class LiveConnection:
    """One open socket: who, on which path, and until when each permission it holds lasts."""

    key: str
    """Unique per connection (the room peer's id)."""
    principal: Principal
    path: str | None
    until: dict[Action, float | None]
    """The permissions this connection holds: action -> end (None: no end). Absent: not held."""
    close: Callable[[int, str], None]
    recheck: Callable[[], Awaitable[bool]] | None = None
    """Re-checks the login behind the connection (hub users: does the hub still let
    them in?); None when only grants decide."""
    denial_audited: bool = field(default=False)
    """Whether a refused write on this connection was audited already (once per socket)."""

    def may(self, action: Action, now: float) -> bool:
        if action not in self.until:
            return False
        end = self.until[action]
        return end is None or now < end

    def ended(self, now: float) -> bool:
        """Whether the connection may no longer even read (its socket must close)."""
        return not self.may(Action.READ, now)


class LiveRegistry:
    """Every live connection, by key and by principal id."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._by_key: dict[str, LiveConnection] = {}
        self._by_principal: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def add(self, conn: LiveConnection) -> None:
        self._by_key[conn.key] = conn
        self._by_principal.setdefault(conn.principal.id, set()).add(conn.key)

    def discard(self, key: str) -> LiveConnection | None:
        conn = self._by_key.pop(key, None)
        if conn is not None:
            keys = self._by_principal.get(conn.principal.id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_principal[conn.principal.id]
        return conn

    def get(self, key: str) -> LiveConnection | None:
        return self._by_key.get(key)

    def connections(self) -> list[LiveConnection]:
        return list(self._by_key.values())

    def of(self, grantee_ids: Iterable[str]) -> list[LiveConnection]:
        """The connections of these principals, and of members of these hub groups."""
        wanted = set(grantee_ids)
        found = {
            key: self._by_key[key]
            for pid in wanted
            for key in self._by_principal.get(pid, ())
            if key in self._by_key
        }
        if any(w.startswith(HUB_GROUP_PREFIX) for w in wanted):
            for conn in self._by_key.values():
                if conn.principal.grantee_ids & wanted:
                    found[conn.key] = conn
        return list(found.values())

    def close(
        self, principal_ids: Iterable[str], code: int = REVOKED[0], reason: str = REVOKED[1]
    ) -> int:
        """Close every connection of these principals now; how many were closed."""
        conns = self.of(principal_ids)
        for conn in conns:
            self.discard(conn.key)
            conn.close(code, reason)
        return len(conns)

    async def recheck(self) -> int:
        """Close the connections whose login no longer holds; how many were closed."""
        closed = 0
        for conn in [c for c in self._by_key.values() if c.recheck is not None]:
            assert conn.recheck is not None
            try:
                still = await conn.recheck()
            except Exception:  # the hub is unreachable: keep the connection, retry later
                continue
            if not still and self.discard(conn.key) is not None:
                conn.close(*LOGIN_LOST)
                closed += 1
        return closed

    def sweep(self) -> int:
        """Close the connections whose read access ended; how many were closed."""
        now = self.clock()
        ended = [conn for conn in self._by_key.values() if conn.ended(now)]
        for conn in ended:
            self.discard(conn.key)
            conn.close(*EXPIRED)
        return len(ended)
