"""`tandem share --runs-as-me`: where the server cannot confine code, a run link is refused
without it and made with it, and the CLI says which one a link gives."""

from __future__ import annotations

from pathlib import Path

from tandem.testing import TandemServer
from tests.conftest import FAST
from tests.test_cli import run


async def test_tandem_share_says_whether_a_run_link_runs_as_you(root: Path, tmp_path: Path) -> None:
    args = [*FAST, "--TandemApp.sandbox=False"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        refused = await run(server, "tandem share demo.ipynb --role run")
        assert refused.returncode != 0 and "--runs-as-me" in refused.stderr, refused.stderr
        wrong = await run(server, "tandem share demo.ipynb --role edit --runs-as-me")
        assert wrong.returncode != 0 and "run links" in wrong.stderr, wrong.stderr
        made = await run(server, "tandem share demo.ipynb --role run --runs-as-me")
        assert made.returncode == 0, made.stderr
        assert "/tandem/join/" in made.stdout
        assert "cannot confine code" in made.stderr and "runs as you" in made.stderr
        status, listing = await server.arequest("GET", "/tandem/api/invitations")
        assert [i["runs_as_owner"] for i in listing["invitations"]] == [True]
