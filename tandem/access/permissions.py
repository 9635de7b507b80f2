"""What one principal may do, with its grants loaded once per request or connection.

:class:`Permissions` answers questions (pure: asking never audits); the caller that refuses
an action the person tried audits it (:meth:`tandem.access.AccessService.refused`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .policy import GRANTEE_KINDS, Decision, authorize
from .records import Action, Grant, Principal, Role

__all__ = ["Permissions", "guest_may"]

_CONTENTS_ACTIONS = {"read": Action.READ, "write": Action.WRITE}


@dataclass(frozen=True)
class Permissions:
    """One principal and the grants it held when it was identified."""

    principal: Principal
    grants: tuple[Grant, ...]
    clock: Callable[[], float]

    def decide(self, action: Action | str, path: str | None) -> Decision:
        """:func:`tandem.access.authorize` on these grants, now. ``path`` is normalized."""
        return authorize(
            principal=self.principal, action=action, path=path, grants=self.grants, now=self.clock()
        )

    def readable_grants(self) -> list[Grant]:
        """The principal's grants that let it read their own scope now (a revoked grant of
        the same invitation cancels them, as everywhere else)."""
        if self.principal.kind not in GRANTEE_KINDS:
            return []
        now = self.clock()
        return [
            g
            for g in self.grants
            if g.guest_session_id in self.principal.grantee_ids
            and g.valid(now)
            and authorize(
                principal=self.principal,
                action=Action.READ,
                path=g.scope_path,
                grants=self.grants,
                now=now,
            )
        ]


def guest_may(grants: Iterable[Grant], now: float, action: str, resource: str) -> bool:
    """What ``GET /api/me?permissions=...`` reports for a non-owner: JupyterLab shapes its
    UI on it. A guest reaches none of Jupyter's own endpoints; through Tandem's rooms they
    read (any valid grant) or read and write (edit, run) contents in their grants' scope.
    Never ``kernels``, ``terminals``, ``server``, ``sessions``: Tandem's own execution
    endpoint checks ``run`` itself, path by path."""
    if resource != "contents" or action not in _CONTENTS_ACTIONS:
        return False
    wanted = _CONTENTS_ACTIONS[action]
    return any(g.valid(now) and Role(g.role).can(wanted) for g in grants)
