"""Shared by Tandem's handlers: waiting for the server to be ready, reading JSON bodies."""

from __future__ import annotations

import json
from typing import Any

from jupyter_core.utils import ensure_async
from tornado import web

__all__ = ["ReadyMixin", "json_object"]


class ReadyMixin:
    """Put first in a Tandem handler's bases: ``prepare`` waits until Tandem is ready,
    then runs Jupyter's (which authenticates the user)."""

    async def prepare(self, *args: Any, **kwargs: Any) -> Any:
        app = self.settings.get("tandem")  # type: ignore[attr-defined]
        if app is not None:
            await app.ready()
        return await ensure_async(super().prepare(*args, **kwargs))  # type: ignore[misc]


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object; 400 otherwise."""
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError as exc:
        raise web.HTTPError(400, "body must be JSON") from exc
    if not isinstance(data, dict):
        raise web.HTTPError(400, "body must be a JSON object")
    return data
