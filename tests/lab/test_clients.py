"""jupyter-nbmodel-client and jupyter-kernel-client from PyPI, against Tandem as they are
used against jupyter-collaboration: open a notebook, edit it, add cells, and execute them
through Jupyter's standard kernels API, with the outputs landing in the shared notebook
(seen by another client and saved to disk).

The kernel client is blocking (requests, websocket-client), so its calls run in worker
threads while the event loop serves nbmodel's socket and the pycrdt peer.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tandem.testing import TandemServer, YPeer
from tests.eventually import eventually
from tests.files import read_notebook

nbmodel = pytest.importorskip("jupyter_nbmodel_client")
kernel_client = pytest.importorskip("jupyter_kernel_client")


def outputs_text(cell: dict) -> str:
    return "".join(
        o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream"
    )


async def test_kernel_client_runs_code_through_the_kernels_api(server: TandemServer) -> None:
    def run() -> tuple[dict, dict, str | None]:
        with kernel_client.JupyterKernelClient(
            server_url=server.http_url, token=server.token
        ) as kernel:
            first = kernel.execute("answer = 6 * 7\nprint(answer)")
            second = kernel.execute("answer + 1")
            return first, second, kernel.id

    first, second, kernel_id = await asyncio.to_thread(run)
    assert first["status"] == "ok"
    assert first["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    assert second["outputs"][0]["data"]["text/plain"] == "43"
    # The client stops the kernel it started.
    status, kernels = await server.arequest("GET", "/api/kernels")
    assert status == 200 and kernel_id not in {k["id"] for k in kernels}


async def test_nbmodel_client_edits_and_executes_with_kernel_client(
    server: TandemServer, root: Path
) -> None:
    url = await asyncio.to_thread(
        nbmodel.get_jupyter_notebook_websocket_url,
        server_url=server.http_url,
        path="demo.ipynb",
        token=server.token,
    )
    watcher = await YPeer.open(server, "demo.ipynb")

    kernel = await asyncio.to_thread(
        kernel_client.JupyterKernelClient, server_url=server.http_url, token=server.token
    )
    await asyncio.to_thread(kernel.start)
    try:
        async with nbmodel.NbModelClient(url) as notebook:
            assert notebook.synced and len(notebook) == 3
            notebook.set_cell_source(1, "x1 = 'edited'\nprint(x1)")
            index = notebook.add_code_cell(
                "import sys\nprint('hello from', 'tandem')\nsum(range(5))"
            )
            result = await asyncio.to_thread(notebook.execute_cell, index, kernel)
            await asyncio.to_thread(notebook.execute_cell, 1, kernel)
    finally:
        await asyncio.to_thread(kernel.stop)
    assert result["status"] == "ok" and result["execution_count"] is not None

    def executed() -> None:
        cells = watcher.notebook.get()["cells"]
        assert len(cells) == 4
        assert cells[1]["source"] == "x1 = 'edited'\nprint(x1)"
        assert outputs_text(cells[1]) == "edited\n"
        assert outputs_text(cells[3]) == "hello from tandem\n"
        results = [o for o in cells[3]["outputs"] if o["output_type"] == "execute_result"]
        assert results and results[0]["data"]["text/plain"] == "10"

    await eventually(executed, timeout=30)

    def saved() -> None:
        nb = read_notebook(root / "demo.ipynb")
        assert len(nb.cells) == 4
        assert "hello from tandem" in "".join(o.get("text", "") for o in nb.cells[3].outputs)

    await eventually(saved, timeout=30)
    await watcher.close()
