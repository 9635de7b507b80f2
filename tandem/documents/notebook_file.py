"""A notebook's file content, kept per cell between saves.

A save needs the whole notebook as a dict, its nbformat validation, its JSON text and
its fingerprint; done from scratch that is tens of milliseconds of CPU for 200 cells,
on the event loop, every ``save_delay`` while someone types. :class:`NotebookFileCache`
keeps each cell's validation, file text and fingerprint text, keyed by the cell's
content: only cells that changed since the last save are validated and serialized
again (each cell is still read from the Y document, by jupyter_ydoc, on every save).
The results are exactly those of jupyter_ydoc's ``YNotebook.get``, ``repair_notebook``,
nbformat's ``writes`` and ``content_fingerprint`` (tests compare the bytes); duplicate
or missing cell ids fall back to the full computation.
"""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from typing import Any

import nbformat
from jupyter_ydoc import YNotebook
from jupyter_ydoc.utils import cast_all
from nbformat.v4.nbjson import BytesEncoder
from nbformat.v4.nbjson import writes as v4_writes
from nbformat.v4.rwbase import split_lines, strip_transient

from .model import (
    content_fingerprint,
    fingerprint_cell_text,
    fingerprint_from_parts,
    repair_notebook,
    validate_cell,
    validate_top_level,
)

__all__ = ["NotebookFile", "NotebookFileCache", "notebook_text"]

_JSON_ARGS: dict[str, Any] = {
    "cls": BytesEncoder,
    "indent": 1,
    "sort_keys": True,
    "separators": (",", ": "),
    "ensure_ascii": False,
}
_CELLS_PLACEHOLDER = '{\n "cells": [],\n'


@dataclass(frozen=True)
class NotebookFile:
    """What one save writes: the content (for contents managers), its bytes and
    fingerprint, and the validation errors nbformat would report (logged, as
    nbformat's ``writes`` does; the file is written regardless)."""

    content: dict[str, Any]
    data: bytes
    fingerprint: str
    errors: tuple[str, ...]


@dataclass
class _Cell:
    cell: dict[str, Any]
    """The repaired cell, as ``repair_notebook(YNotebook.get())`` has it."""
    text: str
    """Its JSON in the file, indented as a member of the ``cells`` list."""
    fingerprint_text: str
    error: str | None


def notebook_text(content: dict[str, Any]) -> str:
    """nbformat's ``writes`` of ``content`` (without its validation), newline-terminated."""
    text = v4_writes(nbformat.from_dict(content))
    return text if text.endswith("\n") else text + "\n"


def _cell_file_text(cell: dict[str, Any]) -> str:
    node = nbformat.from_dict({"metadata": {}, "cells": [copy.deepcopy(cell)]})
    node = strip_transient(split_lines(node))
    text = json.dumps(node.cells[0], **_JSON_ARGS)
    return "\n".join("  " + line for line in text.split("\n"))


class NotebookFileCache:
    """Per-cell save results for one :class:`YNotebook`, keyed by each cell's content."""

    def __init__(self, document: YNotebook, log: logging.Logger | None = None) -> None:
        self.document = document
        self.log = log or logging.getLogger(__name__)
        self._cells: dict[tuple[int, str], _Cell] = {}
        self.reused = 0
        """Cells whose results the last :meth:`build` took from the cache."""

    def close(self) -> None:
        self._cells.clear()

    def build(self) -> NotebookFile:
        """The file for the document as it is now."""
        meta = self.document._ymeta.to_py()
        cast_all(meta, float, int)
        nbformat_major = int(meta.get("nbformat", 0))
        nbformat_minor = int(meta.get("nbformat_minor", 0))
        ycells = self.document.ycells
        cells = [self.document._cell_to_py(ycell, meta) for ycell in ycells]
        ids = [cell.get("id") for cell in cells]
        if nbformat_major != 4 or not all(ids) or len(set(ids)) != len(ids):
            # jupyter_ydoc's own path (it also renumbers duplicate ids in the document).
            self._cells.clear()
            return self._full(repair_notebook(self.document.get()))
        minor = min(nbformat_minor, nbformat.current_nbformat_minor)
        top = repair_notebook(
            {
                "cells": [],
                "metadata": meta.get("metadata", {}),
                "nbformat": nbformat_major,
                "nbformat_minor": nbformat_minor,
            }
        )
        entries: list[_Cell] = []
        used: dict[tuple[int, str], _Cell] = {}
        self.reused = 0
        for cell in cells:
            key = (minor, json.dumps(cell, sort_keys=True, cls=BytesEncoder))
            entry = self._cells.get(key)
            if entry is None:
                entry = self._convert(cell, minor)
            else:
                self.reused += 1
            used[key] = entry
            entries.append(entry)
        self._cells = used
        content = {**top, "cells": [entry.cell for entry in entries]}
        header = notebook_text(top)
        if not header.startswith(_CELLS_PLACEHOLDER):
            return self._full(content)
        if entries:
            cells_text = '{\n "cells": [\n' + ",\n".join(e.text for e in entries) + "\n ],\n"
        else:
            cells_text = _CELLS_PLACEHOLDER
        text = cells_text + header[len(_CELLS_PLACEHOLDER) :]
        errors = [f"cell {i} {e.error}" for i, e in enumerate(entries) if e.error is not None]
        try:
            validate_top_level(top, minor)
        except Exception as exc:
            errors.insert(0, str(exc))
        fingerprint = fingerprint_from_parts([e.fingerprint_text for e in entries], top)
        return NotebookFile(content, text.encode("utf-8"), fingerprint, tuple(errors))

    def _convert(self, cell: dict[str, Any], minor: int) -> _Cell:
        repaired = repair_notebook({"cells": [cell]})["cells"][0]
        try:
            validate_cell(repaired, minor)
            error = None
        except Exception as exc:
            error = str(exc)
        return _Cell(repaired, _cell_file_text(repaired), fingerprint_cell_text(repaired), error)

    def _full(self, content: dict[str, Any]) -> NotebookFile:
        errors: list[str] = []
        try:
            nbformat.validate(nbformat.from_dict(content))
        except Exception as exc:
            errors.append(str(exc))
        data = notebook_text(content).encode("utf-8")
        return NotebookFile(content, data, content_fingerprint("notebook", content), tuple(errors))
