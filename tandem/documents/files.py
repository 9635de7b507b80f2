"""Reading and writing a document's file.

Reads go through Jupyter's contents manager, so Tandem sees files as every other
Jupyter tool does. Writes to local files are atomic: the new content goes to a
temporary file in the same folder, is flushed to disk, and replaces the file with one
rename, so no reader (and no crash) ever sees a half-written notebook. (Jupyter's own
"atomic" writing rewrites the file in place behind a backup copy.) Contents managers
that are not backed by local files are written through ``save``. Errors come back as
:class:`FileGone` or :class:`BadFile`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async

from .model import DocumentKind, prepare_notebook

__all__ = ["BadFile", "DocumentFile", "FileChanged", "FileGone", "FileReadOnly", "FileSnapshot"]


class FileGone(Exception):
    """The file no longer exists (deleted, or its id is unknown)."""


class FileChanged(Exception):
    """Another program changed the file since Tandem last looked; nothing was written."""


class FileReadOnly(PermissionError):
    """The file's permissions forbid writing it (e.g. ``chmod 444``); nothing was written."""


class BadFile(Exception):
    """The file cannot be read as this kind of document (corrupt or invalid)."""


@dataclass(frozen=True)
class FileSnapshot:
    content: Any | None
    hash: str | None
    version: Any
    """Changes whenever the file does: (inode, mtime in ns, size) for local files, the
    contents manager's ``last_modified`` otherwise."""


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
        os_path = self._os_path(path)
        if os_path is not None:
            return await self._read_local(path, os_path)
        version = (await self.stat()).version
        try:
            model = await ensure_async(
                self._cm.get(path, content=True, require_hash=True, **self._model_args())
            )
        except Exception as exc:
            raise self._translate(exc, path) from exc
        return FileSnapshot(self._parse(path, model["content"]), model.get("hash"), version)

    async def _read_local(self, path: str, os_path: str) -> FileSnapshot:
        """Read a local file directly: one parse and one validation, where the contents
        manager would parse, validate and check signatures. The version is taken before
        the bytes: if the file changes in between, the next check reads it again."""
        try:
            version, data = await asyncio.to_thread(_read_bytes, os_path)
        except Exception as exc:
            raise self._translate(exc, path) from exc
        try:
            text = data.decode("utf-8")
            content: Any = json.loads(text) if self.kind == "notebook" else text
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadFile(f"{path} cannot be read: {exc}") from exc
        return FileSnapshot(self._parse(path, content), hashlib.sha256(data).hexdigest(), version)

    def _parse(self, path: str, content: Any) -> Any:
        if self.kind == "notebook":
            try:
                return prepare_notebook(content)
            except Exception as exc:
                raise BadFile(f"{path} is not a valid notebook: {exc}") from exc
        if not isinstance(content, str):
            raise BadFile(f"{path} is not a text file")
        return content

    async def stat(self) -> FileSnapshot:
        path = self.path
        os_path = self._os_path(path)
        try:
            if os_path is not None:
                return FileSnapshot(None, None, _version(os.stat(os_path)))
            model = await ensure_async(self._cm.get(path, content=False))
        except Exception as exc:
            raise self._translate(exc, path) from exc
        return FileSnapshot(None, None, model.get("last_modified"))

    async def write(
        self, content: Any, expected_version: Any = None, data: bytes | None = None
    ) -> FileSnapshot:
        """Write ``content``; with ``expected_version``, raise :class:`FileChanged` instead
        of overwriting a file someone else changed in the meantime. ``data``, when given,
        is ``content`` already serialized (a local file then gets exactly these bytes)."""
        path = self.path
        os_path = self._os_path(path)
        try:
            if os_path is None:
                model = {"content": content, **self._model_args()}
                if self.kind == "notebook":
                    model["format"] = "json"
                await ensure_async(self._cm.save(model, path))
                saved = await ensure_async(self._cm.get(path, content=False, require_hash=True))
                return FileSnapshot(None, saved.get("hash"), saved.get("last_modified"))
            if data is None:
                data = self._serialize(content)
            version = await asyncio.to_thread(write_atomically, os_path, data, expected_version)
        except (FileChanged, FileReadOnly):
            raise
        except PermissionError as exc:
            raise FileReadOnly(f"{path} is read-only") from exc
        except Exception as exc:
            raise self._translate(exc, path) from exc
        return FileSnapshot(None, hashlib.sha256(data).hexdigest(), version)

    def _os_path(self, path: str) -> str | None:
        get_os_path = getattr(self._cm, "_get_os_path", None)
        return get_os_path(path) if callable(get_os_path) else None

    def _serialize(self, content: Any) -> bytes:
        if self.kind == "notebook":
            text = nbformat.writes(nbformat.from_dict(content), version=nbformat.NO_CONVERT)
            if not text.endswith("\n"):
                text += "\n"
            return text.encode("utf-8")
        return str(content).encode("utf-8")

    @staticmethod
    def _translate(exc: Exception, path: str) -> Exception:
        status = _status(exc)
        if status == 404 or isinstance(exc, FileNotFoundError):
            return FileGone(f"{path} does not exist")
        if isinstance(exc, BadFile):
            return exc
        if status == 400 or isinstance(exc, (UnicodeDecodeError, ValueError)):
            reason = getattr(exc, "log_message", None) or str(exc)
            return BadFile(f"{path} cannot be read: {reason}")
        return exc


def _read_bytes(os_path: str) -> tuple[tuple[int, int, int], bytes]:
    if os.path.isdir(os_path):
        raise BadFile(f"{os_path} is a directory")
    version = _version(os.stat(os_path))
    with open(os_path, "rb") as handle:
        return version, handle.read()


def _writable(os_path: str, mode: int) -> bool:
    """Whether the file's own permissions allow writing it. Replacing a file by rename
    needs only the folder's permission, so this is checked explicitly; root, whom the
    kernel lets write anything, still respects a file nobody may write (``chmod 444``)."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return bool(mode & 0o222)
    return os.access(os_path, os.W_OK)


def _version(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def write_atomically(os_path: str, data: bytes, expected: Any = None) -> tuple[int, int, int]:
    """Replace ``os_path`` with ``data``: temp file, fsync, rename. Keeps the file's mode;
    a symlinked file stays a symlink (its target is replaced). Returns the version of
    the file written (taken from the temp file itself, so a write by someone else right
    after the rename is never mistaken for ours)."""
    os_path = os.path.realpath(os_path)
    if not os.path.exists(os_path):
        raise FileNotFoundError(os_path)
    folder = os.path.dirname(os_path)
    mode = os.stat(os_path).st_mode & 0o7777
    if not _writable(os_path, mode):
        raise FileReadOnly(f"{os_path} is read-only")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".~tandem-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        version = _version(os.stat(tmp))
        if expected is not None and _version(os.stat(os_path)) != expected:
            raise FileChanged(os_path)
        os.replace(tmp, os_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return version
