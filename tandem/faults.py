"""Fault injection for durability tests; inert unless the environment names a path.

- ``TANDEM_FAULT_STORE_FULL=<path>``: while ``<path>`` exists, every store commit fails
  as SQLite does when the disk is full.
- ``TANDEM_FAULT_HOLD_FILE_WRITE=<path>``: each save, once it has recorded what it is
  about to write, creates ``<path>`` and waits forever instead of writing the file: a
  test then kills the server exactly during the file write.
"""

from __future__ import annotations

import asyncio
import os

__all__ = ["HOLD_FILE_WRITE", "STORE_FULL", "hold_file_write", "store_full"]

STORE_FULL = "TANDEM_FAULT_STORE_FULL"
HOLD_FILE_WRITE = "TANDEM_FAULT_HOLD_FILE_WRITE"


def store_full() -> bool:
    path = os.environ.get(STORE_FULL)
    return bool(path) and os.path.exists(path)  # type: ignore[arg-type]


async def hold_file_write() -> None:
    path = os.environ.get(HOLD_FILE_WRITE)
    if not path:
        return
    with open(path, "w") as marker:
        marker.write(str(os.getpid()))
    await asyncio.Event().wait()
