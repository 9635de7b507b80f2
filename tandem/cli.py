"""``tandem share | shares | revoke | audit``: sharing from the terminal.

The commands act on the running server (found as ``jupyter server list`` finds it), so a
revocation closes the guests' sockets at once. ``--url`` and ``--token`` pick a server
explicitly.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
import urllib.error
import urllib.request
from typing import Any

__all__ = ["COMMANDS", "main", "parse_duration"]

COMMANDS = ("share", "shares", "revoke", "audit")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class CliError(Exception):
    pass


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``2h``, ``7d`` (or plain seconds) to seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30m, 2h, 7d)")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


def find_server(url: str | None, token: str | None, near: str) -> dict[str, Any]:
    if url:
        return {"url": url.rstrip("/") + "/", "token": token or "", "root_dir": os.getcwd()}
    from jupyter_server.serverapp import list_running_servers

    servers = list(list_running_servers())
    if not servers:
        raise CliError("no running Tandem server found (start one with `tandem`, or pass --url)")
    near = os.path.realpath(near)
    inside = [
        s for s in servers if (near + os.sep).startswith(os.path.realpath(s["root_dir"]) + os.sep)
    ]
    chosen = max(inside or servers, key=lambda s: len(s["root_dir"]))
    if token:
        chosen = {**chosen, "token": token}
    return chosen


def call(server: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server["url"] + path.lstrip("/"),
        data=data,
        method=method,
        headers={"Authorization": f"token {server['token']}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
    except urllib.error.HTTPError as err:
        try:
            message = json.loads(err.read()).get("message") or err.reason
        except (json.JSONDecodeError, AttributeError):
            message = err.reason
        raise CliError(f"{method} {path}: {err.code} {message}") from err
    except urllib.error.URLError as err:
        raise CliError(f"cannot reach the server at {server['url']}: {err.reason}") from err
    return json.loads(raw) if raw else None


def _when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _share_with_hub(args: argparse.Namespace, server: dict[str, Any], body: dict[str, Any]) -> None:
    """``tandem share PATH --hub-user bob`` (or ``--hub-group``), under JupyterHub."""
    hub = {"path": body["path"], "role": body["role"]}
    if "expires_in" in body:
        hub["expires_in"] = body["expires_in"]
    hub["user" if args.hub_user else "group"] = args.hub_user or args.hub_group
    result = call(server, "POST", "tandem/api/hub-shares", hub)
    grant = result["grant"]
    print(
        f"{grant['id']}: {grant['role']} on {grant['scope_path']} for "
        f"{'hub user' if args.hub_user else 'hub group'} {grant['display_name']}, "
        f"until {_when(grant['expires_at'])}"
    )
    if not result.get("hub_share"):
        print(f"warning: {result.get('message')}", file=sys.stderr)


def cmd_share(args: argparse.Namespace, server: dict[str, Any]) -> None:
    path = os.path.relpath(os.path.realpath(args.path), os.path.realpath(server["root_dir"]))
    body: dict[str, Any] = {"path": path.replace(os.sep, "/"), "role": args.role}
    if args.expires is not None:
        body["expires_in"] = args.expires
    if args.max_uses is not None:
        body["max_uses"] = args.max_uses
    body["approval_required"] = args.approval
    body["anonymous_allowed"] = args.anonymous
    if args.label:
        body["label"] = args.label
    if args.hub_user or args.hub_group:
        return _share_with_hub(args, server, body)
    result = call(server, "POST", "tandem/api/invitations", body)
    invitation = result["invitation"]
    print(result["link"])
    print(
        f"{invitation['id']}: {invitation['role']} on {invitation['scope_path']}, "
        f"until {_when(invitation['expires_at'])}",
        file=sys.stderr,
    )
    if args.role == "run":
        print("Note: with run access, code runs as you and can reach your files.", file=sys.stderr)


def cmd_shares(args: argparse.Namespace, server: dict[str, Any]) -> None:
    invitations = call(server, "GET", "tandem/api/invitations")["invitations"]
    grants = call(server, "GET", "tandem/api/grants")["grants"]
    if args.json:
        print(json.dumps({"invitations": invitations, "grants": grants}))
        return
    print("Invitations:")
    for inv in invitations:
        state = "revoked" if inv["revoked_at"] else f"until {_when(inv['expires_at'])}"
        uses = f"{inv['uses']}/{inv['max_uses'] or '∞'} uses"
        print(
            f"  {inv['id']}  {inv['role']:<4}  {inv['scope_path']}  {state}  {uses}  {inv['label']}"
        )
    print("People with access:")
    for grant in grants:
        state = "revoked" if grant["revoked_at"] else grant["status"]
        print(
            f"  {grant['id']}  {grant['display_name']}  {grant['role']:<4}  {grant['scope_path']}"
            f"  {state}  last seen {_when(grant['last_seen'])}"
        )


def cmd_revoke(args: argparse.Namespace, server: dict[str, Any]) -> None:
    if args.all:
        call(server, "DELETE", "tandem/api/grants")
        for inv in call(server, "GET", "tandem/api/invitations")["invitations"]:
            if not inv["revoked_at"]:
                call(server, "DELETE", f"tandem/api/invitations/{inv['id']}")
        print("revoked every invitation and everyone's access")
    elif args.id:
        kind = "invitations" if args.id.startswith("i-") else "grants"
        call(server, "DELETE", f"tandem/api/{kind}/{args.id}")
        print(f"revoked {args.id}")
    else:
        raise CliError("say what to revoke: an invitation or grant id, or --all")


def cmd_audit(args: argparse.Namespace, server: dict[str, Any]) -> None:
    query = f"?kind={args.kind}" if args.kind else ""
    for event in call(server, "GET", f"tandem/api/audit{query}")["events"]:
        if args.json:
            print(json.dumps(event))
        else:
            print(
                f"{_when(event['at'])}  {event['kind']:<20} {event['path'] or '-'}  {event['principal_id'][:12]}"
            )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem", description="Share notebooks and take access back."
    )
    parser.add_argument(
        "--url", help="the server's URL (default: the running server for this folder)"
    )
    parser.add_argument(
        "--token", help="the server's token (default: from the running server's record)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    share = sub.add_parser("share", help="create a share link for one notebook or folder")
    share.add_argument("path", help="the notebook or folder to share")
    share.add_argument(
        "--role",
        choices=["view", "edit", "run"],
        default="view",
        help="what guests may do (default: view)",
    )
    share.add_argument(
        "--expires",
        type=parse_duration,
        help="how long the link works, e.g. 30m, 2h, 7d (default: 24h)",
    )
    share.add_argument("--max-uses", type=int, help="how many people may redeem the link")
    share.add_argument("--approval", action="store_true", help="ask me before each person gets in")
    share.add_argument(
        "--anonymous", action="store_true", help="let guests join without giving a name"
    )
    share.add_argument("--label", help="a note to recognize this link by")
    hub = share.add_mutually_exclusive_group()
    hub.add_argument("--hub-user", help="under JupyterHub: share with this hub user, not by link")
    hub.add_argument("--hub-group", help="under JupyterHub: share with every member of this group")
    shares = sub.add_parser("shares", help="list share links and the people with access")
    shares.add_argument("--json", action="store_true", help="print JSON")
    revoke = sub.add_parser("revoke", help="take access back at once")
    revoke.add_argument("id", nargs="?", help="an invitation id (i-...) or a grant id")
    revoke.add_argument(
        "--all", action="store_true", help="revoke every link and everyone's access"
    )
    audit = sub.add_parser("audit", help="print the audit log")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.add_argument("--kind", help="only events of this kind")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    handlers = {"share": cmd_share, "shares": cmd_shares, "revoke": cmd_revoke, "audit": cmd_audit}
    try:
        near = getattr(args, "path", None) or os.getcwd()
        server = find_server(args.url, args.token, near)
        handlers[args.command](args, server)
    except CliError as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return 1
    return 0
