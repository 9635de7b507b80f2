"""Retrying assertions instead of sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def eventually(
    check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.05
) -> Any:
    """Call ``check`` until it stops raising AssertionError (or returns truthy).

    A lookup into state that has not arrived yet (``KeyError``, ``IndexError``: e.g. the
    execution map before its first update reaches this peer) counts as "not yet" too;
    at the deadline the last error is raised as it is."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result is None or result:
                return result
            raise AssertionError(f"condition is {result!r}")
        except (AssertionError, KeyError, IndexError):
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(interval)
