"""Tandem under JupyterHub: one identity for the owner, hub users and link guests.

``jupyterhub-singleuser`` forces its own identity provider when its extension is linked;
Tandem's extension is linked after it (extensions link in name order) and replaces it
with :class:`~tandem.hub.identity.TandemHubIdentityProvider`, a subclass that keeps the
hub's OAuth, cookies and ``page_config_hook``, and installs Tandem's authorizer (see
:func:`~tandem.hub.install.install`). Nothing here imports JupyterHub outside a hub
(``handlers`` answers the share dialogs' question there: no hub).
"""

from __future__ import annotations

import os

__all__ = ["running_under_hub"]


def running_under_hub() -> bool:
    """Whether this server was started by JupyterHub (``jupyterhub-singleuser``)."""
    return bool(os.environ.get("JUPYTERHUB_SERVICE_URL") and os.environ.get("JUPYTERHUB_USER"))
