"""Linux Landlock through its three system calls (ctypes, no native dependency).

Landlock is allow-only: a process builds a ruleset naming the kinds of access it wants the
kernel to check ("handled"), adds rules that allow some of them beneath some paths or on
some TCP ports, then restricts itself. From then on it, and every process it starts, can do
a handled access only where a rule allows it. Unprivileged, and root is bound too.
"""

from __future__ import annotations

import ctypes
import os
import platform
from dataclasses import dataclass, field

__all__ = [
    "FS_READ",
    "FS_READ_WRITE",
    "Landlock",
    "LandlockError",
    "Restriction",
    "abi_version",
]

# x86_64 and aarch64 share the generic syscall numbers for Landlock.
_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2

# Filesystem rights, by the ABI that introduced them.
FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
"""The only rights a rule on a single (non-directory) file may carry."""

FS_READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
FS_READ_WRITE = (1 << 16) - 1 & ~(FS_MAKE_CHAR | FS_MAKE_BLOCK)
"""Everything but creating device nodes."""


class LandlockError(OSError):
    """Landlock is missing, disabled, or refused a rule."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscalls() -> tuple[int, int, int] | None:
    if platform.system() != "Linux":
        return None
    return _SYSCALLS.get(platform.machine())


def abi_version() -> int:
    """The Landlock ABI the running kernel offers; 0 when there is none (or it is disabled)."""
    numbers = _syscalls()
    if numbers is None:
        return 0
    version = _libc.syscall(numbers[0], None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION)
    return max(int(version), 0)


def handled_fs(abi: int) -> int:
    """Every filesystem right the given ABI knows."""
    best = 0
    for level, rights in _FS_BY_ABI.items():
        if abi >= level:
            best = rights
    return best


@dataclass
class Restriction:
    """What a call to :meth:`Landlock.restrict` applied, for the record (and the docs)."""

    abi: int
    fs_rights: int = 0
    net_rights: int = 0
    scopes: int = 0
    rules: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Paths named in the policy that do not exist (nothing to allow)."""

    def summary(self) -> dict[str, object]:
        return {
            "abi": self.abi,
            "filesystem": bool(self.fs_rights),
            "tcp": bool(self.net_rights),
            "signals_scoped": bool(self.scopes & SCOPE_SIGNAL),
            "abstract_unix_scoped": bool(self.scopes & SCOPE_ABSTRACT_UNIX_SOCKET),
        }


class Landlock:
    """A ruleset under construction: :meth:`allow_path`, :meth:`allow_port`, then
    :meth:`restrict` (irreversible for this process and its children)."""

    def __init__(self, *, restrict_tcp: bool, scope: bool = True) -> None:
        numbers = _syscalls()
        abi = abi_version()
        if numbers is None or abi < 1:
            raise LandlockError("Landlock is not available on this system")
        self._create, self._add, self._restrict = numbers
        self.record = Restriction(abi=abi, fs_rights=handled_fs(abi))
        if restrict_tcp and abi >= 4:
            self.record.net_rights = NET_BIND_TCP | NET_CONNECT_TCP
        if scope and abi >= 6:
            self.record.scopes = SCOPE_SIGNAL | SCOPE_ABSTRACT_UNIX_SOCKET
        attr = _RulesetAttr(self.record.fs_rights, self.record.net_rights, self.record.scopes)
        size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
        fd = _libc.syscall(self._create, ctypes.byref(attr), ctypes.c_size_t(size), 0)
        if fd < 0:
            raise _error("landlock_create_ruleset")
        self._fd = int(fd)

    def allow_path(self, path: str, rights: int) -> None:
        """Allow ``rights`` beneath ``path`` (a directory) or on it (a file)."""
        try:
            target = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except FileNotFoundError:
            self.record.skipped.append(path)
            return
        try:
            rights &= self.record.fs_rights
            if not os.path.isdir(f"/proc/self/fd/{target}"):
                rights &= _FILE_RIGHTS
            rule = _PathBeneathAttr(rights, target)
            if _libc.syscall(self._add, self._fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0) < 0:
                raise _error(f"landlock_add_rule({path!r})")
            self.record.rules.append(f"{'rw' if rights & FS_WRITE_FILE else 'ro'} {path}")
        finally:
            os.close(target)

    def allow_port(self, port: int, rights: int = NET_CONNECT_TCP) -> None:
        if not self.record.net_rights:
            return
        rule = _NetPortAttr(rights & self.record.net_rights, port)
        if _libc.syscall(self._add, self._fd, _RULE_NET_PORT, ctypes.byref(rule), 0) < 0:
            raise _error(f"landlock_add_rule(port {port})")
        self.record.rules.append(f"tcp {port}")

    def restrict(self) -> Restriction:
        """Confine this process (and all it starts) to the rules added so far."""
        set_no_new_privs()
        if _libc.syscall(self._restrict, self._fd, 0) < 0:
            raise _error("landlock_restrict_self")
        os.close(self._fd)
        return self.record


PR_SET_NO_NEW_PRIVS = 38


def set_no_new_privs() -> None:
    """No setuid/file-capability gains across exec (Landlock requires it unprivileged)."""
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise _error("prctl(PR_SET_NO_NEW_PRIVS)")


def _error(what: str) -> LandlockError:
    errno = ctypes.get_errno()
    return LandlockError(errno, f"{what}: {os.strerror(errno)}")
