"""Each attack from issue 3, tried at the service level, and shown to fail."""

from __future__ import annotations

import pytest

from tandem.access import (
    AccessService,
    AccessStore,
    Action,
    AuditKind,
    GrantStatus,
    InvalidInvitation,
    InvalidName,
    InvalidRequest,
    InvalidScope,
    NotFound,
    PrincipalKind,
    RateLimited,
    Role,
    new_session_id,
)
from tandem.access.codes import new_code

IP = "203.0.113.7"
HOUR = 3600.0


async def can(service: AccessService, session: str, action: Action, path: str) -> bool:
    principal, _ = await service.principal_for(session)
    return bool(await service.authorize(principal, action, service.resolve(path)))


async def join(service: AccessService, code: str, name: str | None = "Ada", ip: str = IP):
    session = new_session_id()
    return session, await service.redeem(code, session, name, ip)


# -- creation -----------------------------------------------------------------------


async def test_defaults_view_and_24_hours(service, clock):
    inv, code = await service.create_invitation("class")
    assert inv.role is Role.VIEW and inv.expires_at == clock.now + 24 * HOUR
    assert inv.scope_path == "class" and inv.scope_is_folder
    assert code not in repr(inv)


@pytest.mark.parametrize(
    "scope",
    [
        "../outside",
        "/etc",
        "out",
        "out/private.ipynb",
        "private-link.ipynb",
        "%2e%2e/outside",
        "",
        "nope.ipynb",
    ],
)
async def test_scope_outside_root_rejected_at_creation(service, scope):
    with pytest.raises(InvalidScope):
        await service.create_invitation(scope)
    assert await service.list_invitations() == []


async def test_bad_parameters_rejected(service):
    for kwargs in (
        {"role": "owner"},
        {"role": "root"},
        {"expires_in": 0},
        {"expires_in": 31 * 24 * HOUR},
        {"max_uses": 0},
        {"max_uses": 1.5},
        {"label": "x" * 201},
        {"label": "a\x1bb"},
    ):
        with pytest.raises(InvalidRequest):
            await service.create_invitation("class", **kwargs)


async def test_maximum_expiry_is_configurable(store, key, root, clock):
    service = AccessService(store, key, str(root), clock, default_expiry=HOUR, max_expiry=2 * HOUR)
    inv, _ = await service.create_invitation("class")
    assert inv.expires_at == clock.now + HOUR
    with pytest.raises(InvalidRequest):
        await service.create_invitation("class", expires_in=3 * HOUR)


# -- 1. scope -----------------------------------------------------------------------


async def test_file_scope_reaches_nothing_else(service):
    _, code = await service.create_invitation("notes.ipynb", role="run")
    session, _ = await join(service, code)
    assert await can(service, session, Action.EXECUTE, "notes.ipynb")
    for other in ("notes.ipynb.bak", "class/lesson.ipynb", "class", "alias/lesson.ipynb"):
        for action in (Action.READ, Action.WRITE, Action.EXECUTE):
            assert not await can(service, session, action, other)
    principal, _ = await service.principal_for(session)
    assert not await service.authorize(principal, Action.READ, "")  # listing the root
    assert not await service.authorize(principal, Action.ADMIN, None)  # terminals, kernelspecs
    for bad in ("../outside/private.ipynb", "out/private.ipynb"):
        with pytest.raises(InvalidScope):
            service.resolve(bad)
    assert service.resolve("%2e%2e/x") == "%2e%2e/x"  # decoded once already: a literal name


async def test_folder_scope_and_prefix_trick(service):
    _, code = await service.create_invitation("class", role="edit")
    session, _ = await join(service, code)
    assert await can(service, session, Action.WRITE, "class/lesson.ipynb")
    assert await can(service, session, Action.WRITE, "alias/answers.ipynb")  # symlink inside
    assert not await can(service, session, Action.EXECUTE, "class/lesson.ipynb")
    assert not await can(service, session, Action.READ, "classic/x.ipynb")


async def test_view_guest_cannot_write(service):
    _, code = await service.create_invitation("class", role="view")
    session, _ = await join(service, code)
    assert await can(service, session, Action.READ, "class/lesson.ipynb")
    assert not await can(service, session, Action.WRITE, "class/lesson.ipynb")


# -- 2. expiry and restarts ----------------------------------------------------------


async def test_expiry_passing_denies_next_request(service, clock):
    _, code = await service.create_invitation("class", expires_in=HOUR)
    session, _ = await join(service, code)
    assert await can(service, session, Action.READ, "class/lesson.ipynb")
    clock.advance(HOUR)
    assert not await can(service, session, Action.READ, "class/lesson.ipynb")
    with pytest.raises(InvalidInvitation):
        await join(service, code)


async def test_invitations_and_grants_survive_restart(db_path, key, root, clock):
    store = AccessStore(db_path)
    await store.start()
    service = AccessService(store, key, str(root), clock)
    inv, code = await service.create_invitation(
        "class", role="edit", expires_in=2 * HOUR, max_uses=2
    )
    session, grant = await join(service, code)
    await store.stop()

    store = AccessStore(db_path)
    await store.start()
    try:
        service = AccessService(store, key, str(root), clock)
        [inv2] = await service.list_invitations()
        assert inv2.expires_at == inv.expires_at and inv2.uses == 1 and inv2.max_uses == 2
        assert await service.grants_for_session(session) == [grant]
        assert await can(service, session, Action.WRITE, "class/lesson.ipynb")
        await join(service, code)  # the second use still works after restart
        clock.advance(2 * HOUR)
        assert not await can(service, session, Action.READ, "class/lesson.ipynb")
    finally:
        await store.stop()


# -- 3. revocation -------------------------------------------------------------------


async def test_revoke_invitation(service):
    inv, code = await service.create_invitation("class")
    s1, _ = await join(service, code)
    s2, _ = await join(service, code)
    affected = await service.revoke_invitation(inv.id)
    assert sorted(affected) == sorted([service.session_hash(s1), service.session_hash(s2)])
    for s in (s1, s2):
        assert not await can(service, s, Action.READ, "class/lesson.ipynb")
    with pytest.raises(InvalidInvitation):
        await join(service, code)
    assert await service.revoke_invitation(inv.id) == []  # already done


async def test_revoke_one_grant(service):
    _, code = await service.create_invitation("class")
    s1, g1 = await join(service, code)
    s2, _ = await join(service, code)
    assert await service.revoke_grant(g1.id) == [service.session_hash(s1)]
    assert not await can(service, s1, Action.READ, "class/lesson.ipynb")
    assert await can(service, s2, Action.READ, "class/lesson.ipynb")
    with pytest.raises(InvalidInvitation):  # the same browser cannot simply redeem again
        await service.redeem(code, s1, "Ada", IP)


async def test_revoke_path(service):
    _, folder_code = await service.create_invitation("class")
    _, file_code = await service.create_invitation("class/lesson.ipynb")
    _, other_code = await service.create_invitation("classic/x.ipynb")
    s1, _ = await join(service, folder_code)
    s2, _ = await join(service, file_code)
    s3, _ = await join(service, other_code)
    affected = await service.revoke_path("class/lesson.ipynb")
    assert sorted(affected) == sorted([service.session_hash(s1), service.session_hash(s2)])
    assert not await can(service, s1, Action.READ, "class/answers.ipynb")
    assert not await can(service, s2, Action.READ, "class/lesson.ipynb")
    assert await can(service, s3, Action.READ, "classic/x.ipynb")
    for code in (folder_code, file_code):
        with pytest.raises(InvalidInvitation):
            await join(service, code)


async def test_revoke_all(service):
    _, c1 = await service.create_invitation("class")
    _, c2 = await service.create_invitation("notes.ipynb", approval_required=True)
    s1, _ = await join(service, c1)
    s2, _ = await join(service, c2)  # pending: its waiting socket must close too
    assert sorted(await service.revoke_all()) == sorted(
        [service.session_hash(s1), service.session_hash(s2)]
    )
    assert not await can(service, s1, Action.READ, "class/lesson.ipynb")
    assert all(i.revoked_at is not None for i in await service.list_invitations())
    assert all(g.revoked_at is not None for g in await service.list_grants())
    for code in (c1, c2):
        with pytest.raises(InvalidInvitation):
            await join(service, code)
    assert await service.revoke_all() == []


async def test_revoke_unknown_ids(service):
    with pytest.raises(NotFound):
        await service.revoke_invitation("i-nope")
    with pytest.raises(NotFound):
        await service.revoke_grant("g-nope")


# -- 4. forwarding -------------------------------------------------------------------


async def test_forwarded_single_use_link_fails(service):
    _, code = await service.create_invitation("class", max_uses=1)
    s1, g1 = await join(service, code)
    assert await service.redeem(code, s1, "Ada", IP) == g1  # same browser: same grant, no use
    assert (await service.list_invitations())[0].uses == 1
    with pytest.raises(InvalidInvitation):
        await join(service, code, "Mallory", "198.51.100.1")
    assert len(await service.list_grants()) == 1


async def test_max_uses_caps_redemptions(service):
    _, code = await service.create_invitation("class", max_uses=3)
    for _ in range(3):
        await join(service, code)
    with pytest.raises(InvalidInvitation):
        await join(service, code)


async def test_approval_admit_and_refuse(service):
    _, code = await service.create_invitation("class", role="edit", approval_required=True)
    s1, pending = await join(service, code, "Ada")
    s2, asking = await join(service, code, "Mallory")
    assert pending.status is GrantStatus.PENDING
    assert not await can(service, s1, Action.READ, "class/lesson.ipynb")
    admitted = await service.approve(pending.id)
    assert admitted.status is GrantStatus.ACTIVE
    assert await can(service, s1, Action.WRITE, "class/lesson.ipynb")
    refused = await service.refuse(asking.id)
    assert refused.status is GrantStatus.REFUSED
    assert not await can(service, s2, Action.READ, "class/lesson.ipynb")
    with pytest.raises(InvalidInvitation):  # asking again from the refused browser
        await service.redeem(code, s2, "Mallory", IP)
    with pytest.raises(InvalidRequest):
        await service.approve(asking.id)  # refused stays refused
    with pytest.raises(NotFound):
        await service.approve("g-nope")


# -- 5. identity ---------------------------------------------------------------------


async def test_names_validated(service):
    _, code = await service.create_invitation("class", max_uses=None)
    session, grant = await join(service, code, "  Ada Lovelace  ")
    assert grant.display_name == "Ada Lovelace"
    principal, _ = await service.principal_for(session)
    assert principal.kind is PrincipalKind.GUEST and principal.display_name == "Ada Lovelace"
    assert principal.id == service.session_hash(session) and principal.colour.startswith("#")
    for bad in (
        "",
        "   ",
        None,
        "x" * 65,
        "Ada\x00",
        "Ada\nOwner",
        "Ada\u202eodnaL",
        "Ada\u200b",
        "\x1b[31mred",
    ):
        with pytest.raises(InvalidName):
            await join(service, code, bad)
    assert (await service.list_invitations())[0].uses == 1  # bad names used nothing


async def test_anonymous_only_when_allowed(service):
    _, code = await service.create_invitation("class", anonymous_allowed=True)
    _, grant = await join(service, code, None)
    assert grant.display_name.startswith("Anonymous ")
    _, grant = await join(service, code, "Ada")
    assert grant.display_name == "Ada"


# -- bad input and rate limiting -----------------------------------------------------


@pytest.mark.parametrize(
    "code", ["", "x", "a" * 31, "a" * 33, "a" * 31 + "\x00", "../../etc", "%41" * 11, "a" * 100_000]
)
async def test_malformed_codes(service, code):
    with pytest.raises(InvalidInvitation):
        await service.redeem(code, new_session_id(), "Ada", IP)


async def test_every_bad_code_fails_the_same_way(service, clock):
    _, c_expired = await service.create_invitation("class", expires_in=60)
    revoked, c_revoked = await service.create_invitation("class")
    _, c_used = await service.create_invitation("class", max_uses=1)
    await join(service, c_used)
    await service.revoke_invitation(revoked.id)
    clock.advance(60)
    messages = set()
    for code in (new_code(), "bad", c_expired, c_revoked, c_used):
        with pytest.raises(InvalidInvitation) as info:
            await service.redeem(code, new_session_id(), "Ada", IP)
        messages.add(str(info.value))
    assert len(messages) == 1


async def test_malformed_guest_session(service):
    _, code = await service.create_invitation("class")
    with pytest.raises(InvalidRequest):
        await service.redeem(code, "not-a-session", "Ada", IP)
    assert await service.grants_for_session("not-a-session") == []
    principal, grants = await service.principal_for("not-a-session")
    assert principal.kind is PrincipalKind.ANONYMOUS and grants == []


async def test_failed_redemptions_are_rate_limited(service, clock):
    _, code = await service.create_invitation("class")
    for _ in range(10):
        with pytest.raises(InvalidInvitation):
            await service.redeem(new_code(), new_session_id(), "Ada", IP)
    with pytest.raises(RateLimited) as info:  # one failure more: limited
        await service.redeem(new_code(), new_session_id(), "Ada", IP)
    assert 0 < info.value.retry_after <= 60
    with pytest.raises(RateLimited):  # previews count alike
        await service.preview(new_code(), IP)
    # The right code is never punished for others' failures behind the same address.
    await service.redeem(code, new_session_id(), "Ada", IP)
    with pytest.raises(InvalidInvitation):  # other clients unaffected
        await service.redeem(new_code(), new_session_id(), "Ada", "198.51.100.1")
    clock.advance(61)
    with pytest.raises(InvalidInvitation):
        await service.redeem(new_code(), new_session_id(), "Ada", IP)


# -- secrets at rest and the audit trail ---------------------------------------------


async def test_database_never_holds_codes_or_sessions(service, db_path, store):
    secrets_seen = []
    for kwargs in ({}, {"approval_required": True}, {"anonymous_allowed": True}):
        _, code = await service.create_invitation("class", **kwargs)
        session, grant = await join(
            service, code, None if kwargs.get("anonymous_allowed") else "Ada"
        )
        await service.touch(grant.id)
        secrets_seen += [code, session]
    await service.revoke_all()
    await store.stop()
    blob = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
    assert len(blob) > 0
    for secret in secrets_seen:
        assert secret.encode() not in blob
    await store.start()


async def test_audit_is_complete(service, clock):
    inv, code = await service.create_invitation("class", approval_required=True, label="lab")
    with pytest.raises(InvalidInvitation):
        await service.redeem(new_code(), new_session_id(), "Eve", IP)
    s1, g1 = await join(service, code)
    _, g2 = await join(service, code, "Bob")
    await service.approve(g1.id)
    await service.refuse(g2.id)
    await service.record(AuditKind.ROOM_JOINED, g1.guest_session_id, "class/lesson.ipynb", IP)
    await service.record(
        AuditKind.ACCESS_DENIED, g2.guest_session_id, "notes.ipynb", IP, action="read"
    )
    await service.revoke_grant(g1.id)
    await service.revoke_path("class")
    await service.revoke_invitation(inv.id)
    await service.revoke_all()
    events = await service.audit()
    assert [e.kind for e in events] == [
        "invitation_created",
        "redeem_failed",
        "redeemed",
        "approval_asked",
        "redeemed",
        "approval_asked",
        "admitted",
        "refused",
        "room_joined",
        "access_denied",
        "grant_revoked",
        "path_revoked",
        "invitation_revoked",
        "all_revoked",
    ]
    redeemed = (await service.audit(kind="redeemed"))[0]
    assert redeemed.principal_id == service.session_hash(s1)
    assert redeemed.client_address == IP and redeemed.path == "class"
    assert redeemed.detail["grant_id"] == g1.id
    assert all(code not in repr(e) and s1 not in repr(e) for e in events)
    clock.advance(10)
    await service.record("execution_requested", g1.guest_session_id, "class/lesson.ipynb")
    assert [e.kind for e in await service.audit(since=clock.now)] == ["execution_requested"]


async def test_touch_updates_last_seen(service, clock):
    _, code = await service.create_invitation("class")
    session, grant = await join(service, code)
    clock.advance(5)
    await service.touch(grant.id)
    [g] = await service.grants_for_session(session)
    assert g.last_seen == clock.now
