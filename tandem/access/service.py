"""AccessService: invitations, redemption, approval, revocation and the audit trail.

The service owns every state change; each one appends an audit event (``touch`` only
updates ``last_seen`` and is not audited, so a busy room does not flood the log).
Revocations return the *hashes* of the affected guest sessions: the caller closes their
sockets and cancels their queued work. Secrets (codes, session ids) only pass through;
what is stored and returned is their HMAC.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..identity import colour_for
from . import codes
from .permissions import Permissions
from .policy import GRANTEE_KINDS, Decision
from .records import (
    GUEST_ROLES,
    HUB_GROUP_PREFIX,
    HUB_USER_PREFIX,
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
from .scopes import covers, normalize_path, normalize_scope, overlaps
from .store import AccessStore

__all__ = [
    "AccessError",
    "AccessService",
    "InvalidInvitation",
    "InvalidName",
    "InvalidRequest",
    "NotFound",
    "RateLimited",
    "validate_display_name",
]

OWNER_ID = "owner"
DEFAULT_EXPIRY = 24 * 3600.0
MAX_EXPIRY = 30 * 24 * 3600.0
NAME_MAX = 64
LABEL_MAX = 200
ANIMALS = (
    "Otter",
    "Heron",
    "Lynx",
    "Badger",
    "Puffin",
    "Ibex",
    "Marten",
    "Gecko",
    "Wombat",
    "Kestrel",
    "Narwhal",
    "Okapi",
    "Quokka",
    "Tapir",
    "Vole",
    "Yak",
    "Axolotl",
    "Bison",
)
HUB_NAME = re.compile(r"^[^/\s:]{1,64}$")
"""What a JupyterHub user or group name may look like here (no slash, space or colon)."""
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


class AccessError(Exception):
    """Base class of the errors below."""


class InvalidInvitation(AccessError):
    """Unknown, malformed, expired, revoked or used-up code: deliberately one error."""

    def __init__(self) -> None:
        super().__init__("this invitation link is not valid")


class RateLimited(AccessError):
    def __init__(self, retry_after: float) -> None:
        super().__init__("too many failed attempts; try again later")
        self.retry_after = retry_after


class InvalidName(AccessError, ValueError):
    """A display name that is empty, too long, or contains control/format characters."""


class InvalidRequest(AccessError, ValueError):
    """Invalid invitation parameters, or a grant not in the state the request needs."""


class NotFound(AccessError, LookupError):
    """No invitation or grant with that id."""


def validate_display_name(name: str) -> str:
    """NFC-normalized and trimmed; 1-64 characters; no control, format or separator characters
    (which covers bidi overrides and zero-width characters used to fake names)."""
    if not isinstance(name, str):
        raise InvalidName("the name must be text")
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise InvalidName("the name is empty")
    if len(name) > NAME_MAX:
        raise InvalidName(f"the name is longer than {NAME_MAX} characters")
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in name):
        raise InvalidName("the name contains control characters")
    return name


class FailureLimiter:
    """At most ``limit`` failures per client address within ``window`` seconds (in memory,
    bounded to ``max_clients`` addresses, least recently failing forgotten first)."""

    def __init__(
        self,
        clock: Callable[[], float],
        limit: int = 10,
        window: float = 60.0,
        max_clients: int = 10_000,
    ) -> None:
        self.clock, self.limit, self.window, self.max_clients = clock, limit, window, max_clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str) -> deque[float]:
        times = self._failures.get(address, deque())
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        return times

    def check(self, address: str) -> None:
        times = self._recent(address)
        if len(times) >= self.limit:
            raise RateLimited(retry_after=max(0.0, times[0] + self.window - self.clock()))

    def limited(self, address: str) -> RateLimited | None:
        """The error for an address past its limit (one more failure than allowed)."""
        times = self._recent(address)
        if len(times) > self.limit:
            return RateLimited(retry_after=max(0.0, times[0] + self.window - self.clock()))
        return None

    def fail(self, address: str) -> None:
        times = self._recent(address)
        times.append(self.clock())
        self._failures[address] = times
        self._failures.move_to_end(address)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)


@dataclass(frozen=True)
class Revoked:
    """What one revocation call changed."""

    invitation_ids: list[str]
    grant_ids: list[str]
    sessions: list[str]
    """Hashes of the guest sessions whose sockets must be closed."""


class AccessService:
    """Sharing that can be taken back. ``secret_key``: bytes from
    :func:`tandem.access.codes.load_or_create_key`, kept outside the database."""

    def __init__(
        self,
        store: AccessStore,
        secret_key: bytes,
        root_dir: str,
        clock: Callable[[], float] = time.time,
        *,
        default_expiry: float = DEFAULT_EXPIRY,
        max_expiry: float = MAX_EXPIRY,
        failure_limit: int = 10,
        failure_window: float = 60.0,
    ) -> None:
        codes._check_key(secret_key)
        if not 0 < default_expiry <= max_expiry:
            raise ValueError("default_expiry must be positive and at most max_expiry")
        self.store = store
        self._key = secret_key
        self.root_dir = root_dir
        self.clock = clock
        self.default_expiry = default_expiry
        self.max_expiry = max_expiry
        self.limiter = FailureLimiter(clock, failure_limit, failure_window)
        self._lock = asyncio.Lock()  # one state change at a time (redeem vs revoke races)

    # -- helpers ---------------------------------------------------------------------

    def session_hash(self, guest_session: str) -> str | None:
        """The stored form of a guest session id, or None if it is malformed."""
        return (
            codes.hash_session(self._key, guest_session)
            if codes.is_well_formed(guest_session)
            else None
        )

    def room_token(self, session_hash: str) -> str:
        """The room-socket token of the guest session with this stored hash."""
        return codes.room_token(self._key, session_hash)

    def room_token_valid(self, session_hash: str, token: str) -> bool:
        """Whether ``token`` is the room-socket token of that guest session."""
        return bool(token) and codes.same_hash(
            self.room_token(session_hash), token if token.isascii() else ""
        )

    async def record(
        self,
        kind: AuditKind | str,
        principal_id: str,
        path: str | None = None,
        client_address: str | None = None,
        *,
        seen_grants: Iterable[str] = (),
        **detail: Any,
    ) -> AuditEvent:
        """Append an audit event (also for the caller's joins, leaves, executions, denials);
        ``seen_grants`` are marked as seen in the same write."""
        return await self.store.append_audit(
            at=self.clock(),
            kind=AuditKind(kind).value,
            principal_id=principal_id,
            path=path,
            client_address=client_address,
            detail=detail,
            seen_grants=seen_grants,
        )

    async def record_visit(
        self,
        kind: AuditKind | str,
        principal_id: str,
        path: str,
        client_address: str | None,
        grant_ids: Iterable[str],
    ) -> AuditEvent:
        """Audit a join or a leave and mark the grants it used as seen, in one write (in a
        join storm, the joins queued together share one transaction)."""
        return await self.record(kind, principal_id, path, client_address, seen_grants=grant_ids)

    # -- invitations -----------------------------------------------------------------

    async def create_invitation(
        self,
        scope: str,
        role: Role | str = Role.VIEW,
        expires_in: float | None = None,
        max_uses: int | None = None,
        approval_required: bool = False,
        anonymous_allowed: bool = False,
        label: str = "",
        runs_as_owner: bool = False,
    ) -> tuple[Invitation, str]:
        """A new invitation and its code (returned once, never stored).

        ``scope`` must be an existing file or folder inside the root (InvalidScope
        otherwise); ``run`` must be asked for explicitly. ``runs_as_owner`` (``run`` only):
        where the sandbox cannot be applied, this link's guests' code runs as the owner."""
        sc = normalize_scope(self.root_dir, scope)
        try:
            role = Role(role)
        except ValueError:
            raise InvalidRequest(f"unknown role {role!r}") from None
        if role not in GUEST_ROLES:
            raise InvalidRequest("an invitation can give view, edit or run")
        if not isinstance(runs_as_owner, bool):
            raise InvalidRequest("runs_as_owner must be true or false")
        if runs_as_owner and role is not Role.RUN:
            raise InvalidRequest("runs_as_owner is a choice for run links only")
        expires_in = self.default_expiry if expires_in is None else float(expires_in)
        if not 0 < expires_in <= self.max_expiry:
            raise InvalidRequest(f"expiry must be between 0 and {self.max_expiry:g} seconds")
        if max_uses is not None and (
            isinstance(max_uses, bool) or int(max_uses) != max_uses or max_uses < 1
        ):
            raise InvalidRequest("max_uses must be a positive integer")
        label = unicodedata.normalize("NFC", label or "").strip()
        if len(label) > LABEL_MAX or any(
            unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in label
        ):
            raise InvalidRequest("invalid label")
        code = codes.new_code()
        now = self.clock()
        inv = Invitation(
            id="i-" + secrets.token_hex(6),
            code_hash=codes.hash_code(self._key, code),
            scope_path=sc.path,
            scope_is_folder=sc.is_folder,
            role=role,
            created_at=now,
            expires_at=now + expires_in,
            max_uses=None if max_uses is None else int(max_uses),
            uses=0,
            approval_required=bool(approval_required),
            anonymous_allowed=bool(anonymous_allowed),
            label=label,
            runs_as_owner=runs_as_owner,
        )
        async with self._lock:
            await self.store.add_invitation(inv)
            await self.store.put_sealed_code(inv.id, codes.seal_code(self._key, inv.id, code))
            await self.record(
                AuditKind.INVITATION_CREATED,
                OWNER_ID,
                inv.scope_path,
                invitation_id=inv.id,
                role=role.value,
                folder=inv.scope_is_folder,
                expires_at=inv.expires_at,
                max_uses=inv.max_uses,
                approval_required=inv.approval_required,
                anonymous_allowed=inv.anonymous_allowed,
                label=label,
                runs_as_owner=inv.runs_as_owner,
            )
        return inv, code

    async def share_with_hub(
        self,
        scope: str,
        role: Role | str = Role.VIEW,
        *,
        user: str | None = None,
        group: str | None = None,
        expires_in: float | None = None,
    ) -> tuple[Invitation, Grant]:
        """Share ``scope`` with one hub user or every member of one hub group, by name
        (the caller checks the name against the hub). The same scope, roles, expiry,
        revocation and audit as a link: an invitation that no code redeems (used up at
        once) and its one grant to ``hub:<user>`` or ``hub-group:<group>``."""
        if (user is None) == (group is None):
            raise InvalidRequest("share with a hub user or a hub group")
        name = validate_display_name(user if user is not None else group or "")
        if not HUB_NAME.match(name):
            raise InvalidRequest(f"{name!r} is not a hub user or group name")
        grantee = (HUB_USER_PREFIX if user is not None else HUB_GROUP_PREFIX) + name
        label = f"hub {'user' if user is not None else 'group'} {name}"
        inv, _ = await self.create_invitation(
            scope, role, expires_in, max_uses=1, anonymous_allowed=False, label=label
        )
        now = self.clock()
        grant = Grant(
            id="g-" + secrets.token_hex(6),
            invitation_id=inv.id,
            guest_session_id=grantee,
            display_name=name,
            role=inv.role,
            scope_path=inv.scope_path,
            scope_is_folder=inv.scope_is_folder,
            created_at=now,
            expires_at=inv.expires_at,
            last_seen=None,
            revoked_at=None,
            status=GrantStatus.ACTIVE,
        )
        async with self._lock:
            if not await self.store.add_grant(grant, consume_use=True, now=now):
                raise InvalidRequest("this share could not be created")
            await self.record(
                AuditKind.REDEEMED,
                OWNER_ID,
                grant.scope_path,
                invitation_id=inv.id,
                grant_id=grant.id,
                display_name=name,
                role=grant.role.value,
                status=grant.status.value,
                hub=grantee,
            )
        stored = await self.store.get_invitation(inv.id)
        return (stored or inv), grant

    async def preview(self, code: str, client_address: str | None = None) -> Invitation:
        """The redeemable invitation behind ``code`` (for the join page); consumes nothing.
        Unknown, expired, revoked and used-up codes all raise the same InvalidInvitation;
        with ``client_address``, a failure counts towards that address's limit (and past
        it raises RateLimited), exactly as a failed redemption does."""
        inv = None
        if codes.is_well_formed(code):
            inv = await self.store.invitation_by_code_hash(codes.hash_code(self._key, code))
        if inv is None or not inv.redeemable(self.clock()):
            if client_address is not None:
                self.limiter.fail(client_address)
                limited = self.limiter.limited(client_address)
                if limited is not None:
                    raise limited
            raise InvalidInvitation()
        return inv

    async def link_code(self, invitation_id: str) -> str:
        """The code of a link that still works, for the owner to copy it again (it is kept
        sealed with the server key). NotFound for an unknown link; InvalidRequest for one
        that no longer works, or was made before codes were kept."""
        inv = await self.store.get_invitation(invitation_id)
        if inv is None:
            raise NotFound(invitation_id)
        if not inv.redeemable(self.clock()):
            raise InvalidRequest("this link no longer works (revoked, expired or used up)")
        sealed = await self.store.sealed_code(invitation_id)
        code = codes.unseal_code(self._key, invitation_id, sealed) if sealed else None
        if code is None or not codes.same_hash(codes.hash_code(self._key, code), inv.code_hash):
            raise InvalidRequest("this link's code was not kept: create a new link like it")
        return code

    async def list_invitations(self) -> list[Invitation]:
        return await self.store.list_invitations()

    # -- redemption ------------------------------------------------------------------

    async def redeem(
        self,
        code: str,
        guest_session: str,
        display_name: str | None,
        client_address: str,
    ) -> Grant:
        """Bind the invitation to this guest session. Raises RateLimited, InvalidInvitation
        (the same for every kind of bad code), InvalidName, or InvalidRequest for a malformed
        guest session (the caller generates those). Only failures are limited: a valid
        code always works, also from an address that made many failed attempts (a campus
        NAT, a reverse proxy); past the limit, failures raise RateLimited."""
        session_hash = self.session_hash(guest_session)
        if session_hash is None:
            raise InvalidRequest("malformed guest session")
        async with self._lock:
            inv = None
            if codes.is_well_formed(code):
                code_hash = codes.hash_code(self._key, code)
                inv = await self.store.invitation_by_code_hash(code_hash)
                if inv is not None and not codes.same_hash(inv.code_hash, code_hash):
                    inv = None
            now = self.clock()
            if inv is None or inv.revoked_at is not None or now >= inv.expires_at:
                raise await self._failed(client_address, session_hash, inv, "invalid")

            existing = await self.store.grant_for(inv.id, session_hash)
            if existing is not None:
                if existing.revoked_at is not None or existing.status is GrantStatus.REFUSED:
                    raise await self._failed(client_address, session_hash, inv, "revoked grant")
                return existing  # same browser again: no new use

            name = self._name_for(inv, display_name)
            grant = Grant(
                id="g-" + secrets.token_hex(6),
                invitation_id=inv.id,
                guest_session_id=session_hash,
                display_name=name,
                role=inv.role,
                scope_path=inv.scope_path,
                scope_is_folder=inv.scope_is_folder,
                created_at=now,
                expires_at=inv.expires_at,
                last_seen=now,
                revoked_at=None,
                status=GrantStatus.PENDING if inv.approval_required else GrantStatus.ACTIVE,
            )
            if not await self.store.add_grant(grant, consume_use=True, now=now):
                raise await self._failed(client_address, session_hash, inv, "used up")
            await self.record(
                AuditKind.REDEEMED,
                session_hash,
                grant.scope_path,
                client_address,
                invitation_id=inv.id,
                grant_id=grant.id,
                display_name=name,
                role=grant.role.value,
                status=grant.status.value,
            )
            if grant.status is GrantStatus.PENDING:
                await self.record(
                    AuditKind.APPROVAL_ASKED,
                    session_hash,
                    grant.scope_path,
                    client_address,
                    invitation_id=inv.id,
                    grant_id=grant.id,
                    display_name=name,
                )
        return grant

    def _name_for(self, inv: Invitation, display_name: str | None) -> str:
        if display_name is None or (isinstance(display_name, str) and not display_name.strip()):
            if inv.anonymous_allowed:
                return "Anonymous " + secrets.choice(ANIMALS)
            raise InvalidName("this invitation asks for your name")
        return validate_display_name(display_name)

    async def _failed(
        self, address: str, session_hash: str, inv: Invitation | None, why: str
    ) -> AccessError:
        """Count the failure and audit it (the reason is for the owner, not the guest);
        RateLimited past the address's limit, else InvalidInvitation."""
        self.limiter.fail(address)
        limited = self.limiter.limited(address)
        await self.record(
            AuditKind.REDEEM_FAILED,
            session_hash,
            inv.scope_path if inv else None,
            address,
            invitation_id=inv.id if inv else None,
            reason=why,
        )
        return limited or InvalidInvitation()

    # -- approval --------------------------------------------------------------------

    async def approve(self, grant_id: str) -> Grant:
        return await self._decide(grant_id, GrantStatus.ACTIVE, AuditKind.ADMITTED)

    async def refuse(self, grant_id: str) -> Grant:
        """Refuse a pending grant (the use it took is not given back)."""
        return await self._decide(grant_id, GrantStatus.REFUSED, AuditKind.REFUSED)

    async def _decide(self, grant_id: str, status: GrantStatus, kind: AuditKind) -> Grant:
        async with self._lock:
            grant = await self.store.get_grant(grant_id)
            if grant is None:
                raise NotFound(grant_id)
            if not await self.store.decide_grant(grant_id, status):
                raise InvalidRequest("this grant is not waiting for approval")
            await self.record(
                kind,
                OWNER_ID,
                grant.scope_path,
                grant_id=grant_id,
                guest=grant.guest_session_id,
                display_name=grant.display_name,
            )
            updated = await self.store.get_grant(grant_id)
        assert updated is not None
        return updated

    # -- revocation ------------------------------------------------------------------

    async def revoke_invitation(self, invitation_id: str) -> list[str]:
        """Revoke the invitation and every grant made through it."""
        async with self._lock:
            if await self.store.get_invitation(invitation_id) is None:
                raise NotFound(invitation_id)
            grants = [g for g in await self.store.list_grants() if g.invitation_id == invitation_id]
            done = await self._revoke(AuditKind.INVITATION_REVOKED, None, [invitation_id], grants)
        return done.sessions

    async def revoke_grant(self, grant_id: str) -> list[str]:
        """Revoke one person's grant (the invitation stays usable by others)."""
        async with self._lock:
            grant = await self.store.get_grant(grant_id)
            if grant is None:
                raise NotFound(grant_id)
            done = await self._revoke(AuditKind.GRANT_REVOKED, grant.scope_path, [], [grant])
        return done.sessions

    async def revoke_path(self, path: str) -> list[str]:
        """Revoke every invitation and grant that reaches ``path`` or anything below it."""
        rel = normalize_path(self.root_dir, path)
        async with self._lock:
            invs = [
                i.id
                for i in await self.store.list_invitations()
                if rel == "" or overlaps(i.scope_path, i.scope_is_folder, rel)
            ]
            grants = [
                g
                for g in await self.store.list_grants()
                if rel == "" or overlaps(g.scope_path, g.scope_is_folder, rel)
            ]
            done = await self._revoke(AuditKind.PATH_REVOKED, rel, invs, grants)
        return done.sessions

    async def revoke_all(self) -> list[str]:
        async with self._lock:
            invs = [i.id for i in await self.store.list_invitations()]
            done = await self._revoke(
                AuditKind.ALL_REVOKED, None, invs, await self.store.list_grants()
            )
        return done.sessions

    async def _revoke(
        self, kind: AuditKind, path: str | None, invitation_ids: list[str], grants: Iterable[Grant]
    ) -> Revoked:
        by_id = {g.id: g for g in grants}
        inv_done, grant_done = await self.store.revoke(
            invitation_ids=invitation_ids, grant_ids=list(by_id), now=self.clock()
        )
        sessions = sorted({by_id[g].guest_session_id for g in grant_done})
        await self.record(
            kind,
            OWNER_ID,
            path,
            invitation_ids=inv_done,
            grant_ids=grant_done,
            sessions=len(sessions),
        )
        return Revoked(inv_done, grant_done, sessions)

    # -- lookups ---------------------------------------------------------------------

    async def grants_for_session(self, guest_session: str) -> list[Grant]:
        """Every grant of this guest session (any state); [] for a malformed session id."""
        session_hash = self.session_hash(guest_session)
        return [] if session_hash is None else await self.store.grants_for_session(session_hash)

    async def rotate_session(self, old_session: str, new_session: str) -> str | None:
        """Move the grants of ``old_session`` to ``new_session`` (a fresh id issued at
        redemption and admission, so a session id planted in a browser before never
        carries the grant). Returns the old session's hash (its sockets must be closed),
        or None if either id is malformed."""
        old_hash, new_hash = self.session_hash(old_session), self.session_hash(new_session)
        if old_hash is None or new_hash is None or old_hash == new_hash:
            return None
        async with self._lock:
            await self.store.rebind_session(old_hash, new_hash)
        return old_hash

    async def grants_for_session_hash(self, session_hash: str) -> list[Grant]:
        return await self.store.grants_for_session(session_hash)

    async def principal_for(self, guest_session: str | None) -> tuple[Principal, list[Grant]]:
        """The guest principal and its grants; an anonymous principal without grants when the
        session is missing, malformed, or never redeemed anything."""
        session_hash = self.session_hash(guest_session) if guest_session else None
        grants = await self.store.grants_for_session(session_hash) if session_hash else []
        if not grants or session_hash is None:
            return Principal.anonymous(), []
        latest = max(grants, key=lambda g: g.created_at)
        principal = Principal(
            PrincipalKind.GUEST, session_hash, latest.display_name, colour_for(session_hash)
        )
        return principal, grants

    async def permissions_for(
        self, principal: Principal, grants: Iterable[Grant] | None = None
    ) -> Permissions:
        """The principal with its grants, loaded once (pass ``grants`` if already loaded)."""
        if grants is None:
            grants = []
            if principal.kind in GRANTEE_KINDS and principal.id:
                for grantee in sorted(principal.grantee_ids):
                    grants += await self.store.grants_for_session(grantee)
        return Permissions(principal, tuple(grants), self.clock)

    async def authorize(
        self, principal: Principal, action: Action | str, path: str | None
    ) -> Decision:
        """:func:`tandem.access.policy.authorize` with this principal's current grants.
        ``path`` must already be normalized (see :meth:`resolve`). Never audits."""
        return (await self.permissions_for(principal)).decide(action, path)

    async def refused(
        self,
        principal: Principal,
        action: Action | str,
        path: str | None,
        decision: Decision,
        client_address: str | None = None,
        **detail: Any,
    ) -> None:
        """Audit an action a person tried and was refused (asking alone is never audited)."""
        await self.record(
            AuditKind.ACCESS_DENIED,
            principal.id,
            path,
            client_address,
            action=Action(action).value,
            reason=decision.reason,
            **detail,
        )

    def resolve(self, path: str) -> str:
        """A request's API path as policy compares it (symlinks resolved); InvalidScope if bad."""
        return normalize_path(self.root_dir, path)

    async def touch(self, grant_id: str) -> None:
        await self.store.touch(grant_id, self.clock())

    async def list_grants(self) -> list[Grant]:
        return await self.store.list_grants()

    async def run_scopes(self, path: str) -> list[tuple[str, bool]]:
        """The scopes ``(scope_path, is_folder)`` through which guests may run code in
        ``path`` (normalized) now or after redeeming a link: valid ``run`` grants and
        redeemable ``run`` invitations that cover it. Empty: not shared for running."""
        now = self.clock()
        scopes = {
            (g.scope_path, g.scope_is_folder)
            for g in await self.store.list_grants()
            if g.role is Role.RUN and g.valid(now) and covers(g.scope_path, g.scope_is_folder, path)
        }
        scopes |= {
            (i.scope_path, i.scope_is_folder)
            for i in await self.store.list_invitations()
            if i.role is Role.RUN
            and i.redeemable(now)
            and covers(i.scope_path, i.scope_is_folder, path)
        }
        return sorted(scopes)

    async def runs_as_owner_for(self, principal: Principal, path: str) -> bool:
        """Whether one of ``principal``'s valid ``run`` grants covering ``path`` (normalized)
        came from a link the owner made with ``runs_as_owner``."""
        now = self.clock()
        for grant in (await self.permissions_for(principal)).grants:
            if not (
                grant.role is Role.RUN
                and grant.valid(now)
                and covers(grant.scope_path, grant.scope_is_folder, path)
            ):
                continue
            invitation = await self.store.get_invitation(grant.invitation_id)
            if invitation is not None and invitation.runs_as_owner:
                return True
        return False

    async def audit(
        self, kind: AuditKind | str | None = None, since: float | None = None
    ) -> list[AuditEvent]:
        return await self.store.audit(
            kind=None if kind is None else AuditKind(kind).value, since=since
        )
