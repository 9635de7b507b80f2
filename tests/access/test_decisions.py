"""One access decision: role and end of each permission, asking never audits, the live
registry that revocation and expiry use (in process, no server)."""

from __future__ import annotations

from dataclasses import replace

from tandem.access import (
    Action,
    Grant,
    GrantStatus,
    LiveConnection,
    LiveRegistry,
    Permissions,
    Principal,
    PrincipalKind,
    Role,
    authorize,
)

NOW = 1_000.0
GUEST = Principal(PrincipalKind.GUEST, "s1", "Ada", "#d62728")
BOB = Principal(PrincipalKind.HUB_USER, "hub:bob", "bob", "#2ca02c", groups=("students",))


def grant(role: Role, expires_at: float, *, inv: str, session: str = "s1", **changes) -> Grant:
    g = Grant(
        id=f"g-{inv}",
        invitation_id=inv,
        guest_session_id=session,
        display_name="Ada",
        role=role,
        scope_path="demo.ipynb",
        scope_is_folder=False,
        created_at=0.0,
        expires_at=expires_at,
        last_seen=None,
        revoked_at=None,
        status=GrantStatus.ACTIVE,
    )
    return replace(g, **changes)


def decide(action, grants, principal=GUEST, now=NOW):
    return authorize(principal=principal, action=action, path="demo.ipynb", grants=grants, now=now)


def test_each_permission_ends_at_its_own_grants_end():
    grants = [grant(Role.VIEW, NOW + 3600, inv="i-view"), grant(Role.EDIT, NOW + 60, inv="i-edit")]
    read, write = decide(Action.READ, grants), decide(Action.WRITE, grants)
    assert read and read.role is Role.EDIT and read.until == NOW + 3600
    assert write and write.role is Role.EDIT and write.until == NOW + 60
    assert not decide(Action.EXECUTE, grants)
    later = decide(Action.READ, grants, now=NOW + 61)
    assert later.role is Role.VIEW and later.until == NOW + 3600
    assert decide(Action.WRITE, grants, now=NOW + 61).reason == "expired"


def test_owner_decision_has_no_end_and_denials_carry_nothing():
    owner = decide(Action.ADMIN, [], principal=Principal.owner())
    assert owner and owner.role is Role.OWNER and owner.until is None
    denied = decide(Action.WRITE, [grant(Role.VIEW, NOW + 60, inv="i-1")])
    assert not denied and denied.role is None and denied.until is None


def test_hub_users_get_exactly_what_their_grants_give():
    mine = grant(Role.EDIT, NOW + 60, inv="i-bob", session="hub:bob")
    assert decide(Action.WRITE, [mine], principal=BOB)
    assert not decide(Action.WRITE, [grant(Role.EDIT, NOW + 60, inv="i-1")], principal=BOB)
    assert not authorize(principal=BOB, action=Action.ADMIN, path=None, grants=[mine], now=NOW)
    assert not decide(Action.EXECUTE, [mine], principal=BOB)


def test_permissions_decide_on_grants_loaded_once():
    clock = [NOW]
    grants = (grant(Role.EDIT, NOW + 10, inv="i-1"), grant(Role.VIEW, NOW + 20, inv="i-2"))
    permissions = Permissions(GUEST, grants, lambda: clock[0])
    assert permissions.decide(Action.WRITE, "demo.ipynb")
    assert [g.id for g in permissions.readable_grants()] == ["g-i-1", "g-i-2"]
    clock[0] = NOW + 15
    assert not permissions.decide(Action.WRITE, "demo.ipynb")
    assert [g.id for g in permissions.readable_grants()] == ["g-i-2"]
    revoked = (grants[0], replace(grants[1], revoked_at=NOW))
    assert Permissions(GUEST, revoked, lambda: NOW).readable_grants() == [grants[0]]


class Socket:
    def __init__(self) -> None:
        self.closed: tuple[int, str] | None = None

    def close(self, code: int, reason: str = "") -> None:
        self.closed = (code, reason)


def test_registry_closes_one_principal_and_sweeps_ended_connections():
    clock = [NOW]
    live = LiveRegistry(lambda: clock[0])
    sockets = {name: Socket() for name in ("ada1", "ada2", "bob", "owner")}
    until = {Action.READ: NOW + 30, Action.WRITE: NOW + 10}
    live.add(LiveConnection("ada1", GUEST, "demo.ipynb", until, sockets["ada1"].close))
    live.add(LiveConnection("ada2", GUEST, "demo.ipynb", until, sockets["ada2"].close))
    bob = LiveConnection("bob", BOB, "demo.ipynb", {Action.READ: NOW + 5}, sockets["bob"].close)
    live.add(bob)
    owner = {Action.READ: None, Action.WRITE: None}
    live.add(LiveConnection("owner", Principal.owner(), None, owner, sockets["owner"].close))

    assert live.close(["s1"]) == 2 and sockets["ada1"].closed == (4403, "Your access was revoked")
    assert live.get("ada1") is None and len(live) == 2
    assert not bob.may(Action.WRITE, NOW) and bob.may(Action.READ, NOW)
    clock[0] = NOW + 5
    assert live.sweep() == 1 and sockets["bob"].closed == (4403, "Your access expired")
    assert sockets["owner"].closed is None and live.get("owner") is not None
    assert live.discard("nobody") is None


def test_write_ends_before_read_on_one_connection():
    conn = LiveConnection(
        "p", GUEST, "demo.ipynb", {Action.READ: NOW + 30, Action.WRITE: NOW + 10}, lambda c, r: None
    )
    assert conn.may(Action.WRITE, NOW + 9) and not conn.may(Action.WRITE, NOW + 10)
    assert not conn.ended(NOW + 10) and conn.ended(NOW + 30)
    assert not conn.may(Action.EXECUTE, NOW)
