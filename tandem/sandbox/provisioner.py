"""A kernel provisioner that launches a notebook's kernel confined while it is shared for
running: jupyter_client's local provisioner with the launcher put in front of the command.

Registered as ``tandem-confined`` (entry point ``jupyter_client.kernel_provisioners``) and
made the default provisioner by the Tandem extension, so kernels JupyterLab starts for a
shared notebook are confined too. Kernels it is not asked about launch exactly as before.

A kernel without network (``none``) lives in an empty network namespace, where the server
cannot reach loopback TCP ports: its channels use ZeroMQ's ``ipc`` transport (UNIX sockets
in its private home) instead.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from .service import SandboxService

__all__ = ["NAME", "ConfinedProvisioner", "install", "registered"]

NAME = "tandem-confined"
_service: SandboxService | None = None


def registered() -> bool:
    """Whether the entry point is installed (else jupyter_client cannot find this class)."""
    from importlib.metadata import entry_points

    return bool(entry_points(group="jupyter_client.kernel_provisioners", name=NAME))


def install(service: SandboxService) -> None:
    """Decide every local kernel launch of this server with ``service``."""
    global _service
    _service = service
    from jupyter_client.provisioning.factory import KernelProvisionerFactory

    KernelProvisionerFactory.instance().default_provisioner_name = NAME


def _launch_is_activity(km: Any) -> None:
    """Give the kernel its first ``last_activity`` at launch.

    jupyter_client registers a starting kernel one turn of the event loop before
    jupyter_server sets its ``last_activity``; a ``GET /api/kernels`` (JupyterLab polls it)
    answered in between failed with 500 (a ``TraitError``). jupyter_server overwrites the
    value once the kernel has started."""
    if km is not None and km.has_trait("last_activity"):
        km.last_activity = datetime.now(timezone.utc)  # the aware UTC time jupyter_server uses


class ConfinedProvisioner(LocalProvisioner):
    _transport: tuple[str, str] | None = None
    """The kernel manager's own transport and address, restored for unconfined launches."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        service, km = _service, self.parent
        _launch_is_activity(km)
        if service is None or km is None:
            return await super().pre_launch(**kwargs)
        if self._transport is None:
            self._transport = (km.transport, km.ip)
        env = kwargs.get("env") or {}
        plan = await service.plan(self.kernel_id, env.get("JPY_SESSION_NAME"))
        ipc = plan is not None and service.settings.network == "none"
        transport, ip = self._transport
        if plan is not None and ipc:
            transport, ip = "ipc", os.path.join(plan.home, "kernel")
        if (km.transport, km.ip) != (transport, ip):
            km.cleanup_connection_file()  # written again for the new transport
            km.transport, km.ip = transport, ip
            for name in ("shell", "iopub", "stdin", "hb", "control"):
                setattr(km, f"{name}_port", 0)  # ipc numbers are no TCP ports, and back
        kwargs = await super().pre_launch(**kwargs)
        if plan is None:
            return kwargs
        spec = self.kernel_spec
        ports = (
            []
            if ipc
            else [
                int(port)
                for name, port in km.get_connection_info().items()
                if name.endswith("_port")
            ]
        )
        confinement = service.confine(
            self.kernel_id,
            plan,
            list(kwargs["cmd"]),
            kwargs.get("cwd"),
            km.connection_file,
            ports,
            list((getattr(spec, "env", None) or {}).keys()),
            getattr(spec, "resource_dir", None),
        )
        kwargs["cmd"] = service.command(confinement, list(kwargs["cmd"]))
        return kwargs

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart)
        if _service is not None:
            await _service.ended(self.kernel_id, restart)
