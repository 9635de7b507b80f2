"""Stock JupyterLab on Tandem.

JupyterLab's collaborative mode is two halves: the frontend (the ``jupyter-docprovider``
and ``jupyter-collaboration-ui`` lab extensions) and a server (``jupyter_server_ydoc``).
Tandem is the server half. This module gives the frontend what it expects from the
server: page config (``disableRTC``, ``serverSideExecution``), the event schemas it
listens to, answers for the endpoints Tandem does not implement (see
``handlers/lab.py``), and ``tandem lab [ROOT]``, which opens JupyterLab on Tandem.

Tandem refuses to start next to ``jupyter_server_ydoc``: both would answer
``/api/collaboration/*`` and whichever registered first would silently win.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from traitlets import Bool
from traitlets.config import Configurable

__all__ = ["ConflictingExtension", "TandemLab", "on_room_started", "routes"]

# Server extensions that implement the same endpoints as Tandem.
CONFLICTING_EXTENSIONS = ("jupyter_server_ydoc", "jupyter_collaboration")
EVENTS = Path(__file__).parent / "events"
SESSION_EVENTS = "https://schema.jupyter.org/jupyter_collaboration/session/v1"
INSTALL_HINT = 'pip install "jupyter-tandem[lab]"'
# Frontend plugins for features Tandem does not have: hidden rather than failing on use.
# jupyter-collaboration's "Share Jupyter Server Link" copies a URL carrying the owner's
# token (whoever opens it *is* the owner): disabled; Tandem's lab extension answers its
# command (and its top-bar button) with Tandem's scoped, revocable Share instead.
TOKEN_LINK_PLUGINS = ("@jupyter/collaboration-extension:shared-link",)
HIDDEN_PLUGINS = ("@jupyter/docprovider-extension:statusBarTimeline", *TOKEN_LINK_PLUGINS)


class ConflictingExtension(SystemExit):
    """Raised (as an exit, which Jupyter's extension loader does not swallow) when a
    server extension that answers Tandem's URLs is enabled too."""


class TandemLab(Configurable):
    """What JupyterLab's collaborative frontend is told about this server."""

    server_side_execution = Bool(
        False,
        config=True,
        help="Tell JupyterLab to run cells on the server (POST /api/kernels/{id}/execute): "
        "outputs are written into the shared notebook by Tandem and survive closed tabs. "
        "Off: JupyterLab runs cells over the kernel WebSocket as usual.",
    )


def conflicting_extensions(serverapp: Any) -> list[str]:
    """Enabled server extensions that would answer ``/api/collaboration/*`` too."""
    manager = getattr(serverapp, "extension_manager", None)
    found: list[str] = []
    for name in CONFLICTING_EXTENSIONS:
        package = manager.extensions.get(name) if manager is not None else None
        if package is not None and getattr(package, "enabled", False):
            found.append(name)
        elif manager is None and serverapp.jpserver_extensions.get(name):
            found.append(name)
    return found


def refuse_conflicts(serverapp: Any) -> None:
    found = conflicting_extensions(serverapp)
    if not found:
        return
    names = ", ".join(found)
    message = (
        f"Tandem cannot run next to {names}: both serve /api/collaboration/*. "
        f"Disable it (jupyter server extension disable {found[0]}), or uninstall "
        f"jupyter-collaboration and install {INSTALL_HINT}, which brings JupyterLab's "
        "collaboration frontend without its server half."
    )
    serverapp.log.critical(message)
    print(f"tandem: {message}", file=sys.stderr)
    raise ConflictingExtension(2)


def configure_page(serverapp: Any, settings: TandemLab) -> None:
    """Page config read by the collaboration frontend. ``setdefault``: an explicit
    ``page_config_data`` from the admin wins."""
    page_config = serverapp.web_app.settings.setdefault("page_config_data", {})
    page_config.setdefault("disableRTC", False)
    page_config.setdefault("serverSideExecution", settings.server_side_execution)


def hide_unsupported_plugins(serverapp: Any) -> None:
    """Hide JupyterLab's edit-timeline button (Tandem compacts history into snapshots,
    so there is no per-edit timeline to step through) and jupyter-collaboration's
    token link (``TOKEN_LINK_PLUGINS``). Done in ``page_config_hook``
    because JupyterLab rebuilds ``disabledExtensions`` from disk on every page."""
    settings = serverapp.web_app.settings
    previous = settings.get("page_config_hook")

    def hook(handler: Any, page_config: dict[str, Any]) -> dict[str, Any]:
        if previous is not None:
            page_config = previous(handler, page_config)
        disabled = list(page_config.get("disabledExtensions") or [])
        page_config["disabledExtensions"] = disabled + [
            p for p in HIDDEN_PLUGINS if p not in disabled
        ]
        return page_config

    settings["page_config_hook"] = hook


def register_event_schemas(serverapp: Any) -> None:
    """The schemas jupyter_server_ydoc registers, under the same ids, so that events
    Tandem emits reach ``/api/events/subscribe`` exactly as the frontend expects."""
    logger = getattr(serverapp, "event_logger", None)
    if logger is None:
        return
    for name in ("session", "awareness", "fork"):
        schema_id = f"https://schema.jupyter.org/jupyter_collaboration/{name}/v1"
        if schema_id not in logger.schemas.schema_ids:
            logger.register_event_schema(EVENTS / f"{name}.yaml")


def routes(app: Any) -> list[tuple[Any, ...]]:
    """Called from TandemApp.initialize_handlers: check, configure, and the routes."""
    from .handlers import lab as lab_api

    refuse_conflicts(app.serverapp)
    app.lab_settings = TandemLab(parent=app)
    configure_page(app.serverapp, app.lab_settings)
    hide_unsupported_plugins(app.serverapp)
    register_event_schemas(app.serverapp)
    return lab_api.routes(app)


def on_room_started(app: Any, room: Any) -> None:
    """A document room opened: tell ``/api/events/subscribe`` (JupyterLab's docprovider
    shows session events in the document's log console), now and after each save."""
    if getattr(room, "file", None) is None:
        return
    emit_session_event(
        app, room, "initialize", "Room opened from the file and Tandem's durable history."
    )
    on_saved = getattr(room, "on_saved", None)
    if on_saved is not None:
        on_saved.append(lambda saved: emit_session_event(app, saved, "save", "Content saved."))


def emit_session_event(app: Any, room: Any, action: str, message: str) -> None:
    """One event of jupyter-collaboration's session schema for ``room``."""
    logger = getattr(app.serverapp, "event_logger", None)
    if logger is None:
        return
    try:
        logger.emit(
            schema_id=SESSION_EVENTS,
            data={
                "level": "INFO",
                "room": room.room_id,
                "path": str(room.file.path or ""),
                "store": "tandem",
                "action": action,
                "msg": message,
            },
        )
    except Exception as exc:  # an event is never worth failing a room or a save for
        app.log.warning("could not emit the %s session event for %s: %r", action, room.room_id, exc)
