"""Routes for the editor part of Tandem (filled in as it lands)."""

from __future__ import annotations

from typing import Any

__all__ = ["routes"]


def routes(app: Any) -> list[tuple[Any, ...]]:
    """Tornado routes, given the TandemApp."""
    return []
