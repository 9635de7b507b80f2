"""Scope paths: relative to the server root, '/'-separated, symlinks resolved, never outside.

A scope is one file (exact match) or one folder (itself and everything below it, by whole
path segments). Request paths are resolved the same way before they are compared, so a
symlink inside the root reaches what it points to, and nothing else.

Paths here are *decoded* paths: a URL is percent-decoded exactly once, by Tornado's
routing (path arguments and query arguments), and JSON bodies carry paths as they are.
Nothing here decodes again, so ``%``, ``%25`` and ``%2F`` are ordinary characters of a
name: a grant on ``My Notebook.ipynb`` never reaches ``My%20Notebook.ipynb``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

__all__ = ["InvalidScope", "Scope", "covers", "normalize_path", "normalize_scope", "overlaps"]


class InvalidScope(ValueError):
    """A path that is absolute, escapes the root, or contains forbidden characters."""


@dataclass(frozen=True)
class Scope:
    path: str
    is_folder: bool


def _lexical(path: str) -> list[str]:
    """Segments of ``path``, or InvalidScope for anything suspicious."""
    if not isinstance(path, str):
        raise InvalidScope("path must be a string")
    if any(ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in path):
        raise InvalidScope("path contains forbidden characters")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise InvalidScope("path must be relative to the server root")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidScope("path must stay inside the server root")
    return parts


def normalize_path(root_dir: str, path: str, *, must_exist: bool = False) -> str:
    """The root-relative real path of ``path`` ("" for the root itself).

    ``path`` is already decoded (see the module docstring): a ``%`` is a character of a
    name. Symlinks are resolved with ``os.path.realpath`` on both the root and the target.
    """
    parts = _lexical(path)
    root = os.path.realpath(root_dir)
    real = os.path.realpath(os.path.join(root, *parts))
    if os.path.commonpath([root, real]) != root:
        raise InvalidScope("path must stay inside the server root")
    if must_exist and not os.path.exists(real):
        raise InvalidScope("path does not exist")
    rel = os.path.relpath(real, root)
    return "" if rel == "." else rel.replace(os.sep, "/")


def normalize_scope(root_dir: str, path: str) -> Scope:
    """An existing file or folder inside the root, never the root itself."""
    rel = normalize_path(root_dir, path, must_exist=True)
    if rel == "":
        raise InvalidScope("share a file or a folder, not the whole server root")
    real = os.path.join(os.path.realpath(root_dir), *rel.split("/"))
    return Scope(rel, os.path.isdir(real))


def _clean(path: str) -> str | None:
    """``path`` if it is already a normalized relative path, else None."""
    if not isinstance(path, str) or path.startswith("/") or "\\" in path:
        return None
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts) or any(ord(ch) < 32 for ch in path):
        return None
    return path


def covers(scope_path: str, is_folder: bool, path: str) -> bool:
    """Whether a scope reaches ``path`` (a normalized path; anything else is not covered).

    Files: exact match. Folders: the folder itself or a path below it, by segment
    (folder ``a`` covers ``a/x.ipynb`` but not ``ab/x.ipynb``).
    """
    if _clean(scope_path) is None or _clean(path) is None:
        return False
    if path == scope_path:
        return True
    return is_folder and path.startswith(scope_path + "/")


def overlaps(scope_path: str, is_folder: bool, path: str) -> bool:
    """Whether a scope reaches ``path`` or anything below it (used to revoke a path)."""
    if covers(scope_path, is_folder, path):
        return True
    return _clean(path) is not None and scope_path.startswith(path + "/")
