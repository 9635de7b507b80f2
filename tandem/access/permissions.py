"""What ``GET /api/me?permissions=...`` reports for a guest: their real permissions.

JupyterLab asks the identity endpoint which actions the user may take on Jupyter's
resources (``contents``, ``kernels``, ``terminals``, ``server``...) and shapes its UI on the
answer. A guest reaches none of Jupyter's own endpoints; through Tandem's rooms they
read (view) or read and write (edit, run) the contents in their grants' scope. So the
report is: ``contents`` ``read`` with any valid grant, ``write`` with a valid edit or run
grant, and nothing else: never ``kernels``, ``terminals``, ``server``, ``sessions``...
Tandem's own execution endpoint checks ``run`` itself, path by path.
"""

from __future__ import annotations

from collections.abc import Iterable

from .records import Action, Grant, Role

__all__ = ["guest_may"]

_CONTENTS_ACTIONS = {"read": Action.READ, "write": Action.WRITE}


def guest_may(grants: Iterable[Grant], now: float, action: str, resource: str) -> bool:
    """Whether a guest holding ``grants`` may take Jupyter ``action`` on ``resource``."""
    if resource != "contents" or action not in _CONTENTS_ACTIONS:
        return False
    wanted = _CONTENTS_ACTIONS[action]
    return any(g.valid(now) and Role(g.role).can(wanted) for g in grants)
