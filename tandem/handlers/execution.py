"""Shared execution over HTTP.

Tandem's own API (the web app, scripts)::

    POST /tandem/api/execution/run/{path}        {"cells": [{"id", "source_hash"}]}
    POST /tandem/api/execution/interrupt/{path}
    POST /tandem/api/execution/restart/{path}
    POST /tandem/api/execution/input/{path}      {"run_id", "value"}
    GET  /tandem/api/execution/state/{path}

and JupyterLab's server-side execution (owner only)::

    POST /api/kernels/{kernel_id}/execute        {"cell_id", "document_id"}
    GET  /api/kernels/{kernel_id}/requests/{run_id}

Every request passes the access check for its path: ``execute`` for changes (owner and
``run`` guests), ``read`` for the state. Every run is audited with its source hash.
"""

from __future__ import annotations

import re
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..access import AuditKind
from ..auth import access_of, principal_of
from ..execution import (
    OWNER,
    CellRequest,
    ExecutionService,
    Requester,
    SourceChanged,
    UnknownCell,
    source_hash,
)
from ..identity import identity_of
from ..paths import InvalidPath, notebook_api_path
from .errors import JsonErrors, refuse
from .guests import decide_access, require_access
from .ready import ReadyMixin, json_object

__all__ = ["routes"]

HASH = re.compile(r"^[0-9a-f]{64}$")
MAX_CELLS = 10_000
MAX_INPUT = 1024 * 1024


def routes(app: Any) -> list[tuple[Any, ...]]:
    args = {"app": app}
    return [
        (r"/tandem/api/execution/(run|interrupt|restart|input)/(.+)", ExecutionActionHandler, args),
        (r"/tandem/api/execution/state/(.+)", ExecutionStateHandler, args),
        (r"/api/kernels/([\w-]+)/execute", KernelExecuteHandler, args),
        (r"/api/kernels/([\w-]+)/requests/([0-9a-f]+)", KernelRequestHandler, args),
    ]


class _ExecutionHandler(JsonErrors, ReadyMixin, APIHandler):
    auth_resource = "kernels"

    def initialize(self, app: Any) -> None:
        self.tandem = app

    @property
    def execution(self) -> ExecutionService:
        return self.tandem.execution

    def requester(self) -> Requester:
        user = self.current_user
        identity = identity_of(user)
        principal = principal_of(user)
        if not principal.is_owner:
            return Requester(
                principal.id,
                identity["username"],
                identity["name"],
                identity["color"],
                principal=principal,
            )
        return Requester(OWNER, identity["username"], identity["name"], identity["color"])

    def notebook_path(self, raw: str) -> str:
        try:
            return notebook_api_path(self.settings.get("server_root_dir", "."), raw)
        except InvalidPath as exc:
            raise web.HTTPError(400, str(exc)) from exc

    async def check(self, path: str, action: str) -> None:
        """The access check (403), then that the notebook exists (404): a guest learns
        nothing about files outside what was shared with them."""
        await require_access(self, path, action, "not allowed")
        if not await ensure_async(self.contents_manager.file_exists(path)):
            raise web.HTTPError(404, "no such notebook")

    async def audit_runs(self, path: str, runs: list[Any]) -> None:
        access = access_of(self)
        if access is None:
            return
        for run in runs:
            await access.record(
                AuditKind.EXECUTION_REQUESTED,
                run.requester.principal_id,
                path,
                self.request.remote_ip,
                cell_id=run.cell_id,
                source_hash=source_hash(run.source),
                run_id=run.run_id,
            )


class ExecutionActionHandler(_ExecutionHandler):
    checks_guests = True

    @web.authenticated
    @authorized
    async def post(self, action: str, raw_path: str) -> None:
        path = self.notebook_path(raw_path)
        await self.check(path, "execute")
        body = json_object(self.request.body)
        try:
            if action == "run":
                await self._run(path, body)
            elif action == "input":
                await self._input(path, body)
            elif action == "interrupt":
                self.finish({"kernel": await self.execution.interrupt(path)})
            else:
                self.finish({"kernel": await self.execution.restart(path)})
        except FileNotFoundError as exc:
            raise web.HTTPError(404, "no such notebook") from exc

    async def _run(self, path: str, body: dict[str, Any]) -> None:
        cells = body.get("cells")
        if not isinstance(cells, list) or not cells or len(cells) > MAX_CELLS:
            raise web.HTTPError(400, "cells must be a non-empty list of {id, source_hash}")
        requests = []
        for cell in cells:
            if (
                not isinstance(cell, dict)
                or not isinstance(cell.get("id"), str)
                or not HASH.match(str(cell.get("source_hash", "")))
            ):
                raise web.HTTPError(
                    400, "each cell needs an id and a source_hash (SHA-256 hex of its source)"
                )
            requests.append(CellRequest(cell["id"], cell["source_hash"]))
        try:
            runs = await self.execution.run(path, requests, self.requester())
        except SourceChanged as exc:
            raise refuse(409, "source_changed", str(exc), cell_id=exc.cell_id) from exc
        except UnknownCell as exc:
            raise refuse(404, "unknown_cell", str(exc), cell_id=exc.cell_id) from exc
        await self.audit_runs(path, runs)
        self.set_status(202)
        self.finish({"runs": [{"run_id": run.run_id, "cell_id": run.cell_id} for run in runs]})

    async def _input(self, path: str, body: dict[str, Any]) -> None:
        run_id, value = body.get("run_id"), body.get("value")
        if not isinstance(run_id, str) or not isinstance(value, str) or len(value) > MAX_INPUT:
            raise web.HTTPError(400, "run_id and value must be strings")
        if not await self.execution.answer_input(path, run_id, value, self.requester()):
            raise web.HTTPError(409, "no input is waiting for you in that run")
        self.finish({"ok": True})


class ExecutionStateHandler(_ExecutionHandler):
    checks_guests = True

    @web.authenticated
    @authorized
    async def get(self, raw_path: str) -> None:
        path = self.notebook_path(raw_path)
        await self.check(path, "read")
        can_run = (await decide_access(self, path, "execute")).allowed  # asks: no audit
        try:
            state = await self.execution.state(path)
        except FileNotFoundError as exc:
            raise web.HTTPError(404, "no such notebook") from exc
        self.finish({**state, "can_run": can_run})


class KernelExecuteHandler(_ExecutionHandler):
    """JupyterLab's server-side execution. Guests never reach it (Jupyter's authorizer
    denies them every kernels endpoint)."""

    @web.authenticated
    @authorized
    async def post(self, kernel_id: str) -> None:
        body = json_object(self.request.body)
        meta: dict[str, Any] = body["metadata"] if isinstance(body.get("metadata"), dict) else {}
        cell_id = body.get("cell_id", meta.get("cell_id"))
        document_id = body.get("document_id", meta.get("document_id"))
        code = body.get("code")
        if not isinstance(cell_id, str) or not isinstance(document_id, str):
            raise web.HTTPError(400, "cell_id and document_id are required")
        if code is not None and not isinstance(code, str):
            raise web.HTTPError(400, "code must be a string")
        parts = document_id.split(":", 2)
        if len(parts) != 3 or parts[:2] != ["json", "notebook"]:
            raise web.HTTPError(400, "document_id must be json:notebook:<file id>")
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, f"no kernel {kernel_id}")
        file_id = parts[2]
        path = self.settings["file_id_manager"].get_path(file_id)
        if path is None:
            raise web.HTTPError(404, "no such document")
        try:
            run = await self.execution.run_on_kernel(
                kernel_id, file_id, cell_id, code, self.requester()
            )
        except SourceChanged as exc:
            raise web.HTTPError(409, str(exc)) from exc
        except UnknownCell as exc:
            raise web.HTTPError(404, str(exc)) from exc
        await self.audit_runs(path, [run])
        await self.execution.wait(file_id, run)
        self.finish(_reply(run))


class KernelRequestHandler(_ExecutionHandler):
    @web.authenticated
    @authorized
    async def get(self, kernel_id: str, run_id: str) -> None:
        for notebook in self.execution.notebooks.values():
            run = notebook.finished.get(run_id)
            if run is not None:
                return await self.finish(_reply(run))
            if any(
                r.run_id == run_id
                for r in ([notebook.current] if notebook.current else []) + list(notebook.queue)
            ):
                self.set_status(202)
                self.set_header("Location", self.request.path)
                return await self.finish({"status": "pending"})
        raise web.HTTPError(404, "no such request")


def _reply(run: Any) -> dict[str, Any]:
    return {"status": "error" if run.failed else "ok", "run_id": run.run_id, "cell_id": run.cell_id}
