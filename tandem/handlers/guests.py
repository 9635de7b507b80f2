"""The path-by-path check for everyone but the owner, shared by Tandem's handlers (the
choke point for requests: every check goes through the access policy, on the grants
loaded once with the request's identity).

:func:`decide_access` only asks and never audits; :func:`require_access` refuses the
action the person tried (403) and audits that refusal.
"""

from __future__ import annotations

from typing import Any

from tornado import web

from ..access import Action, Decision, InvalidScope, Role
from ..auth import access_of, permissions_of

__all__ = ["audit_refusal", "decide_access", "require_access"]

OWNER_DECISION = Decision(True, "owner", Role.OWNER, None)


def _resolve(handler: Any, path: str) -> str | None:
    access = access_of(handler)
    if access is None:
        return None
    try:
        return access.resolve(path)
    except InvalidScope:
        return None


async def decide_access(handler: Any, path: str, action: Action | str) -> Decision:
    """Whether the current user may perform ``action`` on the API path ``path``, with the
    role and the end of that permission. The owner always may; asking never audits."""
    permissions = permissions_of(handler)
    if permissions.principal.is_owner:
        return OWNER_DECISION
    resolved = _resolve(handler, path)
    if resolved is None:
        return Decision(False, "invalid path")
    return permissions.decide(action, resolved)


async def audit_refusal(
    handler: Any, path: str, action: Action | str, decision: Decision, **detail: Any
) -> None:
    """Audit that the current user tried ``action`` on ``path`` and was refused."""
    access = access_of(handler)
    if access is None:
        return
    resolved = _resolve(handler, path)
    await access.refused(
        permissions_of(handler).principal,
        action,
        path if resolved is None else resolved,
        decision,
        handler.request.remote_ip,
        **detail,
    )


async def require_access(
    handler: Any, path: str, action: Action | str, message: str = "not shared with you"
) -> Decision:
    """The decision if allowed; otherwise audit the refusal and answer 403."""
    decision = await decide_access(handler, path, action)
    if not decision.allowed:
        await audit_refusal(handler, path, action, decision)
        raise web.HTTPError(403, message)
    return decision
