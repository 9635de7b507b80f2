"""Which kernels run confined, and with what: the server-side half of the sandbox.

A notebook is *shared for running* while some guest may run code in it (``scopes_for``
answers from the access layer). Then its kernel, whoever starts it (Tandem, JupyterLab), is
launched by :mod:`tandem.sandbox.launch` with a :class:`~tandem.sandbox.policy.Confinement`
whose read-write scope is:

- a folder share: the shared folder;
- a file share: the notebook's folder, unless that folder is the server root or holds
  something protected, then only the notebook file (the kernel works in its private home);
- several shares: the narrowest one (every guest's share contains it).

The scope may never contain a protected path (the home directory, Tandem's store and key,
Jupyter's runtime, data and config directories): such a notebook cannot be confined.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from .cgroups import remove_cgroup
from .landlock import abi_version
from .policy import NETWORK_MODES, Confinement, Limits, contains, python_read_only

__all__ = ["SandboxService", "SandboxSettings", "Unconfinable"]

ScopesFor = Callable[[str], Awaitable[list[tuple[str, bool]]]]


class Unconfinable(Exception):
    """This notebook's kernel cannot be confined (no Landlock, or the scope is unsafe)."""


@dataclass(frozen=True)
class SandboxSettings:
    enabled: bool = True
    network: str = "none"
    ports: tuple[int, ...] = (80, 443)
    limits: Limits = field(default_factory=Limits)
    runs_as_me: bool = False
    """The owner's server-wide choice: every run guest may run unconfined where confinement
    fails."""
    share_runs_as_me: bool = True
    """Whether the owner may make that choice for one run link (``runs_as_owner``)."""
    home_base: str = ""
    """Where private homes are made (default: the system temp directory)."""

    def __post_init__(self) -> None:
        if self.network not in NETWORK_MODES:
            raise ValueError(f"network must be one of {NETWORK_MODES}")


@dataclass(frozen=True)
class Plan:
    scope: str
    """Root-relative."""
    fs_scope: str
    home: str


@dataclass(frozen=True)
class Launch:
    """What one kernel launch got: its confinement (None: unconfined) and why."""

    confinement: Confinement | None
    scope_path: str | None
    """The shared scope (root-relative) it is confined to, as guests see it."""


class SandboxService:
    def __init__(
        self,
        settings: SandboxSettings,
        root_dir: str,
        scopes_for: ScopesFor,
        protected: Iterable[str],
    ) -> None:
        self.settings = settings
        self.root_dir = os.path.realpath(root_dir)
        self.scopes_for = scopes_for
        self.protected = tuple(os.path.realpath(p) for p in protected if p)
        self.abi = abi_version() if settings.enabled else 0
        self.launches: dict[str, Launch] = {}
        """Kernel id -> what its current process got (set at every launch and restart)."""
        self._homes: dict[str, str] = {}

    @property
    def available(self) -> bool:
        return self.abi >= 1

    def describe(self) -> dict[str, object]:
        return {
            "available": self.available,
            "landlock_abi": self.abi,
            "network": self.settings.network,
            "runs_as_me": self.settings.runs_as_me,
            "share_runs_as_me": self.settings.share_runs_as_me,
        }

    def may_run_as_owner(self, per_share: bool) -> bool:
        """Where confinement fails: whether a guest's code may run as the owner, by the
        server-wide setting or by the owner's choice on the guest's own run link."""
        return self.settings.runs_as_me or (per_share and self.settings.share_runs_as_me)

    # -- decisions ----------------------------------------------------------------------

    def api_path(self, fs_path: str) -> str | None:
        real = os.path.realpath(fs_path)
        if not contains(self.root_dir, real):
            return None
        relative = os.path.relpath(real, self.root_dir)
        return "" if relative == "." else relative.replace(os.sep, "/")

    async def wanted_scope(self, path: str) -> str | None:
        """The root-relative scope a kernel for notebook ``path`` must be confined to, or
        None when the notebook is not shared for running. Raises :class:`Unconfinable`."""
        scopes = await self.scopes_for(path)
        if not scopes:
            return None
        # Nested scopes (they all hold the notebook): the narrowest is the longest.
        return max((self.share_scope(s, is_folder) for s, is_folder in scopes), key=len)

    def share_scope(self, scope_path: str, is_folder: bool) -> str:
        """What one run share confines code to (see the module docstring)."""
        if not self.available:
            raise Unconfinable("Landlock is not available on this system")
        scope = scope_path
        if not is_folder:
            folder = scope_path.rpartition("/")[0]
            scope = folder if folder and self._safe(self._fs(folder)) else scope_path
        if not self._safe(self._fs(scope)):
            raise Unconfinable(f"the shared scope {scope or '/'!r} holds protected files")
        return scope

    def link_mode(
        self, scope_path: str, is_folder: bool, runs_as_owner: bool = False
    ) -> dict[str, object]:
        """How code runs for whoever uses a new ``run`` link on this scope, for the share
        dialog and the CLI: confined whenever the sandbox applies (``runs_as_owner`` is only
        a fallback); else as the owner if the server-wide setting or this link's
        ``runs_as_owner`` allows it. Raises :class:`Unconfinable` when the link must be
        refused."""
        if runs_as_owner and not self.settings.share_runs_as_me and not self.settings.runs_as_me:
            raise Unconfinable("this server does not let a link run guests' code as you")
        try:
            scope = self.share_scope(scope_path, is_folder)
        except Unconfinable as error:
            if not self.may_run_as_owner(runs_as_owner):
                raise
            chosen = "server" if self.settings.runs_as_me else "link"
            return {"mode": "as_owner", "reason": str(error), "chosen_by": chosen}
        return {"mode": "confined", "scope": scope, "network": self.settings.network}

    def _fs(self, path: str) -> str:
        return os.path.realpath(os.path.join(self.root_dir, *path.split("/")))

    def _safe(self, fs_path: str) -> bool:
        return not any(contains(fs_path, p) for p in self.protected)

    # -- launches -----------------------------------------------------------------------

    async def plan(self, kernel_id: str, session_path: str | None) -> Plan | None:
        """First half of a launch (every start and restart): whether the kernel is confined,
        to which scope, and its fresh private home. None: unconfined. A notebook shared for
        running that cannot be confined launches unconfined here; guests' runs in it are
        refused by the execution service."""
        self.release_home(kernel_id)
        self.launches[kernel_id] = Launch(None, None)
        path = self.api_path(session_path) if session_path else None
        try:
            scope = await self.wanted_scope(path) if path is not None else None
        except Unconfinable:
            return None
        if scope is None:
            return None
        home = tempfile.mkdtemp(prefix="tandem-kernel-", dir=self.settings.home_base or None)
        self._homes[kernel_id] = home
        return Plan(scope, self._fs(scope), home)

    def confine(
        self,
        kernel_id: str,
        plan: Plan,
        argv: list[str],
        cwd: str | None,
        connection_file: str | None,
        ports: Iterable[int],
        spec_env: Iterable[str],
        resource_dir: str | None,
    ) -> Confinement:
        """Second half: the confinement of a planned launch, recorded for the kernel."""
        read_only = [p for p in python_read_only(argv[:1]) if self._safe(p)]
        if resource_dir and self._safe(resource_dir):
            read_only.append(resource_dir)
        in_scope = cwd and os.path.isdir(plan.fs_scope) and contains(plan.fs_scope, cwd)
        confinement = Confinement(
            name=kernel_id,
            scope=plan.fs_scope,
            home=plan.home,
            cwd=cwd if cwd and in_scope else plan.home,
            read_only=tuple(read_only),
            read_only_files=(connection_file,) if connection_file else (),
            network=self.settings.network,
            ports=self.settings.ports,
            kernel_ports=tuple(ports),
            limits=self.settings.limits,
            keep_env=tuple(spec_env),
        )
        self.launches[kernel_id] = Launch(confinement, plan.scope)
        return confinement

    def command(self, confinement: Confinement, argv: list[str]) -> list[str]:
        return [
            sys.executable,
            "-m",
            "tandem.sandbox.launch",
            "--policy",
            confinement.to_json(),
            "--",
            *argv,
        ]

    def release_home(self, kernel_id: str) -> None:
        home = self._homes.pop(kernel_id, None)
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)

    async def ended(self, kernel_id: str, restart: bool) -> None:
        """The kernel process is gone: so go what it left in its process cgroup (children
        that outlived it) and, unless it restarts, its home."""
        launch = self.launches.get(kernel_id)
        if launch is not None and launch.confinement is not None:
            await remove_cgroup(kernel_id)
        if not restart:
            self.release_home(kernel_id)
            self.launches.pop(kernel_id, None)
