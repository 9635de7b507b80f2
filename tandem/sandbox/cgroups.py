"""The kernel's own process cgroup (``pids.max``): made by the launcher, removed by the
server when the kernel ends."""

from __future__ import annotations

import contextlib
import os
import signal

__all__ = ["CGROUP_ROOTS", "join_pids_cgroup", "own_cgroup", "remove_cgroup"]

CGROUP_ROOTS = ("/sys/fs/cgroup", "/sys/fs/cgroup/unified", "/sys/fs/cgroup/pids")


def join_pids_cgroup(name: str, limit: int) -> str | None:
    """A cgroup of its own with ``pids.max``: the process limit that also binds root (for
    whom the kernel ignores RLIMIT_NPROC). Needs a writable cgroup (root, or a delegated
    one); returns its path, or None when there is none."""
    if limit <= 0:
        return None
    for base in CGROUP_ROOTS:
        parent = os.path.join(base, own_cgroup(base).lstrip("/"))
        if not os.path.exists(os.path.join(parent, "cgroup.procs")):
            continue
        path = os.path.join(parent, f"tandem-{name}")
        try:
            os.makedirs(path, exist_ok=True)
            _write_file(os.path.join(path, "pids.max"), str(limit))
            _write_file(os.path.join(path, "cgroup.procs"), str(os.getpid()))
            return path
        except OSError:
            try:
                os.rmdir(path)
            except OSError:
                pass
    return None


def own_cgroup(base: str) -> str:
    """This process's cgroup path in the hierarchy mounted at ``base``."""
    v1 = os.path.basename(base)
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _id, controllers, path = line.rstrip("\n").split(":", 2)
                if (v1 == "pids" and "pids" in controllers.split(",")) or (
                    v1 != "pids" and controllers == ""
                ):
                    return path
    except OSError:
        pass
    return "/"


def _write_file(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


async def remove_cgroup(kernel_id: str) -> None:
    """Kill what is left in the kernel's cgroup (children that outlived it), then remove it."""
    import asyncio  # here: the launcher imports this module and needs no event loop

    for base in CGROUP_ROOTS:
        path = os.path.join(base, own_cgroup(base).lstrip("/"), f"tandem-{kernel_id}")
        for _attempt in range(40):
            if not os.path.isdir(path):
                break
            try:
                with open(os.path.join(path, "cgroup.procs")) as f:
                    for pid in f.read().split():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), signal.SIGKILL)
                os.rmdir(path)
            except OSError:
                await asyncio.sleep(0.05)
