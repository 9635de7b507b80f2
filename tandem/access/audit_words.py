"""Audit events in words, naming people: "Revoked Alice", "Alice opened demo.ipynb".

The stored records stay as they are (hashes and ids); this module only reads them, with
the grants and invitations, to say who each event is about. Pure: no Tornado, no store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .records import HUB_GROUP_PREFIX, HUB_USER_PREFIX, AuditEvent, Grant, Invitation

__all__ = ["AuditNames", "describe"]

OWNER_ID = "owner"
UNKNOWN = "an unknown visitor"


@dataclass(frozen=True)
class AuditNames:
    """Who the ids in audit records are: guest session hashes, hub ids, grants, links."""

    owner: str
    by_principal: dict[str, str]
    by_grant: dict[str, str]
    by_invitation: dict[str, str]

    @classmethod
    def collect(
        cls,
        owner: str,
        grants: Iterable[Grant],
        invitations: Iterable[Invitation],
        events: Iterable[AuditEvent],
    ) -> AuditNames:
        by_principal: dict[str, str] = {}
        by_grant: dict[str, str] = {}
        for event in events:
            # Redemptions name the session that redeemed (before its id was renewed).
            name = event.detail.get("display_name")
            if isinstance(name, str) and name and event.principal_id not in ("", OWNER_ID):
                by_principal.setdefault(event.principal_id, name)
            grant_id = event.detail.get("grant_id")
            if isinstance(name, str) and name and isinstance(grant_id, str):
                by_grant.setdefault(grant_id, name)
        for grant in grants:
            by_principal[grant.guest_session_id] = grant.display_name
            by_grant[grant.id] = grant.display_name
        by_invitation = {
            inv.id: (f"“{inv.label}”" if inv.label else f"for {inv.scope_path or '/'}")
            for inv in invitations
        }
        return cls(owner, by_principal, by_grant, by_invitation)

    def principal(self, principal_id: str) -> str:
        if principal_id == OWNER_ID:
            return self.owner
        for prefix in (HUB_USER_PREFIX, HUB_GROUP_PREFIX):
            if principal_id.startswith(prefix):
                return principal_id[len(prefix) :]
        if not principal_id:
            return UNKNOWN
        return self.by_principal.get(principal_id, f"guest {principal_id[:8]}")

    def grants(self, grant_ids: Any) -> list[str]:
        if not isinstance(grant_ids, list):
            return []
        return sorted({self.by_grant.get(str(g), str(g)) for g in grant_ids})

    def link(self, invitation_id: Any) -> str:
        return self.by_invitation.get(str(invitation_id), str(invitation_id))


def _people(names: list[str]) -> str:
    if not names:
        return "nobody"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _action(event: AuditEvent, names: AuditNames) -> str:
    """What happened, without its subject: "revoked Alice", "opened demo.ipynb"."""
    d = event.detail
    path = event.path or "/"
    kind = event.kind
    if kind == "invitation_created":
        role = str(d.get("role", ""))
        return f"created {'an' if role[:1] in ('a', 'e') else 'a'} {role} link for {path}"
    if kind == "invitation_revoked":
        links = ", ".join(names.link(i) for i in d.get("invitation_ids") or [])
        people = names.grants(d.get("grant_ids"))
        return f"revoked the link {links}" + (f" and {_people(people)}" if people else "")
    if kind == "redeemed":
        hub = d.get("hub")
        if isinstance(hub, str) and hub:
            return f"shared {path} with {names.principal(hub)} ({d.get('role', '')})"
        return f"joined {path} ({d.get('role', '')})"
    if kind == "redeem_failed":
        return f"failed to join ({d.get('reason', 'invalid link')})"
    if kind == "rate_limited":
        return "made too many failed attempts to join"
    if kind == "approval_asked":
        return f"asked to join {path}"
    if kind in ("admitted", "refused"):
        guest = d.get("display_name") or names.principal(str(d.get("guest", "")))
        return f"{'let in' if kind == 'admitted' else 'refused'} {guest}"
    if kind == "grant_revoked":
        return f"revoked {_people(names.grants(d.get('grant_ids')))}"
    if kind == "path_revoked":
        return f"revoked everyone on {path} ({_people(names.grants(d.get('grant_ids')))})"
    if kind == "all_revoked":
        return f"revoked everyone ({_people(names.grants(d.get('grant_ids')))})"
    if kind == "room_joined":
        return f"opened {path}"
    if kind == "room_left":
        return f"left {path}"
    if kind == "execution_requested":
        return f"ran code in {path}"
    if kind == "access_denied":
        return f"was refused {d.get('action', 'access')} on {path}"
    return kind.replace("_", " ")


def describe(event: AuditEvent, names: AuditNames) -> dict[str, str]:
    """``who`` (a name), ``action`` (without subject) and ``summary`` (the sentence)."""
    who = names.principal(event.principal_id)
    action = _action(event, names)
    summary = f"{who} {action}"
    return {"who": who, "action": action, "summary": summary[:1].upper() + summary[1:]}
