"""The web app's notebook editor: its HTML shell, its bundle, who you are, and the
sandbox that renders HTML and JavaScript outputs.

- ``GET /tandem/notebook/{path}``: the shell (the bundled ``editor.js``/``editor.css`` and
  the user's identity and role as JSON, and a guest's room token), under a strict
  Content-Security-Policy: scripts and styles only from this origin, no request to any
  other origin, no framing. A guest whose grants
  do not cover the path, and a path that does not exist, get the same 404 page.
- ``GET /tandem/api/me/{path}``: ``{"username", "name", "color", "role", "can_edit",
  "can_run", ...}`` for the current user on that notebook (same checks, JSON).
- ``GET /tandem/static/{file}``: the bundle (public: it holds no data).
- ``GET /tandem/output-frame``: an empty page, always sandboxed (``allow-scripts`` without
  ``allow-same-origin``, so it runs in an opaque origin), that the editor loads into an
  iframe and posts an output's HTML into. Its own CSP lets the output's scripts run there
  and nowhere else; they cannot reach Tandem's origin, its cookies or the network.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web

from ..access import Action, Role
from ..auth import GuestUser, access_of, guest_cookie, principal_of
from ..identity import identity_of
from ..paths import InvalidPath, notebook_api_path
from .errors import JsonErrors
from .frame_guard import FRAME_GUARD_JSON
from .guests import audit_refusal, decide_access
from .pages import login_url
from .ready import ReadyMixin

__all__ = ["EditorAccess", "routes"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

SHELL_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # KaTeX lays formulas out with inline style attributes; scripts stay strict.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "object-src 'none'",
        # Never framed, not even by this origin: on a shared hub origin another user's
        # page could otherwise frame it and read the guest's room token.
        "frame-ancestors 'none'",
    ]
)

FRAME_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'unsafe-inline' 'unsafe-eval'",
        "style-src 'unsafe-inline'",
        "img-src data: blob:",
        "font-src data:",
        "media-src data: blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-scripts",
    ]
)

# The frame waits for one message from its parent and writes that HTML into itself,
# behind a script that reports the content's height. Heights are all it ever sends.
FRAME_PAGE = """<!doctype html><html><head><meta charset="utf-8"><script>
(function () {
  var done = false;
  var guard = "<scr" + "ipt>" + __GUARD__ + "</scr" + "ipt>";
  var reporter = guard + "<scr" + "ipt>(function(){var last=-1;function report(){"
    + "var h=Math.ceil(Math.max(document.documentElement.scrollHeight,"
    + "document.body?document.body.scrollHeight:0));"
    + "if(h!==last){last=h;parent.postMessage({type:'tandem-frame-size',height:h},'*');}}"
    + "new ResizeObserver(report).observe(document.documentElement);"
    + "addEventListener('load',report);setTimeout(report,0);})();</scr" + "ipt>"
    + "<style>html,body{margin:0;padding:0;background:transparent;"
    + "font:14px/1.4 system-ui,sans-serif;color:#1a1a1a}</style>";
  addEventListener("message", function (event) {
    var data = event.data;
    if (done || event.source !== parent || !data || data.type !== "tandem-output"
        || typeof data.html !== "string") return;
    done = true;
    document.open();
    document.write(reporter + data.html);
    document.close();
  });
  parent.postMessage({type: "tandem-frame-ready"}, "*");
})();
</script></head><body></body></html>""".replace("__GUARD__", FRAME_GUARD_JSON)

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;
padding:0 1rem;color:#1a1a1a}}</style>
</head><body>{body}</body></html>"""

NOT_AVAILABLE = PAGE.format(
    title="Notebook not available",
    body="<h1>This notebook is not available</h1><p>It does not exist, or it is not shared "
    "with you. If someone shared it with you, open their link again or ask them for a new one.</p>",
)

NOT_A_PAGE = PAGE.format(
    title="Open this page in the browser",
    body="<h1>Open this notebook in the browser</h1><p>This page opens from a link, "
    "not from a script.</p>",
)

SHELL = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{title} — Tandem</title>
<link rel="stylesheet" href="{css}">
<script type="application/json" id="tandem-config">{config}</script>
<script type="module" src="{js}"></script>
</head><body><div id="app" class="tc-app"><p class="tc-loading">Loading {title}…</p></div>
</body></html>"""


@dataclass(frozen=True)
class EditorAccess:
    """Who opens which notebook, with which role (what ``/tandem/api/me/{path}`` returns)."""

    path: str
    username: str
    name: str
    display_name: str
    initials: str
    color: str
    role: str
    can_edit: bool
    can_run: bool


class NotAvailable(Exception):
    """Unknown, invalid, or not shared: the caller answers the same for all three."""


async def editor_access(handler: Any, raw_path: str) -> EditorAccess:
    """The current user's access to the notebook at ``raw_path``; NotAvailable if none."""
    user = handler.current_user
    if user is None:
        raise NotAvailable()
    try:
        path = notebook_api_path(handler.settings.get("server_root_dir", "."), raw_path)
    except InvalidPath as exc:
        raise NotAvailable() from exc
    if not principal_of(user).is_owner:
        # The grant first: a guest learns nothing about files outside their scope.
        decision = await decide_access(handler, path, "read")
        if not decision.allowed or decision.role is None:
            await audit_refusal(handler, path, "read", decision)
            raise NotAvailable()
        role = decision.role.value
    else:
        writable = handler.authorizer.is_authorized(handler, user, "write", "contents")
        role = "owner" if writable else "view"
    if not await ensure_async(handler.contents_manager.file_exists(path)):
        raise NotAvailable()
    identity = identity_of(user, role)
    granted = Role(role)
    return EditorAccess(
        path=path,
        username=identity["username"],
        name=identity["name"],
        display_name=identity["display_name"],
        initials=identity["initials"],
        color=identity["color"],
        role=role,
        can_edit=granted.can(Action.WRITE),
        can_run=granted.can(Action.EXECUTE),
    )


def opened_as_a_page(handler: Any) -> bool:
    """Whether the browser navigates to this page (a link, the address bar), as opposed
    to a script fetching it: browsers say so in ``Sec-Fetch-Mode``/``Sec-Fetch-Dest``,
    which no script can set. Requests without them (older browsers, other clients) pass."""
    mode = handler.request.headers.get("Sec-Fetch-Mode")
    dest = handler.request.headers.get("Sec-Fetch-Dest")
    return mode in (None, "navigate") and dest in (None, "document")


def room_token_of(handler: Any) -> str | None:
    """A link guest's room-socket token (see ``RoomHandler``), written only into the
    editor page: a page elsewhere on a shared origin can send the guest's cookie, but
    cannot read this page (it refuses framing). None for everyone else."""
    user = handler.current_user
    access = access_of(handler)
    if not isinstance(user, GuestUser) or access is None:
        return None
    return access.room_token(user.principal.id)


def _script_json(data: Any) -> str:
    """JSON that is safe inside a ``<script type="application/json">`` element."""
    text = json.dumps(data, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


class EditorPageHandler(ReadyMixin, JupyterHandler):
    """``GET /tandem/notebook/{path}``: the editor's HTML shell."""

    checks_guests = True

    @property
    def content_security_policy(self) -> str:
        return SHELL_CSP

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("X-Frame-Options", "DENY")

    async def get(self, raw_path: str) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        if self.current_user is None and not guest_cookie(self):
            # Nobody we know and no guest session: the owner logs in as Jupyter does.
            return self.redirect(login_url(self))
        if isinstance(self.current_user, GuestUser) and not opened_as_a_page(self):
            # A script's fetch() on a shared origin would read the guest's room token.
            self.set_status(403)
            return await self.finish(NOT_A_PAGE)
        try:
            access = await editor_access(self, raw_path)
        except NotAvailable:
            self.set_status(404)
            return await self.finish(NOT_AVAILABLE)
        missing = [
            name for name in ("editor.js", "editor.css") if not (STATIC_DIR / name).is_file()
        ]
        if missing:
            self.set_status(503)
            return await self.finish(
                PAGE.format(
                    title="Editor not built",
                    body="<h1>The editor is not built</h1><p>Run <code>make web</code> "
                    "(or <code>cd web &amp;&amp; node build.mjs</code>) and reload.</p>",
                )
            )
        self.xsrf_token  # noqa: B018 - sets the _xsrf cookie the app's POSTs echo back
        config = {
            "baseUrl": self.base_url,
            "path": access.path,
            "me": asdict(access),
            "frameUrl": self.base_url + "tandem/output-frame",
            "roomToken": room_token_of(self),
        }
        self.finish(
            SHELL.format(
                title=html.escape(access.path.rsplit("/", 1)[-1]),
                css=html.escape(self._static_url("editor.css")),
                js=html.escape(self._static_url("editor.js")),
                config=_script_json(config),
            )
        )

    def _static_url(self, name: str) -> str:
        version = StaticHandler.get_version({"static_path": str(STATIC_DIR)}, name)
        return f"{self.base_url}tandem/static/{name}?v={version}"


class MeHandler(JsonErrors, ReadyMixin, APIHandler):
    """``GET /tandem/api/me/{path}``: identity and role on one notebook."""

    checks_guests = True

    async def get(self, raw_path: str) -> None:
        if self.current_user is None:
            raise web.HTTPError(403)
        try:
            access = await editor_access(self, raw_path)
        except NotAvailable as exc:
            raise web.HTTPError(404, "not found or not shared with you") from exc
        self.finish(asdict(access))


class StaticHandler(web.StaticFileHandler):
    """The web app's bundle. Public (it holds no data), so guests and frames load it."""

    checks_guests = True

    def set_extra_headers(self, path: str) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        if self.get_query_argument("v", None):
            self.set_header("Cache-Control", "public, max-age=31536000, immutable")
        else:
            self.set_header("Cache-Control", "no-cache")


class OutputFrameHandler(JupyterHandler):
    """``GET /tandem/output-frame``: the sandbox for HTML and JavaScript outputs."""

    checks_guests = True

    @property
    def content_security_policy(self) -> str:
        return FRAME_CSP

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("X-Frame-Options", "SAMEORIGIN")  # framed by the editor only

    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "public, max-age=3600")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(FRAME_PAGE)


def routes(app: Any) -> list[tuple[Any, ...]]:
    """Tornado routes, given the TandemApp."""
    return [
        (r"/tandem/notebook/(.+)", EditorPageHandler),
        (r"/tandem/api/me/(.+)", MeHandler),
        (r"/tandem/output-frame", OutputFrameHandler),
        (r"/tandem/static/(.*)", StaticHandler, {"path": str(STATIC_DIR)}),
    ]
