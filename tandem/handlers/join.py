"""``/tandem/join/<code>``: what is shared, a name to join with, and redemption.

The page sends ``Referrer-Policy: no-referrer`` (the code is in its URL); redemption is
a CSRF-protected POST that sets the guest session cookie and redirects to a URL without
the code. Unknown, expired, revoked and used-up codes all get the same page.
"""

from __future__ import annotations

import datetime
import html

from jupyter_server.base.handlers import JupyterHandler
from tornado.web import RequestHandler

from ..access import InvalidInvitation, InvalidName, InvalidRequest, RateLimited, new_session_id
from ..auth import GUEST_COOKIE, access_of
from .ready import ReadyMixin

__all__ = ["JoinHandler"]

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}}
label,input,button{{font:inherit}}input{{padding:.4rem;width:100%;box-sizing:border-box}}
button{{margin-top:1rem;padding:.5rem 1.2rem;background:#1f5fbf;color:#fff;border:0;border-radius:4px}}
.warn{{background:#fff4ce;padding:.5rem .8rem;border-radius:4px}}</style></head><body>{body}</body></html>"""

INVALID = PAGE.format(
    title="Link not valid",
    body="<h1>This link is not valid</h1><p>It may have expired, been revoked or used up. "
    "Ask the person who shared it for a new link.</p>",
)


class JoinHandler(ReadyMixin, JupyterHandler):
    checks_guests = True

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:
        # Tornado's check, always: Jupyter's skips it for some logins, and a redemption
        # must never be forged (the visitor may have no login at all yet).
        RequestHandler.check_xsrf_cookie(self)

    async def get(self, code: str) -> None:
        access = access_of(self)
        try:
            invitation = await access.preview(code) if access else None
        except InvalidInvitation:
            invitation = None
        if invitation is None:
            self.set_status(404)
            return self.finish(INVALID)
        until = datetime.datetime.fromtimestamp(invitation.expires_at, datetime.timezone.utc)
        what = "folder" if invitation.scope_is_folder else "notebook"
        warning = (
            '<p class="warn">With <b>run</b> access, code you run executes on the owner\'s '
            "account and can reach the owner's files.</p>"
            if invitation.role.value == "run"
            else ""
        )
        name_hint = " (leave empty to join anonymously)" if invitation.anonymous_allowed else ""
        body = (
            f"<h1>You are invited to a {what}</h1>"
            f"<p><b>{html.escape(invitation.scope_path)}</b> — role <b>{invitation.role.value}</b>, "
            f"until {until:%Y-%m-%d %H:%M} UTC.</p>{warning}"
            f'<form method="post"><label for="name">Your name{name_hint}</label>'
            f'<input id="name" name="name" maxlength="64" autocomplete="name" '
            f'{"" if invitation.anonymous_allowed else "required"}>'
            f"{self.xsrf_form_html()}<button type=\"submit\">Join</button></form>"
        )
        self.finish(PAGE.format(title="Join", body=body))

    async def post(self, code: str) -> None:
        access = access_of(self)
        if access is None:
            self.set_status(404)
            return self.finish(INVALID)
        session = self.get_cookie(GUEST_COOKIE) or new_session_id()
        name = self.get_body_argument("name", "").strip() or None
        try:
            grant = await access.redeem(code, session, name, self.request.remote_ip or "")
        except RateLimited as exc:
            self.set_status(429)
            self.set_header("Retry-After", str(int(exc.retry_after) + 1))
            return self.finish(PAGE.format(title="Too many attempts", body="<h1>Too many attempts</h1><p>Wait a minute and try again.</p>"))
        except (InvalidName, InvalidRequest) as exc:
            self.set_status(400)
            return self.finish(PAGE.format(title="Cannot join", body=f"<h1>Cannot join</h1><p>{html.escape(str(exc))}</p>"))
        except InvalidInvitation:
            self.set_status(404)
            return self.finish(INVALID)
        self.set_cookie(
            GUEST_COOKIE, session, httponly=True, samesite="Strict",
            secure=self.request.protocol == "https", path=self.base_url,
        )
        status = getattr(grant.status, "value", grant.status)
        target = "tandem/waiting" if status == "pending" else "tandem/"
        self.redirect(self.base_url + target, status=303)

