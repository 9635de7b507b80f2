"""Access: scoped sharing that can be taken back (invitations, grants, policy, audit).

No Tornado here; handlers and the Jupyter ``Authorizer`` call into this package.
"""

from __future__ import annotations

from .codes import load_or_create_key, new_session_id
from .live import LiveConnection, LiveRegistry
from .permissions import Permissions
from .policy import Decision, authorize
from .records import (
    Action,
    AuditEvent,
    AuditKind,
    Grant,
    GrantStatus,
    Invitation,
    Principal,
    PrincipalKind,
    Role,
)
from .scopes import InvalidScope, Scope, covers, normalize_path, normalize_scope
from .service import (
    AccessError,
    AccessService,
    InvalidInvitation,
    InvalidName,
    InvalidRequest,
    NotFound,
    RateLimited,
)
from .store import AccessStore

__all__ = [
    "AccessError",
    "AccessService",
    "AccessStore",
    "Action",
    "AuditEvent",
    "AuditKind",
    "Decision",
    "Grant",
    "GrantStatus",
    "InvalidInvitation",
    "InvalidName",
    "InvalidRequest",
    "InvalidScope",
    "Invitation",
    "LiveConnection",
    "LiveRegistry",
    "NotFound",
    "Permissions",
    "Principal",
    "PrincipalKind",
    "RateLimited",
    "Role",
    "Scope",
    "authorize",
    "covers",
    "load_or_create_key",
    "new_session_id",
    "normalize_path",
    "normalize_scope",
]
