"""The Jupyter Server extension and the ``tandem`` command."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Float, Int, Unicode

from . import bodylimit, lab
from .access import AccessService, AccessStore, AuditKind, load_or_create_key
from .documents.files import DocumentFile
from .documents.model import UnsupportedDocument, kind_for
from .documents.visibility import check_visible
from .execution import ExecutionService, ExecutionSettings
from .handlers import RoomHandler, SessionHandler
from .handlers import editor as editor_pages
from .handlers import execution as execution_api
from .handlers import join as join_pages
from .handlers import owner as owner_pages
from .handlers.moves import recheck_guests
from .handlers.room import GLOBAL_AWARENESS
from .handlers.sharing import (
    AuditHandler,
    GrantHandler,
    GrantsHandler,
    InvitationHandler,
    InvitationsHandler,
)
from .rooms import DocumentRoom, Room, RoomManager, RoomSettings
from .rooms.guard import OutputGuard
from .store import SQLiteStore
from .ydoc_shim import YDocShim

__all__ = ["TandemApp", "main"]


class TandemApp(ExtensionApp):
    name = "tandem"
    description = "Real-time collaboration for Jupyter notebooks, durable and access-checked."
    extension_url = "/tandem/"
    load_other_extensions = True
    subcommands: dict[str, Any] = {}
    serverapp_config = {
        "jpserver_extensions": {"jupyter_server_fileid": True},
        "identity_provider_class": "tandem.auth.TandemIdentityProvider",
        "authorizer_class": "tandem.auth.TandemAuthorizer",
    }

    db_path = Unicode(
        "",
        config=True,
        help="SQLite file for document histories. Default: <jupyter data dir>/tandem/tandem.sqlite "
        "(never beside the notebooks: home folders on NFS corrupt SQLite).",
    )
    sqlite_synchronous = Enum(
        ["FULL", "NORMAL"],
        "FULL",
        config=True,
        help="SQLite synchronous pragma: FULL survives power loss, NORMAL only process crashes.",
    )
    save_delay = Float(0.5, config=True, help="Seconds without edits before a document is saved.")
    save_max_wait = Float(
        3.0,
        config=True,
        help="Longest time (seconds) an edit may stay unsaved while people keep typing.",
    )
    file_poll_interval = Float(
        1.0,
        config=True,
        help="Seconds between checks for changes other programs make to open files.",
    )
    room_evict_delay = Float(
        60.0, config=True, help="Seconds a room with no peers stays in memory before it is evicted."
    )
    compact_updates = Int(
        500,
        config=True,
        help="Fold a document's update log into a snapshot after this many updates.",
    )
    compact_age = Float(
        60.0,
        config=True,
        help="Fold a document's update log once its oldest update is this old (seconds).",
    )
    owner_name = Unicode(
        "",
        config=True,
        help="The owner's name as guests see it on join pages. Default: $JUPYTERHUB_USER, "
        "else the account's full name or login.",
    )
    invitation_expiry = Float(
        24 * 3600.0, config=True, help="Default lifetime of a share link, in seconds (24 hours)."
    )
    invitation_max_expiry = Float(
        30 * 24 * 3600.0,
        config=True,
        help="Longest lifetime an owner may give a share link, in seconds.",
    )
    max_message_size = Int(
        64 * 1024 * 1024, config=True, help="Largest WebSocket message accepted, in bytes."
    )
    max_request_body = Int(
        1024 * 1024,
        config=True,
        help="Largest request body, in bytes, that Tandem's HTTP endpoints (/tandem/..., "
        "/api/collaboration/...) accept; larger ones are refused before they are read. "
        "Jupyter's own endpoints keep ServerApp.max_body_size.",
    )
    max_output_bytes = Int(
        1024 * 1024,
        config=True,
        help="Largest output one cell keeps, in bytes; past it a note says the rest was cut.",
    )
    output_flush_interval = Float(
        0.05,
        config=True,
        help="Seconds between writes of a running cell's output into the document.",
    )
    kernel_idle_timeout = Float(
        3600.0,
        config=True,
        help="Shut down a notebook's kernel after this many idle seconds (0: never).",
    )
    input_timeout = Float(
        300.0,
        config=True,
        help="Seconds a cell's input() waits for its person's answer before it fails.",
    )

    def initialize_settings(self) -> None:
        path = self.db_path or os.path.join(jupyter_data_dir(), "tandem", "tandem.sqlite")
        self.store = SQLiteStore(path, synchronous=self.sqlite_synchronous)
        key = load_or_create_key(os.path.join(os.path.dirname(path), "access.key"))
        self.access = AccessService(
            AccessStore(path, synchronous=self.sqlite_synchronous),
            key,
            self.serverapp.root_dir,
            default_expiry=self.invitation_expiry,
            max_expiry=self.invitation_max_expiry,
        )
        self.guest_peers: dict[str, set[Any]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self.room_settings = RoomSettings(
            save_delay=self.save_delay,
            save_max_wait=self.save_max_wait,
            poll_interval=self.file_poll_interval,
            compact_updates=self.compact_updates,
            compact_age=self.compact_age,
        )
        self.rooms = RoomManager(self._create_room, self.room_evict_delay, self.log)
        file_ids = _LazyFileIds(self)
        self.execution = ExecutionService(
            self.rooms,
            file_ids,
            self.serverapp.kernel_manager,
            self.serverapp.session_manager,
            ExecutionSettings(
                max_output_bytes=self.max_output_bytes,
                flush_interval=self.output_flush_interval,
                input_timeout=self.input_timeout,
            ),
            self.kernel_idle_timeout,
            self.log,
            authorize=self._may_still_run,
        )
        self.settings["tandem"] = self
        self.settings.setdefault("jupyter_server_ydoc", YDocShim(self.rooms, file_ids))
        self.log.info("Tandem store: %s", path)

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            [
                (r"/api/collaboration/session/(.*)", SessionHandler, {"rooms": self.rooms}),
                (
                    r"/api/collaboration/room/(.*)",
                    RoomHandler,
                    {"rooms": self.rooms, "max_message_size": self.max_message_size},
                ),
                (r"/tandem/api/invitations", InvitationsHandler),
                (r"/tandem/api/invitations/([\w-]+)", InvitationHandler),
                (r"/tandem/api/grants", GrantsHandler),
                (r"/tandem/api/grants/([\w-]+)", GrantHandler),
                (r"/tandem/api/audit", AuditHandler),
            ]
        )
        self.handlers.extend(editor_pages.routes(self))
        self.handlers.extend(owner_pages.routes(self))
        self.handlers.extend(join_pages.routes(self))
        self.handlers.extend(execution_api.routes(self))
        self.handlers.extend(lab.routes(self))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        bodylimit.install(serverapp, self.max_request_body)
        await self.ready()

    def ready(self) -> asyncio.Future[None]:
        """Resolves once the stores are open. Handlers await it, so a request that arrives
        while the server is still starting waits instead of failing."""
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._start_stores())
        return self._ready

    async def _start_stores(self) -> None:
        await self.store.start()
        await self.access.store.start()
        self._sweeper = asyncio.create_task(self._sweep_expired_guests())
        self.execution.start()

    async def stop_extension(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self.execution.stop()
        await self.rooms.stop()
        await self.store.stop()
        await self.access.store.stop()

    def _audit_denied_update(self, peer: Any, reason: str) -> None:
        """A read-only guest sent a document update: dropped, and audited once per socket."""
        session = getattr(peer, "guest_session", None)
        if session is None or getattr(peer, "denial_audited", False):
            return
        peer.denial_audited = True
        asyncio.ensure_future(
            self.access.record(
                AuditKind.ACCESS_DENIED,
                session,
                getattr(peer, "guest_path", None),
                None,
                reason=reason,
            )
        )

    # -- live guests -----------------------------------------------------------------

    def add_guest_peer(self, session_hash: str, peer: Any) -> None:
        self.guest_peers.setdefault(session_hash, set()).add(peer)

    def remove_guest_peer(self, session_hash: str, peer: Any) -> None:
        peers = self.guest_peers.get(session_hash)
        if peers is not None:
            peers.discard(peer)
            if not peers:
                del self.guest_peers[session_hash]

    def close_guests(self, session_hashes: list[str]) -> None:
        """Close every socket of these guest sessions now (revocation, refusal), and
        cancel their runs."""
        asyncio.ensure_future(self.execution.cancel_for(session_hashes))
        for session_hash in session_hashes:
            for peer in list(self.guest_peers.get(session_hash, ())):
                peer.close(4403, "Your access was revoked")

    async def _may_still_run(self, requester: Any, path: str) -> bool:
        """The choke point again for a guest's queued run, as it starts."""
        if requester.principal is None:
            return False
        try:
            resolved = self.access.resolve(path)
        except Exception:
            return False
        decision = await self.access.authorize(requester.principal, "execute", resolved)
        if not decision.allowed:
            await self.access.record(
                AuditKind.ACCESS_DENIED,
                requester.principal_id,
                resolved,
                None,
                action="execute",
                reason=f"queued run not started: {decision.reason}",
            )
        return bool(decision.allowed)

    async def _sweep_expired_guests(self) -> None:
        """Close guests' sockets when their access expires while they are connected."""
        while True:
            await asyncio.sleep(0.5)
            now = self.access.clock()
            for peers in list(self.guest_peers.values()):
                for peer in list(peers):
                    if peer.access_expires_at is not None and now >= peer.access_expires_at:
                        peer.close(4403, "Your access expired")

    async def _create_room(self, room_id: str) -> Room:
        await self.ready()
        if room_id == GLOBAL_AWARENESS:
            return Room(room_id, self.log)
        if room_id.count(":") < 2:
            raise UnsupportedDocument(f"unknown room {room_id[:64]!r}")
        file_format, file_type, file_id = room_id.split(":", 2)
        kind = kind_for(file_format, file_type)
        file_ids = self.settings["file_id_manager"]
        path = file_ids.get_path(file_id)
        if path is not None:
            await check_visible(self.serverapp.contents_manager, path, guest=False)
        file = DocumentFile(
            self.serverapp.contents_manager, lambda: file_ids.get_path(file_id), kind
        )
        room = DocumentRoom(room_id, file_id, kind, file, self.store, self.room_settings, self.log)
        room.on_denied.append(self._audit_denied_update)
        try:
            await room.start()
        except BaseException:
            await room.stop()
            raise
        if kind == "notebook":
            room.write_guards.append(OutputGuard(lambda: room.doc, self.log))
        room.on_moved.append(lambda moved: asyncio.ensure_future(recheck_guests(self, moved)))
        self.execution.on_room_started(room)
        lab.on_room_started(self, room)
        return room


class _LazyFileIds:
    """jupyter_server_fileid's manager, looked up when first used (it is created after
    Tandem's settings)."""

    def __init__(self, app: TandemApp) -> None:
        self._app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app.serverapp.web_app.settings["file_id_manager"], name)


launch_new_instance = TandemApp.launch_instance


def main() -> None:
    """``tandem [ROOT] [options]`` serves; ``tandem lab [ROOT]`` serves JupyterLab on Tandem;
    ``tandem share|shares|revoke|audit`` manages sharing on the running server (a folder
    with one of those names: ``tandem ./share``)."""
    from . import cli

    if len(sys.argv) > 1 and sys.argv[1] in cli.COMMANDS:
        sys.exit(cli.main(sys.argv[1:]))
    if len(sys.argv) > 1 and sys.argv[1] == "lab":
        return lab.launch(sys.argv[2:])
    launch_new_instance()
