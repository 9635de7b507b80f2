"""``POST /tandem/api/hub-shares``: share one file or folder with a hub user or group.

Body: ``{"path", "role", "user" | "group", "expires_in"}`` (owner only). The name is
checked against the hub; the share is a Tandem grant with the same scope, roles, expiry,
revocation and audit as a link. Tandem then creates the hub share that lets the person
through the hub's OAuth to this server (which gives them nothing but the grant); when the
server's hub token may not do that, the answer says so (``hub_share: false``).
"""

from __future__ import annotations

from typing import Any

from tornado import web

from ..handlers.sharing import OwnerHandler, _plain
from .api import HubAPIError, MissingScope

__all__ = ["HubShareHandler", "routes"]

FIELDS = {"path", "role", "user", "group", "expires_in"}


class HubShareHandler(OwnerHandler):
    @web.authenticated
    async def post(self) -> None:
        access = self.owner_only()
        data = self.body()
        user, group = data.get("user"), data.get("group")
        if set(data) - FIELDS or not isinstance(data.get("path"), str):
            raise web.HTTPError(400, f"expected a path and only {sorted(FIELDS)}")
        if (user is None) == (group is None) or not isinstance(user or group, str):
            raise web.HTTPError(400, "name one hub user or one hub group")
        api = self.settings["tandem"].hub_api
        try:
            found = await api.exists(user=user, group=group)
        except MissingScope as exc:
            raise web.HTTPError(
                503, f"{exc}: ask the hub admin to grant it (see Tandem's JupyterHub guide)"
            ) from exc
        except HubAPIError as exc:
            raise web.HTTPError(502, str(exc)) from exc
        if not found:
            kind = "user" if user else "group"
            raise web.HTTPError(400, f"there is no hub {kind} named {user or group!r}")
        invitation, grant = await access.share_with_hub(
            data["path"],
            data.get("role", "view"),
            user=user,
            group=group,
            expires_in=data.get("expires_in"),
        )
        note = ""
        try:
            await api.share(user=user, group=group)
            hub_share = True
        except HubAPIError as exc:
            hub_share = False
            note = (
                f"{exc}: {user or group} cannot get through the hub to this server until the "
                "server is shared with them in the hub"
            )
        self.set_status(201)
        self.finish(
            {
                "invitation": _plain(invitation),
                "grant": _plain(grant),
                "hub_share": hub_share,
                "message": note,
            }
        )


def routes() -> list[tuple[Any, ...]]:
    return [(r"/tandem/api/hub-shares", HubShareHandler)]
