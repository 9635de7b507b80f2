"""A kernel provisioner that launches a notebook's kernel confined while it is shared for
running: jupyter_client's local provisioner with the launcher put in front of the command.

Registered as ``tandem-confined`` (entry point ``jupyter_client.kernel_provisioners``) and
made the default provisioner by the Tandem extension, so kernels JupyterLab starts for a
shared notebook are confined too. Kernels it is not asked about launch exactly as before.
"""

from __future__ import annotations

from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from .service import SandboxService

__all__ = ["NAME", "ConfinedProvisioner", "install"]

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


class ConfinedProvisioner(LocalProvisioner):
    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        kwargs = await super().pre_launch(**kwargs)
        service = _service
        if service is None:
            return kwargs
        env = kwargs.get("env") or {}
        km = self.parent
        spec = self.kernel_spec
        launch = await service.plan(
            self.kernel_id,
            env.get("JPY_SESSION_NAME"),
            list(kwargs["cmd"]),
            kwargs.get("cwd"),
            getattr(km, "connection_file", None),
            list((getattr(spec, "env", None) or {}).keys()),
            getattr(spec, "resource_dir", None),
        )
        if launch.confinement is not None:
            kwargs["cmd"] = service.command(launch.confinement, list(kwargs["cmd"]))
        return kwargs

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart)
        if _service is not None:
            await _service.ended(self.kernel_id, restart)
