"""``/tandem/api/hub-shares``: share one file or folder with a hub user or group.

- ``GET`` (owner only): what the share dialogs need to offer it: ``{"hub": {"owner"}}``
  (``null`` when the server does not run under a hub), and the hub
  grants (``{"grants": [...]}``, each with ``kind`` ``"user"`` or ``"group"`` and the
  hub ``name``).
- ``POST`` ``{"path", "role", "user" | "group", "expires_in"}`` (owner only). The name is
  checked against the hub; then Tandem creates the hub share that lets the person through
  the hub's OAuth to this server (which gives them nothing but the grant), and the Tandem
  grant, with the same scope, roles, expiry, revocation and audit as a link. An unknown
  name, a bad path or role, a ``run`` share where code cannot be confined (as for links),
  or a server hub token without the scopes for either step is refused (``{"message",
  "reason"}``) and changes nothing. A ``run`` share's answer says how code runs
  (``runs``, as for links).
"""

from __future__ import annotations

import os
from typing import Any

from tornado import web

from ..access import normalize_scope
from ..access.records import HUB_GROUP_PREFIX, HUB_USER_PREFIX
from ..handlers.errors import refuse
from ..handlers.sharing import OwnerHandler, _plain
from .api import HubAPIError, MissingScope

__all__ = ["HubShareHandler", "hub_grant", "routes"]

FIELDS = {"path", "role", "user", "group", "expires_in"}
GUIDE = "ask the hub admin to grant it (see Tandem's JupyterHub guide)"


def hub_grant(grant: Any) -> dict[str, Any] | None:
    """A grant to a hub user or group, as the dialogs list it (None for a link guest's)."""
    grantee = grant.guest_session_id
    for prefix, kind in ((HUB_USER_PREFIX, "user"), (HUB_GROUP_PREFIX, "group")):
        if grantee.startswith(prefix):
            return {**_plain(grant), "kind": kind, "name": grantee[len(prefix) :]}
    return None


class HubShareHandler(OwnerHandler):
    @web.authenticated
    async def get(self) -> None:
        access = self.owner_only()
        if self.settings["tandem"].hub_api is None:
            self.finish({"hub": None, "grants": []})
            return
        grants = [hub_grant(g) for g in await access.list_grants()]
        self.finish(
            {
                "hub": {"owner": os.environ.get("JUPYTERHUB_USER", "")},
                "grants": [g for g in grants if g is not None],
            }
        )

    @web.authenticated
    async def post(self) -> None:
        access = self.owner_only()
        api = self.settings["tandem"].hub_api
        if api is None:
            raise refuse(400, "no_hub", "this server does not run under JupyterHub")
        data = self.body()
        user, group = data.get("user"), data.get("group")
        if set(data) - FIELDS or not isinstance(data.get("path"), str):
            raise web.HTTPError(400, f"expected a path and only {sorted(FIELDS)}")
        if (user is None) == (group is None) or not isinstance(user or group, str):
            raise web.HTTPError(400, "name one hub user or one hub group")
        kind = "user" if user is not None else "group"
        name = (user if user is not None else group) or ""
        if not name.strip():
            raise refuse(400, "hub_name_missing", f"give the name of a hub {kind}")
        normalize_scope(access.root_dir, data["path"])  # a bad path changes nothing below
        runs = self.run_mode(data["path"], False, hub=True) if data.get("role") == "run" else None
        try:
            found = await api.exists(user=user, group=group)
            if not found:
                raise refuse(400, "hub_name_unknown", f"there is no hub {kind} named {name!r}")
            await api.share(user=user, group=group)
        except MissingScope as exc:
            raise refuse(503, "hub_scope_missing", f"{exc}: {GUIDE}; nothing was shared") from exc
        except HubAPIError as exc:
            raise refuse(502, "hub_unavailable", f"{exc}; nothing was shared") from exc
        try:
            invitation, grant = await access.share_with_hub(
                data["path"],
                data.get("role", "view"),
                user=user,
                group=group,
                expires_in=data.get("expires_in"),
            )
        except Exception:
            # The hub share alone gives nothing; remove it unless a grant still needs it.
            prefix = HUB_USER_PREFIX if user is not None else HUB_GROUP_PREFIX
            await self.settings["tandem"].unshare_unused_in_hub([prefix + name])
            raise
        self.set_status(201)
        self.finish(
            {
                "invitation": _plain(invitation),
                "grant": hub_grant(grant),
                "hub_share": True,
                "message": "",
                **({"runs": runs} if runs is not None else {}),
            }
        )


def routes() -> list[tuple[Any, ...]]:
    return [(r"/tandem/api/hub-shares", HubShareHandler)]
