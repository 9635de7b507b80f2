"""``/tandem/api/...``: the owner's sharing API (invitations, grants, approvals, audit).

Owner only. Every revocation closes the affected guests' sockets at once.
"""

from __future__ import annotations

import dataclasses
import os
from enum import Enum
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..access import Grant, GrantStatus, InvalidRequest
from ..access.audit_words import AuditNames, describe
from ..auth import access_of, principal_of
from .errors import ApiError, JsonErrors, sharing_error
from .join import owner_display_name
from .ready import ReadyMixin, json_object

__all__ = [
    "AuditHandler",
    "GrantHandler",
    "GrantsHandler",
    "InvitationHandler",
    "InvitationLinkHandler",
    "InvitationsHandler",
]


def _plain(record: Any) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data.pop("code_hash", None)
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in data.items()}


class OwnerHandler(JsonErrors, ReadyMixin, APIHandler):
    """Base: refuses guests, turns access errors into clean 4xx answers."""

    def owner_only(self) -> Any:
        if self.current_user is None:
            raise web.HTTPError(403)
        if not principal_of(self.current_user).is_owner:
            raise web.HTTPError(403, "owner only")
        access = access_of(self)
        if access is None:
            raise web.HTTPError(503, "sharing is not available")
        return access

    def body(self) -> dict[str, Any]:
        return json_object(self.request.body)

    def describe(self, status: int, exc: BaseException | None) -> ApiError:
        access = access_of(self)
        root = access.root_dir if access is not None else ""
        return sharing_error(exc, root, self.request.body, access) or super().describe(status, exc)

    def close_sessions(self, sessions: list[str]) -> None:
        self.settings["tandem"].close_connections(sessions)

    def run_mode(self, path: str, runs_as_owner: bool, hub: bool = False) -> dict[str, object]:
        """How a guest's code will run through a new ``run`` link or hub share (confined,
        or as the owner); refused when neither is allowed."""
        from ..sandbox import Unconfinable

        tandem = self.settings["tandem"]
        resolved = tandem.access.resolve(path)
        is_folder = os.path.isdir(os.path.join(tandem.access.root_dir, resolved))
        try:
            return dict(tandem.sandbox_service.link_mode(resolved, is_folder, runs_as_owner))
        except Unconfinable as error:
            advice = (
                "give view or edit access (a hub user's code runs as you only where the "
                "server lets every run share do so: TandemApp.guests_run_as_me)"
                if hub
                else "give view or edit access, or let this link's guests run code as you "
                "(runs_as_owner: true, `tandem share --runs-as-me`; server-wide: "
                "TandemApp.guests_run_as_me)"
            )
            raise web.HTTPError(
                400, f"guests cannot run code in {resolved or '/'!r}: {error}; {advice}"
            ) from error


def asking(grant: Grant, now: float, timeout: float) -> bool:
    """A live request to join: pending, and its waiting page checked in within ``timeout``
    seconds (it polls every few seconds; a closed tab stops)."""
    return (
        grant.status is GrantStatus.PENDING
        and grant.revoked_at is None
        and now < grant.expires_at
        and grant.last_seen is not None
        and now - grant.last_seen <= timeout
    )


class InvitationsHandler(OwnerHandler):
    @web.authenticated
    async def get(self) -> None:
        access = self.owner_only()
        self.finish({"invitations": [_plain(i) for i in await access.list_invitations()]})

    @web.authenticated
    async def post(self) -> None:
        access = self.owner_only()
        if not self.settings["tandem"].allow_link_guests:
            raise web.HTTPError(
                403, "sharing by link is turned off here (TandemApp.allow_link_guests)"
            )
        data = self.body()
        allowed = {
            "path",
            "role",
            "expires_in",
            "max_uses",
            "approval_required",
            "anonymous_allowed",
            "label",
            "runs_as_owner",
        }
        unknown = set(data) - allowed
        if unknown or not isinstance(data.get("path"), str):
            raise InvalidRequest(f"expected a path and only {sorted(allowed)}")
        runs_as_owner = data.get("runs_as_owner", False)
        if not isinstance(runs_as_owner, bool):
            raise InvalidRequest("runs_as_owner must be true or false")
        if runs_as_owner and data.get("role") != "run":
            raise InvalidRequest("runs_as_owner is a choice for run links only")
        runs = self.run_mode(data["path"], runs_as_owner) if data.get("role") == "run" else None
        invitation, code = await access.create_invitation(
            data["path"],
            role=data.get("role", "view"),
            expires_in=data.get("expires_in"),
            max_uses=data.get("max_uses"),
            approval_required=bool(data.get("approval_required", False)),
            anonymous_allowed=bool(data.get("anonymous_allowed", False)),
            label=str(data.get("label", "")),
            runs_as_owner=runs_as_owner,
        )
        link = self.settings["tandem"].join_link(self, code)
        self.set_status(201)
        reply = {"invitation": _plain(invitation), "code": code, "link": link}
        if runs is not None:
            reply["runs"] = runs
        self.finish(reply)


class InvitationLinkHandler(OwnerHandler):
    """``GET /tandem/api/invitations/<id>/link``: a working link again, to copy it later."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    @web.authenticated
    async def get(self, invitation_id: str) -> None:
        access = self.owner_only()
        code = await access.link_code(invitation_id)
        self.finish({"code": code, "link": self.settings["tandem"].join_link(self, code)})


class InvitationHandler(OwnerHandler):
    @web.authenticated
    async def delete(self, invitation_id: str) -> None:
        access = self.owner_only()
        self.close_sessions(await access.revoke_invitation(invitation_id))
        self.set_status(204)
        self.finish()


class GrantsHandler(OwnerHandler):
    @web.authenticated
    async def get(self) -> None:
        access = self.owner_only()
        timeout = float(getattr(self.settings["tandem"], "join_request_timeout", 30.0))
        now = access.clock()
        self.finish(
            {
                "grants": [
                    {**_plain(g), "asking": asking(g, now, timeout)}
                    for g in await access.list_grants()
                ]
            }
        )

    @web.authenticated
    async def delete(self) -> None:
        """Revoke everyone (``?path=`` for everyone on one path)."""
        access = self.owner_only()
        path = self.get_query_argument("path", None)
        sessions = await (access.revoke_path(path) if path else access.revoke_all())
        self.close_sessions(sessions)
        self.set_status(204)
        self.finish()


class GrantHandler(OwnerHandler):
    @web.authenticated
    async def delete(self, grant_id: str) -> None:
        access = self.owner_only()
        self.close_sessions(await access.revoke_grant(grant_id))
        self.set_status(204)
        self.finish()

    @web.authenticated
    async def post(self, grant_id: str) -> None:
        """``{"decision": "admit" | "refuse"}`` for a pending ("ask to join") grant."""
        access = self.owner_only()
        decision = self.body().get("decision")
        if decision == "admit":
            grant = await access.approve(grant_id)
        elif decision == "refuse":
            grant = await access.refuse(grant_id)
            self.close_sessions([grant.guest_session_id])
        else:
            raise InvalidRequest("decision must be admit or refuse")
        self.finish({"grant": _plain(grant)})


class AuditHandler(OwnerHandler):
    @web.authenticated
    async def get(self) -> None:
        access = self.owner_only()
        kind = self.get_query_argument("kind", None)
        since = self.get_query_argument("since", None)
        events = await access.audit(kind=kind, since=float(since) if since else None)
        # The stored records keep hashes and ids; the answer also names the people.
        names = AuditNames.collect(
            owner_display_name(self.settings.get("tandem")),
            await access.list_grants(),
            await access.list_invitations(),
            await access.audit() if since or kind else events,
        )
        self.finish({"events": [{**_plain(e), **describe(e, names)} for e in events]})
