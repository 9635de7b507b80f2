"""The owner's credentials reach the owner and nobody else.

Jupyter renders its pages and error pages with the server's API token in the template
namespace (``page.html`` writes ``data-jupyter-api-token`` for anyone who counts as logged
in), and JupyterLab's page config carries the same token. A Tandem guest counts as logged
in on every handler that admits guests (static files, Tandem's own pages), so a 404 on
``/static/nope.js`` or a 405 on ``/tandem/output-frame`` would hand a guest the owner's
token. :func:`keep_to_owner` closes this at the two places the token leaves the server
for a template or a page: whoever is not the owner gets an empty token.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.base.handlers import JupyterHandler

from .auth import principal_of

__all__ = ["asked_by_owner", "keep_to_owner"]

_INSTALLED = "_tandem_owner_only"


def asked_by_owner(handler: Any) -> bool:
    """True only when the request is the owner's (Jupyter's own login, or the hub's owner).
    Guests, hub users and anyone unauthenticated are not."""
    try:
        user = handler.current_user
    except Exception:  # a handler that never authenticated (early 404s)
        return False
    return user is not None and principal_of(user).is_owner


def _install_template_namespace() -> None:
    """Every Jupyter handler's template namespace, with the token blanked for non-owners.
    Jupyter's handlers (static files, the default 404, login) are not Tandem's, so this
    is done once on Jupyter's base class rather than in each of Tandem's handlers."""
    original: property = JupyterHandler.__dict__["template_namespace"]
    if original.fget is None or getattr(original.fget, _INSTALLED, False):
        return

    def template_namespace(self: JupyterHandler) -> dict[str, Any]:
        namespace: dict[str, Any] = original.fget(self)  # type: ignore[misc]
        if not asked_by_owner(self):
            namespace["token"] = ""
        return namespace

    setattr(template_namespace, _INSTALLED, True)
    JupyterHandler.template_namespace = property(template_namespace)  # type: ignore[method-assign,assignment]


def _install_page_config_hook(settings: dict[str, Any]) -> None:
    """JupyterLab's page config (``/lab``, ``/tree``...) without the token for non-owners,
    whatever other hooks did before."""
    previous = settings.get("page_config_hook")
    if getattr(previous, _INSTALLED, False):
        return

    def hook(handler: Any, page_config: dict[str, Any]) -> dict[str, Any]:
        if previous is not None:
            page_config = previous(handler, page_config)
        if not asked_by_owner(handler):
            page_config["token"] = ""
        return page_config

    setattr(hook, _INSTALLED, True)
    settings["page_config_hook"] = hook


def keep_to_owner(serverapp: Any) -> None:
    """Install both guards (idempotent). Called when Tandem's handlers are registered."""
    _install_template_namespace()
    _install_page_config_hook(serverapp.web_app.settings)
