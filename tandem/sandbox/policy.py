"""What a confined kernel may reach: a plain record the server builds and the launcher
applies, and the environment it starts with."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

__all__ = [
    "NETWORK_MODES",
    "Confinement",
    "Limits",
    "contains",
    "scrubbed_environment",
    "system_read_only",
]

NETWORK_MODES = ("none", "outbound", "all")
"""``none``: no network at all (an empty network namespace, else Landlock refuses every TCP
bind and connect); ``outbound``: TCP connect only to ``ports`` (80, 443 by default), which
refuses the server, the hub and other kernels on loopback; ``all``: unrestricted."""

SYSTEM_READ_ONLY = (
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/opt/conda",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/pki",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/gai.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/mime.types",
    "/etc/fonts",
    "/etc/matplotlibrc",
    "/proc/self",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/loadavg",
    "/proc/filesystems",
    "/sys/devices/system/cpu",
)
"""System libraries and the ``/etc`` bits programs need. Of ``/proc`` only the kernel's own
process (``/proc/self`` as it resolves in the launcher, whose pid the kernel keeps) and a few
system-wide files: no process list, no other process's command line."""

DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty")

KEPT_VARIABLES = ("PATH", "LANG", "LANGUAGE", "TERM", "TZ", "USER", "LOGNAME", "SHELL")
KEPT_PREFIXES = ("LC_", "JPY_SESSION_NAME", "JPY_PARENT_PID")
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "KEY", "COOKIE", "CREDENTIAL", "AUTH")


@dataclass(frozen=True)
class Limits:
    """Per-process resource limits (setrlimit); 0 means no limit."""

    memory_bytes: int = 4 * 1024**3
    processes: int = 256
    cpu_seconds: int = 0
    open_files: int = 1024
    shm_bytes: int = 256 * 1024**2
    """Size of the kernel's private ``/dev/shm`` (a tmpfs in its own mount namespace)."""


@dataclass(frozen=True)
class Confinement:
    """Everything the launcher needs. Paths are absolute and resolved."""

    name: str
    """The kernel id: names the kernel's process-count cgroup."""
    scope: str
    """The shared scope: read-write (a folder, or one file)."""
    home: str
    """The kernel's private home and temp directory (read-write, removed with the kernel)."""
    cwd: str
    read_only: tuple[str, ...] = ()
    """Beyond the system paths: the Python prefix, site-packages, kernelspec resources."""
    read_only_files: tuple[str, ...] = ()
    """Single files the kernel must read (its connection file)."""
    network: str = "none"
    ports: tuple[int, ...] = (80, 443)
    kernel_ports: tuple[int, ...] = ()
    """The kernel's own channel ports, which it binds (TCP transport)."""
    limits: Limits = field(default_factory=Limits)
    keep_env: tuple[str, ...] = ()
    """Variable names the kernelspec sets (kept unless they look like secrets)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Confinement:
        data = json.loads(text)
        data["limits"] = Limits(**data.get("limits", {}))
        for key in ("read_only", "read_only_files", "ports", "kernel_ports", "keep_env"):
            data[key] = tuple(data.get(key, ()))
        if data.get("network") not in NETWORK_MODES:
            raise ValueError(f"network must be one of {NETWORK_MODES}")
        return cls(**data)

    def describe(self) -> dict[str, object]:
        """The public summary shown to everyone in the notebook."""
        return {
            "scope": self.scope,
            "network": self.network,
            "memory_bytes": self.limits.memory_bytes,
            "processes": self.limits.processes,
            "cpu_seconds": self.limits.cpu_seconds,
        }


def python_read_only(executables: Iterable[str] = ()) -> list[str]:
    """The Python prefixes and site-packages of this interpreter (and the installations of
    ``executables``), which a kernel needs to read. Other ``sys.path`` entries (an editable
    checkout, ``PYTHONPATH``) are not included."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    prefixes = tuple(paths)
    paths.update(
        p
        for p in sys.path
        if os.path.isabs(p) and ("-packages" in p or p.endswith(".zip") or p.startswith(prefixes))
    )
    for exe in executables:
        if os.path.isabs(exe):
            real = os.path.realpath(exe)
            paths.add(os.path.dirname(os.path.dirname(real)))
            paths.add(os.path.dirname(os.path.dirname(exe)))
    return sorted(os.path.realpath(p) for p in paths if os.path.exists(p))


def system_read_only() -> tuple[str, ...]:
    return SYSTEM_READ_ONLY


def contains(outer: str, inner: str) -> bool:
    """Whether ``inner`` is ``outer`` or lies beneath it (resolved paths)."""
    outer, inner = os.path.realpath(outer), os.path.realpath(inner)
    return inner == outer or inner.startswith(outer.rstrip(os.sep) + os.sep)


def _secret(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def scrubbed_environment(
    env: Mapping[str, str], home: str, keep: Iterable[str] = ()
) -> dict[str, str]:
    """An allow-list environment: locale and path basics, the kernelspec's own variables
    (unless they look like secrets) and the Jupyter variables pointed into ``home``.
    Nothing else the server holds (tokens, API URLs, cloud credentials) survives."""
    keep = set(keep)
    clean = {
        name: value
        for name, value in env.items()
        if (name in KEPT_VARIABLES or name.startswith(KEPT_PREFIXES) or name in keep)
        and not _secret(name)
    }
    clean.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    clean.update(
        {
            "HOME": home,
            "TMPDIR": home,
            "IPYTHONDIR": os.path.join(home, ".ipython"),
            "MPLCONFIGDIR": os.path.join(home, ".config", "matplotlib"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "JUPYTER_CONFIG_DIR": os.path.join(home, ".jupyter"),
            "JUPYTER_DATA_DIR": os.path.join(home, ".local", "share", "jupyter"),
            "JUPYTER_RUNTIME_DIR": os.path.join(home, ".local", "share", "jupyter", "runtime"),
            "TANDEM_CONFINED": "1",
        }
    )
    return clean
