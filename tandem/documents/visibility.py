"""Which files a room may serve: only what Jupyter's contents manager would show.

Tandem reads local files directly (see :mod:`tandem.documents.files`), so the contents
manager's own refusals do not apply by themselves. The same rules, checked here before
a room is created and before anyone joins one:

- hidden files and anything inside a hidden folder (``.env``, ``.git/config``,
  ``.git/hooks/pre-commit``) are refused unless ``ContentsManager.allow_hidden``;
- for guests, also every name the contents manager leaves out of listings
  (``ContentsManager.hide_globs``: ``__pycache__``, ``*.pyc``, ``*~``...): a guest
  reaches only what the owner sees in the share.
"""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async

__all__ = ["NotVisible", "check_visible"]


class NotVisible(Exception):
    """The contents manager hides this file; a room must not serve it."""


async def check_visible(contents_manager: Any, path: str, *, guest: bool) -> None:
    """Raise :class:`NotVisible` if ``path`` (a normalized API path) is hidden by the
    contents manager's rules (for a guest, also left out of listings)."""
    segments = [s for s in path.split("/") if s]
    if not getattr(contents_manager, "allow_hidden", False):
        if any(s.startswith(".") for s in segments):
            raise NotVisible(f"{path} is hidden")
        is_hidden = getattr(contents_manager, "is_hidden", None)
        if callable(is_hidden):
            try:
                hidden = await ensure_async(is_hidden(path))
            except Exception:  # a contents manager that cannot tell: refuse
                hidden = True
            if hidden:
                raise NotVisible(f"{path} is hidden")
    if guest:
        should_list = getattr(contents_manager, "should_list", None)
        if callable(should_list) and not all(should_list(s) for s in segments):
            raise NotVisible(f"{path} is not listed")
