"""Who is asking, in a single-user server started by JupyterHub.

- The **owner** is the hub user named by ``JUPYTERHUB_USER``; hub admins (the hub says so:
  ``admin`` in the user model, or the ``admin:servers`` scope for this user) count as owner.
- Any other user the hub lets through (a hub share of this server) is a **hub user**: a
  principal of their own (``hub:<name>``, with their hub groups) who gets only what a
  Tandem grant gives them, exactly as a link guest.
- Without a hub login, a Tandem guest cookie makes a **link guest**.

JupyterHub (5.5, 6.1) leaves a *group's* hub share out of the scopes of its members'
tokens (a user's own shares are counted, the groups' are not), so the hub's check here
turns a member away although the hub let them log in to this server. Tandem admits such
a member itself: only with the token the hub's OAuth gave this server (the login cookie,
never a token in a header or URL), and only while the hub holds a share of this server
for one of their groups (asked of the hub each time, with the server's own token).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.auth.identity import User
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider, JupyterHubUser

from ..access import Principal, PrincipalKind
from ..auth import (
    GrantedUser,
    TandemIdentityMixin,
    access_of,
    admitted,
    guest_user,
    principal_of,
)
from ..identity import colour_for
from .api import HubAPIError

__all__ = ["HubUser", "TandemHubIdentityProvider", "hub_principal", "is_owner_model"]

HUB_PREFIX = "hub:"


@dataclass
class HubUser(GrantedUser):
    """Another hub user in the owner's server; ``hub_user`` is the hub's user model."""

    hub_user: dict[str, Any] = field(default_factory=dict, repr=False)


def is_owner_model(model: dict[str, Any], owner: str) -> bool:
    """The server's owner, or a hub admin (as the hub reports them)."""
    if model.get("kind", "user") != "user":
        return False
    if model.get("name") == owner or model.get("admin") is True:
        return True
    scopes = set(model.get("scopes") or ())
    return bool(scopes & {"admin:servers", f"admin:servers!user={owner}"})


def hub_principal(model: dict[str, Any]) -> Principal:
    name = str(model.get("name", ""))
    groups = tuple(sorted(str(g) for g in model.get("groups") or ()))
    return Principal(PrincipalKind.HUB_USER, HUB_PREFIX + name, name, colour_for(name), groups)


_FOR_OWNER: ContextVar[bool] = ContextVar("tandem_request_for_owner", default=True)
"""Whether the request being handled is the owner's (set when it is identified; outside
requests, e.g. for the runtime file, it is)."""


class TandemHubIdentityProvider(TandemIdentityMixin, JupyterHubIdentityProvider):
    """The hub's OAuth identity (unchanged: login, cookies, ``page_config_hook``), with
    Tandem's three kinds of people on top."""

    @property
    def owner(self) -> str:
        return os.environ.get("JUPYTERHUB_USER", "")

    @property
    def token(self) -> str:
        """The server's own hub API token, which is the owner's credential: Jupyter's page
        template embeds it for anyone logged in, so it is empty in others' requests."""
        return str(super().token) if _FOR_OWNER.get() else ""

    async def get_user(self, handler: Any) -> User | None:
        _FOR_OWNER.set(False)
        user = await self._identify(handler)
        _FOR_OWNER.set(user is not None and principal_of(user).is_owner)
        return user

    async def _identify(self, handler: Any) -> User | None:
        user = await super().get_user(handler)
        if user is None:
            user = await self._through_a_group_share(handler)
        if user is None:
            return await guest_user(handler)
        if isinstance(user, GrantedUser):
            return user
        model: dict[str, Any] = getattr(user, "hub_user", {}) or {}
        if is_owner_model(model, self.owner):
            return user
        return await self.hub_user(handler, user, model)

    async def _through_a_group_share(self, handler: Any) -> User | None:
        """A member of a group this server is shared with, whom the hub's check refused
        only because the hub leaves group shares out of tokens (see the module doc)."""
        model = getattr(handler, "_cached_hub_user", None)
        if not model or getattr(handler, "_token_authenticated", False):
            return None  # no hub login, or a token from a header or URL: no exception
        if not await self._in_a_shared_group(handler, model):
            return None
        handler.__dict__.pop("redirect", None)  # the hub's "403 on redirect" patch
        handler._jupyterhub_user = JupyterHubUser(model)
        return handler._jupyterhub_user

    async def _in_a_shared_group(
        self, handler: Any, model: dict[str, Any], *, quiet: bool = True
    ) -> bool:
        """Whether the hub shares this server with a group of theirs; if the hub cannot
        say, no (``quiet``) or the error (a re-check keeps the socket and tries again)."""
        groups = {str(g) for g in model.get("groups") or ()}
        api = getattr(handler.settings.get("tandem"), "hub_api", None)
        if model.get("kind", "user") != "user" or not groups or api is None:
            return False
        try:
            return bool(groups & await api.shared_groups())
        except HubAPIError as exc:
            if not quiet:
                raise
            self.log.warning("Tandem cannot check the hub's group shares: %s", exc)
            return False

    def revalidator(self, handler: Any) -> Callable[[], Awaitable[bool]] | None:
        """Asks the hub, bypassing its cache, whether the token behind this connection
        still gets through to this server (a hub share revoked, the user removed or their
        token revoked all end it)."""
        user = handler.current_user
        if not isinstance(user, HubUser):
            return None
        token = self.hub_auth.get_token(handler)
        if not token:
            return None
        hub_auth = self.hub_auth
        through_group = not getattr(handler, "_token_authenticated", False)
        # HubAuth's cache entry for this login (as ``user_for_token`` keys it): dropped
        # when the hub says no, so the person's HTTP requests stop too, not in 300 s.
        digest = hashlib.sha256(token.encode("utf8", "replace")).hexdigest()
        cache_key = f"token:{hub_auth.get_session_id(handler)}:{digest}"

        async def still_allowed() -> bool:
            model = await hub_auth.user_for_token(token, use_cache=False, sync=False)
            allowed = bool(model) and bool(hub_auth.check_scopes(hub_auth.access_scopes, model))
            if model and not allowed and through_group:
                allowed = await self._in_a_shared_group(handler, model, quiet=False)
            if not allowed:
                hub_auth.cache.pop(cache_key, None)
            return allowed

        return still_allowed

    async def hub_user(self, handler: Any, user: User, model: dict[str, Any]) -> User | None:
        """A hub user who is not the owner, with their Tandem grants."""
        principal = hub_principal(model)
        access = access_of(handler)
        grants: tuple[Any, ...] = ()
        as_of = -1
        if access is not None:
            await handler.settings["tandem"].ready()
            as_of = access.store.changes
            grants = (await access.permissions_for(principal)).grants
        who = HubUser(
            username=user.username,
            name=user.name,
            display_name=user.display_name,
            initials=user.initials,
            avatar_url=user.avatar_url,
            color=user.color or principal.colour,
            principal=principal,
            grants=grants,
            grants_as_of=as_of,
            hub_user=model,
        )
        # Cached by the hub's provider for this request: replace it with the hub user.
        handler._jupyterhub_user = await admitted(handler, who)
        return handler._jupyterhub_user
