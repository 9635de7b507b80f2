"""JupyterLab refused to everyone but the owner, as a page a person can use.

JupyterLab needs the owner's whole server (contents, kernels, terminals, settings), so a
hub user or a link guest who opens ``/lab`` is refused (403) as before. Instead of a JSON
refusal they get a page that says whose server this is and links what is shared with
them in Tandem's editor: their own valid grants and nothing else.
"""

from __future__ import annotations

import html
import os
from typing import Any

from .pages import PAGE_CSP, editor_url, folder_url, render_page

__all__ = ["is_lab_page", "lab_refusal_page"]


def is_lab_page(handler: Any) -> bool:
    """A GET of one of JupyterLab's pages (``/lab``, ``/lab/tree/...``, ``/lab/workspaces/...``)."""
    if (handler.request.method or "") != "GET":
        return False
    try:
        from jupyterlab_server.handlers import LabHandler
    except ImportError:  # pragma: no cover - JupyterLab is not installed
        return False
    return isinstance(handler, LabHandler)


def owner_name(handler: Any) -> str:
    """Whose server this is: the hub user it runs for, else the configured owner name."""
    hub_owner = os.environ.get("JUPYTERHUB_USER", "")
    if hub_owner:
        return hub_owner
    return str(getattr(handler.settings.get("tandem"), "owner_name", "") or "the owner")


def _hub_home() -> str:
    base = os.environ.get("JUPYTERHUB_BASE_URL", "")
    return f"{base.rstrip('/')}/hub/home" if os.environ.get("JUPYTERHUB_USER") else ""


def lab_refusal_page(handler: Any, grants: tuple[Any, ...], now: float) -> str:
    """The 403 page for a person who is not the owner; ``grants`` are theirs."""
    owner = html.escape(owner_name(handler))
    shared: dict[tuple[str, bool], Any] = {}
    for grant in grants:
        if grant.valid(now):
            key = (grant.scope_path, grant.scope_is_folder)
            if key not in shared or grant.expires_at > shared[key].expires_at:
                shared[key] = grant
    items = []
    for (path, is_folder), grant in sorted(shared.items()):
        base = handler.base_url
        url = folder_url(base, path) if is_folder else editor_url(base, path)
        label = f"folder {path or '(all files)'}" if is_folder else path
        items.append(
            f'<li><a href="{html.escape(url)}">{html.escape(label)}</a>'
            f' <span class="muted">({html.escape(grant.role.value)})</span></li>'
        )
    listing = (
        "<p>Shared with you, to open in Tandem's editor:</p>"
        f'<ul class="shared">{"".join(items)}</ul>'
        if items
        else f"<p>Nothing on {owner}'s server is shared with you at the moment.</p>"
    )
    home = _hub_home()
    back = f'<p><a href="{html.escape(home)}">Back to your hub home</a></p>' if home else ""
    body = (
        '<main class="lab-refused">'
        f"<h1>This is {owner}'s Jupyter server</h1>"
        f"<p>JupyterLab here is for {owner} only: it works with their whole server (all files, "
        "terminals, kernels). What they share with you opens in Tandem's editor instead.</p>"
        f"{listing}{back}</main>"
    )
    return render_page(
        base_url=handler.base_url,
        title=f"{owner_name(handler)}'s server",
        bundle=None,
        body=body,
        data={"page": "lab-refused"},
    )


def page_headers(handler: Any) -> None:
    handler.set_header("Content-Type", "text/html; charset=UTF-8")
    handler.set_header("Content-Security-Policy", PAGE_CSP)
    handler.set_header("Cache-Control", "no-store")
    handler.set_header("X-Frame-Options", "DENY")
    handler.set_header("Referrer-Policy", "same-origin")
