"""``python -m tandem.sandbox.launch --policy JSON -- KERNEL ARGV...``

Confines this process, then execs the kernel in its place, so no kernel code ever runs
unconfined. In order: a user namespace (and an empty network namespace for ``none``), the
resource limits, Landlock (filesystem, TCP, signal and abstract-socket scoping), the scrubbed
environment, and exec. Any step that must hold and fails stops the launch: the kernel never
starts rather than starting with less confinement than promised.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import sys

from .cgroups import join_pids_cgroup
from .landlock import (
    FS_READ,
    FS_READ_FILE,
    FS_READ_WRITE,
    FS_WRITE_FILE,
    NET_BIND_TCP,
    Landlock,
)
from .policy import DEVICES, Confinement, python_read_only, scrubbed_environment, system_read_only

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x2, 0x4, 0x8
MS_REC, MS_PRIVATE = 0x4000, 0x40000
SHM = "/dev/shm"

_libc = ctypes.CDLL(None, use_errno=True)


def enter_namespaces(network_none: bool, shm_bytes: int) -> list[str]:
    """A user namespace mapping only our own ids (capabilities there mean nothing outside,
    so the process limit binds even for root); an empty network namespace for ``none``; a
    mount namespace whose only change is a private, size-limited ``/dev/shm`` (POSIX
    semaphores and shared memory: ``multiprocessing``, process pools). Returns what was
    applied; an unavailable user or mount namespace is reported, not fatal (without the
    private ``/dev/shm`` the kernel gets none)."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWUSER | (CLONE_NEWNET if network_none else 0)
    applied: list[str] = []
    if _libc.unshare(flags | CLONE_NEWNS) == 0:
        applied.append("mount")
    elif _libc.unshare(flags) != 0:
        return []
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")
    applied[:0] = ["user"] + (["network"] if network_none else [])
    if "mount" in applied and not private_shm(shm_bytes):
        applied.remove("mount")
    return applied


def private_shm(size: int) -> bool:
    """Mount a fresh tmpfs on ``/dev/shm`` in this (new) mount namespace, nothing of the
    host's shared memory visible. False if it could not be done."""
    if not os.path.isdir(SHM) or size <= 0:
        return False
    if _libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    options = f"size={size},mode=1777".encode()
    flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    return _libc.mount(b"tmpfs", SHM.encode(), b"tmpfs", flags, options) == 0


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def apply_limits(policy: Confinement) -> None:
    limits = policy.limits
    for which, value in (
        (resource.RLIMIT_AS, limits.memory_bytes),
        (resource.RLIMIT_NPROC, limits.processes),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
    ):
        if value or which == resource.RLIMIT_CORE:
            _soft, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))


def apply_landlock(
    policy: Confinement, argv: list[str], tcp: bool, shm: bool = False
) -> dict[str, object]:
    ruleset = Landlock(restrict_tcp=tcp)
    for path in (*system_read_only(), *python_read_only(argv[:1]), *policy.read_only):
        ruleset.allow_path(path, FS_READ)
    for path in policy.read_only_files:
        ruleset.allow_path(path, FS_READ_FILE)
    for path in DEVICES:
        ruleset.allow_path(path, FS_READ_FILE | FS_WRITE_FILE)
    ruleset.allow_path(policy.home, FS_READ_WRITE)
    ruleset.allow_path(policy.scope, FS_READ_WRITE)
    if shm:  # the private tmpfs mounted over it, never the host's /dev/shm
        ruleset.allow_path(SHM, FS_READ_WRITE)
    if tcp:
        for port in policy.kernel_ports:
            ruleset.allow_port(port, NET_BIND_TCP)
    if tcp and policy.network == "outbound":
        for port in policy.ports:
            ruleset.allow_port(port)
    return ruleset.restrict().summary()


def confine(policy: Confinement, argv: list[str]) -> dict[str, object]:
    """Apply everything to this process; returns the record of what applied."""
    cgroup = join_pids_cgroup(policy.name, policy.limits.processes)
    namespaces = enter_namespaces(policy.network == "none", policy.limits.shm_bytes)
    apply_limits(policy)
    # "none" without a network namespace still refuses TCP through Landlock.
    tcp = policy.network == "outbound" or (policy.network == "none" and "network" not in namespaces)
    record = apply_landlock(policy, argv, tcp, shm="mount" in namespaces)
    record["namespaces"] = namespaces
    record["pids_cgroup"] = cgroup is not None
    return record


def main(args: list[str]) -> int:
    if len(args) < 4 or args[0] != "--policy" or args[2] != "--":
        print("usage: python -m tandem.sandbox.launch --policy JSON -- ARGV...", file=sys.stderr)
        return 2
    policy = Confinement.from_json(args[1])
    argv = list(args[3:])
    found = shutil.which(argv[0])
    if found is None:
        print(f"tandem sandbox: no program {argv[0]!r}", file=sys.stderr)
        return 127
    argv[0] = os.path.abspath(found)
    try:
        record = confine(policy, argv)
    except OSError as error:
        print(f"tandem sandbox: cannot confine the kernel: {error}", file=sys.stderr)
        return 70
    env = scrubbed_environment(os.environ, policy.home, policy.keep_env)
    env["TANDEM_SANDBOX"] = json.dumps(record)
    print(
        f"tandem sandbox: kernel {policy.name} confined to {policy.scope}: {env['TANDEM_SANDBOX']}",
        file=sys.stderr,
        flush=True,
    )  # the server's log
    for sub in (".ipython", ".config/matplotlib", ".cache", ".local/share/jupyter/runtime"):
        os.makedirs(os.path.join(policy.home, sub), exist_ok=True)
    os.chdir(policy.cwd)
    os.execvpe(argv[0], argv, env)
    return 127  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
