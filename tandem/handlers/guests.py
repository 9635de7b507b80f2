"""The path-by-path check for guests, shared by Tandem's handlers (the choke point for
requests: every guest request goes through the access service's ``authorize``)."""

from __future__ import annotations

from typing import Any

from tornado import web

from ..access import AuditKind, Grant, InvalidScope, covers
from ..auth import GuestUser, access_of

__all__ = ["guest_decision", "require_guest_access"]


async def guest_decision(handler: Any, path: str, action: str) -> tuple[bool, float | None, str]:
    """(allowed, when the allowing grants expire, role) for the current user on ``path``.
    The owner is always allowed; anyone else needs a grant covering the path."""
    user = handler.current_user
    if not isinstance(user, GuestUser) or user.principal is None:
        return True, None, "owner"
    access = access_of(handler)
    if access is None:
        return False, None, ""
    try:
        resolved = access.resolve(path)
    except InvalidScope:
        return False, None, ""
    decision = await access.authorize(user.principal, action, resolved)
    if not decision.allowed:
        await access.record(
            AuditKind.ACCESS_DENIED,
            user.principal.id,
            resolved,
            handler.request.remote_ip,
            action=action,
            reason=decision.reason,
        )
        return False, None, ""
    now = access.clock()
    grants: list[Grant] = [
        g
        for g in await access.grants_for_session_hash(user.principal.id)
        if g.valid(now) and covers(g.scope_path, g.scope_is_folder, resolved)
    ]
    expires = max((g.expires_at for g in grants), default=None)
    roles = sorted((g.role.value for g in grants), key=["view", "edit", "run"].index)
    return True, expires, roles[-1] if roles else "view"


async def require_guest_access(handler: Any, path: str, action: str) -> None:
    allowed, _, _ = await guest_decision(handler, path, action)
    if not allowed:
        raise web.HTTPError(403, "not shared with you")
