"""The identity the server stamps into awareness: name and colour come from the
authenticated user, never from the client. The owner has one name everywhere (the
configured ``TandemApp.owner_name``, else the hub user, else the account's name), not
a fresh "Anonymous <moon>" per browser."""

from __future__ import annotations

import dataclasses
import getpass
import hashlib
import os
from typing import Any

__all__ = ["default_owner_name", "identity_of", "owner_login", "owner_user"]

# Colours readable on white and dark backgrounds (WCAG AA for labels in white text).
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#ff7f0e",
)


def colour_for(username: str) -> str:
    digest = hashlib.sha256(username.encode("utf-8")).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def identity_of(user: Any, role: str = "owner") -> dict[str, Any]:
    """Awareness ``user`` field for a Jupyter Server ``User``."""
    username = str(getattr(user, "username", "") or "anonymous")
    name = str(getattr(user, "name", "") or username)
    display_name = str(getattr(user, "display_name", "") or name)
    initials = getattr(user, "initials", None) or "".join(p[0] for p in name.split()[:2]).upper()
    return {
        "username": username,
        "name": name,
        "display_name": display_name,
        "initials": initials or name[:1].upper(),
        "avatar_url": getattr(user, "avatar_url", None),
        "color": getattr(user, "color", None) or colour_for(username),
        "role": role,
    }


def owner_login() -> str:
    """The owner's login: the JupyterHub user, else the account running the server."""
    hub_user = os.environ.get("JUPYTERHUB_USER", "")
    if hub_user:
        return hub_user
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "owner"


def default_owner_name() -> str:
    """The JupyterHub user, else the account's full name, else its login."""
    hub_user = os.environ.get("JUPYTERHUB_USER", "")
    if hub_user:
        return hub_user
    try:
        import pwd

        entry = pwd.getpwuid(os.getuid())
        return entry.pw_gecos.split(",")[0].strip() or entry.pw_name
    except (ImportError, KeyError):
        return owner_login()


def owner_user(user: Any, configured_name: str = "") -> Any:
    """The owner's Jupyter ``User`` as everyone sees it: the same username, name,
    initials and colour from every browser and login (Jupyter's token login otherwise
    makes up an anonymous name per browser session)."""
    name = configured_name.strip() or default_owner_name()
    login = owner_login()
    initials = "".join(part[0] for part in name.split()[:2]).upper() or name[:1].upper()
    if not dataclasses.is_dataclass(user) or isinstance(user, type):
        return user
    return dataclasses.replace(
        user,
        username=login,
        name=name,
        display_name=name,
        initials=initials,
        color=colour_for(login),
    )
