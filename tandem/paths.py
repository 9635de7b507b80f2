"""API paths as Jupyter's contents API sees them: relative, '/'-separated, inside root.

Paths reach these helpers decoded once, by Tornado's routing; they never decode again
(a ``%`` is part of a name; see :mod:`tandem.access.scopes`).
"""

from __future__ import annotations

import os

__all__ = ["InvalidPath", "normalize_api_path", "resolve_inside"]


class InvalidPath(ValueError):
    """A path that is absolute, escapes the root, or contains forbidden characters."""


def normalize_api_path(path: str) -> str:
    """Reject traversal and return a clean relative path (``path`` is already decoded)."""
    decoded = path
    if any(ch in decoded for ch in ("\x00", "\\")) or any(ord(ch) < 32 for ch in decoded):
        raise InvalidPath("path contains forbidden characters")
    parts = [p for p in decoded.strip("/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidPath("path must stay inside the server root")
    if not parts:
        raise InvalidPath("path is empty")
    return "/".join(parts)


def resolve_inside(root_dir: str, api_path: str) -> str:
    """The real OS path of ``api_path``; raises InvalidPath if a symlink leads out of root."""
    root = os.path.realpath(root_dir)
    real = os.path.realpath(os.path.join(root, *api_path.split("/")))
    if os.path.commonpath([root, real]) != root:
        raise InvalidPath("path must stay inside the server root")
    return real


def notebook_api_path(root_dir: str, raw: str) -> str:
    """A request's notebook path: normalized, inside the root (symlinks included), and a
    ``.ipynb``. Raises :class:`InvalidPath` otherwise."""
    path = normalize_api_path(raw)
    resolve_inside(root_dir, path)
    if not path.endswith(".ipynb"):
        raise InvalidPath("not a notebook")
    return path
