"""The identity the server stamps into awareness: name and colour come from the
authenticated user, never from the client."""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["identity_of"]

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
