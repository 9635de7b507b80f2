"""Shared execution against a real ipykernel: outputs written by the server, seen by
everyone, surviving closed tabs and restarts."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from tandem.testing import TandemServer, YPeer
from tests.conftest import MODULE_LOOP
from tests.eventually import eventually

from .conftest import cell, code_notebook, exec_state, outputs_text, run, run_body

# One execution server for the module where a test needs no fresh one; each such test
# runs a notebook (so a kernel) of its own.
pytestmark = MODULE_LOOP

SLOW_PRINTS = (
    "import time\nfor i in range(6):\n    print('tick', i, flush=True)\n    time.sleep(0.4)\n"
)


async def test_outputs_stream_to_another_peer_while_the_cell_runs(
    module_exec_server: TandemServer, module_root: Path, run_path: str
) -> None:
    exec_server, root = module_exec_server, module_root
    ids = code_notebook(root / run_path, [SLOW_PRINTS])
    async with (
        await YPeer.open(exec_server, run_path) as alice,
        await YPeer.open(exec_server, run_path) as bob,
    ):
        body = await run(exec_server, run_path, alice, ids[0])
        assert [r["cell_id"] for r in body["runs"]] == ids

        def partial() -> None:
            text = outputs_text(bob, ids[0])
            assert "tick 1" in text and "tick 5" not in text, text
            assert cell(bob, ids[0])["execution_state"] == "running"
            assert exec_state(bob)[f"cell:{ids[0]}"]["state"] == "running"

        await eventually(partial, timeout=60)

        def finished() -> None:
            assert outputs_text(bob, ids[0]) == "".join(f"tick {i}\n" for i in range(6))
            assert cell(bob, ids[0])["execution_state"] == "idle"
            assert cell(bob, ids[0])["execution_count"] == 1
            state = exec_state(bob)
            assert state["queue"] == [] and state[f"cell:{ids[0]}"]["state"] == "idle"
            assert state["kernel"]["status"] == "idle" and state["kernel"]["name"] == "python3"
            assert state[f"cell:{ids[0]}"]["by"]["username"]

        await eventually(finished, timeout=30)
        # One stream output, appended to: not one output per line.
        assert len(cell(bob, ids[0])["outputs"]) == 1


async def test_outputs_outlive_the_requester_and_a_server_restart(
    exec_server: TandemServer, root: Path
) -> None:
    ids = code_notebook(root / "run.ipynb", [SLOW_PRINTS.replace("range(6)", "range(4)")])
    alice = await YPeer.open(exec_server, "run.ipynb")
    await run(exec_server, "run.ipynb", alice, ids[0])
    await eventually(lambda: "tick 0" in outputs_text(alice, ids[0]), timeout=60)
    await alice.close()  # the tab that asked is gone

    late = await YPeer.open(exec_server, "run.ipynb")
    await eventually(
        lambda: exec_state(late)["queue"] == [] and "tick 3" in outputs_text(late, ids[0]),
        timeout=30,
    )
    await late.close()

    def saved() -> None:
        nb = json.loads((root / "run.ipynb").read_text())
        out = nb["cells"][1]["outputs"]
        assert "".join(out[0]["text"]) == "".join(f"tick {i}\n" for i in range(4)), out
        assert nb["cells"][1]["execution_count"] == 1

    await eventually(saved, timeout=15)
    await exec_server.restart(kill=True)
    async with await YPeer.open(exec_server, "run.ipynb") as after:
        assert outputs_text(after, ids[0]) == "".join(f"tick {i}\n" for i in range(4))
        assert cell(after, ids[0])["execution_state"] == "idle"


async def test_a_late_joiner_sees_running_state_and_outputs_so_far(
    module_exec_server: TandemServer, module_root: Path, run_path: str
) -> None:
    exec_server, root = module_exec_server, module_root
    ids = code_notebook(root / run_path, [SLOW_PRINTS, "print('second')"])
    async with await YPeer.open(exec_server, run_path) as alice:
        await run(exec_server, run_path, alice, *ids)
        await eventually(lambda: "tick 1" in outputs_text(alice, ids[0]), timeout=60)
        async with await YPeer.open(exec_server, run_path) as late:
            assert "tick 0" in outputs_text(late, ids[0])
            state = exec_state(late)
            assert [(r["cell_id"], r["state"]) for r in state["queue"]] == [
                (ids[0], "running"),
                (ids[1], "queued"),
            ]
            assert state[f"cell:{ids[1]}"]["state"] == "queued"
            await eventually(lambda: outputs_text(late, ids[1]) == "second\n", timeout=30)


async def test_display_updates_clear_output_wait_and_errors(
    module_exec_server: TandemServer, module_root: Path, run_path: str
) -> None:
    exec_server, root = module_exec_server, module_root
    sources = [
        "from IPython.display import display, update_display\n"
        "h = display('first', display_id='d1')\n"
        "print('between')\n"
        "update_display('updated', display_id='d1')",
        "from IPython.display import clear_output\nimport time\n"
        "for i in range(5):\n    clear_output(wait=True)\n"
        "    print('progress', i)\n    time.sleep(0.05)",
        "1/0",
        "40 + 2",
    ]
    ids = code_notebook(root / run_path, sources)
    async with await YPeer.open(exec_server, run_path) as alice:
        for cid in ids:  # separately: an error stops the rest of a batch
            await run(exec_server, run_path, alice, cid)
        await eventually(
            lambda: (
                exec_state(alice)["queue"] == [] and cell(alice, ids[3])["execution_count"] == 4
            ),
            timeout=60,
        )
        first = cell(alice, ids[0])["outputs"]
        assert [o["output_type"] for o in first] == ["display_data", "stream"]
        assert first[0]["data"]["text/plain"] == "'updated'"
        assert outputs_text(alice, ids[1]) == "progress 4\n"
        error = cell(alice, ids[2])["outputs"]
        assert error[0]["output_type"] == "error" and error[0]["ename"] == "ZeroDivisionError"
        plain = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error[0]["traceback"]))
        assert "1/0" in plain and "ZeroDivisionError" in plain, plain
        result = cell(alice, ids[3])["outputs"]
        assert (
            result[0]["output_type"] == "execute_result" and result[0]["data"]["text/plain"] == "42"
        )


async def test_an_error_stops_the_rest_of_a_run_all(
    module_exec_server: TandemServer, module_root: Path, run_path: str
) -> None:
    exec_server, root = module_exec_server, module_root
    ids = code_notebook(
        root / run_path, ["x = 1", "raise ValueError('stop here')", "print('never')"]
    )
    async with await YPeer.open(exec_server, run_path) as alice:
        await run(exec_server, run_path, alice, *ids)
        await eventually(
            lambda: exec_state(alice).get("queue") == [] and outputs_text(alice, ids[1]), timeout=60
        )
        assert "ValueError: stop here" in outputs_text(alice, ids[1])
        assert outputs_text(alice, ids[2]) == ""
        assert exec_state(alice)[f"cell:{ids[2]}"]["state"] == "idle"


async def test_interrupt_stops_an_endless_loop_and_restart_clears_state(
    module_exec_server: TandemServer, module_root: Path, run_path: str
) -> None:
    exec_server, root = module_exec_server, module_root
    ids = code_notebook(root / run_path, ["secret = 41", "while True: pass", "print(secret + 1)"])
    async with await YPeer.open(exec_server, run_path) as alice:
        await run(exec_server, run_path, alice, ids[0])
        await run(exec_server, run_path, alice, ids[1])
        await eventually(
            lambda: exec_state(alice).get(f"cell:{ids[1]}", {}).get("state") == "running",
            timeout=60,
        )
        await run(exec_server, run_path, alice, ids[2])  # queued behind the loop
        await eventually(
            lambda: exec_state(alice).get(f"cell:{ids[2]}", {}).get("state") == "queued"
        )
        status, body = await exec_server.arequest(
            "POST", f"/tandem/api/execution/interrupt/{run_path}", {}
        )
        assert status == 200, body
        await eventually(lambda: "KeyboardInterrupt" in outputs_text(alice, ids[1]), timeout=30)
        await eventually(lambda: exec_state(alice)["queue"] == [])
        # The dropped run never ran: no output, and nobody is named as having run it.
        dropped = exec_state(alice)[f"cell:{ids[2]}"]
        assert dropped["state"] == "idle" and dropped["by"] is None and dropped["run_id"] is None, (
            dropped
        )
        assert outputs_text(alice, ids[2]) == ""
        await run(exec_server, run_path, alice, ids[2])
        await eventually(lambda: outputs_text(alice, ids[2]) == "42\n", timeout=30)

        status, body = await exec_server.arequest(
            "POST", f"/tandem/api/execution/restart/{run_path}", {}
        )
        assert status == 200 and body["kernel"]["status"] == "idle", body
        await run(exec_server, run_path, alice, ids[2])
        await eventually(lambda: "NameError" in outputs_text(alice, ids[2]), timeout=30)


async def test_two_people_queueing_at_once_run_in_queue_order(
    module_exec_server: TandemServer, module_root: Path, run_path: str
) -> None:
    exec_server, root = module_exec_server, module_root
    sources = (
        ["import time\norder = []\ntime.sleep(0.5)"]
        + [f"order.append({i})" for i in range(6)]
        + ["print(order)"]
    )
    ids = code_notebook(root / run_path, sources)
    async with (
        await YPeer.open(exec_server, run_path) as alice,
        await YPeer.open(exec_server, run_path) as bob,
    ):
        await run(exec_server, run_path, alice, ids[0])
        await asyncio.gather(
            *[run(exec_server, run_path, alice if i % 2 else bob, ids[1 + i]) for i in range(6)]
        )
        state = exec_state(alice)
        queued = [
            r["cell_id"]
            for r in (await exec_server.arequest("GET", f"/tandem/api/execution/state/{run_path}"))[
                1
            ]["queue"]
        ]
        await run(exec_server, run_path, bob, ids[7])
        await eventually(lambda: outputs_text(bob, ids[7]) != "", timeout=60)
        printed = json.loads(outputs_text(bob, ids[7]))
        expected = [ids.index(cid) - 1 for cid in queued if cid in ids[1:7]]
        assert printed == expected and sorted(printed) == list(range(6)), (printed, queued, state)


async def test_a_cell_changed_since_it_was_seen_is_refused(
    module_exec_server: TandemServer, module_root: Path, run_path: str
) -> None:
    exec_server, root = module_exec_server, module_root
    ids = code_notebook(root / run_path, ["print('reviewed')"])
    async with (
        await YPeer.open(exec_server, run_path) as alice,
        await YPeer.open(exec_server, run_path) as mallory,
    ):
        stale = run_body(alice, ids[0])
        for ycell in mallory.notebook.ycells:
            if ycell.get("id") == ids[0]:
                text = ycell["source"]
                text += "\nimport os; print('unreviewed')"
        await eventually(lambda: "unreviewed" in cell(alice, ids[0])["source"])
        status, body = await exec_server.arequest(
            "POST", f"/tandem/api/execution/run/{run_path}", stale
        )
        assert status == 409 and body["reason"] == "source_changed" and body["cell_id"] == ids[0], (
            body
        )
        assert exec_state(alice).get("queue", []) == []
        assert outputs_text(alice, ids[0]) == ""


async def test_bad_run_requests_get_clear_errors(
    module_exec_server: TandemServer, module_root: Path, run_path: str
) -> None:
    exec_server, root = module_exec_server, module_root
    code_notebook(root / run_path, ["1"])
    cases = [
        ({"cells": []}, 400),
        ({"cells": [{"id": "cell-1"}]}, 400),
        ({"cells": [{"id": "cell-1", "source_hash": "zz"}]}, 400),
        ({"cells": [{"id": "nope", "source_hash": "0" * 64}]}, 404),
        ({"cells": "cell-1"}, 400),
    ]
    for body, expected in cases:
        status, reply = await exec_server.arequest(
            "POST", f"/tandem/api/execution/run/{run_path}", body
        )
        assert status == expected, (body, status, reply)
    status, _ = await exec_server.arequest(
        "POST",
        "/tandem/api/execution/run/missing.ipynb",
        {"cells": [{"id": "a", "source_hash": "0" * 64}]},
    )
    assert status == 404
    status, _ = await exec_server.arequest(
        "POST", "/tandem/api/execution/run/../outside.ipynb", {"cells": []}
    )
    assert status in (400, 404)
    status, _ = await exec_server.arequest(
        "POST", "/tandem/api/execution/run/notes.md", {"cells": []}
    )
    assert status == 400


async def test_an_idle_kernel_is_culled_and_starts_again_on_the_next_run(
    root: Path, tmp_path: Path
) -> None:
    from .conftest import EXEC_ARGS

    ids = code_notebook(root / "run.ipynb", ["print('once')"])
    async with TandemServer(
        root, tmp_path / "state", args=[*EXEC_ARGS, "--TandemApp.kernel_idle_timeout=1.5"]
    ) as server:
        async with await YPeer.open(server, "run.ipynb") as alice:
            await run(server, "run.ipynb", alice, ids[0])
            await eventually(lambda: outputs_text(alice, ids[0]) == "once\n", timeout=60)
            assert len((await server.arequest("GET", "/api/kernels"))[1]) == 1

            async def culled() -> bool:
                return (await server.arequest("GET", "/api/kernels"))[1] == []

            await eventually(culled, timeout=30)
            await eventually(lambda: exec_state(alice)["kernel"]["status"] == "none")
            assert outputs_text(alice, ids[0]) == "once\n"  # outputs stay
            again = (await run(server, "run.ipynb", alice, ids[0]))["runs"][0]["run_id"]

            def ran_again() -> None:
                mark = exec_state(alice)[f"cell:{ids[0]}"]
                assert mark["run_id"] == again and mark["state"] == "idle"
                assert exec_state(alice)["kernel"]["status"] == "idle"
                assert cell(alice, ids[0])["execution_count"] == 1  # a fresh kernel counts from 1

            await eventually(ran_again, timeout=60)
