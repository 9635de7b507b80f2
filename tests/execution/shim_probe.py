"""A tiny Jupyter server extension that uses ``settings["jupyter_server_ydoc"]`` the way
jupyter-server-nbmodel and jupyter-mcp-server do; loaded into a real test server."""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web


class ProbeHandler(APIHandler):
    @web.authenticated
    async def get(self, path: str) -> None:
        ydoc = self.settings["jupyter_server_ydoc"]
        document = await ydoc.get_document(
            path=path, content_type="notebook", file_format="json", copy=True
        )
        self.finish(json.dumps({"cells": len(document.ycells) if document else None}))

    @web.authenticated
    async def post(self, path: str) -> None:
        ydoc = self.settings["jupyter_server_ydoc"]
        document = await ydoc.get_document(
            path=path, content_type="notebook", file_format="json", copy=False
        )
        document.append_cell(
            {"cell_type": "markdown", "source": "added by a server extension", "metadata": {}}
        )
        self.finish(json.dumps({"cells": len(document.ycells)}))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "tests.execution.shim_probe"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    serverapp.web_app.add_handlers(".*$", [(r"/probe/ydoc/(.*)", ProbeHandler)])
