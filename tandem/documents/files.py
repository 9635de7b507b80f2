"""Reading and writing a document's file through Jupyter's contents manager.

Going through the contents manager keeps Tandem correct on any storage a hub
configures, and the standard ``FileContentsManager`` writes atomically (temporary
file, then rename). Errors come back as :class:`FileGone` or :class:`BadFile`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jupyter_core.utils import ensure_async

from .model import DocumentKind, prepare_notebook

__all__ = ["BadFile", "DocumentFile", "FileGone", "FileSnapshot"]


class FileGone(Exception):
    """The file no longer exists (deleted, or its id is unknown)."""


class BadFile(Exception):
    """The file cannot be read as this kind of document (corrupt or invalid)."""


@dataclass(frozen=True)
class FileSnapshot:
    content: Any | None
    hash: str | None
    last_modified: datetime | None


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


class DocumentFile:
    """One document's file; ``locate`` returns its current path (it follows renames)."""

    def __init__(self, contents_manager: Any, locate: Callable[[], str | None], kind: DocumentKind):
        self._cm = contents_manager
        self._locate = locate
        self.kind = kind

    @property
    def path(self) -> str:
        path = self._locate()
        if path is None:
            raise FileGone("the file has no known path")
        return path

    def _model_args(self) -> dict[str, str]:
        if self.kind == "notebook":
            return {"type": "notebook"}
        return {"type": "file", "format": "text"}

    async def read(self) -> FileSnapshot:
        path = self.path
        try:
            model = await ensure_async(
                self._cm.get(path, content=True, require_hash=True, **self._model_args())
            )
        except Exception as exc:
            raise self._translate(exc, path) from exc
        content = model["content"]
        if self.kind == "notebook":
            try:
                content = prepare_notebook(content)
            except Exception as exc:
                raise BadFile(f"{path} is not a valid notebook: {exc}") from exc
        elif not isinstance(content, str):
            raise BadFile(f"{path} is not a text file")
        return FileSnapshot(content, model.get("hash"), model.get("last_modified"))

    async def stat(self) -> FileSnapshot:
        path = self.path
        try:
            model = await ensure_async(self._cm.get(path, content=False))
        except Exception as exc:
            raise self._translate(exc, path) from exc
        return FileSnapshot(None, None, model.get("last_modified"))

    async def write(self, content: Any) -> FileSnapshot:
        path = self.path
        model = {"content": content, **self._model_args()}
        if self.kind == "notebook":
            model["format"] = "json"
        try:
            await ensure_async(self._cm.save(model, path))
            saved = await ensure_async(self._cm.get(path, content=False, require_hash=True))
        except Exception as exc:
            raise self._translate(exc, path) from exc
        return FileSnapshot(None, saved.get("hash"), saved.get("last_modified"))

    @staticmethod
    def _translate(exc: Exception, path: str) -> Exception:
        status = _status(exc)
        if status == 404 or isinstance(exc, FileNotFoundError):
            return FileGone(f"{path} does not exist")
        if status == 400 or isinstance(exc, (UnicodeDecodeError, ValueError)):
            reason = getattr(exc, "log_message", None) or str(exc)
            return BadFile(f"{path} cannot be read: {reason}")
        return exc
