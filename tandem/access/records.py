"""Access records: roles, actions, principals, invitations, grants, audit events.

Times are UTC epoch seconds (floats). Secrets never appear here in clear: an
invitation holds its code's hash, a grant its guest session's hash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = [
    "SERVER_ACTIONS",
    "Action",
    "AuditEvent",
    "AuditKind",
    "Grant",
    "GrantStatus",
    "Invitation",
    "Principal",
    "PrincipalKind",
    "Role",
]


class Action(str, Enum):
    READ = "read"
    WRITE = "write"
    EXECUTE = "execute"
    SHARE = "share"
    """Create or revoke invitations and grants (server-wide)."""
    ADMIN = "admin"
    """Anything server-wide: terminals, kernelspecs, settings, audit (server-wide)."""


SERVER_ACTIONS = frozenset({Action.SHARE, Action.ADMIN})
"""Actions that never concern one path; only the owner may perform them."""


class Role(str, Enum):
    VIEW = "view"
    EDIT = "edit"
    RUN = "run"
    OWNER = "owner"

    def can(self, action: Action | str) -> bool:
        """Whether this role allows ``action`` (scope is checked separately)."""
        return Action(action) in _ROLE_ACTIONS[self]


_ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.VIEW: frozenset({Action.READ}),
    Role.EDIT: frozenset({Action.READ, Action.WRITE}),
    Role.RUN: frozenset({Action.READ, Action.WRITE, Action.EXECUTE}),
    Role.OWNER: frozenset(Action),
}

GUEST_ROLES = (Role.VIEW, Role.EDIT, Role.RUN)
"""Roles an invitation may carry; ``owner`` is never handed out."""


class PrincipalKind(str, Enum):
    OWNER = "owner"
    """Jupyter's token/cookie login (or the JupyterHub owner, and hub admins)."""
    HUB_USER = "hub_user"
    """Another JupyterHub user (by hub name and groups): only what a grant gives them."""
    GUEST = "guest"
    """A browser holding a guest session that redeemed an invitation."""
    ANONYMOUS = "anonymous"
    """Nobody we know: no login, no (valid) guest session."""


HUB_USER_PREFIX = "hub:"
"""A hub user's principal id is ``hub:<name>``; grants to them carry that id."""
HUB_GROUP_PREFIX = "hub-group:"
"""Grants to a hub group carry ``hub-group:<name>``; every member holds them."""


@dataclass(frozen=True)
class Principal:
    """Who is asking. For guests ``id`` is the *hash* of the guest session id; for hub
    users it is ``hub:<name>``; the owner's is ``owner``."""

    kind: PrincipalKind
    id: str
    display_name: str
    colour: str
    groups: tuple[str, ...] = ()
    """Hub groups (hub users only)."""

    @property
    def is_owner(self) -> bool:
        return self.kind is PrincipalKind.OWNER

    @property
    def grantee_ids(self) -> frozenset[str]:
        """The ids whose grants are this principal's: its own, and its hub groups'."""
        return frozenset({self.id, *(HUB_GROUP_PREFIX + g for g in self.groups)})

    @classmethod
    def owner(cls, display_name: str = "Owner", colour: str = "#1f77b4") -> Principal:
        return cls(PrincipalKind.OWNER, "owner", display_name, colour)

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(PrincipalKind.ANONYMOUS, "", "", "#7f7f7f")


@dataclass(frozen=True)
class Invitation:
    """A share link. ``code_hash`` is HMAC-SHA256(server key, code); the code is never stored."""

    id: str
    code_hash: str
    scope_path: str
    scope_is_folder: bool
    role: Role
    created_at: float
    expires_at: float
    max_uses: int | None
    uses: int
    approval_required: bool
    anonymous_allowed: bool
    label: str
    revoked_at: float | None = None
    runs_as_owner: bool = False
    """``run`` only: the owner's explicit choice that, where the sandbox cannot be applied,
    this link's guests' code runs unconfined, as the owner."""

    def redeemable(self, now: float) -> bool:
        """Unrevoked, unexpired and not used up."""
        return (
            self.revoked_at is None
            and now < self.expires_at
            and (self.max_uses is None or self.uses < self.max_uses)
        )


class GrantStatus(str, Enum):
    PENDING = "pending"
    """Waiting for the owner's approval: allows nothing."""
    ACTIVE = "active"
    REFUSED = "refused"


@dataclass(frozen=True)
class Grant:
    """Access given to one guest session through one invitation."""

    id: str
    invitation_id: str
    guest_session_id: str
    """Hash of the guest session id (never the id itself)."""
    display_name: str
    role: Role
    scope_path: str
    scope_is_folder: bool
    created_at: float
    expires_at: float
    last_seen: float | None
    revoked_at: float | None
    status: GrantStatus

    def valid(self, now: float) -> bool:
        """Active, unrevoked and unexpired: the only kind of grant that allows anything."""
        return (
            self.status is GrantStatus.ACTIVE and self.revoked_at is None and now < self.expires_at
        )


class AuditKind(str, Enum):
    INVITATION_CREATED = "invitation_created"
    INVITATION_REVOKED = "invitation_revoked"
    REDEEMED = "redeemed"
    REDEEM_FAILED = "redeem_failed"
    RATE_LIMITED = "rate_limited"
    APPROVAL_ASKED = "approval_asked"
    ADMITTED = "admitted"
    REFUSED = "refused"
    GRANT_REVOKED = "grant_revoked"
    PATH_REVOKED = "path_revoked"
    ALL_REVOKED = "all_revoked"
    ROOM_JOINED = "room_joined"
    ROOM_LEFT = "room_left"
    EXECUTION_REQUESTED = "execution_requested"
    ACCESS_DENIED = "access_denied"


@dataclass(frozen=True)
class AuditEvent:
    """One append-only audit record. ``id`` is the store's sequence number."""

    id: int
    at: float
    kind: str
    principal_id: str
    path: str | None = None
    client_address: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, hash=False)
