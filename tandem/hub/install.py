"""Put Tandem's identity provider and authorizer where ``jupyterhub-singleuser`` uses them.

The hub's extension sets ``ServerApp.identity_provider_class`` while it is linked (so a
config file cannot override it); Tandem's extension is linked after it and calls
:func:`install`, before the server creates its identity provider and authorizer.
"""

from __future__ import annotations

import logging
from typing import Any

from . import running_under_hub

__all__ = ["install"]

PROVIDER = "tandem.hub.identity.TandemHubIdentityProvider"
AUTHORIZER = "tandem.auth.TandemAuthorizer"


def install(serverapp: Any, log: logging.Logger) -> bool:
    """Install Tandem's hub identity provider and authorizer on ``serverapp`` if it was
    started by JupyterHub; whether it did."""
    if not running_under_hub():
        return False
    from jupyterhub.singleuser.extension import JupyterHubIdentityProvider

    from ..auth import TandemAuthorizer
    from .identity import TandemHubIdentityProvider

    current = serverapp.identity_provider_class
    if not (isinstance(current, type) and issubclass(current, JupyterHubIdentityProvider)):
        log.warning(
            "Tandem: JUPYTERHUB_* is set but the identity provider is %s, not JupyterHub's; "
            "hub users and link guests are not enabled (start the server with "
            "jupyterhub-singleuser)",
            getattr(current, "__name__", current),
        )
        return False
    for name, cls, dotted in (
        ("identity_provider_class", TandemHubIdentityProvider, PROVIDER),
        ("authorizer_class", TandemAuthorizer, AUTHORIZER),
    ):
        setattr(serverapp, name, cls)
        serverapp.config.ServerApp[name] = dotted  # later update_config calls keep it
    return True
