from __future__ import annotations

from dataclasses import replace

import pytest

from tandem.access import Action, Grant, GrantStatus, Principal, PrincipalKind, Role, authorize

NOW = 1_000.0
GUEST = Principal(PrincipalKind.GUEST, "s1", "Ada", "#d62728")


def grant(
    role: Role = Role.EDIT,
    path: str = "class",
    folder: bool = True,
    *,
    inv: str = "i-1",
    session: str = "s1",
    **changes,
) -> Grant:
    g = Grant(
        id=f"g-{inv}-{role.value}-{path}",
        invitation_id=inv,
        guest_session_id=session,
        display_name="Ada",
        role=role,
        scope_path=path,
        scope_is_folder=folder,
        created_at=0.0,
        expires_at=NOW + 60,
        last_seen=None,
        revoked_at=None,
        status=GrantStatus.ACTIVE,
    )
    return replace(g, **changes)


def check(action, path, grants, principal=GUEST, now=NOW):
    return authorize(principal=principal, action=action, path=path, grants=grants, now=now)


def test_roles():
    assert Role.VIEW.can(Action.READ) and not Role.VIEW.can(Action.WRITE)
    assert Role.EDIT.can("write") and not Role.EDIT.can(Action.EXECUTE)
    assert Role.RUN.can(Action.EXECUTE) and not Role.RUN.can(Action.SHARE)
    assert all(Role.OWNER.can(a) for a in Action)


def test_owner_may_do_everything():
    for action in Action:
        assert check(action, None, [], principal=Principal.owner())


def test_no_session_is_denied_everything():
    d = check(Action.READ, "class/lesson.ipynb", [grant()], principal=Principal.anonymous())
    assert not d and d.reason == "not signed in"


@pytest.mark.parametrize(
    "role, allowed",
    [
        (Role.VIEW, {Action.READ}),
        (Role.EDIT, {Action.READ, Action.WRITE}),
        (Role.RUN, {Action.READ, Action.WRITE, Action.EXECUTE}),
    ],
)
def test_role_matrix_inside_scope(role, allowed):
    for action in Action:
        assert bool(check(action, "class/lesson.ipynb", [grant(role)])) == (action in allowed)


def test_server_wide_actions_never_for_guests():
    g = [grant(Role.RUN)]
    for action in (Action.SHARE, Action.ADMIN):
        assert not check(action, "class/lesson.ipynb", g)
    assert not check(Action.READ, None, g)


def test_guests_denied_by_default():
    assert check(Action.READ, "class/lesson.ipynb", []).reason == "outside every grant"


def test_scope_file_vs_sibling_and_folder_prefix_trick():
    g = [grant(Role.EDIT, "notes.ipynb", False)]
    assert check(Action.READ, "notes.ipynb", g)
    assert not check(Action.READ, "notes.ipynb.bak", g)
    assert not check(Action.READ, "class/lesson.ipynb", g)
    f = [grant(Role.EDIT, "class", True)]
    assert check(Action.READ, "class/lesson.ipynb", f)
    assert check(Action.READ, "class", f)
    assert not check(Action.READ, "classic/x.ipynb", f)
    assert not check(Action.READ, "", f)  # the root listing


@pytest.mark.parametrize(
    "path", ["class/../notes.ipynb", "/class/lesson.ipynb", "class//x", "class/\x00"]
)
def test_unnormalized_paths_denied(path):
    assert check(Action.READ, path, [grant()]).reason == "invalid path"


def test_someone_elses_grant_does_not_count():
    assert not check(Action.READ, "class/lesson.ipynb", [grant(session="s2")])


def test_expired_pending_refused_revoked_allow_nothing():
    path = "class/lesson.ipynb"
    assert check(Action.READ, path, [grant()], now=NOW + 60).reason == "expired"
    assert (
        check(Action.READ, path, [grant(status=GrantStatus.PENDING)]).reason
        == "waiting for approval"
    )
    assert check(Action.READ, path, [grant(status=GrantStatus.REFUSED)]).reason == "refused"
    assert check(Action.READ, path, [grant(revoked_at=NOW - 1)]).reason == "revoked"


def test_revoked_grant_cancels_same_invitation_grants():
    valid = grant(Role.EDIT, "class", True, inv="i-1")
    revoked = grant(Role.VIEW, "class/lesson.ipynb", False, inv="i-1", revoked_at=NOW - 1)
    assert check(Action.READ, "class/lesson.ipynb", [valid, revoked]).reason == "revoked"
    assert check(Action.READ, "class/lesson.ipynb", [revoked, valid]).reason == "revoked"
    # elsewhere in the folder, the revoked grant does not cover the path
    assert check(Action.READ, "class/answers.ipynb", [valid, revoked])


def test_revoked_grant_does_not_cancel_a_separate_invitation():
    other = grant(Role.VIEW, "class", True, inv="i-2")
    revoked = grant(Role.EDIT, "class", True, inv="i-1", revoked_at=NOW - 1)
    assert check(Action.READ, "class/lesson.ipynb", [revoked, other])
    assert check(Action.WRITE, "class/lesson.ipynb", [revoked, other]).reason == "revoked"


def test_strongest_valid_grant_wins_across_invitations():
    g = [
        grant(Role.VIEW, "class", True, inv="i-1"),
        grant(Role.RUN, "class/lesson.ipynb", False, inv="i-2"),
    ]
    assert check(Action.EXECUTE, "class/lesson.ipynb", g)
    assert not check(Action.EXECUTE, "class/answers.ipynb", g)
