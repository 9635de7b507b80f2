"""The sharing CLI against a running server, and the README's examples, run as written."""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tandem.cli import parse_duration
from tandem.testing import TandemServer, free_port
from tests.conftest import FAST

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- sharing-examples:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [
        line.split("  #", 1)[0].strip() for line in block.splitlines() if line.startswith("tandem ")
    ]


async def run(
    server: TandemServer, command: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "tandem"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(server.state_dir / "runtime")}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tandem", *argv[1:]],
        cwd=cwd or server.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_durations():
    assert (
        parse_duration("90s") == 90
        and parse_duration("2h") == 7200
        and parse_duration("1d") == 86400
    )


async def test_readme_sharing_examples_run_as_written(root, tmp_path):
    examples = readme_examples()
    assert len(examples) >= 4
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        outputs = []
        for command in examples:
            result = await run(server, command)
            assert result.returncode == 0, (command, result.stderr)
            outputs.append(result.stdout)
        link = outputs[0].strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/tandem/join/[\w-]{22,}", link)
        status, listing = await server.arequest("GET", "/tandem/api/invitations")
        assert all(inv["revoked_at"] for inv in listing["invitations"])  # revoke --all ran last
        assert len(listing["invitations"]) == 2


async def test_share_revoke_and_audit(root, tmp_path):
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        shared = await run(
            server, "tandem share demo.ipynb --role run --expires 30m --max-uses 1 --label class"
        )
        assert shared.returncode == 0 and "runs confined to demo.ipynb" in shared.stderr
        listing = await run(server, "tandem shares --json")
        invitation = json.loads(listing.stdout)["invitations"][0]
        assert (
            invitation["role"] == "run"
            and invitation["max_uses"] == 1
            and invitation["label"] == "class"
        )
        revoked = await run(server, f"tandem revoke {invitation['id']}")
        assert revoked.returncode == 0
        events = [
            json.loads(line)
            for line in (await run(server, "tandem audit --json")).stdout.splitlines()
        ]
        kinds = [e["kind"] for e in events]
        assert "invitation_created" in kinds[0] and any("revoked" in k for k in kinds)
        bad = await run(server, "tandem share ../outside.ipynb")
        assert bad.returncode == 1 and "is outside" in bad.stderr
        missing = await run(server, "tandem revoke")
        assert missing.returncode == 1


def said(result: subprocess.CompletedProcess[str]) -> str:
    """What the CLI told the person: one line on stderr, after ``tandem: ``."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tandem: "), result.stderr
    return lines[0].removeprefix("tandem: ")


async def test_every_refusal_says_what_was_wrong_and_what_to_do(root, tmp_path):
    (root / "demo.ipynb").unlink()  # a folder without the README's example notebook
    real = os.path.realpath(root)
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        missing = said(await run(server, "tandem share demo.ipynb"))
        assert missing.startswith(f"demo.ipynb does not exist in {real}"), missing
        whole = said(await run(server, "tandem share ."))
        assert "not the whole folder" in whole and real in whole, whole
        passwd = said(await run(server, "tandem share /etc/passwd"))
        assert passwd.startswith(f"/etc/passwd is outside {real}"), passwd
        readme = said(await run(server, "tandem share ../README.md"))
        outside = os.path.join(os.path.dirname(str(root)), "README.md")
        assert readme.startswith(f"{outside} is outside {real}"), readme
        long = said(await run(server, "tandem share notes.md --expires 90d"))
        assert "at most 30 days, not 90 days" in long and "ask for less" in long, long
        unknown = said(await run(server, "tandem revoke g-doesnotexist"))
        assert "g-doesnotexist" in unknown and "tandem shares" in unknown, unknown
        for text in (missing, whole, passwd, readme, long, unknown):
            assert "Unhandled error" not in text and "400" not in text and "404" not in text
        status, listing = await server.arequest("GET", "/tandem/api/invitations")
        assert listing["invitations"] == []  # nothing was created by any refusal


async def test_url_and_token_work_before_and_after_every_subcommand(root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "shares").mkdir(parents=True)  # a folder named like a command
    async with TandemServer(root, tmp_path / "state", token="t-0123456789", args=FAST) as server:
        pick = f"--url {server.http_url}/ --token t-0123456789"
        for command in ("shares --json", "audit --json"):
            before = await run(server, f"tandem {pick} {command}", cwd=root)
            after = await run(server, f"tandem {command} {pick}", cwd=root)
            assert before.returncode == 0 and after.returncode == 0, (before.stderr, after.stderr)
        shared = await run(server, f"tandem share demo.ipynb {pick}", cwd=root)
        assert shared.returncode == 0, shared.stderr
        invitation = shared.stderr.split(":", 1)[0]
        revoked = await run(server, f"tandem {pick} revoke {invitation}", cwd=root)
        assert revoked.returncode == 0 and invitation in revoked.stdout
        wrong = await run(server, f"tandem shares --url {server.http_url} --token nope", cwd=root)
        assert "--token" in said(wrong)
        # `tandem --url X shares` asks that server; it never serves a folder called shares.
        closed = f"http://127.0.0.1:{free_port()}/"
        listing = await run(server, f"tandem --url {closed} shares", cwd=elsewhere)
        assert said(listing).startswith(f"cannot reach the server at {closed}")


def test_help_lists_every_command_and_version_is_the_packages():
    shown = subprocess.run(
        [sys.executable, "-m", "tandem", "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0
    for word in ("share", "shares", "revoke", "audit", "lab", "ROOT", "--url", "--token"):
        assert re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", shown.stdout), word
    version = subprocess.run(
        [sys.executable, "-m", "tandem", "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.stdout.strip() == f"tandem {importlib.metadata.version('jupyter-tandem')}"
    assert importlib.metadata.version("jupyter-tandem") != "0.0"


async def test_sharing_commands_import_neither_jupyter_server_nor_pycrdt(root, tmp_path):
    """What makes a CLI call fast: a subcommand imports only what it needs."""
    probe = (
        "import sys\n"
        "from tandem import cli\n"
        "code = cli.main(sys.argv[1:])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & HEAVY)\n"
        "print(repr(heavy), code)\n"
    ).replace("HEAVY", repr({"jupyter_server", "pycrdt", "tornado", "jupyterlab"}))
    async with TandemServer(root, tmp_path / "state", args=FAST) as server:
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(server.state_dir / "runtime")}
        for command in ("share demo.ipynb", "shares", "audit", "revoke --all"):
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-c", probe, *command.split()],
                cwd=server.root,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.stdout.strip().splitlines()[-1] == "[] 0", (command, result)
