"""Confined kernels: while a notebook is shared for running, its kernel runs in a Landlock
sandbox limited to the shared scope (see docs/confined-execution.md).

Light on purpose: ``python -m tandem.sandbox.launch`` imports this package before every
confined kernel, so the server-side names load on first use."""

from __future__ import annotations

from typing import Any

from .landlock import LandlockError, abi_version
from .policy import NETWORK_MODES, Confinement, Limits

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


def __getattr__(name: str) -> Any:
    if name in ("SandboxService", "SandboxSettings", "Unconfinable"):
        from . import service

        return getattr(service, name)
    raise AttributeError(name)
