"""Requests that arrive while the server is still starting wait for its stores."""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async

__all__ = ["ReadyMixin"]


class ReadyMixin:
    """Put first in a Tandem handler's bases: ``prepare`` waits until Tandem is ready,
    then runs Jupyter's (which authenticates the user)."""

    async def prepare(self) -> Any:
        app = self.settings.get("tandem")  # type: ignore[attr-defined]
        if app is not None:
            await app.ready()
        return await ensure_async(super().prepare())  # type: ignore[misc]
