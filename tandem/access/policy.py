"""The one choke point: ``authorize(principal=..., action=..., path=..., grants=..., now=...)``.

Rules, in order (the first that applies decides):

1. The owner may do everything.
2. Anyone who is not a guest (no login, no valid guest session) is denied.
3. Server-wide actions (``share``, ``admin``) and requests without a path are denied to guests.
4. A path that is not normalized (absolute, ``..``, control characters) is denied; callers
   must resolve request paths with :func:`tandem.access.scopes.normalize_path` first.
5. Only the principal's own grants count (``grant.guest_session_id == principal.id``), and
   only those whose scope covers the path.
6. **Any deny wins, per invitation.** A revoked or refused grant cancels every grant the
   principal holds through the *same invitation*, even one that would otherwise allow.
   A grant through a *different* invitation is a separate permission the owner gave on
   purpose and is not cancelled (revoking a path or everyone revokes all of them anyway).
   Expired and pending grants allow nothing but cancel nothing.
7. The action is allowed if a remaining grant is valid (active, unrevoked, unexpired) and
   its role can do it; otherwise denied, with the most telling reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .records import SERVER_ACTIONS, Action, Grant, GrantStatus, Principal, PrincipalKind
from .scopes import covers

__all__ = ["Decision", "authorize"]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def authorize(
    *,
    principal: Principal,
    action: Action | str,
    path: str | None,
    grants: Iterable[Grant],
    now: float,
) -> Decision:
    """Whether ``principal`` may perform ``action`` on ``path`` (see the module docstring)."""
    action = Action(action)
    if principal.kind is PrincipalKind.OWNER:
        return Decision(True, "owner")
    if principal.kind is not PrincipalKind.GUEST or not principal.id:
        return _deny("not signed in")
    if action in SERVER_ACTIONS or path is None:
        return _deny("server-wide actions are for the owner")
    if not covers(path, False, path):  # not a normalized relative path
        return _deny("invalid path")

    relevant = [
        g
        for g in grants
        if g.guest_session_id == principal.id and covers(g.scope_path, g.scope_is_folder, path)
    ]
    if not relevant:
        return _deny("outside every grant")
    cancelled = {
        g.invitation_id
        for g in relevant
        if g.revoked_at is not None or g.status is GrantStatus.REFUSED
    }
    reasons: list[str] = []
    for g in relevant:
        if g.invitation_id in cancelled:
            reasons.append("revoked" if g.revoked_at is not None else "refused")
        elif g.status is GrantStatus.PENDING:
            reasons.append("waiting for approval")
        elif now >= g.expires_at:
            reasons.append("expired")
        elif not g.role.can(action):
            reasons.append(f"role {g.role.value} cannot {action.value}")
        else:
            return Decision(True, f"grant {g.id} ({g.role.value})")
    order = ("revoked", "refused", "expired", "waiting for approval")
    for word in order:
        if word in reasons:
            return _deny(word)
    return _deny(reasons[0])
