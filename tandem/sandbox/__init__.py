"""Confined kernels: while a notebook is shared for running, its kernel runs in a Landlock
sandbox limited to the shared scope (see docs/confined-execution.md)."""

from .landlock import LandlockError, abi_version
from .policy import NETWORK_MODES, Confinement, Limits
from .service import SandboxService, SandboxSettings, Unconfinable

__all__ = [
    "NETWORK_MODES",
    "Confinement",
    "LandlockError",
    "Limits",
    "SandboxService",
    "SandboxSettings",
    "Unconfinable",
    "abi_version",
]
