"""The Jupyter Server extension and the ``tandem`` command."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace
from typing import Any

from jupyter_core.paths import jupyter_config_dir, jupyter_data_dir, jupyter_runtime_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, List, Unicode

from . import bodylimit, credentials, lab
from . import sandbox as confined
from .access import AccessService, AccessStore, Action, LiveRegistry, load_or_create_key
from .backlog import raise_backlog
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
from .handlers.send_queue import SendLimits
from .handlers.sharing import (
    AuditHandler,
    GrantHandler,
    GrantsHandler,
    InvitationHandler,
    InvitationLinkHandler,
    InvitationsHandler,
)
from .hub import handlers as hub_handlers
from .rooms import DocumentRoom, Room, RoomManager, RoomSettings
from .rooms.awareness import AwarenessLimits, PresencePolicy, PresenceSettings
from .rooms.guard import OutputGuard
from .rooms.lobby import GLOBAL_AWARENESS, RENEW_EVERY, GuestPresence
from .rooms.room import WriteLimits
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
    listen_backlog = Int(
        1024,
        config=True,
        help="Connections the server's listening socket holds while they wait to be "
        "accepted (Tornado's default is 128; the kernel caps it at net.core.somaxconn). "
        "Past it, a class joining at once has joins retried by TCP a second later.",
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
        help="The owner's name, the same everywhere: carets and avatars in JupyterLab "
        "(/api/me) and Tandem's editor, join pages, audit and run records. Default: "
        "$JUPYTERHUB_USER, else the account's full name or login.",
    )
    invitation_expiry = Float(
        24 * 3600.0, config=True, help="Default lifetime of a share link, in seconds (24 hours)."
    )
    join_request_timeout = Float(
        30.0,
        config=True,
        help="A request to join leaves the owner's list of requests once its waiting page "
        "has not checked in for this many seconds (its tab was closed), in seconds.",
    )
    invitation_max_expiry = Float(
        30 * 24 * 3600.0,
        config=True,
        help="Longest lifetime an owner may give a share link, in seconds.",
    )
    max_message_size = Int(
        64 * 1024 * 1024, config=True, help="Largest WebSocket message accepted, in bytes."
    )
    max_document_size = Int(
        64 * 1024 * 1024,
        config=True,
        help="Largest size (bytes) a peer may grow one document to; updates past it are "
        "refused and their sender is closed with 1009 (0: no limit).",
    )
    max_waiting_updates = Int(
        1000,
        config=True,
        help="Updates one room holds while they wait for data that has not arrived yet.",
    )
    max_waiting_per_peer = Int(
        200,
        config=True,
        help="Of a room's waiting updates, how many one connection may have; past it the "
        "connection is closed (1008).",
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
    public_url = Unicode(
        "",
        config=True,
        help="The address people reach this server at (scheme, host and base URL, e.g. "
        "https://hub.example.org/user/alice/), used in share links. Default: "
        "$JUPYTERHUB_PUBLIC_URL under JupyterHub, else the address the request that "
        "created the link came to.",
    )
    allow_link_guests = Bool(
        True,
        config=True,
        help="Whether owners may share by link with people who have no login here (link "
        "guests). Off: only hub users (under JupyterHub) can be given access.",
    )
    hub_recheck_interval = Float(
        2.0,
        config=True,
        help="Under JupyterHub: seconds between re-checks, with the hub itself (not its "
        "cache), that each connected hub user may still reach this server.",
    )
    input_timeout = Float(
        300.0,
        config=True,
        help="Seconds a cell's input() waits for its person's answer before it fails.",
    )

    def _write_limits(self) -> WriteLimits:
        return WriteLimits(
            max_document_size=self.max_document_size,
            max_waiting_updates=self.max_waiting_updates,
            max_waiting_per_peer=self.max_waiting_per_peer,
        )

    sandbox = Bool(
        True,
        config=True,
        help="Confine the kernel of a notebook shared for running (Landlock) to the shared "
        "scope, everyone's runs included. Off, or where Linux cannot confine, guests may not "
        "run code unless guests_run_as_me is set.",
    )
    guests_run_as_me = Bool(
        False,
        config=True,
        help="Where the sandbox cannot be applied, let run guests' code run unconfined, as the "
        "owner, with the owner's files and secrets (off: their runs are refused).",
    )
    allow_runs_as_me_links = Bool(
        True,
        config=True,
        help="Let the owner choose, for one run link (runs_as_owner, `tandem share "
        "--runs-as-me`), that where the sandbox cannot be applied its guests' code runs "
        "unconfined, as the owner. Off: that choice is refused (guests_run_as_me still applies).",
    )
    sandbox_network = Enum(
        list(confined.NETWORK_MODES),
        "none",
        config=True,
        help="Network of confined kernels: none (no network at all), outbound (TCP connect "
        "to sandbox_ports only, which refuses loopback services on other ports), all.",
    )
    sandbox_ports = List(
        Int(),
        [80, 443],
        config=True,
        help="TCP ports confined kernels may connect to when sandbox_network is outbound.",
    )
    sandbox_memory = Int(
        4 * 1024**3,
        config=True,
        help="Address-space limit of a confined kernel and each of its processes, in bytes "
        "(0: none).",
    )
    sandbox_processes = Int(
        256,
        config=True,
        help="Most processes and threads a confined kernel may have at once (0: no limit).",
    )
    sandbox_cpu_seconds = Int(
        0,
        config=True,
        help="CPU seconds a confined kernel process may use in its life (0: no limit); past "
        "it the kernel dies and must be restarted.",
    )
    interrupt_grace = Float(
        5.0,
        config=True,
        help="Seconds a revoked guest's interrupted run may keep running before its kernel is "
        "restarted.",
    )

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        super()._link_jupyter_server_extension(serverapp)
        from .hub.install import install

        self.under_hub = install(serverapp, self.log)

    under_hub = False
    """Whether Tandem's hub identity provider was installed (started by JupyterHub)."""

    presence_policy = Enum(
        ["by-role", "everyone"],
        "by-role",
        config=True,
        help="Who sees whose presence (cursor, selection). 'by-role': viewers see the "
        "presenter's, editors' and owner's states and a count of viewers, others see "
        "everyone; 'everyone': everyone sees everyone.",
    )
    awareness_tick = Float(
        0.05,
        config=True,
        help="Seconds awareness changes are gathered and relayed as one message per room.",
    )
    awareness_max_state_bytes = Int(
        8192,
        config=True,
        help="Largest awareness state (its JSON), in bytes; a larger one closes the socket (1007).",
    )
    awareness_max_ids_per_connection = Int(
        8, config=True, help="Awareness client ids one connection may publish states for."
    )
    awareness_max_states_per_room = Int(
        2000, config=True, help="Awareness states one room holds; more are ignored."
    )
    awareness_outdated_after = Float(
        30.0,
        config=True,
        help="Seconds after which an awareness state that was not renewed expires (0: never).",
    )
    max_send_backlog = Int(
        16 * 1024 * 1024,
        config=True,
        help="Unsent bytes a room socket may fall behind by before it is closed (4408) so "
        "its client reconnects and resyncs.",
    )
    presence_send_backlog = Int(
        256 * 1024,
        config=True,
        help="Unsent bytes past which awareness frames to a room socket are dropped until "
        "it catches up.",
    )

    @property
    def server(self) -> Any:
        """The Jupyter server this extension runs in (set before any of Tandem's hooks)."""
        assert self.serverapp is not None, "Tandem runs inside a Jupyter server"
        return self.serverapp

    def initialize_settings(self) -> None:
        path = self.db_path or os.path.join(jupyter_data_dir(), "tandem", "tandem.sqlite")
        self.store = SQLiteStore(path, synchronous=self.sqlite_synchronous)
        key = load_or_create_key(os.path.join(os.path.dirname(path), "access.key"))
        self.access = AccessService(
            AccessStore(path, synchronous=self.sqlite_synchronous),
            key,
            self.server.root_dir,
            default_expiry=self.invitation_expiry,
            max_expiry=self.invitation_max_expiry,
        )
        self.sandbox_service = self._make_sandbox(path)
        self.live = LiveRegistry(self.access.clock)
        """Every live connection of every principal (revocation and expiry use it)."""
        self._sweeper: asyncio.Task[None] | None = None
        self._rechecker: asyncio.Task[None] | None = None
        self.hub_api: Any = None
        if self.under_hub:
            from .hub.api import HubAPI

            self.hub_api = HubAPI.from_environment()
        self._ready: asyncio.Future[None] | None = None
        self.room_settings = RoomSettings(
            save_delay=self.save_delay,
            save_max_wait=self.save_max_wait,
            poll_interval=self.file_poll_interval,
            compact_updates=self.compact_updates,
            compact_age=self.compact_age,
        )
        self.presence_settings = PresenceSettings(
            policy=PresencePolicy(self.presence_policy),
            tick=self.awareness_tick,
            outdated_after=self.awareness_outdated_after,
            limits=AwarenessLimits(
                max_state_bytes=self.awareness_max_state_bytes,
                max_ids_per_peer=self.awareness_max_ids_per_connection,
                max_states_per_room=self.awareness_max_states_per_room,
            ),
        )
        self.settings["tandem_send_limits"] = SendLimits(
            max_backlog=self.max_send_backlog, presence_backlog=self.presence_send_backlog
        )
        self.rooms = RoomManager(self._create_room, self.room_evict_delay, self.log)
        renew = self.awareness_outdated_after / 2 if self.awareness_outdated_after > 0 else 0
        self.guest_presence = GuestPresence(self.rooms, min(renew or RENEW_EVERY, RENEW_EVERY))
        """Guests and hub users in JupyterLab's global awareness (who is online, where)."""
        file_ids = _LazyFileIds(self)
        self.execution = ExecutionService(
            self.rooms,
            file_ids,
            self.server.kernel_manager,
            self.server.session_manager,
            ExecutionSettings(
                max_output_bytes=self.max_output_bytes,
                flush_interval=self.output_flush_interval,
                input_timeout=self.input_timeout,
            ),
            self.kernel_idle_timeout,
            self.log,
            authorize=self._may_still_run,
            runs_as_owner=self._runs_as_owner,
            sandbox=self.sandbox_service,
            interrupt_grace=self.interrupt_grace,
        )
        self.settings["tandem"] = self
        self.settings.setdefault("jupyter_server_ydoc", YDocShim(self.rooms, file_ids))
        self.log.info("Tandem store: %s", path)
        if self.under_hub:
            from .hub.startup import store_warning, summary

            owner = os.environ.get("JUPYTERHUB_USER", "")
            self.log.info(summary(owner, True, self.allow_link_guests, path))
            warning = store_warning(path)
            if warning:
                self.log.warning("Tandem: %s", warning)

    def join_link(self, handler: Any, code: str) -> str:
        """The link people open to redeem ``code``: on the public address, never the
        server's internal one (``tandem share`` talks to the internal one)."""
        public = self.public_url or (
            os.environ.get("JUPYTERHUB_PUBLIC_URL", "") if self.under_hub else ""
        )
        if public.startswith(("http://", "https://")):
            return f"{public.rstrip('/')}/tandem/join/{code}"
        request = handler.request
        return f"{request.protocol}://{request.host}{handler.base_url}tandem/join/{code}"

    def _make_sandbox(self, db_path: str) -> confined.SandboxService:
        """The sandbox service, installed as the kernel provisioner of this server."""
        from .sandbox import provisioner

        serverapp = self.serverapp
        assert serverapp is not None
        service = confined.SandboxService(
            confined.SandboxSettings(
                enabled=self.sandbox and provisioner.registered(),
                network=self.sandbox_network,
                ports=tuple(self.sandbox_ports),
                limits=confined.Limits(
                    memory_bytes=self.sandbox_memory,
                    processes=self.sandbox_processes,
                    cpu_seconds=self.sandbox_cpu_seconds,
                ),
                runs_as_me=self.guests_run_as_me,
                share_runs_as_me=self.allow_runs_as_me_links,
            ),
            serverapp.root_dir,
            lambda path: self.access.run_scopes(path),
            protected=[
                os.path.expanduser("~"),
                os.path.dirname(os.path.abspath(db_path)),
                jupyter_runtime_dir(),
                jupyter_data_dir(),
                jupyter_config_dir(),
                getattr(serverapp, "runtime_dir", ""),
                getattr(serverapp.kernel_manager, "connection_dir", ""),
            ],
        )
        if service.available:
            provisioner.install(service)
        self.log.info("Tandem sandbox: %s", service.describe())
        return service

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
                (r"/tandem/api/invitations/([\w-]+)/link", InvitationLinkHandler),
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
        credentials.keep_to_owner(self.serverapp)
        # Always there: the share dialogs ask it whether to offer hub users and groups.
        self.handlers.extend(hub_handlers.routes())

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        bodylimit.install(serverapp, self.max_request_body)
        raise_backlog(serverapp, self.listen_backlog)
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
        if self.under_hub:
            self._rechecker = asyncio.create_task(self._recheck_hub_users())
        self.execution.start()

    async def stop_extension(self) -> None:
        for task in (self._sweeper, self._rechecker):
            if task is not None:
                task.cancel()
        await self.execution.stop()
        self.guest_presence.stop()
        await self.rooms.stop()
        await self.store.stop()
        await self.access.store.stop()

    def _audit_denied_update(self, peer: Any, reason: str) -> None:
        """A peer without (or no longer with) write access sent a document update: it was
        dropped; the refusal is audited once per socket."""
        conn = self.live.get(peer.peer_id)
        if conn is None or conn.denial_audited:
            return
        conn.denial_audited = True
        now = self.access.clock()
        ended = Action.WRITE in conn.until and not conn.may(Action.WRITE, now)
        asyncio.ensure_future(
            self.access.record(
                "access_denied",
                conn.principal.id,
                conn.path,
                None,
                action=Action.WRITE.value,
                reason="write access ended" if ended else reason,
            )
        )

    # -- live connections ------------------------------------------------------------

    def close_connections(self, principal_ids: list[str]) -> None:
        """Close every live socket of these principals now (revocation, refusal), and
        cancel their runs."""
        asyncio.ensure_future(self.execution.cancel_for(principal_ids))
        self.live.close(principal_ids)
        if self.hub_api is not None:
            asyncio.ensure_future(self.unshare_unused_in_hub(principal_ids))

    async def unshare_unused_in_hub(self, principal_ids: list[str]) -> None:
        """Remove the hub share of hub users and groups left without any valid grant."""
        from .access.records import HUB_GROUP_PREFIX, HUB_USER_PREFIX

        now = self.access.clock()
        for pid in principal_ids:
            if not pid.startswith((HUB_USER_PREFIX, HUB_GROUP_PREFIX)):
                continue
            if any(g.valid(now) for g in await self.access.grants_for_session_hash(pid)):
                continue
            name = pid.split(":", 1)[1]
            user = name if pid.startswith(HUB_USER_PREFIX) else None
            try:
                await self.hub_api.unshare(user=user, group=None if user else name)
            except Exception as exc:
                self.log.warning("Tandem: could not remove the hub share of %s: %s", name, exc)

    async def _recheck_hub_users(self) -> None:
        """Close hub users' sockets once the hub no longer lets them in (within seconds)."""
        while True:
            await asyncio.sleep(self.hub_recheck_interval)
            try:
                await self.live.recheck()
            except Exception:
                self.log.exception("Tandem: re-checking hub users failed")

    async def _may_still_run(self, requester: Any, path: str) -> bool:
        """The choke point again for a guest's queued run, as it starts."""
        if requester.principal is None:
            return False
        try:
            resolved = self.access.resolve(path)
        except Exception:
            return False
        decision = await self.access.authorize(requester.principal, Action.EXECUTE, resolved)
        if not decision.allowed:
            why = replace(decision, reason=f"queued run not started: {decision.reason}")
            await self.access.refused(requester.principal, Action.EXECUTE, resolved, why)
        return bool(decision.allowed)

    async def _runs_as_owner(self, requester: Any, path: str) -> bool:
        """Whether the guest's own run link was made with ``runs_as_owner``."""
        if requester.principal is None:
            return False
        try:
            resolved = self.access.resolve(path)
        except Exception:
            return False
        return await self.access.runs_as_owner_for(requester.principal, resolved)

    async def _sweep_expired_guests(self) -> None:
        """Close live sockets when their read access ends while they are connected (write
        access that ends earlier is checked on every update: see ``RoomHandler.can_write``)."""
        while True:
            await asyncio.sleep(0.5)
            self.live.sweep()

    async def _create_room(self, room_id: str) -> Room:
        await self.ready()
        if room_id == GLOBAL_AWARENESS:
            room = Room(room_id, self.log)
            room.configure_presence(self.presence_settings)
            room.shows_viewer_count = False  # JupyterLab lists this room's states as people
            return room
        if room_id.count(":") < 2:
            raise UnsupportedDocument(f"unknown room {room_id[:64]!r}")
        file_format, file_type, file_id = room_id.split(":", 2)
        kind = kind_for(file_format, file_type)
        file_ids = self.settings["file_id_manager"]
        path = file_ids.get_path(file_id)
        if path is not None:
            await check_visible(self.server.contents_manager, path, guest=False)
        file = DocumentFile(self.server.contents_manager, lambda: file_ids.get_path(file_id), kind)
        room = DocumentRoom(room_id, file_id, kind, file, self.store, self.room_settings, self.log)
        room.limits = self._write_limits()
        room.configure_presence(self.presence_settings)
        room.on_denied.append(self._audit_denied_update)
        try:
            await room.start()
        except BaseException:
            await room.stop()
            raise
        if kind == "notebook":
            room.write_guards.append(OutputGuard(lambda: room.doc, self.log))

        def recheck(moved: DocumentRoom) -> None:
            asyncio.ensure_future(recheck_guests(self, moved))

        room.on_moved.append(recheck)
        self.execution.on_room_started(room)
        lab.on_room_started(self, room)
        return room


class _LazyFileIds:
    """jupyter_server_fileid's manager, looked up when first used (it is created after
    Tandem's settings)."""

    def __init__(self, app: TandemApp) -> None:
        self._app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app.server.web_app.settings["file_id_manager"], name)


launch_new_instance = TandemApp.launch_instance


def main() -> None:
    """``tandem``: the dispatch lives in :mod:`tandem.cli` (the console script's entry
    point), which imports this module only when it serves."""
    from . import cli

    sys.exit(cli.main(sys.argv[1:]))
