"""What Tandem says when it starts under JupyterHub (one log line, and a warning where
the store would sit on a network file system or a home volume)."""

from __future__ import annotations

import os

__all__ = ["filesystem_of", "store_warning", "summary"]

NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "lustre", "glusterfs", "ceph", "9p"}
)


def filesystem_of(path: str, mounts: str = "/proc/mounts") -> str | None:
    """The type of the file system ``path`` is on (the longest matching mount point)."""
    real = os.path.realpath(path)
    best, kind = "", None
    try:
        with open(mounts, encoding="utf-8") as lines:
            for line in lines:
                parts = line.split()
                if len(parts) < 3:
                    continue
                point = parts[1].replace("\\040", " ")
                inside = real == point or real.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, parts[2]
    except OSError:
        return None
    return kind


def store_warning(path: str, home: str | None = None, mounts: str = "/proc/mounts") -> str | None:
    """Why ``path`` is a risky place for SQLite, or None."""
    kind = filesystem_of(os.path.dirname(path) or ".", mounts)
    if kind in NETWORK_FILESYSTEMS:
        return f"the Tandem store {path} is on {kind}: SQLite corrupts on network file systems"
    home = home if home is not None else os.path.expanduser("~")
    real = os.path.realpath(path)
    if home and real.startswith(os.path.realpath(home).rstrip("/") + "/"):
        return (
            f"the Tandem store {path} is in the home folder, which hubs often mount over NFS "
            "(SQLite corrupts there): set c.TandemApp.db_path to a local volume"
        )
    return None


def summary(owner: str, hub_users: bool, link_guests: bool, store: str) -> str:
    return (
        f"Tandem runs under JupyterHub for {owner or '?'}: hub users "
        f"{'enabled' if hub_users else 'disabled'}, link guests "
        f"{'enabled' if link_guests else 'disabled'}, store {store}"
    )
