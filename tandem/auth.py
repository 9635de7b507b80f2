"""Who is asking (identity) and what they may do (Jupyter's Authorizer).

Every user is a principal (:func:`principal_of`): the owner logs in as Jupyter Server
always allows (token or cookie) and is a plain Jupyter ``User``; everyone else is a
:class:`GrantedUser` carrying its principal and the grants loaded when it was identified
(once per request or connection). A link guest carries a random session id in a
cookie named for this server (:func:`guest_cookie_name`), set when they redeemed an
invitation;
:class:`TandemIdentityProvider` turns it into a :class:`GuestUser`. The
:class:`TandemAuthorizer` denies every non-owner every standard Jupyter endpoint: they
reach only the endpoints Tandem checks itself, path by path, through the access policy.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import PasswordIdentityProvider, User
from jupyter_server.base.handlers import FileFindHandler
from jupyter_server.services.api.handlers import IdentityHandler
from tornado import web

from .access import AccessService, Grant, Permissions, Principal, PrincipalKind
from .access.permissions import guest_may
from .identity import identity_of, owner_user

__all__ = [
    "GUEST_COOKIE",
    "guest_cookie",
    "guest_cookie_name",
    "GrantedUser",
    "GuestUser",
    "TandemAuthorizer",
    "TandemIdentityProvider",
    "access_of",
    "permissions_of",
    "principal_of",
]

GUEST_COOKIE = "tandem-guest"
"""The prefix of the guest cookie's name; the full name is :func:`guest_cookie_name`."""


def guest_cookie_name(base_url: str, hub_user: str | None = None) -> str:
    """The guest cookie's name on the server at ``base_url``: ``tandem-guest-`` and a short
    hash of the base URL and (under JupyterHub) the server's user. On a shared hub origin
    every server's guest cookie has its own name (and path, the server's base URL), so
    one server never reads or honours another server's guest credential."""
    user = os.environ.get("JUPYTERHUB_USER", "") if hub_user is None else hub_user
    digest = hashlib.sha256(f"{base_url}\0{user}".encode()).hexdigest()[:12]
    return f"{GUEST_COOKIE}-{digest}"


def guest_cookie(handler: Any) -> str | None:
    """The guest session id the request carries for this server, if any."""
    value = handler.get_cookie(guest_cookie_name(handler.base_url))
    return str(value) if value else None


@dataclass
class GrantedUser(User):
    """Someone who is not the owner and reaches only what grants give them, with those
    grants as loaded when they were identified."""

    principal: Principal = field(default_factory=Principal.anonymous)
    grants: tuple[Grant, ...] = ()
    grants_as_of: int = -1
    """``AccessStore.changes`` before the grants were read (-1: unknown)."""


@dataclass
class GuestUser(GrantedUser):
    """A guest who redeemed an invitation; ``principal.id`` is their session hash."""


def principal_of(user: Any) -> Principal:
    """The principal behind a Jupyter user: nobody, a granted user, or the owner (any
    other user Jupyter's login accepted)."""
    if user is None:
        return Principal.anonymous()
    if isinstance(user, GrantedUser):
        return user.principal
    name = str(getattr(user, "display_name", "") or getattr(user, "name", "") or "Owner")
    return Principal.owner(name)


def access_of(handler: Any) -> AccessService | None:
    app = handler.settings.get("tandem")
    return getattr(app, "access", None)


def permissions_of(handler: Any) -> Permissions:
    """What the current user may do, from the grants loaded with their identity."""
    user = handler.current_user
    access = access_of(handler)
    clock = access.clock if access is not None else time.time
    grants = user.grants if isinstance(user, GrantedUser) else ()
    return Permissions(principal_of(user), grants, clock)


def admits_guests(handler: Any) -> bool:
    """Handlers a guest may reach at all: those that check scope and role themselves
    (``checks_guests = True``), ``/api/me``, and public static assets."""
    if getattr(handler, "checks_guests", False) or isinstance(handler, IdentityHandler):
        return True
    return isinstance(handler, FileFindHandler)


async def _refuse_guest(handler: Any, user: GrantedUser | None = None) -> None:
    """Answer 403 and stop. Written here rather than raised, because some handlers cannot
    render errors (JupyterLab's licenses handler overrides ``finish`` with a required
    argument, so a raised error would never answer). JupyterLab's pages answer a page
    for a person instead (whose server, and links to what is shared with them)."""
    from .handlers import lab_page

    handler.clear()
    handler.set_status(403)
    if user is not None and lab_page.is_lab_page(handler):
        access = access_of(handler)
        now = access.clock() if access is not None else time.time()
        lab_page.page_headers(handler)
        await web.RequestHandler.finish(
            handler, lab_page.lab_refusal_page(handler, user.grants, now)
        )
        raise web.Finish()
    handler.set_header("Content-Type", "application/json; charset=UTF-8")
    await web.RequestHandler.finish(
        handler,
        json.dumps(
            {
                "message": "Guests cannot use this: it is for the server's owner only.",
                "reason": "guest_refused",
            }
        ),
    )
    raise web.Finish()


def _open_to_anonymous(handler: Any) -> bool:
    method = getattr(handler, (handler.request.method or "").lower(), None)
    return bool(getattr(method, "__allow_unauthenticated", False))


async def guest_user(handler: Any) -> GrantedUser | None:
    """The guest behind this server's guest cookie (with its grants), or None."""
    access = access_of(handler)
    session = guest_cookie(handler)
    if access is None or not session or not handler.settings["tandem"].allow_link_guests:
        return None
    await handler.settings["tandem"].ready()
    as_of = access.store.changes
    principal, grants = await access.principal_for(session)
    now = access.clock()
    if principal.kind is not PrincipalKind.GUEST or not any(g.valid(now) for g in grants):
        return None
    user = GuestUser(
        username=f"guest-{principal.id[:12]}",
        name=principal.display_name,
        display_name=principal.display_name,
        color=principal.colour,
        principal=principal,
        grants=tuple(grants),
        grants_as_of=as_of,
    )
    return await admitted(handler, user)


async def admitted(handler: Any, user: GrantedUser) -> GrantedUser | None:
    """``user`` where a non-owner may be at all. Elsewhere deny by default, also where a
    handler forgot ``@authorized`` (JupyterLab's settings, workspaces, extension
    manager...): anonymous where the handler is open to anyone, else 403."""
    if admits_guests(handler):
        return user
    if _open_to_anonymous(handler):
        return None
    await _refuse_guest(handler, user)
    return None


class TandemIdentityMixin:
    """What Tandem's identity providers share: ``/api/me`` and its ``PATCH``, and how a
    live connection re-checks its login."""

    def revalidator(self, handler: Any) -> Callable[[], Awaitable[bool]] | None:
        """For a long-lived connection (a room socket) of the current user: an async
        check that their login still holds (None: nothing to re-check; revocation and
        expiry of grants are handled by the live registry)."""
        return None

    def update_user(self, handler: Any, user_data: dict[Any, str]) -> User:
        """``PATCH /api/me`` (JupyterLab's "User Details" dialog). Refused for anyone but
        the owner: the base class persists the changed user in Jupyter's *login* cookie,
        which would turn a guest into the owner. A guest's name is the one given when
        joining, a hub user's is their hub name."""
        if not principal_of(handler.current_user).is_owner:
            raise web.HTTPError(403, "a guest's name is set when joining")
        return super().update_user(handler, user_data)  # type: ignore[misc]

    def identity_model(self, user: User) -> dict[str, Any]:
        """``GET /api/me``: the same name, initials and colour the server stamps into
        awareness (so JupyterLab's own cursor matches what others see), and never a
        guest's session hash."""
        model: dict[str, Any] = super().identity_model(user)  # type: ignore[misc]
        model.pop("principal", None)
        model.pop("grants", None)
        stamped = identity_of(user)
        for key in ("name", "display_name", "initials", "color"):
            if not model.get(key):
                model[key] = stamped[key]
        return model


class TandemIdentityProvider(TandemIdentityMixin, PasswordIdentityProvider):
    """Jupyter's token/password login for the owner, plus guest sessions."""

    async def _get_user(self, handler: Any) -> User | None:
        user = await super()._get_user(handler)
        if user is not None:  # the owner, under one name in every browser
            owner_name = str(getattr(handler.settings.get("tandem"), "owner_name", ""))
            return owner_user(user, owner_name)
        return await guest_user(handler)


class TandemAuthorizer(Authorizer):
    """Owner: everything. Anyone else: denied by default on every standard endpoint;
    allowed only into handlers that check scope and role themselves
    (``checks_guests = True``) and ``/api/me``."""

    def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> bool:
        if principal_of(user).is_owner:
            return True
        if isinstance(handler, IdentityHandler):
            return _granted_permission(handler, user, action, resource)
        return admits_guests(handler)


def _granted_permission(handler: Any, user: User, action: str, resource: str) -> bool:
    """``/api/me?permissions=``: a non-owner's real permissions, from the grants loaded
    with their identity (see ``access.permissions.guest_may``)."""
    access = access_of(handler)
    if access is None or not isinstance(user, GrantedUser):
        return False
    return guest_may(user.grants, access.clock(), action, resource)
