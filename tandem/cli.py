"""The ``tandem`` command: serve a folder, or manage sharing on the running server.

::

    tandem [ROOT] [server options]       serve ROOT (default: here) with Tandem
    tandem lab [ROOT] [server options]   JupyterLab on Tandem
    tandem share | shares | revoke | audit [--url URL] [--token TOKEN] ...

The sharing commands act on the running server (found as ``jupyter server list`` finds
it, from Jupyter's runtime folder), so a revocation closes the guests' sockets at once.
``--url`` and ``--token`` pick a server explicitly, before or after the subcommand.

This module imports only the standard library (and ``jupyter_core.paths`` to find the
runtime folder) until it knows the command serves: sharing commands answer in well
under a second. A folder named like a command is served with a path: ``tandem ./share``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import sys
from typing import Any

from . import __version__

__all__ = ["COMMANDS", "main", "parse_duration"]

COMMANDS = ("share", "shares", "revoke", "audit")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
GLOBAL_OPTIONS = ("--url", "--token")
USAGE = (
    "tandem [ROOT] [server options]\n"
    "       tandem lab [ROOT] [server options]\n"
    "       tandem {share,shares,revoke,audit} [--url URL] [--token TOKEN] ..."
)
DESCRIPTION = "Real-time collaboration for Jupyter notebooks: serve a folder, share, take back."
EPILOG = """serving:
  ROOT                  the folder to serve (default: the current folder); a folder
                        named like a command is served as ./share
  lab                   serve JupyterLab on Tandem instead of Tandem's own pages
  server options        any Jupyter Server or Tandem option, e.g. --port=8888,
                        --TandemApp.save_delay=1 (tandem --help-all lists them)

tandem COMMAND --help explains one sharing command.
"""


class CliError(Exception):
    pass


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``2h``, ``7d`` (or plain seconds) to seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 30m, 2h, 7d)")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


# -- finding the server ----------------------------------------------------------------


def _alive(pid: Any) -> bool:
    try:
        os.kill(int(pid), 0)
    except PermissionError:
        return True
    except (OSError, ValueError, TypeError):
        return False
    return True


def running_servers() -> list[dict[str, Any]]:
    """The records Jupyter servers write into the runtime folder (``jpserver-*.json``),
    for servers whose process is still alive: what ``jupyter server list`` reads,
    without importing Jupyter Server."""
    from jupyter_core.paths import jupyter_runtime_dir

    folder = jupyter_runtime_dir()
    found = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    for name in names:
        if not (name.startswith("jpserver-") and name.endswith(".json")):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as file:
                record = json.load(file)
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and "url" in record and _alive(record.get("pid")):
            found.append(record)
    return found


def find_server(url: str | None, token: str | None, near: str) -> dict[str, Any]:
    if url:
        return {"url": url.rstrip("/") + "/", "token": token or "", "root_dir": os.getcwd()}
    servers = running_servers()
    if not servers:
        raise CliError(
            "no running Tandem server found: start one with `tandem` in the folder to "
            "share, or pass --url (and --token)"
        )
    near = os.path.realpath(near)
    inside = [
        s
        for s in servers
        if (near + os.sep).startswith(os.path.realpath(s.get("root_dir", "")) + os.sep)
    ]
    chosen = max(inside or servers, key=lambda s: len(s.get("root_dir", "")))
    chosen = {**chosen, "url": chosen["url"].rstrip("/") + "/"}
    if token:
        chosen["token"] = token
    return chosen


# -- talking to it -------------------------------------------------------------------


class Refused(CliError):
    """The server refused: its ``{"message", "reason"}`` answer."""

    def __init__(self, status: int, reason: str, message: str, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.body = body


def call(server: dict[str, Any], method: str, path: str, body: Any = None) -> Any:
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        server["url"] + path.lstrip("/"),
        data=data,
        method=method,
        headers={
            "Authorization": f"token {server.get('token', '')}",
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
    except urllib.error.HTTPError as err:
        raise refusal(err.code, err.read(), str(err.reason)) from err
    except urllib.error.URLError as err:
        raise CliError(f"cannot reach the server at {server['url']}: {err.reason}") from err
    return json.loads(raw) if raw else None


def refusal(status: int, raw: bytes, fallback: str) -> Refused:
    """The server's error answer (``{"message", "reason"}``) as a :class:`Refused`."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = str(body.get("message") or "")
    reason = str(body.get("reason") or "")
    if status in (401, 403) and not message:
        message = "the server refused the token: pass the right one with --token"
    elif status in (401, 403) and reason in ("forbidden", "not_logged_in", ""):
        message = f"{message} (is --token the owner's token?)"
    return Refused(status, reason, message or f"{status} {fallback}", body)


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


# -- the sharing commands --------------------------------------------------------------


def cmd_share(args: argparse.Namespace, server: dict[str, Any]) -> None:
    path = os.path.relpath(os.path.realpath(args.path), os.path.realpath(server["root_dir"]))
    sent = "" if path == "." else path.replace(os.sep, "/")
    body: dict[str, Any] = {"path": sent, "role": args.role}
    if args.expires is not None:
        body["expires_in"] = args.expires
    if args.max_uses is not None:
        body["max_uses"] = args.max_uses
    body["approval_required"] = args.approval
    body["anonymous_allowed"] = args.anonymous
    if args.label:
        body["label"] = args.label
    if args.runs_as_me:
        if args.role != "run" or args.hub_user or args.hub_group:
            raise SystemExit("tandem share: --runs-as-me is for run links (--role run) only")
        body["runs_as_owner"] = True
    if args.hub_user or args.hub_group:
        return _share_with_hub(args, server, body)
    try:
        result = call(server, "POST", "tandem/api/invitations", body)
    except Refused as refused:
        if refused.reason == "outside_root" and sent:
            # The server saw the path relative to its root ("../../etc/passwd"): name it
            # as the person knows it.
            refused.args = (str(refused).replace(sent, os.path.abspath(args.path), 1),)
        raise
    invitation = result["invitation"]
    print(result["link"])
    print(
        f"{invitation['id']}: {invitation['role']} on {invitation['scope_path']}, "
        f"until {_when(invitation['expires_at'])}",
        file=sys.stderr,
    )
    runs = result.get("runs") or {}
    if runs.get("mode") == "confined":
        print(
            f"Code run through this link runs confined to {runs['scope'] or '/'} "
            f"(network: {runs['network']}); it cannot reach your other files.",
            file=sys.stderr,
        )
    elif args.role == "run":
        why = f" ({runs['reason']})" if runs.get("reason") else ""
        print(
            f"Note: this server cannot confine code{why}: code run through this link runs as "
            "you and can reach your files.",
            file=sys.stderr,
        )


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
        raise CliError(
            "say what to revoke: an invitation id (i-…) or a grant id from `tandem shares`, "
            "or --all"
        )


def cmd_audit(args: argparse.Namespace, server: dict[str, Any]) -> None:
    query = f"?kind={args.kind}" if args.kind else ""
    for event in call(server, "GET", f"tandem/api/audit{query}")["events"]:
        if args.json:
            print(json.dumps(event))
        else:
            print(audit_line(event))


def audit_line(event: dict[str, Any], tz: datetime.tzinfo | None = None) -> str:
    """One audit event for people: its local time with the zone, then the sentence the
    server wrote ("Alice opened demo.ipynb"); an older server's fields otherwise."""
    when = datetime.datetime.fromtimestamp(event["at"], datetime.timezone.utc).astimezone(tz)
    zone = when.tzname() or when.strftime("%z")
    said = event.get("summary") or (
        f"{event['kind']} {event.get('path') or '-'} {event['principal_id'][:12]}"
    )
    return f"{when:%Y-%m-%d %H:%M:%S} {zone}  {said}"


HANDLERS = {"share": cmd_share, "shares": cmd_shares, "revoke": cmd_revoke, "audit": cmd_audit}


def _server_options(suppress: bool) -> argparse.ArgumentParser:
    """``--url`` and ``--token``, accepted before and after the subcommand (after it,
    ``SUPPRESS`` keeps an absent option from hiding one given before)."""
    parent = argparse.ArgumentParser(add_help=False)
    default = argparse.SUPPRESS if suppress else None
    parent.add_argument(
        "--url",
        default=default,
        help="the server's URL (default: the running server for this folder)",
    )
    parent.add_argument(
        "--token",
        default=default,
        help="the owner's token for that server (default: from the running server's record)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tandem",
        usage=USAGE,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_server_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"tandem {__version__}")
    after = [_server_options(suppress=True)]
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, prog="tandem")
    share = sub.add_parser(
        "share", parents=after, help="create a share link for one notebook or folder"
    )
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
    share.add_argument(
        "--runs-as-me",
        action="store_true",
        help="with --role run: where this server cannot confine code, let this link's guests "
        "run code as you, with your files (without it such a link is refused)",
    )
    hub = share.add_mutually_exclusive_group()
    hub.add_argument("--hub-user", help="under JupyterHub: share with this hub user, not by link")
    hub.add_argument("--hub-group", help="under JupyterHub: share with every member of this group")
    shares = sub.add_parser(
        "shares", parents=after, help="list share links and the people with access"
    )
    shares.add_argument("--json", action="store_true", help="print JSON")
    revoke = sub.add_parser("revoke", parents=after, help="take access back at once")
    revoke.add_argument("id", nargs="?", help="an invitation id (i-...) or a grant id")
    revoke.add_argument(
        "--all", action="store_true", help="revoke every link and everyone's access"
    )
    audit = sub.add_parser("audit", parents=after, help="print the audit log")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    audit.add_argument("--kind", help="only events of this kind")
    return parser


def sharing(argv: list[str]) -> int:
    """``tandem share|shares|revoke|audit ...`` (``--url``/``--token`` anywhere)."""
    args = build_parser().parse_args(argv)
    try:
        near = getattr(args, "path", None) or os.getcwd()
        server = find_server(args.url, args.token, near)
        HANDLERS[args.command](args, server)
    except CliError as exc:
        print(f"tandem: {exc}", file=sys.stderr)
        return 1
    return 0


def _first_word(argv: list[str]) -> str | None:
    """The first argument that is not ``--url``/``--token`` or their value."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word in GLOBAL_OPTIONS:
            i += 2
        elif word.split("=", 1)[0] in GLOBAL_OPTIONS:
            i += 1
        else:
            return word
    return None


def main(argv: list[str] | None = None) -> int:
    """Dispatch: sharing commands, ``--help``/``--version``, ``lab``, else serve."""
    argv = sys.argv[1:] if argv is None else list(argv)
    first = _first_word(argv)
    picked_server = first != (argv[0] if argv else None)  # --url/--token came first
    if first in COMMANDS or first in ("-h", "--help", "--version") or picked_server:
        # --url/--token without a sharing command is an error argparse explains.
        return sharing(argv)
    from .quick_start import defer_iri_parsers

    defer_iri_parsers()
    if first == "lab":
        from . import lab_launch

        lab_launch.launch(argv[1:])
        return 0
    from .app import launch_new_instance

    sys.argv = [sys.argv[0], *argv]
    launch_new_instance()
    return 0
