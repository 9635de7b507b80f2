"""Who may run, what a flood of output costs, input(), and the endpoints other tools use."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tandem.execution import source_hash
from tandem.testing import TandemServer, YPeer
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

from .conftest import cell, code_notebook, exec_state, outputs_text, run, run_body

FLOOD = "for i in range(100_000):\n    print(i, 'x' * 40)\n"


def store_bytes(state_dir: Path) -> int:
    return sum(p.stat().st_size for p in state_dir.rglob("tandem.sqlite*"))


async def test_a_flood_of_prints_is_capped_and_does_not_block_the_room(
    exec_server: TandemServer, root: Path, tmp_path: Path
) -> None:
    ids = code_notebook(root / "run.ipynb", [FLOOD, "print('after')"])
    before = store_bytes(tmp_path / "state")
    async with (
        await YPeer.open(exec_server, "run.ipynb") as alice,
        await YPeer.open(exec_server, "run.ipynb") as bob,
    ):
        await run(exec_server, "run.ipynb", alice, ids[0])
        await eventually(
            lambda: exec_state(bob).get(f"cell:{ids[0]}", {}).get("state") == "running", timeout=60
        )
        # While the kernel floods, edits still travel between peers.
        for n in range(5):
            with alice.doc.transaction():
                src = alice.notebook.ycells[0]["source"]
                src += f" edit{n}"
            await eventually(
                lambda n=n: f"edit{n}" in str(bob.notebook.ycells[0]["source"]), timeout=10
            )
        await eventually(lambda: exec_state(bob)["queue"] == [], timeout=120)
        await run(exec_server, "run.ipynb", alice, ids[1])
        await eventually(lambda: outputs_text(bob, ids[1]) == "after\n", timeout=30)
        text = outputs_text(bob, ids[0])
        assert "Output truncated" in text
        assert len(text.encode()) < 20_000 + 500  # the cap (EXEC_ARGS) plus the note
        assert text.startswith("0 xxxx")
    # The store holds the capped output, not 4.4 MB of prints (compaction may not have run).
    grown = store_bytes(tmp_path / "state") - before
    assert grown < 1_500_000, grown


async def test_view_and_edit_guests_cannot_run_and_a_run_guest_can(
    exec_server: TandemServer, root: Path
) -> None:
    ids = code_notebook(
        root / "run.ipynb", ["print('ran')", "import time; time.sleep(30)", "print('queued')"]
    )
    async with await YPeer.open(exec_server, "run.ipynb") as owner:
        body = run_body(owner, ids[0])
        for role in ("view", "edit"):
            guest = Guest(exec_server)
            try:
                invite = await share(exec_server, "run.ipynb", role=role)
                assert (await guest.join(invite["link"])).status_code == 303
                reply = await guest.http.post(
                    "/tandem/api/execution/run/run.ipynb", json=body, headers=guest.xsrf
                )
                assert reply.status_code == 403, reply.text
                for action in ("interrupt", "restart"):
                    reply = await guest.http.post(
                        f"/tandem/api/execution/{action}/run.ipynb", json={}, headers=guest.xsrf
                    )
                    assert reply.status_code == 403
                state = await guest.http.get("/tandem/api/execution/state/run.ipynb")
                assert state.status_code == 200 and state.json()["can_run"] is False
            finally:
                await guest.close()
        assert exec_state(owner).get("queue", []) == [] and outputs_text(owner, ids[0]) == ""

        runner = Guest(exec_server)
        try:
            invite = await share(exec_server, "run.ipynb", role="run")
            await runner.join(invite["link"], name="Ada Runner")
            # No XSRF token: refused even with the right role.
            reply = await runner.http.post("/tandem/api/execution/run/run.ipynb", json=body)
            assert reply.status_code == 403
            reply = await runner.http.post(
                "/tandem/api/execution/run/run.ipynb", json=body, headers=runner.xsrf
            )
            assert reply.status_code == 202, reply.text
            await eventually(lambda: outputs_text(owner, ids[0]) == "ran\n", timeout=60)
            assert exec_state(owner)[f"cell:{ids[0]}"]["by"]["name"] == "Ada Runner"
            # A guest cannot run a notebook outside their grant, nor use JupyterLab's endpoint.
            code_notebook(root / "private.ipynb", ["print('private')"])
            reply = await runner.http.post(
                "/tandem/api/execution/run/private.ipynb", json=body, headers=runner.xsrf
            )
            assert reply.status_code == 403
            # Revocation cancels their queued runs.
            reply = await runner.http.post(
                "/tandem/api/execution/run/run.ipynb",
                json=run_body(owner, ids[1], ids[2]),
                headers=runner.xsrf,
            )
            assert reply.status_code == 202
            await eventually(
                lambda: exec_state(owner).get(f"cell:{ids[1]}", {}).get("state") == "running",
                timeout=30,
            )
            status, grants = await exec_server.arequest("GET", "/tandem/api/grants")
            grant = next(g for g in grants["grants"] if g["display_name"] == "Ada Runner")
            status, _ = await exec_server.arequest("DELETE", f"/tandem/api/grants/{grant['id']}")
            assert status in (200, 204)
            await eventually(lambda: exec_state(owner)["queue"] == [], timeout=30)
            assert outputs_text(owner, ids[2]) == ""
            assert exec_state(owner)[f"cell:{ids[2]}"]["state"] == "idle"
            status, audit = await exec_server.arequest(
                "GET", "/tandem/api/audit?kind=execution_requested"
            )
            events = audit["events"]
            assert {e["detail"]["cell_id"] for e in events} == {ids[0], ids[1], ids[2]}
            assert all(
                e["detail"]["source_hash"]
                == source_hash(cell(owner, e["detail"]["cell_id"])["source"])
                for e in events
            )
        finally:
            await runner.close()


async def test_input_reaches_the_requester_and_fails_cleanly_when_they_leave(
    exec_server: TandemServer, root: Path
) -> None:
    ids = code_notebook(
        root / "run.ipynb",
        [
            "name = input('Your name? ')\nprint('hello', name)",
            "x = input('again? ')",
            "print('still alive')",
        ],
    )
    alice = await YPeer.open(exec_server, "run.ipynb")
    body = await run(exec_server, "run.ipynb", alice, ids[0])
    run_id = body["runs"][0]["run_id"]
    await eventually(
        lambda: bool((exec_state(alice).get(f"cell:{ids[0]}") or {}).get("input")), timeout=60
    )
    prompt = exec_state(alice)[f"cell:{ids[0]}"]["input"]
    assert (
        prompt["prompt"] == "Your name? "
        and prompt["run_id"] == run_id
        and prompt["password"] is False
    )
    status, reply = await exec_server.arequest(
        "POST", "/tandem/api/execution/input/run.ipynb", {"run_id": "nope", "value": "x"}
    )
    assert status == 409
    status, reply = await exec_server.arequest(
        "POST", "/tandem/api/execution/input/run.ipynb", {"run_id": run_id, "value": "Ada"}
    )
    assert status == 200, reply
    await eventually(lambda: "hello Ada" in outputs_text(alice, ids[0]), timeout=30)
    assert exec_state(alice)[f"cell:{ids[0]}"]["input"] is None

    await run(exec_server, "run.ipynb", alice, ids[1])
    await eventually(
        lambda: bool((exec_state(alice).get(f"cell:{ids[1]}") or {}).get("input")), timeout=30
    )
    await alice.close()  # the person who must answer is gone

    async def queue_empty() -> bool:
        status, state = await exec_server.arequest("GET", "/tandem/api/execution/state/run.ipynb")
        return status == 200 and state["queue"] == []

    await eventually(queue_empty, timeout=15)
    async with await YPeer.open(exec_server, "run.ipynb") as bob:
        assert "InputUnavailable" in outputs_text(
            bob, ids[1]
        ) and "left before answering" in outputs_text(bob, ids[1])
        assert exec_state(bob)[f"cell:{ids[1]}"]["input"] is None
        await run(exec_server, "run.ipynb", bob, ids[2])
        await eventually(lambda: outputs_text(bob, ids[2]) == "still alive\n", timeout=30)


async def test_jupyterlab_server_side_execution_endpoint(
    exec_server: TandemServer, root: Path
) -> None:
    ids = code_notebook(root / "run.ipynb", ["print('from lab')", "1/0"])
    async with await YPeer.open(exec_server, "run.ipynb") as alice:
        session = await exec_server.session("run.ipynb")
        status, kernel_session = await exec_server.arequest(
            "POST",
            "/api/sessions",
            {
                "path": "run.ipynb",
                "name": "run.ipynb",
                "type": "notebook",
                "kernel": {"name": "python3"},
            },
        )
        assert status == 201, kernel_session
        kernel_id = kernel_session["kernel"]["id"]
        document_id = f"json:notebook:{session['fileId']}"
        # The payload JupyterLab's docprovider sends.
        status, reply = await exec_server.arequest(
            "POST",
            f"/api/kernels/{kernel_id}/execute",
            {"cell_id": ids[0], "document_id": document_id},
        )
        assert status == 200 and reply["status"] == "ok", reply
        # The reply (HTTP) and the document's updates (WebSocket) travel apart: the kernel
        # state that follows the output may reach this peer after the reply does.
        await eventually(
            lambda: (
                outputs_text(alice, ids[0]) == "from lab\n"
                and exec_state(alice)["kernel"]["status"] == "idle"
            )
        )
        # jupyter-server-nbmodel's frontend variant nests them in metadata and sends the code.
        status, reply = await exec_server.arequest(
            "POST",
            f"/api/kernels/{kernel_id}/execute",
            {"code": "1/0", "metadata": {"cell_id": ids[1], "document_id": document_id}},
        )
        assert status == 200 and reply["status"] == "error", reply
        status, again = await exec_server.arequest(
            "GET", f"/api/kernels/{kernel_id}/requests/{reply['run_id']}"
        )
        assert status == 200 and again["status"] == "error"
        # The kernel is the session's: Tandem did not start another one.
        status, kernels = await exec_server.arequest("GET", "/api/kernels")
        assert [k["id"] for k in kernels] == [kernel_id]
        for bad, expected in [
            ({"cell_id": ids[0]}, 400),
            ({"cell_id": ids[0], "document_id": "text:file:x"}, 400),
            ({"cell_id": "nope", "document_id": document_id}, 404),
            (
                {
                    "cell_id": ids[0],
                    "document_id": document_id,
                    "code": "print('not what the cell says')",
                },
                409,
            ),
        ]:
            status, _ = await exec_server.arequest("POST", f"/api/kernels/{kernel_id}/execute", bad)
            assert status == expected, bad
        status, _ = await exec_server.arequest(
            "POST",
            "/api/kernels/not-a-kernel/execute",
            {"cell_id": ids[0], "document_id": document_id},
        )
        assert status == 404


async def test_stale_running_marks_are_cleared_after_a_crash(
    exec_server: TandemServer, root: Path
) -> None:
    ids = code_notebook(root / "run.ipynb", ["import time; time.sleep(60)"])
    async with await YPeer.open(exec_server, "run.ipynb") as alice:
        await run(exec_server, "run.ipynb", alice, ids[0])
        await eventually(lambda: cell(alice, ids[0])["execution_state"] == "running", timeout=60)
        await asyncio.sleep(0.3)  # let the store commit the running mark
    await exec_server.restart(kill=True)
    async with await YPeer.open(exec_server, "run.ipynb") as after:
        await eventually(lambda: cell(after, ids[0])["execution_state"] == "idle")
        state = exec_state(after)
        assert state["queue"] == [] and state[f"cell:{ids[0]}"]["state"] == "idle"
        assert state["kernel"]["status"] == "none"


async def test_extensions_looking_for_jupyter_server_ydoc_get_tandems_documents(
    root: Path, tmp_path: Path
) -> None:
    code_notebook(root / "run.ipynb", ["print(1)"])
    repo = str(Path(__file__).resolve().parents[2])
    server = TandemServer(
        root,
        tmp_path / "state",
        args=["--ServerApp.jpserver_extensions={'tests.execution.shim_probe': True}"],
        env={"PYTHONPATH": repo},
    )
    async with server:
        async with await YPeer.open(server, "run.ipynb") as alice:
            status, body = await server.arequest("GET", "/probe/ydoc/run.ipynb")
            assert status == 200 and body == {"cells": 2}, body
            status, body = await server.arequest("POST", "/probe/ydoc/run.ipynb", {})
            assert status == 200 and body == {"cells": 3}
            # The live change is stored and relayed like any other, and saved to the file.
            await eventually(lambda: len(alice.notebook.ycells) == 3)
            assert str(alice.notebook.ycells[2]["source"]) == "added by a server extension"
            await eventually(
                lambda: "added by a server extension" in (root / "run.ipynb").read_text(),
                timeout=15,
            )
        await server.restart(kill=True)
        async with await YPeer.open(server, "run.ipynb") as again:
            assert len(again.notebook.ycells) == 3


async def test_a_guests_queued_run_does_not_start_after_their_access_expired(
    exec_server: TandemServer, root: Path
) -> None:
    ids = code_notebook(root / "run.ipynb", ["import time; time.sleep(4)", "print('after expiry')"])
    async with await YPeer.open(exec_server, "run.ipynb") as owner:
        guest = Guest(exec_server)
        try:
            invite = await share(exec_server, "run.ipynb", role="run", expires_in=3)
            await guest.join(invite["link"], name="Brief Visitor")
            # The owner's long run holds the queue past the guest's expiry.
            await run(exec_server, "run.ipynb", owner, ids[0])
            reply = await guest.http.post(
                "/tandem/api/execution/run/run.ipynb",
                json=run_body(owner, ids[1]),
                headers=guest.xsrf,
            )
            assert reply.status_code == 202, reply.text
            await eventually(
                lambda: (
                    exec_state(owner)["queue"] == []
                    and exec_state(owner).get(f"cell:{ids[1]}", {}).get("state") == "idle"
                ),
                timeout=60,
            )
            assert outputs_text(owner, ids[1]) == ""
            status, audit = await exec_server.arequest(
                "GET", "/tandem/api/audit?kind=access_denied"
            )
            assert any(
                "queued run not started" in str(e["detail"].get("reason")) for e in audit["events"]
            ), audit
        finally:
            await guest.close()
