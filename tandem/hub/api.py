"""The few JupyterHub REST calls Tandem makes, with the server's own token.

The token (``$JUPYTERHUB_API_TOKEN``) needs, besides the defaults, ``read:users:name``
and ``read:groups:name`` (to check a name before sharing) and ``shares!server`` (to
create and remove the hub share that lets a hub user through the hub's OAuth): see
``docs/jupyterhub.md``. Without them Tandem says so and shares nothing it cannot check.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

__all__ = ["HubAPI", "HubAPIError", "MissingScope"]


class HubAPIError(Exception):
    """The hub answered with an error (or could not be reached)."""


class MissingScope(HubAPIError):
    """The server's hub token lacks a scope the admin must grant."""


@dataclass(frozen=True)
class HubAPI:
    url: str
    token: str
    owner: str
    server_name: str = ""

    @classmethod
    def from_environment(cls) -> HubAPI:
        return cls(
            os.environ.get("JUPYTERHUB_API_URL", "").rstrip("/"),
            os.environ.get("JUPYTERHUB_API_TOKEN", ""),
            os.environ.get("JUPYTERHUB_USER", ""),
            os.environ.get("JUPYTERHUB_SERVER_NAME", ""),
        )

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request: dict[str, Any] = {
            "method": method,
            "headers": {"Authorization": f"token {self.token}"},
            "request_timeout": 10,
        }
        if body is not None:
            request["body"] = json.dumps(body)
            request["headers"]["Content-Type"] = "application/json"
        try:
            response = await AsyncHTTPClient().fetch(self.url + path, **request)
        except HTTPClientError as exc:
            return exc.code, None
        except OSError as exc:
            raise HubAPIError(f"the hub cannot be reached: {exc}") from exc
        text = response.body.decode("utf-8") if response.body else ""
        return response.code, json.loads(text) if text else None

    async def exists(self, *, user: str | None = None, group: str | None = None) -> bool:
        """Whether a hub user (or group) of that name exists."""
        kind, name = ("users", user) if user is not None else ("groups", group)
        status, _ = await self._call("GET", f"/{kind}/{quote(name or '', safe='')}")
        if status == 403:
            scope = "read:users:name" if user is not None else "read:groups:name"
            raise MissingScope(f"this server's hub token lacks {scope}")
        if status not in (200, 404):
            raise HubAPIError(f"the hub answered {status}")
        return status == 200

    def _share_path(self) -> str:
        return f"/shares/{quote(self.owner, safe='')}/{quote(self.server_name, safe='')}"

    async def share(self, *, user: str | None = None, group: str | None = None) -> None:
        """Let this user (group) through the hub's OAuth to this server."""
        body = {"user": user} if user is not None else {"group": group}
        status, _ = await self._call("POST", self._share_path(), body)
        if status == 403:
            raise MissingScope("this server's hub token lacks shares!server")
        if status != 200:
            raise HubAPIError(f"the hub answered {status} to the share")

    async def unshare(self, *, user: str | None = None, group: str | None = None) -> None:
        body = {"user": user} if user is not None else {"group": group}
        status, _ = await self._call("PATCH", self._share_path(), body)
        if status == 403:
            raise MissingScope("this server's hub token lacks shares!server")
        if status != 200:
            raise HubAPIError(f"the hub answered {status} to removing the share")

    async def shared_groups(self) -> frozenset[str]:
        """The hub groups this server is shared with (hub shares, as the hub holds them)."""
        status, body = await self._call("GET", self._share_path())
        if status == 403:
            raise MissingScope("this server's hub token lacks shares!server")
        if status != 200 or not isinstance(body, dict):
            raise HubAPIError(f"the hub answered {status} to listing the shares")
        groups = (item.get("group") or {} for item in body.get("items") or ())
        return frozenset(str(group["name"]) for group in groups if group.get("name"))
