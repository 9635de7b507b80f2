"""Confined kernels: a `run` guest's code reaches the shared folder and nothing of the owner's.

Each attack is a cell a `run` guest runs through the real execution API; it prints
``BLOCKED <what>`` when the attempt fails and ``LEAKED <what>`` when it succeeds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tandem.sandbox import SandboxService, SandboxSettings, Unconfinable, abi_version
from tandem.sandbox.policy import scrubbed_environment
from tandem.testing import TandemServer, YPeer
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

from .conftest import EXEC_ARGS, code_notebook, exec_state, outputs_text, run, run_body

pytestmark = pytest.mark.skipif(abi_version() < 1, reason="needs Linux Landlock")

SECRETS = {
    "JUPYTERHUB_API_TOKEN": "hub-api-token-secret",
    "JPY_API_TOKEN": "jpy-api-token-secret",
    "JUPYTER_TOKEN": "tandem-test-token",
    "AWS_SECRET_ACCESS_KEY": "cloud-secret",
}

ATTEMPT = """
import os, socket, signal, glob
def attempt(what, action):
    try:
        result = action()
    except Exception as error:
        print(f"BLOCKED {what}: {type(error).__name__}")
    else:
        print(f"LEAKED {what}: {str(result)[:60]!r}")
print("ready")
"""


def read(path: str | Path) -> str:
    return f"lambda: open({str(path)!r}, 'rb').read()"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    (folder / ".ssh").mkdir(parents=True)
    (folder / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    return folder


async def confined_server(root: Path, tmp_path: Path, home: Path, *args: str) -> TandemServer:
    server = TandemServer(
        root,
        tmp_path / "state",
        args=[*EXEC_ARGS, "--TandemApp.interrupt_grace=2", *args],
        env={"HOME": str(home), **SECRETS},
    )
    await server.start()
    return server


@pytest.fixture
async def guarded(root: Path, tmp_path: Path, home: Path) -> AsyncIterator[TandemServer]:
    server = await confined_server(root, tmp_path, home)
    try:
        yield server
    finally:
        await server.stop()


class Runner:
    """A `run` guest and an owner's peer that watches the notebook."""

    def __init__(self, server: TandemServer, guest: Guest, owner: YPeer, path: str) -> None:
        self.server, self.guest, self.owner, self.path = server, guest, owner, path

    async def run(self, cell_id: str, timeout: float = 60.0) -> str:
        reply = await self.guest.http.post(
            f"/tandem/api/execution/run/{self.path}",
            json=run_body(self.owner, cell_id),
            headers=self.guest.xsrf,
        )
        assert reply.status_code == 202, reply.text
        run_id = reply.json()["runs"][0]["run_id"]

        def finished() -> bool:
            state = exec_state(self.owner).get(f"cell:{cell_id}") or {}
            queue = exec_state(self.owner).get("queue", [])
            ran = state.get("run_id") == run_id or "RunRefused" in outputs_text(self.owner, cell_id)
            return (
                ran and state.get("state") == "idle" and all(r["run_id"] != run_id for r in queue)
            )

        await eventually(finished, timeout=timeout)
        return outputs_text(self.owner, cell_id)


async def open_runner(
    server: TandemServer, path: str, share_path: str, name: str = "Mallory"
) -> tuple[Guest, YPeer]:
    owner = await YPeer.open(server, path)
    guest = Guest(server)
    invite = await share(server, share_path, role="run")
    assert (await guest.join(invite["link"], name=name)).status_code == 303
    return guest, owner


async def test_a_run_guest_reaches_nothing_outside_the_shared_folder(
    guarded: TandemServer, root: Path, tmp_path: Path, home: Path
) -> None:
    state = tmp_path / "state"
    (root / "private").mkdir()
    code_notebook(root / "private" / "other.ipynb", ["print('owner kernel')"])
    code_notebook(root / "top.ipynb", ["print('top')"])
    (root / "shared").mkdir()
    (root / "shared" / "data.csv").write_text("x\n1\n2\n3\n")

    # The owner's own kernel for another notebook: its connection file and ports exist.
    async with await YPeer.open(guarded, "private/other.ipynb") as other:
        other_ids = [c.get("id") for c in other.notebook.ycells][1:]
        await run(guarded, "private/other.ipynb", other, other_ids[0])
        await eventually(lambda: outputs_text(other, other_ids[0]) == "owner kernel\n", timeout=60)
    connection_files = sorted((state / "runtime").glob("kernel-*.json"))
    assert connection_files and list((state / "runtime").glob("jpserver-*.json"))
    ports = json.loads(connection_files[0].read_text())
    server_pid = guarded.process.pid
    db = state / "data" / "tandem" / "tandem.sqlite"
    key = state / "data" / "tandem" / "access.key"
    assert db.exists() and key.exists()

    attacks = {
        "ssh key": read(home / ".ssh" / "id_ed25519"),
        "home listing": f"lambda: os.listdir({str(home)!r})",
        "other notebook": read(root / "private" / "other.ipynb"),
        "notebook above": read(root / "top.ipynb"),
        "server info": f"lambda: [open(p).read() for p in glob.glob({str(state)!r} + "
        f"'/runtime/jpserver-*.json')] or 1/0",
        "connection file": read(connection_files[0]),
        "runtime listing": f"lambda: os.listdir({str(state / 'runtime')!r})",
        "database": read(db),
        "key": read(key),
        "server environ": read(f"/proc/{server_pid}/environ"),
        "server command line": read(f"/proc/{server_pid}/cmdline"),
        "server files": f"lambda: os.readlink('/proc/{server_pid}/fd/0')",
        "process list": "lambda: [p for p in os.listdir('/proc') if p.isdigit()] or 1/0",
        "env tokens": "lambda: [v for k, v in os.environ.items() if 'secret' in v "
        "or 'TOKEN' in k or 'SECRET' in k] or 1/0",
        "write outside": f"lambda: open({str(root / 'pwned.txt')!r}, 'w').write('x')",
        "write home": f"lambda: open({str(home / 'pwned.txt')!r}, 'w').write('x')",
        "other kernel iopub": "lambda: socket.create_connection(('127.0.0.1', "
        f"{ports['iopub_port']}), timeout=2)",
        "server socket": "lambda: socket.create_connection(('127.0.0.1', "
        f"{guarded.port}), timeout=2)",
        "kill server": f"lambda: os.kill({server_pid}, signal.SIGTERM)",
    }
    sources = [ATTEMPT] + [f"attempt({what!r}, {action})" for what, action in attacks.items()]
    sources += [
        # Positive: data files inside the shared folder, and ordinary library work.
        "import csv, statistics, sqlite3\n"
        "rows = [int(r['x']) for r in csv.DictReader(open('data.csv'))]\n"
        "open('result.txt', 'w').write(str(statistics.mean(rows)))\n"
        "con = sqlite3.connect('scratch.sqlite'); con.execute('create table t (x)')\n"
        "print('mean', open('result.txt').read(), os.getcwd())",
        "import json; print(json.loads(os.environ['TANDEM_SANDBOX'])['abi'] >= 1,"
        " os.environ['HOME'] != " + repr(str(home)) + ")",
    ]
    ids = code_notebook(root / "shared" / "work.ipynb", sources)
    guest, owner = await open_runner(guarded, "shared/work.ipynb", "shared")
    try:
        runner = Runner(guarded, guest, owner, "shared/work.ipynb")
        assert (await runner.run(ids[0], timeout=90)).strip() == "ready"
        results = {
            what: await runner.run(cell_id) for cell_id, what in zip(ids[1:], attacks, strict=False)
        }
        leaked = {what: text for what, text in results.items() if not text.startswith("BLOCKED")}
        assert leaked == {}, leaked
        assert await runner.run(ids[-2]) == f"mean 2 {root / 'shared'}\n"
        assert await runner.run(ids[-1]) == "True True\n"
        assert (root / "shared" / "result.txt").read_text() == "2"
        assert not (root / "pwned.txt").exists() and not (home / "pwned.txt").exists()
        # Everyone saw it: the notebook says the kernel is confined, to what.
        sandbox = exec_state(owner)["sandbox"]
        assert sandbox["confined"] is True and sandbox["scope"] == "shared", sandbox
        async with await YPeer.open(guarded, "shared/work.ipynb") as late:
            assert outputs_text(late, ids[-2]).startswith("mean 2")
        assert guarded.process.poll() is None
        status, _ = await guarded.arequest("GET", "/api/status")
        assert status == 200
    finally:
        await guest.close()
        await owner.close()


async def test_fork_bombs_and_memory_hogs_stop_at_the_limits_and_the_server_serves_on(
    root: Path, tmp_path: Path, home: Path
) -> None:
    server = await confined_server(
        root,
        tmp_path,
        home,
        "--TandemApp.sandbox_processes=64",
        f"--TandemApp.sandbox_memory={1024**3}",
        "--TandemApp.sandbox_network=outbound",
    )
    try:
        (root / "lab").mkdir()
        ids = code_notebook(
            root / "lab" / "hog.ipynb",
            [
                "import os, socket\nchildren = 0\ntry:\n"
                "    while children < 5000:\n"
                "        if os.fork() == 0:\n"
                "            import time; time.sleep(3); os._exit(0)\n"
                "        children += 1\n"
                "except OSError as error:\n"
                "    print('fork stopped', children < 64, type(error).__name__)\n"
                "while True:  # reap them (zombies count against the limit too)\n"
                "    try:\n        os.wait()\n    except ChildProcessError:\n        break",
                "try:\n    hog = bytearray(2 * 1024**3)\n    print('allocated')\n"
                "except MemoryError:\n    print('MemoryError')",
                f"try:\n    socket.create_connection(('127.0.0.1', {server.port}), timeout=2)\n"
                "    print('LEAKED connect')\nexcept OSError as error:\n"
                "    print('BLOCKED', type(error).__name__)",
                "print('still alive')",
            ],
        )
        guest, owner = await open_runner(server, "lab/hog.ipynb", "lab")
        try:
            runner = Runner(server, guest, owner, "lab/hog.ipynb")
            assert (await runner.run(ids[0], timeout=90)).startswith("fork stopped True")
            status, _ = await server.arequest("GET", "/api/status")
            assert status == 200
            assert await runner.run(ids[1]) == "MemoryError\n"
            assert (await runner.run(ids[2])).startswith("BLOCKED")
            assert await runner.run(ids[3]) == "still alive\n"
            assert exec_state(owner)["sandbox"]["network"] == "outbound"
        finally:
            await guest.close()
            await owner.close()
    finally:
        await server.stop()


async def test_sharing_for_running_switches_the_kernel_and_the_notebook_says_so(
    guarded: TandemServer, root: Path, home: Path
) -> None:
    (root / "proj").mkdir()
    probe = f"print(open({str(home / '.ssh' / 'id_ed25519')!r}).read().split()[-1])"
    ids = code_notebook(root / "proj" / "nb.ipynb", [probe])
    async with await YPeer.open(guarded, "proj/nb.ipynb") as owner:
        # Not shared: the owner's kernel is unconfined, as in Jupyter.
        await run(guarded, "proj/nb.ipynb", owner, ids[0])
        await eventually(lambda: outputs_text(owner, ids[0]) == "secret\n", timeout=60)
        assert exec_state(owner)["sandbox"] == {"confined": False}
        # Shared for running (a file share): the owner's next run restarts it confined.
        invite = await share(guarded, "proj/nb.ipynb", role="run")
        await run(guarded, "proj/nb.ipynb", owner, ids[0])
        await eventually(lambda: "PermissionError" in outputs_text(owner, ids[0]), timeout=60)
        state = exec_state(owner)
        assert state["sandbox"]["confined"] is True and state["sandbox"]["scope"] == "proj"
        assert "restarted to run confined" in state["notice"]["text"]
        # The last run share revoked: the next run restarts it unconfined, with a note.
        status, _ = await guarded.arequest(
            "DELETE", f"/tandem/api/invitations/{invite['invitation']['id']}"
        )
        assert status in (200, 204)
        await run(guarded, "proj/nb.ipynb", owner, ids[0])
        await eventually(lambda: outputs_text(owner, ids[0]) == "secret\n", timeout=60)
        state = exec_state(owner)
        assert state["sandbox"] == {"confined": False}
        assert "no longer shared for running" in state["notice"]["text"]
    # Shared before its kernel ever started: confined from the first run (ipc channels), then
    # unconfined again over TCP once the share ends.
    (root / "proj2").mkdir()
    ids = code_notebook(root / "proj2" / "nb.ipynb", [probe])
    invite = await share(guarded, "proj2", role="run")
    async with await YPeer.open(guarded, "proj2/nb.ipynb") as owner:
        await run(guarded, "proj2/nb.ipynb", owner, ids[0])
        await eventually(lambda: "PermissionError" in outputs_text(owner, ids[0]), timeout=60)
        invitation_id = invite["invitation"]["id"]
        status, _ = await guarded.arequest("DELETE", f"/tandem/api/invitations/{invitation_id}")
        await run(guarded, "proj2/nb.ipynb", owner, ids[0])
        await eventually(lambda: outputs_text(owner, ids[0]) == "secret\n", timeout=60)


async def test_a_revoked_guests_run_that_ignores_interrupts_gets_its_kernel_restarted(
    guarded: TandemServer, root: Path
) -> None:
    (root / "loop").mkdir()
    stubborn = (
        "import time\nwhile True:\n    try:\n        print('tick', flush=True)\n"
        "        time.sleep(0.2)\n    except KeyboardInterrupt:\n        print('ignored')"
    )
    ids = code_notebook(root / "loop" / "nb.ipynb", [stubborn, "print('owner again')"])
    guest, owner = await open_runner(guarded, "loop/nb.ipynb", "loop", name="Stubborn")
    try:
        reply = await guest.http.post(
            "/tandem/api/execution/run/loop/nb.ipynb",
            json=run_body(owner, ids[0]),
            headers=guest.xsrf,
        )
        assert reply.status_code == 202
        await eventually(lambda: "tick" in outputs_text(owner, ids[0]), timeout=90)
        status, grants = await guarded.arequest("GET", "/tandem/api/grants")
        grant = next(g for g in grants["grants"] if g["display_name"] == "Stubborn")
        status, _ = await guarded.arequest("DELETE", f"/tandem/api/grants/{grant['id']}")
        assert status in (200, 204)
        # The interrupt is ignored; after the grace period (2 s here) the kernel restarts.
        await eventually(lambda: "ignored" in outputs_text(owner, ids[0]), timeout=10)
        await eventually(lambda: "KernelRestarted" in outputs_text(owner, ids[0]), timeout=20)
        notice = exec_state(owner)["notice"]["text"]
        assert "Stubborn" in notice and "did not stop" in notice
        ticks = outputs_text(owner, ids[0]).count("tick")
        await asyncio.sleep(1.0)
        assert outputs_text(owner, ids[0]).count("tick") == ticks  # nothing runs any more
        await run(guarded, "loop/nb.ipynb", owner, ids[1])
        await eventually(lambda: outputs_text(owner, ids[1]) == "owner again\n", timeout=60)
    finally:
        await guest.close()
        await owner.close()


async def test_without_a_sandbox_run_links_are_refused_unless_the_owner_lets_guests_run_as_them(
    root: Path, tmp_path: Path, home: Path
) -> None:
    (root / "plain").mkdir()
    ids = code_notebook(root / "plain" / "nb.ipynb", ["import os; print(os.environ['HOME'])"] * 6)
    # A run link made while the sandbox works...
    server = await confined_server(root, tmp_path, home)
    try:
        guest, owner = await open_runner(server, "plain/nb.ipynb", "plain")
        await owner.close()
        # ...then the server comes back without it: the guest's run is refused, with a reason.
        server.args = [*server.args, "--TandemApp.sandbox=False"]
        await server.restart()
        status, body = await server.arequest(
            "POST", "/tandem/api/invitations", {"path": "plain", "role": "run"}
        )
        assert status == 400 and "guests_run_as_me" in str(body), body
        async with await YPeer.open(server, "plain/nb.ipynb") as owner:
            text = await Runner(server, guest, owner, "plain/nb.ipynb").run(ids[0], 90)
            assert "RunRefused" in text and "cannot be confined" in text, text
        # The per-share choice: only for run links; a link made with it runs as the owner
        # (the reply says so), and only its own guests do.
        status, body = await server.arequest(
            "POST",
            "/tandem/api/invitations",
            {"path": "plain", "role": "edit", "runs_as_owner": True},
        )
        assert status == 400 and "run links only" in str(body), body
        status, body = await server.arequest(
            "POST", "/tandem/api/invitations", {"path": "plain", "role": "run", "runs_as_owner": 1}
        )
        assert status == 400, body
        status, body = await server.arequest(
            "POST",
            "/tandem/api/invitations",
            {"path": "plain", "role": "run", "runs_as_owner": True},
        )
        assert status == 201 and body["runs"]["mode"] == "as_owner", body
        assert body["runs"]["chosen_by"] == "link" and body["invitation"]["runs_as_owner"] is True
        chosen = Guest(server)
        assert (await chosen.join(body["link"], name="Trusted")).status_code == 303
        async with await YPeer.open(server, "plain/nb.ipynb") as owner:
            text = await Runner(server, chosen, owner, "plain/nb.ipynb").run(ids[1], 90)
            assert text == f"{home}\n", text
            assert exec_state(owner)["sandbox"] == {"confined": False}
            # The first guest's link was made without the choice: still refused.
            text = await Runner(server, guest, owner, "plain/nb.ipynb").run(ids[2], 90)
            assert "RunRefused" in text and "cannot be confined" in text, text
        await guest.close()
        # A server that forbids per-link choices refuses new ones and the links already made.
        without_choice = list(server.args)
        server.args = [*server.args, "--TandemApp.allow_runs_as_me_links=False"]
        await server.restart()
        status, body = await server.arequest(
            "POST",
            "/tandem/api/invitations",
            {"path": "plain", "role": "run", "runs_as_owner": True},
        )
        assert status == 400 and "does not let a link" in str(body), body
        async with await YPeer.open(server, "plain/nb.ipynb") as owner:
            text = await Runner(server, chosen, owner, "plain/nb.ipynb").run(ids[3], 90)
            assert "RunRefused" in text and "cannot be confined" in text, text
        # Allowed again: the choice was stored with the invitation, across restarts.
        server.args = without_choice
        await server.restart()
        async with await YPeer.open(server, "plain/nb.ipynb") as owner:
            text = await Runner(server, chosen, owner, "plain/nb.ipynb").run(ids[4], 90)
            assert text == f"{home}\n", text
        await chosen.close()
        # The owner's explicit choice: guests' code runs as the owner, and the link says so.
        server.args = [*server.args, "--TandemApp.guests_run_as_me=True"]
        await server.restart()
        guest, owner = await open_runner(server, "plain/nb.ipynb", "plain")
        try:
            status, body = await server.arequest(
                "POST", "/tandem/api/invitations", {"path": "plain", "role": "run"}
            )
            assert status == 201 and body["runs"]["mode"] == "as_owner", body
            text = await Runner(server, guest, owner, "plain/nb.ipynb").run(ids[5], 90)
            assert text == f"{home}\n"
            assert exec_state(owner)["sandbox"] == {"confined": False}
        finally:
            await guest.close()
            await owner.close()
    finally:
        await server.stop()


def test_the_scope_a_share_confines_code_to(tmp_path: Path) -> None:
    root, state = tmp_path / "root", tmp_path / "root" / "keep" / "state"
    for folder in ("a/b", "keep/state"):
        (root / folder).mkdir(parents=True)

    async def no_scopes(path: str) -> list[tuple[str, bool]]:
        return []

    service = SandboxService(SandboxSettings(), str(root), no_scopes, [str(state)])
    assert service.share_scope("a/b", True) == "a/b"
    assert service.share_scope("a/b/nb.ipynb", False) == "a/b"  # the notebook's folder
    assert service.share_scope("nb.ipynb", False) == "nb.ipynb"  # never the whole root
    assert service.share_scope("keep/nb.ipynb", False) == "keep/nb.ipynb"  # holds the store
    for scope, is_folder in (("keep", True), ("", True)):
        with pytest.raises(Unconfinable):
            service.share_scope(scope, is_folder)
    assert service.api_path(str(root / ".hidden" / "nb.ipynb")) == ".hidden/nb.ipynb"
    assert service.api_path(str(root)) == "" and service.api_path(str(tmp_path)) is None
    off = SandboxService(SandboxSettings(enabled=False), str(root), no_scopes, [])
    with pytest.raises(Unconfinable):
        off.link_mode("a", True)
    as_me = SandboxService(
        SandboxSettings(enabled=False, runs_as_me=True), str(root), no_scopes, []
    )
    assert as_me.link_mode("a", True)["mode"] == "as_owner"
    assert off.link_mode("a", True, runs_as_owner=True)["chosen_by"] == "link"
    assert service.link_mode("a", True, runs_as_owner=True)["mode"] == "confined"  # a fallback
    strict = SandboxService(
        SandboxSettings(enabled=False, share_runs_as_me=False), str(root), no_scopes, []
    )
    with pytest.raises(Unconfinable):
        strict.link_mode("a", True, runs_as_owner=True)


def test_the_kernel_environment_keeps_nothing_secret() -> None:
    env = scrubbed_environment(
        {
            "PATH": "/usr/bin",
            "LANG": "C.UTF-8",
            "JUPYTERHUB_API_TOKEN": "x",
            "JPY_API_TOKEN": "x",
            "JUPYTER_TOKEN": "x",
            "JUPYTERHUB_API_URL": "http://hub",
            "AWS_SECRET_ACCESS_KEY": "x",
            "HOME": "/home/owner",
            "SPEC_VAR": "kept",
            "SPEC_TOKEN": "dropped",
        },
        "/tmp/private",
        keep=["SPEC_VAR", "SPEC_TOKEN"],
    )
    assert env["HOME"] == "/tmp/private" and env["PATH"] == "/usr/bin" and env["SPEC_VAR"] == "kept"
    assert not {"JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "JUPYTER_TOKEN", "SPEC_TOKEN"} & set(env)
    assert "JUPYTERHUB_API_URL" not in env and "AWS_SECRET_ACCESS_KEY" not in env
    assert all(v.startswith("/tmp/private") for k, v in env.items() if k.startswith("JUPYTER_"))


async def test_jupyterlabs_kernel_for_a_shared_notebook_is_the_same_confined_kernel(
    guarded: TandemServer, root: Path, home: Path
) -> None:
    (root / "lab").mkdir()
    probe = f"print(open({str(home / '.ssh' / 'id_ed25519')!r}).read())"
    ids = code_notebook(root / "lab" / "nb.ipynb", [probe, "print('guest ran')"])
    guest, owner = await open_runner(guarded, "lab/nb.ipynb", "lab")
    try:
        # JupyterLab opens the shared notebook: its session kernel starts confined.
        status, session = await guarded.arequest(
            "POST",
            "/api/sessions",
            {
                "path": "lab/nb.ipynb",
                "name": "nb.ipynb",
                "type": "notebook",
                "kernel": {"name": "python3"},
            },
        )
        assert status == 201, session
        kernel_id = session["kernel"]["id"]
        document_id = f"json:notebook:{(await guarded.session('lab/nb.ipynb'))['fileId']}"
        status, reply = await guarded.arequest(
            "POST",
            f"/api/kernels/{kernel_id}/execute",
            {"cell_id": ids[0], "document_id": document_id},
        )
        assert status == 200, reply
        await eventually(lambda: "PermissionError" in outputs_text(owner, ids[0]), timeout=60)
        # The guest's run uses that same kernel.
        assert await Runner(guarded, guest, owner, "lab/nb.ipynb").run(ids[1]) == "guest ran\n"
        status, kernels = await guarded.arequest("GET", "/api/kernels")
        assert [k["id"] for k in kernels] == [kernel_id]
        assert exec_state(owner)["sandbox"]["scope"] == "lab"
    finally:
        await guest.close()
        await owner.close()
