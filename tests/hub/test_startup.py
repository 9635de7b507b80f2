"""Where the store sits (in process): network file systems and home volumes are flagged."""

from __future__ import annotations

from pathlib import Path

from tandem.hub.startup import filesystem_of, store_warning


def mounts(tmp_path: Path, lines: str) -> str:
    path = tmp_path / "mounts"
    path.write_text(lines, encoding="utf-8")
    return str(path)


def test_network_file_systems_and_home_folders_are_flagged(tmp_path: Path):
    table = mounts(
        tmp_path,
        "/dev/sda1 / ext4 rw 0 0\nhub:/home /home nfs4 rw 0 0\n/dev/sdb /srv/tandem xfs rw 0 0\n",
    )
    assert filesystem_of("/home/alice/x", table) == "nfs4"
    assert filesystem_of("/srv/tandem/alice", table) == "xfs"
    assert filesystem_of("/homework", table) == "ext4"  # a prefix of a name is not inside
    assert "nfs4" in (store_warning("/home/alice/t.sqlite", home="/nowhere", mounts=table) or "")
    assert store_warning("/srv/tandem/alice/t.sqlite", home="/home/alice", mounts=table) is None
    local = store_warning("/data/alice/.local/t.sqlite", home="/data/alice", mounts=table)
    assert local is not None and "home folder" in local


def test_who_the_hub_says_is_the_owner():
    from tandem.access import PrincipalKind
    from tandem.hub.identity import hub_principal, is_owner_model

    assert is_owner_model({"kind": "user", "name": "alice", "scopes": []}, "alice")
    assert is_owner_model({"kind": "user", "name": "root", "admin": True}, "alice")
    assert is_owner_model({"name": "ta", "scopes": ["admin:servers!user=alice"]}, "alice")
    assert not is_owner_model({"name": "ta", "scopes": ["admin:servers!user=bob"]}, "alice")
    assert not is_owner_model({"name": "bob", "scopes": ["access:servers!server=alice/"]}, "alice")
    assert not is_owner_model({"kind": "service", "name": "alice"}, "alice")
    bob = hub_principal({"name": "bob", "groups": ["ta", "students"]})
    assert bob.kind is PrincipalKind.HUB_USER and bob.id == "hub:bob"
    assert bob.grantee_ids == {"hub:bob", "hub-group:students", "hub-group:ta"}
