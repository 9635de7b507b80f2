"""What JupyterLab's collaboration frontend calls beyond the session and the room.

jupyter-collaboration also serves an edit timeline (``/api/collaboration/timeline``, with
``/api/collaboration/undo_redo`` to step through it) and document forks
(``/api/collaboration/fork``). Tandem has neither: its history is compacted into
snapshots, so there is no per-edit timeline to replay, and forks would be documents
outside the access layer. These handlers refuse them cleanly, in the shape the frontend
reads (a JSON error with a status it knows), owner only like every standard endpoint.
JupyterLab's timeline button is hidden (see ``tandem/lab.py``), so a normal session never
calls them.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from .errors import JsonErrors
from .ready import ReadyMixin

__all__ = ["routes"]

NO_TIMELINE = "Tandem keeps no edit timeline: its history is compacted into snapshots."
NO_FORKS = "Tandem does not support document forks."


def routes(app: Any) -> list[tuple[Any, ...]]:
    return [
        (r"/api/collaboration/timeline/(.*)", TimelineHandler),
        (r"/api/collaboration/undo_redo/(.*)", UndoRedoHandler),
        (r"/api/collaboration/fork/(.*)", ForkHandler),
    ]


class _CollaborationExtra(JsonErrors, ReadyMixin, APIHandler):
    auth_resource = "contents"


class TimelineHandler(_CollaborationExtra):
    @web.authenticated
    @authorized
    def get(self, path: str) -> None:
        raise web.HTTPError(404, NO_TIMELINE)


class UndoRedoHandler(_CollaborationExtra):
    @web.authenticated
    @authorized
    def put(self, room_id: str) -> None:
        raise web.HTTPError(404, NO_TIMELINE)


class ForkHandler(_CollaborationExtra):
    @web.authenticated
    @authorized
    def get(self, root_room_id: str) -> None:
        """The forks of a document: there are none."""
        self.finish({})

    @web.authenticated
    @authorized
    def put(self, root_room_id: str) -> None:
        raise web.HTTPError(501, NO_FORKS)

    @web.authenticated
    @authorized
    def delete(self, fork_room_id: str) -> None:
        raise web.HTTPError(404, NO_FORKS)
