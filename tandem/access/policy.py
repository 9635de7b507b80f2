"""The one choke point: ``authorize(principal=..., action=..., path=..., grants=..., now=...)``.

Rules, in order (the first that applies decides):

1. The owner may do everything, with no end.
2. Anyone who is neither a guest nor a hub user (no login, no valid guest session) is denied.
3. Server-wide actions (``share``, ``admin``) and requests without a path are denied to
   everyone but the owner.
4. A path that is not normalized (absolute, ``..``, control characters) is denied; callers
   must resolve request paths with :func:`tandem.access.scopes.normalize_path` first.
5. Only the principal's own grants count (``grant.guest_session_id`` is the principal's
   id: a guest session's hash or a hub user's ``hub:<name>``, or one of the principal's
   hub groups, ``hub-group:<name>``), and only those whose scope covers the path.
6. **Any deny wins, per invitation.** A revoked or refused grant cancels every grant the
   principal holds through the *same invitation*, even one that would otherwise allow.
   A grant through a *different* invitation is a separate permission the owner gave on
   purpose and is not cancelled (revoking a path or everyone revokes all of them anyway).
   Expired and pending grants allow nothing but cancel nothing.
7. The action is allowed if a remaining grant is valid (active, unrevoked, unexpired) and
   its role can do it; otherwise denied, with the most telling reason.

An allowing :class:`Decision` says which ``role`` allowed it (the highest among the allowing
grants) and ``until`` when that permission ends (the latest end among the grants that allow
*this* action; ``None`` for the owner). A connection that keeps using a permission keeps its
``until``: write access ends at the edit grant's own end even while a longer view grant
remains. Deciding is pure: it never audits (only a refused action is audited, by the caller
that refuses it, see :meth:`tandem.access.AccessService.refused`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .records import (
    GUEST_ROLES,
    SERVER_ACTIONS,
    Action,
    Grant,
    GrantStatus,
    Principal,
    PrincipalKind,
    Role,
)
from .scopes import covers

__all__ = ["Decision", "authorize"]


GRANTEE_KINDS = frozenset({PrincipalKind.GUEST, PrincipalKind.HUB_USER})
"""Principals whose access comes from grants."""


@dataclass(frozen=True)
class Decision:
    """The answer to one question: allowed or not, why, with which role, until when."""

    allowed: bool
    reason: str
    role: Role | None = None
    """The role that allows it (the owner's is ``owner``); None when denied."""
    until: float | None = None
    """When this permission ends (epoch seconds); None when it has no end or is denied."""

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
        return Decision(True, "owner", Role.OWNER, None)
    if principal.kind not in GRANTEE_KINDS or not principal.id:
        return _deny("not signed in")
    if action in SERVER_ACTIONS or path is None:
        return _deny("server-wide actions are for the owner")
    if not covers(path, False, path):  # not a normalized relative path
        return _deny("invalid path")

    mine = principal.grantee_ids
    relevant = [
        g
        for g in grants
        if g.guest_session_id in mine and covers(g.scope_path, g.scope_is_folder, path)
    ]
    if not relevant:
        return _deny("outside every grant")
    cancelled = {
        g.invitation_id
        for g in relevant
        if g.revoked_at is not None or g.status is GrantStatus.REFUSED
    }
    reasons: list[str] = []
    allowing: list[Grant] = []
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
            allowing.append(g)
    if allowing:
        best = max(allowing, key=lambda g: GUEST_ROLES.index(g.role))
        until = max(g.expires_at for g in allowing)
        return Decision(True, f"grant {best.id} ({best.role.value})", best.role, until)
    order = ("revoked", "refused", "expired", "waiting for approval")
    for word in order:
        if word in reasons:
            return _deny(word)
    return _deny(reasons[0])
