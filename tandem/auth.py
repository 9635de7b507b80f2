"""Who is asking (identity) and what they may do (Jupyter's Authorizer), for guests.

The owner logs in as Jupyter Server always allows (token or cookie). A guest carries a
random session id in the ``tandem-guest`` cookie, set when they redeemed an invitation;
:class:`TandemIdentityProvider` turns it into a :class:`GuestUser`. The
:class:`TandemAuthorizer` denies guests every standard Jupyter endpoint: they reach only
the endpoints Tandem checks itself, path by path, through the access service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import PasswordIdentityProvider, User
from jupyter_server.services.api.handlers import IdentityHandler

from .access import AccessService, Principal, PrincipalKind

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
        return GuestUser(
            username=f"guest-{principal.id[:12]}",
            name=principal.display_name,
            display_name=principal.display_name,
            color=principal.colour,
            principal=principal,
        )


class TandemAuthorizer(Authorizer):
    """Owner: everything. Guests: denied by default on every standard endpoint; allowed
    only into handlers that check scope and role themselves (``checks_guests = True``)
    and ``/api/me``."""

    def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> bool:
        if not isinstance(user, GuestUser):
            return True
        return bool(getattr(handler, "checks_guests", False)) or isinstance(handler, IdentityHandler)
