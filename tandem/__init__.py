"""Tandem: real-time collaboration for Jupyter notebooks, as a Jupyter Server extension."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import TandemApp

    return [{"module": "tandem.app", "app": TandemApp}]
