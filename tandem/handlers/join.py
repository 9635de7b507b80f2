"""The guest's way in: ``/tandem/join/<code>``, ``/tandem/waiting`` and its status.

The join page says what is shared, by whom, with which role and until when, and asks
for a name. It sends ``Referrer-Policy: no-referrer`` (the code is in its URL);
redemption is a CSRF-protected POST that sets the guest session cookie and redirects to
a URL without the code: the editor (one notebook), the folder, or the waiting page when
the owner approves each guest. Unknown, expired, revoked and used-up codes all get the
same page.

``/tandem/waiting`` reads the guest cookie itself (a guest whose grant is pending has no
valid grant yet, so Jupyter does not know them): it shows "waiting for the owner", moves
on to the shared item once admitted (the page polls ``GET /tandem/api/waiting``), or
says the request was refused.
"""

from __future__ import annotations

import datetime
import html
from dataclasses import dataclass
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado.web import RequestHandler

from ..access import (
    Grant,
    GrantStatus,
    InvalidInvitation,
    InvalidName,
    InvalidRequest,
    Invitation,
    RateLimited,
    new_session_id,
)
from ..auth import access_of, guest_cookie, guest_cookie_name
from ..identity import default_owner_name
from .errors import JsonErrors
from .pages import PageMixin, editor_url, folder_url, render_page
from .ready import ReadyMixin

__all__ = ["JoinHandler", "WaitingHandler", "WaitingStatusHandler", "owner_display_name", "routes"]

ROLE_MEANING = {
    "view": "see it and who is there",
    "edit": "see and change it",
    "run": "change it and run its code",
}
RUN_WARNING = (
    "With run access, code you run executes on the owner's account, as the owner: "
    "it can reach the owner's files."
)


def owner_display_name(app: Any) -> str:
    """Who shares, as guests see it: the owner's one name (see ``tandem/identity.py``)."""
    return str(getattr(app, "owner_name", "") or "").strip() or default_owner_name()


def _card(title: str, *paragraphs: str, attributes: str = "") -> str:
    """Trusted HTML of a simple page: a heading and paragraphs (already escaped)."""
    inner = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<main class="narrow"><div class="card"{attributes}>'
        f"<h1>{html.escape(title)}</h1>{inner}</div></main>"
    )


INVALID_TITLE = "This link is not valid"
INVALID_BODY = _card(
    INVALID_TITLE,
    "It may have expired, been revoked or used up. Ask the person who shared it for a new link.",
)


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat(
        timespec="seconds"
    )


def _time(epoch: float) -> str:
    """A ``<time>`` the page's script shows in the reader's own time zone."""
    utc = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return f'<time datetime="{_iso(epoch)}">{utc:%Y-%m-%d %H:%M} UTC</time>'


def target_of(base_url: str, grant: Grant) -> str:
    """Where a guest goes once let in: the notebook's editor, or the shared folder."""
    if grant.scope_is_folder:
        return folder_url(base_url, grant.scope_path)
    return editor_url(base_url, grant.scope_path)


class GuestPage(ReadyMixin, PageMixin, JupyterHandler):
    """Pages for visitors who may not be signed in."""

    checks_guests = True

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Referrer-Policy", "no-referrer")

    def page(self, title: str, body: str, page: str) -> None:
        self.finish(
            render_page(
                base_url=self.base_url, title=title, bundle="join", body=body, data={"page": page}
            )
        )


class JoinHandler(GuestPage):
    _log_uri: str | None = None

    def check_xsrf_cookie(self) -> None:
        # Tornado's check, always: Jupyter's skips it for some logins, and a redemption
        # must never be forged (the visitor may have no login at all yet).
        RequestHandler.check_xsrf_cookie(self)

    def _redacted_uri(self) -> str:
        return self._log_uri or self.base_url + "tandem/join/[code]"

    def finish(self, chunk: Any = None) -> Any:
        # The code is a credential: the access log names the invitation instead (once
        # it is known), never the code.
        self.request.uri = self._redacted_uri()
        return super().finish(chunk)

    def _request_summary(self) -> str:
        """What Tornado's error log lines name the request by (e.g. a refused XSRF)."""
        return f"{self.request.method} {self._redacted_uri()} ({self.request.remote_ip})"

    def _name_invitation(self, invitation_id: str) -> None:
        self._log_uri = f"{self.base_url}tandem/join/[code of {invitation_id}]"

    def invalid(self, status: int = 404) -> None:
        self.set_status(status)
        self.page(INVALID_TITLE, INVALID_BODY, "invalid")

    def too_many(self, exc: RateLimited) -> None:
        self.set_status(429)
        self.set_header("Retry-After", str(int(exc.retry_after) + 1))
        self.page(
            "Too many attempts", _card("Too many attempts", "Wait a minute and try again."), "error"
        )

    @allow_unauthenticated
    async def get(self, code: str) -> None:
        access = access_of(self)
        try:
            invitation = (
                await access.preview(code, self.request.remote_ip or "") if access else None
            )
        except RateLimited as exc:
            return self.too_many(exc)
        except InvalidInvitation:
            invitation = None
        if invitation is None:
            return self.invalid()
        self._name_invitation(invitation.id)
        if await self.removed(invitation):
            return None
        self.page("Join", self._invitation_page(invitation), "join")

    async def removed(self, invitation: Invitation) -> bool:
        """Tell a person the owner removed (or refused) them, instead of showing the link
        as valid or invalid: only a browser whose own guest session holds a revoked or
        refused grant from this very invitation hears it, so strangers learn nothing."""
        access = access_of(self)
        session = guest_cookie(self)
        if access is None or not session:
            return False
        grants = [
            g for g in await access.grants_for_session(session) if g.invitation_id == invitation.id
        ]
        if not grants or any(
            g.revoked_at is None and g.status is not GrantStatus.REFUSED for g in grants
        ):
            return False
        owner = owner_display_name(self.settings.get("tandem"))
        what = f'<b class="path">{html.escape(invitation.scope_path or "/")}</b>'
        if any(g.revoked_at is not None for g in grants):
            title = f"{owner} removed your access"
            text = f"You can no longer open {what}. Ask {html.escape(owner)} if this is a mistake."
        else:
            title = f"{owner} did not let you in"
            text = f"Your request to join {what} was refused."
        self.set_status(403)
        self.page(title, _card(title, text, attributes=' id="removed"'), "removed")
        return True

    def _invitation_page(self, invitation: Invitation) -> str:
        what = "folder" if invitation.scope_is_folder else "notebook"
        role = invitation.role.value
        owner = html.escape(owner_display_name(self.settings.get("tandem")))
        warning = (
            f'<p class="warning" role="note">{html.escape(RUN_WARNING)}</p>'
            if role == "run"
            else ""
        )
        approval = (
            "<p>The owner will be asked to let you in after you join.</p>"
            if invitation.approval_required
            else ""
        )
        anonymous = invitation.anonymous_allowed
        hint = '<span class="hint">Leave it empty to join anonymously.</span>' if anonymous else ""
        return (
            '<main class="narrow"><div class="card">'
            f"<h1>{owner} shares a {what} with you</h1>"
            f'<dl class="facts"><dt>{what.capitalize()}</dt>'
            f'<dd class="path">{html.escape(invitation.scope_path)}</dd>'
            f"<dt>Role</dt><dd><b>{role}</b>: you can {ROLE_MEANING[role]}</dd>"
            f"<dt>Until</dt><dd>{_time(invitation.expires_at)}</dd></dl>"
            f"{warning}{approval}"
            '<form method="post" class="join-form">'
            f'<label for="name">Your name</label>{hint}'
            '<input id="name" name="name" maxlength="64" autocomplete="name" autofocus'
            f"{'' if anonymous else ' required'}>"
            f'{self.xsrf_form_html()}<button type="submit" class="primary">Join</button></form>'
            "</div></main>"
        )

    @allow_unauthenticated
    async def post(self, code: str) -> None:
        access = access_of(self)
        if access is None:
            return self.invalid()
        carried = guest_cookie(self)
        session = carried if carried and access.session_hash(carried) else new_session_id()
        name = self.get_body_argument("name", "").strip() or None
        try:
            grant = await access.redeem(code, session, name, self.request.remote_ip or "")
        except RateLimited as exc:
            return self.too_many(exc)
        except (InvalidName, InvalidRequest) as exc:
            self.set_status(400)
            return self.page("Cannot join", _card("Cannot join", html.escape(str(exc))), "error")
        except InvalidInvitation:
            try:
                invitation = await access.preview(code)
            except InvalidInvitation:
                return self.invalid()
            self._name_invitation(invitation.id)
            if await self.removed(invitation):
                return None
            return self.invalid()
        self._name_invitation(grant.invitation_id)
        await renew_guest_session(self, session)
        if grant.status is GrantStatus.PENDING:
            return self.redirect(self.base_url + "tandem/waiting", status=303)
        self.redirect(target_of(self.base_url, grant), status=303)


async def renew_guest_session(handler: Any, session: str) -> None:
    """Issue a fresh guest session id and move the session's grants to it (at every
    redemption and admission): a session id planted in the browser beforehand (session
    fixation) never carries what the guest was given. The old session's open sockets are
    closed with 4001, so the guest's tabs reconnect with the new cookie."""
    access = access_of(handler)
    assert access is not None
    fresh = new_session_id()
    old_hash = await access.rotate_session(session, fresh)
    if old_hash is not None:
        app = handler.settings.get("tandem")
        if app is not None:
            app.live.close([old_hash], 4001, "guest session renewed")
    handler.set_cookie(
        guest_cookie_name(handler.base_url),
        fresh,
        httponly=True,
        samesite="Strict",
        secure=handler.request.protocol == "https",
        path=handler.base_url,
    )


@dataclass(frozen=True)
class WaitingState:
    """Where a guest's latest request to join stands."""

    status: str  # "pending" | "admitted" | "refused" | "ended"
    next: str | None = None
    path: str | None = None


async def waiting_state(handler: Any) -> WaitingState:
    """The state of the latest grant of the guest session in the request's cookie."""
    access = access_of(handler)
    session = guest_cookie(handler)
    if access is None or not session:
        return WaitingState("ended")
    grants = await access.grants_for_session(session)
    if not grants:
        return WaitingState("ended")
    latest = max(grants, key=lambda g: g.created_at)
    now = access.clock()
    if latest.valid(now):
        # Admitted: the session that waited gets a fresh id now it carries access.
        await renew_guest_session(handler, session)
        return WaitingState("admitted", target_of(handler.base_url, latest), latest.scope_path)
    if latest.status is GrantStatus.REFUSED:
        return WaitingState("refused", None, latest.scope_path)
    if (
        latest.status is GrantStatus.PENDING
        and latest.revoked_at is None
        and now < latest.expires_at
    ):
        # The waiting page's heartbeat: a request whose tab was closed stops being shown.
        await access.touch(latest.id)
        return WaitingState("pending", None, latest.scope_path)
    return WaitingState("ended")


class WaitingHandler(GuestPage):
    @allow_unauthenticated
    async def get(self) -> None:
        state = await waiting_state(self)
        if state.status == "admitted" and state.next:
            return self.redirect(state.next)
        owner = owner_display_name(self.settings.get("tandem"))
        what = f'<b class="path">{html.escape(state.path or "")}</b>'
        live = f' id="waiting" data-status="{state.status}" aria-live="polite"'
        if state.status == "pending":
            title, text = (
                f"Waiting for {owner}",
                (
                    f"You asked to join {what}. "
                    "This page moves on by itself as soon as you are let in."
                ),
            )
        elif state.status == "refused":
            title, text = (
                "Your request was refused",
                f"{html.escape(owner)} did not let you in to {what}.",
            )
        else:
            title, text = (
                "You do not have access",
                (
                    "Your access has ended, or this browser never joined. "
                    "Ask the person who shared it for a new link."
                ),
            )
        self.page(title, _card(title, text, attributes=live), "waiting")


class WaitingStatusHandler(JsonErrors, ReadyMixin, APIHandler):
    """``{"status", "next"}`` for the waiting page's poll; only about the caller's own cookie."""

    checks_guests = True

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "no-store")

    @allow_unauthenticated
    async def get(self) -> None:
        state = await waiting_state(self)
        self.finish({"status": state.status, "next": state.next})


def routes(app: Any) -> list[tuple[Any, ...]]:
    """Tornado routes, given the TandemApp."""
    return [
        (r"/tandem/join/([^/]+)", JoinHandler),
        (r"/tandem/waiting", WaitingHandler),
        (r"/tandem/api/waiting", WaitingStatusHandler),
    ]
