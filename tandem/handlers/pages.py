"""HTML shells for Tandem's own pages (home, owner pages, join, waiting).

Every page is a small server-rendered shell plus one bundle from ``/tandem/static/``
(``web/src/<bundle>/main.ts``, built by ``web/build.mjs``). Pages send a strict
Content-Security-Policy: scripts, styles, fonts and requests only from this origin, no
inline script, no framing, no forms posting elsewhere.
"""

from __future__ import annotations

import html
import os
from typing import Any
from urllib.parse import quote, urlencode

__all__ = ["PAGE_CSP", "PageMixin", "editor_url", "folder_url", "login_url", "render_page"]

PAGE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

STATIC_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")


class PageMixin:
    """Headers for an HTML page: strict CSP, no caching, no referrer to other origins.
    Put it before Jupyter's handler class in the bases."""

    @property
    def content_security_policy(self) -> str:
        return PAGE_CSP

    def set_default_headers(self) -> None:
        super().set_default_headers()  # type: ignore[misc]
        self.set_header("Content-Security-Policy", PAGE_CSP)  # type: ignore[attr-defined]
        self.set_header("Referrer-Policy", "same-origin")  # type: ignore[attr-defined]
        self.set_header("Cache-Control", "no-store")  # type: ignore[attr-defined]
        self.set_header("X-Frame-Options", "DENY")  # type: ignore[attr-defined]


def _asset(base_url: str, name: str) -> str:
    """URL of a bundled asset, versioned by its modification time (no stale caches)."""
    try:
        version = str(int(os.stat(os.path.join(STATIC_DIR, name)).st_mtime))
    except OSError:
        version = "0"
    return f"{base_url}tandem/static/{name}?v={version}"


def render_page(
    *,
    base_url: str,
    title: str,
    bundle: str | None,
    body: str = "",
    data: dict[str, Any] | None = None,
) -> str:
    """A full page. ``body`` is trusted HTML (escape what goes into it); ``data`` becomes
    ``data-*`` attributes on ``<body>`` (escaped here) for the bundle to read."""
    attributes = "".join(
        f' data-{key}="{html.escape(str(value))}"'
        for key, value in {"base-url": base_url, **(data or {})}.items()
    )
    style = bundle or "join"
    script = (
        f'<script type="module" src="{html.escape(_asset(base_url, bundle + ".js"))}"></script>'
        if bundle
        else ""
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · Tandem</title>"
        f'<link rel="stylesheet" href="{html.escape(_asset(base_url, style + ".css"))}">'
        f"{script}</head><body{attributes}>{body}</body></html>"
    )


def editor_url(base_url: str, path: str) -> str:
    """The notebook editor's URL for an API path."""
    return f"{base_url}tandem/notebook/{quote(path, safe='/')}"


def folder_url(base_url: str, path: str) -> str:
    """The home page showing one folder."""
    return f"{base_url}tandem/" + (f"?path={quote(path, safe='/')}" if path else "")


def login_url(handler: Any) -> str:
    """Where to send someone who must log in, back to this page afterwards. As Tornado's
    ``@authenticated`` does: ``next`` is added only to a login URL without a query (under
    JupyterHub the login URL carries the OAuth ``state``, which already holds the page)."""
    url = str(handler.get_login_url())
    if "?" in url:
        return url
    return f"{url}?{urlencode({'next': handler.request.uri or ''})}"
