"""Documents in the jupyter_ydoc schema, without a server-side undo history.

``jupyter_ydoc`` attaches an ``UndoManager`` to every document; on a server that
records every remote edit forever. Tandem's subclasses keep the schema and drop the
undo tracking.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any, Literal

import fastjsonschema
import nbformat
from jupyter_ydoc import YNotebook, YUnicode
from jupyter_ydoc.ybasedoc import YBaseDoc
from nbformat.validator import _get_schema_json, get_validator
from pycrdt import Doc

__all__ = [
    "DocumentKind",
    "UnsupportedDocument",
    "content_fingerprint",
    "kind_for",
    "new_document",
    "prepare_notebook",
    "repair_notebook",
]

DocumentKind = Literal["notebook", "text"]


class UnsupportedDocument(ValueError):
    """A room asked for a format/type pair Tandem does not serve."""


class _NoUndo:
    """Stands in for the UndoManager: the server must not record edit history."""

    def expand_scope(self, scope: Any) -> None:
        pass


class ServerNotebook(YNotebook):
    @property
    def undo_manager(self) -> Any:
        return _NoUndo()


class ServerText(YUnicode):
    @property
    def undo_manager(self) -> Any:
        return _NoUndo()


def kind_for(file_format: str, file_type: str) -> DocumentKind:
    """Map jupyter-collaboration's ``format:type`` to a document kind."""
    if file_format == "json" and file_type == "notebook":
        return "notebook"
    if file_format == "text" and file_type in ("file", "unicode"):
        return "text"
    raise UnsupportedDocument(f"unsupported document {file_format}:{file_type}")


def new_document(kind: DocumentKind, doc: Doc | None = None) -> YBaseDoc:
    return (ServerNotebook if kind == "notebook" else ServerText)(doc if doc is not None else Doc())


def repair_notebook(content: dict[str, Any]) -> dict[str, Any]:
    """Fill in what nbformat requires and clients sometimes leave out (a code cell
    without ``execution_count``, a cell without ``metadata``), and drop what a cell
    type does not allow, so the file Tandem writes is always a valid notebook."""
    nb = dict(content)
    nb.setdefault("metadata", {})
    cells = []
    for cell in nb.get("cells", []):
        cell = dict(cell)
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        if cell.get("cell_type") == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if cell.get("cell_type") not in ("markdown", "raw") or not cell.get("attachments"):
                cell.pop("attachments", None)
        cell.setdefault("source", "")
        cells.append(cell)
    nb["cells"] = cells
    return nb


def prepare_notebook(content: Any) -> dict[str, Any]:
    """Validate a notebook read from disk and bring it to nbformat 4.5 (cells with ids).

    Transient fields (signatures, the contents manager's ``trusted`` flags) are dropped:
    they are not part of the document and would make the same file look different
    between reads. Ids given to cells that had none are derived from position and
    source, so reading the same file twice gives the same ids (history can then be
    matched to the file). Raises ``nbformat.ValidationError`` or ``ValueError``.
    """
    if not isinstance(content, dict) or not isinstance(content.get("cells", []), list):
        raise ValueError("a notebook must be a JSON object with a list of cells")
    if content.get("nbformat") != 4:
        raise ValueError(f"unsupported nbformat {content.get('nbformat')}")
    nb = repair_notebook(content)
    metadata = dict(nb.get("metadata") or {})
    for key in ("signature", "orig_nbformat", "orig_nbformat_minor"):
        metadata.pop(key, None)
    nb["metadata"] = metadata
    for cell in nb["cells"]:
        if "trusted" in cell["metadata"]:
            cell["metadata"] = {k: v for k, v in cell["metadata"].items() if k != "trusted"}
    if nb.get("nbformat_minor", 0) < 5:
        nb["nbformat_minor"] = 5
        used: set[str] = set()
        for index, cell in enumerate(nb["cells"]):
            if not cell.get("id"):
                digest = hashlib.sha1(f"{index}\0{_text(cell.get('source', ''))}".encode())
                cell_id = digest.hexdigest()[:12]
                while cell_id in used:
                    cell_id = hashlib.sha1(cell_id.encode()).hexdigest()[:12]
                cell["id"] = cell_id
            used.add(cell["id"])
    _validate(nb, min(nb["nbformat_minor"], nbformat.current_nbformat_minor))
    return nb


CELL_DEFINITIONS = {"code": "code_cell", "markdown": "markdown_cell", "raw": "raw_cell"}


@functools.cache
def _cell_validators(minor: int) -> dict[str, Callable[[Any], Any]]:
    schema = _get_schema_json(nbformat.v4, version=4, version_minor=minor)
    return {
        cell_type: fastjsonschema.compile(
            {"definitions": schema["definitions"], "$ref": f"#/definitions/{definition}"}
        )
        for cell_type, definition in CELL_DEFINITIONS.items()
    }


def _validate(nb: dict[str, Any], minor: int) -> None:
    """nbformat's schema, checked per cell against its own type's definition (the
    schema's ``oneOf`` tries every definition for every cell; the types exclude each
    other, so this is exact and several times cheaper)."""
    validate_top_level(nb, minor)
    for index, cell in enumerate(nb["cells"]):
        try:
            validate_cell(cell, minor)
        except ValueError as exc:
            raise ValueError(f"cell {index} {exc}") from exc


def validate_top_level(nb: dict[str, Any], minor: int) -> None:
    """nbformat's schema for everything but the cells."""
    get_validator(4, minor).validate({**nb, "cells": []})


def validate_cell(cell: Any, minor: int) -> None:
    """One cell against its type's definition in nbformat's schema (``ValueError``)."""
    validators = _cell_validators(minor)
    validate = validators.get(str(cell.get("cell_type"))) if isinstance(cell, dict) else None
    if validate is None:
        raise ValueError("has no known cell_type")
    try:
        validate(cell)
    except fastjsonschema.JsonSchemaException as exc:
        raise ValueError(f"is not valid: {exc}") from exc


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _normalize(value: Any) -> Any:
    """Make notebook JSON comparable: multi-line strings joined, integral floats as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value):
            return "".join(value)
        return [_normalize(v) for v in value]
    return value


def content_fingerprint(kind: DocumentKind, content: Any) -> str:
    """A stable digest of a document's content, equal for equal notebooks/texts."""
    if kind == "text":
        return hashlib.sha256(content.encode("utf-8")).hexdigest()
    cells = [fingerprint_cell_text(cell) for cell in content.get("cells", [])]
    return fingerprint_from_parts(cells, content)


def fingerprint_cell_text(cell: dict[str, Any]) -> str:
    """One cell's part of a notebook's :func:`content_fingerprint`."""
    cell = dict(cell)
    cell.setdefault("metadata", {})
    if cell.get("cell_type") == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    if not cell.get("attachments"):
        cell.pop("attachments", None)
    return json.dumps(_normalize(cell), sort_keys=True)


def fingerprint_from_parts(cells: list[str], content: dict[str, Any]) -> str:
    """The digest of ``{"cells", "metadata", "nbformat", "nbformat_minor"}`` as
    ``json.dumps(..., sort_keys=True)`` writes it, from each cell's text."""
    data = "".join(
        [
            '{"cells": [',
            ", ".join(cells),
            '], "metadata": ',
            json.dumps(_normalize(content.get("metadata", {})), sort_keys=True),
            ', "nbformat": ',
            json.dumps(_normalize(content.get("nbformat"))),
            ', "nbformat_minor": ',
            json.dumps(_normalize(content.get("nbformat_minor"))),
            "}",
        ]
    )
    return hashlib.sha256(data.encode("utf-8")).hexdigest()
