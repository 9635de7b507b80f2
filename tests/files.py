"""Reading files the server writes, from tests."""

from __future__ import annotations

from pathlib import Path

import nbformat


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """The notebook on disk; a file caught half-written (jupyter_server's own "atomic"
    writing truncates and rewrites in place) counts as "not saved yet"."""
    try:
        return nbformat.read(path, as_version=4)
    except (nbformat.reader.NotJSONError, ValueError) as exc:
        raise AssertionError(f"{path} is being written: {exc}") from exc
