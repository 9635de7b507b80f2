"""The sharing CLI against a running server, and the README's examples, run as written."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tandem.cli import parse_duration
from tandem.testing import TandemServer
from tests.conftest import FAST

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- sharing-examples:", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return [
        line.split("  #", 1)[0].strip() for line in block.splitlines() if line.startswith("tandem ")
    ]


async def run(server: TandemServer, command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "tandem"
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(server.state_dir / "runtime")}
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tandem", *argv[1:]],
        cwd=server.root,
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
        assert bad.returncode == 1 and "400" in bad.stderr
        missing = await run(server, "tandem revoke")
        assert missing.returncode == 1
