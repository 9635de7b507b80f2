"""The home page and the owner's pages, with the two APIs behind them.

- ``GET /tandem/``: the owner sees the server's notebooks (``?path=`` browses folders), who
  is in each, and a Share button per item. A guest sees what was shared with them; one
  shared notebook and nothing else goes straight to its editor.
- ``GET /tandem/people`` and ``GET /tandem/audit``: owner only.
- ``GET /tandem/api/files?path=``: folders and notebooks of one folder. For a guest the
  folder must be inside a grant, and every entry is resolved (symlinks included) and
  checked through ``authorize`` before it is shown; ``path=""`` lists the guest's grants.
- ``GET /tandem/api/presence``: the people in each open notebook (owner only).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import asdict, dataclass
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web

from ..access import Action, Grant, InvalidScope
from ..auth import access_of, guest_cookie, permissions_of, principal_of
from ..rooms import DocumentRoom
from .errors import JsonErrors
from .guests import require_access
from .pages import PageMixin, editor_url, folder_url, login_url, render_page
from .ready import ReadyMixin

__all__ = ["routes"]

NOTEBOOK_SUFFIX = ".ipynb"
OWNER_PAGES = {"people": "People with access", "audit": "Audit log"}


@dataclass(frozen=True)
class Entry:
    """One item of a folder listing (``path`` is the API path, as the editor takes it)."""

    name: str
    path: str
    kind: str  # "folder" | "notebook"
    role: str | None = None
    expires_at: float | None = None


def is_owner(user: Any) -> bool:
    return principal_of(user).is_owner


def _scan(root: str, folder: str, listable: Any) -> list[tuple[Entry, str]]:
    """Folders and notebooks directly in ``folder`` (root-relative), with each entry's
    resolved root-relative path; hidden names and anything resolving outside the root
    (symlinks out, broken links) are left out."""
    real_root = os.path.realpath(root)
    base = os.path.join(real_root, *folder.split("/")) if folder else real_root
    found = []
    with os.scandir(base) as items:
        for item in items:
            if item.name.startswith(".") or not listable(item.name):
                continue
            real = os.path.realpath(item.path)
            if os.path.commonpath([real_root, real]) != real_root:
                continue
            if os.path.isdir(real):
                kind = "folder"
            elif os.path.isfile(real) and item.name.endswith(NOTEBOOK_SUFFIX):
                kind = "notebook"
            else:
                continue
            path = f"{folder}/{item.name}" if folder else item.name
            resolved = os.path.relpath(real, real_root).replace(os.sep, "/")
            found.append((Entry(item.name, path, kind), resolved))
    found.sort(key=lambda pair: (pair[0].kind != "folder", pair[0].name.casefold()))
    return found


def _crumbs(path: str, top: str = "") -> list[dict[str, str]]:
    """Breadcrumbs for ``path`` from ``top`` (exclusive of anything above it) down."""
    parts = path.split("/") if path else []
    start = len(top.split("/")) - 1 if top else 0
    return [{"name": parts[i], "path": "/".join(parts[: i + 1])} for i in range(start, len(parts))]


class HomeHandler(ReadyMixin, PageMixin, JupyterHandler):
    checks_guests = True

    @allow_unauthenticated  # decides itself: login page, or the waiting page for guests
    async def get(self) -> None:
        user = self.current_user
        if user is None:
            if guest_cookie(self):  # a guest still waiting, refused or revoked
                return self.redirect(self.base_url + "tandem/waiting")
            return self.redirect(login_url(self))
        _ = self.xsrf_token  # sets the _xsrf cookie the page's requests echo back
        if is_owner(user):
            return await self.finish(
                render_page(
                    base_url=self.base_url,
                    title="Notebooks",
                    bundle="owner",
                    data={"page": "home"},
                )
            )
        grants = await _valid_grants(self)
        if len(
            {(g.scope_path, g.scope_is_folder) for g in grants}
        ) == 1 and not self.get_query_argument("path", ""):
            only = grants[0]
            if not only.scope_is_folder:
                return self.redirect(editor_url(self.base_url, only.scope_path))
            return self.redirect(folder_url(self.base_url, only.scope_path))
        self.finish(
            render_page(
                base_url=self.base_url,
                title="Shared with you",
                bundle="join",
                data={"page": "shared", "name": getattr(user, "name", "")},
            )
        )


class OwnerPageHandler(ReadyMixin, PageMixin, JupyterHandler):
    """People with access, and the audit log."""

    @web.authenticated
    def get(self, page: str) -> None:
        if not is_owner(self.current_user):
            raise web.HTTPError(403, "owner only")
        _ = self.xsrf_token  # sets the _xsrf cookie
        self.finish(
            render_page(
                base_url=self.base_url,
                title=OWNER_PAGES[page],
                bundle="owner",
                data={"page": page},
            )
        )


async def _valid_grants(handler: Any) -> list[Grant]:
    """The current guest's grants that allow reading their scope now (through ``authorize``,
    so a revoked grant of the same invitation cancels them as everywhere else)."""
    return permissions_of(handler).readable_grants()


class FilesHandler(JsonErrors, ReadyMixin, APIHandler):
    checks_guests = True

    @web.authenticated
    async def get(self) -> None:
        access = access_of(self)
        if access is None:
            raise web.HTTPError(503, "not available")
        path = self.get_query_argument("path", "")
        if path.endswith("/") and path.strip("/"):
            path = path.rstrip("/")  # "course/" is "course"; "/" stays invalid
        user = self.current_user
        if not is_owner(user):
            if path == "":
                return await self.finish(await self._shared_items())
            await require_access(self, path, "read")  # audits the refusal; 403 for anything bad
        try:
            resolved = access.resolve(path)
        except InvalidScope as exc:
            raise web.HTTPError(400, str(exc)) from exc
        if any(part.startswith(".") for part in path.split("/")) and not getattr(
            self.contents_manager, "allow_hidden", False
        ):
            raise web.HTTPError(404, "no such folder")  # hidden, as Jupyter hides it
        real = (
            os.path.join(os.path.realpath(access.root_dir), *resolved.split("/"))
            if resolved
            else access.root_dir
        )
        if not os.path.exists(real):
            raise web.HTTPError(404, "no such folder")
        if not os.path.isdir(real):
            raise web.HTTPError(400, "not a folder")
        listable = getattr(self.contents_manager, "should_list", lambda name: True)
        try:
            found = await asyncio.to_thread(_scan, access.root_dir, path, listable)
        except OSError as exc:
            raise web.HTTPError(404, "folder cannot be read") from exc
        top = ""
        if not is_owner(user):
            found = await self._inside_grants(found)
            top = self._top_of(path, await _valid_grants(self))
        self.finish(
            {
                "path": path,
                "crumbs": _crumbs(path, top),
                "entries": [asdict(entry) for entry, _ in found],
            }
        )

    async def _shared_items(self) -> dict[str, Any]:
        items: dict[str, Entry] = {}
        for g in sorted(await _valid_grants(self), key=lambda g: g.scope_path):
            kind = "folder" if g.scope_is_folder else "notebook"
            name = g.scope_path.rsplit("/", 1)[-1]
            items.setdefault(
                g.scope_path, Entry(name, g.scope_path, kind, g.role.value, g.expires_at)
            )
        return {"path": "", "crumbs": [], "entries": [asdict(e) for e in items.values()]}

    async def _inside_grants(self, found: list[tuple[Entry, str]]) -> list[tuple[Entry, str]]:
        """Only the entries the guest may read, judged on their resolved paths."""
        permissions = permissions_of(self)
        return [
            (entry, resolved)
            for entry, resolved in found
            if permissions.decide(Action.READ, resolved)
        ]

    @staticmethod
    def _top_of(path: str, grants: list[Grant]) -> str:
        """The shared folder a guest's ``path`` is in (breadcrumbs start there)."""
        tops = [
            g.scope_path
            for g in grants
            if g.scope_is_folder and (path == g.scope_path or path.startswith(g.scope_path + "/"))
        ]
        return min(tops, key=len) if tops else path


class PresenceHandler(JsonErrors, ReadyMixin, APIHandler):
    """Who is in each open notebook right now, from the live rooms' peers."""

    @web.authenticated
    def get(self) -> None:
        if not is_owner(self.current_user):
            raise web.HTTPError(403, "owner only")
        rooms = []
        for room in self.settings["tandem"].rooms.rooms.values():
            if not isinstance(room, DocumentRoom) or not room.peers:
                continue
            try:
                path = room.file.path
            except Exception:  # the file is gone: nobody can be "in" it
                continue
            people: dict[str, dict[str, Any]] = {}
            for peer in list(room.peers.values()):
                who = peer.identity
                people.setdefault(
                    str(who.get("username")),
                    {
                        "name": who.get("display_name") or who.get("name"),
                        "initials": who.get("initials"),
                        "color": who.get("color"),
                        "role": who.get("role"),
                    },
                )
            listed: list[dict[str, Any]] = sorted(people.values(), key=lambda p: str(p["name"]))
            rooms.append({"path": path, "people": listed})
        self.finish({"rooms": sorted(rooms, key=lambda r: r["path"])})


def routes(app: Any) -> list[tuple[Any, ...]]:
    """Tornado routes, given the TandemApp."""
    return [
        (r"/tandem/?", HomeHandler),
        (r"/tandem/(people|audit)", OwnerPageHandler),
        (r"/tandem/api/files", FilesHandler),
        (r"/tandem/api/presence", PresenceHandler),
    ]
