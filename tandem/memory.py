"""Giving memory back to the operating system when rooms close.

A closed room's document lives partly in Rust (pycrdt) and partly in Python objects
that may sit in reference cycles. Collecting the cycles frees both; glibc then keeps the
freed heap unless asked to return it (``malloc_trim``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

__all__ = ["release_freed_memory"]

_libc = None
try:
    _name = ctypes.util.find_library("c")
    if _name:
        _libc = ctypes.CDLL(_name)
        _libc.malloc_trim  # noqa: B018 - glibc only
except (OSError, AttributeError):
    _libc = None


def release_freed_memory() -> None:
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)
