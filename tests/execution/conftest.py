"""Execution tests: a real server with a real ipykernel, notebooks built per test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import pytest_asyncio
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from pycrdt import Map

from tandem.execution import source_hash
from tandem.testing import TandemServer, YPeer
from tests.conftest import FAST

EXEC_ARGS = [*FAST, "--TandemApp.max_output_bytes=20000", "--TandemApp.input_timeout=20"]


def code_notebook(path: Path, sources: list[str]) -> list[str]:
    """Write a notebook with one markdown cell then one code cell per source; returns ids."""
    cells = [new_markdown_cell("# Runs")] + [new_code_cell(src) for src in sources]
    for index, cell in enumerate(cells):
        cell.id = f"cell-{index}"
    nbformat.write(
        new_notebook(
            cells=cells,
            metadata={
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
        ),
        path,
    )
    return [c.id for c in cells[1:]]


@pytest.fixture
async def exec_server(root: Path, tmp_path: Path) -> AsyncIterator[TandemServer]:
    srv = TandemServer(root, tmp_path / "state", args=EXEC_ARGS)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_exec_server(module_root: Path) -> AsyncIterator[TandemServer]:
    """One execution server for a module's tests (``pytestmark = MODULE_LOOP``); each
    test runs its own notebook (``run_path``), so each has its own kernel."""
    srv = TandemServer(module_root, module_root.parent / "exec-state", args=EXEC_ARGS)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
def run_path(request: pytest.FixtureRequest) -> str:
    """A notebook name of this test's own, for ``code_notebook``."""
    return "".join(c if c.isalnum() else "-" for c in request.node.name)[:80] + ".ipynb"


def cell(peer: YPeer, cell_id: str) -> dict[str, Any]:
    for ycell in peer.notebook.ycells:
        if ycell.get("id") == cell_id:
            return ycell.to_py()
    raise AssertionError(f"no cell {cell_id}")


def outputs_text(peer: YPeer, cell_id: str) -> str:
    parts = []
    for output in cell(peer, cell_id).get("outputs", []):
        if output.get("output_type") == "stream":
            parts.append(
                output["text"] if isinstance(output["text"], str) else "".join(output["text"])
            )
        elif "data" in output:
            parts.append(str(output["data"].get("text/plain", "")))
        elif output.get("output_type") == "error":
            parts.append(f"{output['ename']}: {output['evalue']}")
    return "".join(parts)


def exec_state(peer: YPeer) -> dict[str, Any]:
    return peer.doc.get("tandem:execution", type=Map).to_py() or {}


def run_body(peer: YPeer, *cell_ids: str) -> dict[str, Any]:
    return {
        "cells": [
            {"id": cid, "source_hash": source_hash(cell(peer, cid)["source"])} for cid in cell_ids
        ]
    }


async def run(server: TandemServer, path: str, peer: YPeer, *cell_ids: str) -> dict[str, Any]:
    status, body = await server.arequest(
        "POST", f"/tandem/api/execution/run/{path}", run_body(peer, *cell_ids)
    )
    assert status == 202, (status, body)
    return body
