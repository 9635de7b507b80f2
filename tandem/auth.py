"""Who is asking (identity) and what they may do (Jupyter's Authorizer), for guests.

The owner logs in as Jupyter Server always allows (token or cookie). A guest carries a
random session id in the ``tandem-guest`` cookie, set when they redeemed an invitation;
:class:`TandemIdentityProvider` turns it into a :class:`GuestUser`. The
:class:`TandemAuthorizer` denies guests every standard Jupyter endpoint: they reach only
the endpoints Tandem checks itself, path by path, through the access service.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import PasswordIdentityProvider, User
from jupyter_server.base.handlers import FileFindHandler
from jupyter_server.services.api.handlers import IdentityHandler
from tornado import web

from .access import AccessService, Principal, PrincipalKind
from .access.permissions import guest_may
from .identity import identity_of

__all__ = ["GUEST_COOKIE", "GuestUser", "TandemAuthorizer", "TandemIdentityProvider", "access_of"]

GUEST_COOKIE = "tandem-guest"


@dataclass
class GuestUser(User):
    """A guest who redeemed an invitation; ``principal.id`` is their session hash."""

    principal: Principal | None = None
    role_note: str = "guest"


def access_of(handler: Any) -> AccessService | None:
    app = handler.settings.get("tandem")
    return getattr(app, "access", None)


def admits_guests(handler: Any) -> bool:
    """Handlers a guest may reach at all: those that check scope and role themselves
    (``checks_guests = True``), ``/api/me``, and public static assets."""
    if getattr(handler, "checks_guests", False) or isinstance(handler, IdentityHandler):
        return True
    return isinstance(handler, FileFindHandler)


async def _refuse_guest(handler: Any) -> None:
    """Answer 403 and stop. Written here rather than raised, because some handlers cannot
    render errors (JupyterLab's licenses handler overrides ``finish`` with a required
    argument, so a raised error would never answer)."""
    handler.clear()
    handler.set_status(403)
    handler.set_header("Content-Type", "application/json; charset=UTF-8")
    await web.RequestHandler.finish(
        handler, json.dumps({"message": "not available to guests", "reason": None})
    )
    raise web.Finish()


def _open_to_anonymous(handler: Any) -> bool:
    method = getattr(handler, (handler.request.method or "").lower(), None)
    return bool(getattr(method, "__allow_unauthenticated", False))


class TandemIdentityProvider(PasswordIdentityProvider):
    """Jupyter's token/password login for the owner, plus guest sessions."""

    async def _get_user(self, handler: Any) -> User | None:  # type: ignore[override]
        user = await super()._get_user(handler)
        if user is not None:
            return user
        access = access_of(handler)
        session = handler.get_cookie(GUEST_COOKIE)
        if access is None or not session:
            return None
        await handler.settings["tandem"].ready()
        principal, grants = await access.principal_for(session)
        now = access.clock()
        if principal.kind is not PrincipalKind.GUEST or not any(g.valid(now) for g in grants):
            return None
        if not admits_guests(handler):
            # Deny by default, also where a handler forgot ``@authorized`` (JupyterLab's
            # settings, workspaces, extension manager...): a guest is nobody there.
            if _open_to_anonymous(handler):
                return None
            await _refuse_guest(handler)
        return GuestUser(
            username=f"guest-{principal.id[:12]}",
            name=principal.display_name,
            display_name=principal.display_name,
            color=principal.colour,
            principal=principal,
        )

    def update_user(self, handler: Any, user_data: dict[Any, str]) -> User:
        """``PATCH /api/me`` (JupyterLab's "User Details" dialog). Refused for guests: the
        base class persists the changed user in Jupyter's *login* cookie, which would
        turn a guest into the owner. A guest's name is the one given when joining."""
        if isinstance(handler.current_user, GuestUser):
            raise web.HTTPError(403, "a guest's name is set when joining")
        return super().update_user(handler, user_data)

    def identity_model(self, user: User) -> dict[str, Any]:
        """``GET /api/me``: the same name, initials and colour the server stamps into
        awareness (so JupyterLab's own cursor matches what others see), and never a
        guest's session hash."""
        model = super().identity_model(user)
        model.pop("principal", None)
        model.pop("role_note", None)
        stamped = identity_of(user)
        for field in ("name", "display_name", "initials", "color"):
            if not model.get(field):
                model[field] = stamped[field]
        return model


class TandemAuthorizer(Authorizer):
    """Owner: everything. Guests: denied by default on every standard endpoint; allowed
    only into handlers that check scope and role themselves (``checks_guests = True``)
    and ``/api/me``."""

    def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> Any:
        if not isinstance(user, GuestUser):
            return True
        if isinstance(handler, IdentityHandler):
            return _guest_permission(handler, user, action, resource)  # awaited there
        return admits_guests(handler)


async def _guest_permission(handler: Any, user: GuestUser, action: str, resource: str) -> bool:
    """``/api/me?permissions=``: a guest's real permissions (see access.permissions)."""
    access = access_of(handler)
    if access is None or user.principal is None:
        return False
    grants = await access.grants_for_session_hash(user.principal.id)
    return guest_may(grants, access.clock(), action, resource)
