"""Shared fixtures: a real Tandem server on a free port, with a temporary root."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tandem.testing import TandemServer

FAST = [
    "--TandemApp.save_delay=0.1",
    "--TandemApp.save_max_wait=1.0",
    "--TandemApp.file_poll_interval=0.2",
    "--TandemApp.room_evict_delay=1.0",
]


def write_notebook(path: Path, cells: int = 3, outputs: bool = False) -> nbformat.NotebookNode:
    items = [new_markdown_cell("# Title\n\nSome *markdown* with ünïcödé ✓")]
    for i in range(1, cells):
        cell = new_code_cell(f"x{i} = {i}\nprint(x{i})")
        if outputs:
            cell.outputs = [new_output("stream", name="stdout", text=f"{i}\n")]
            cell.execution_count = i
        items.append(cell)
    nb = new_notebook(cells=items)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return nb


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    write_notebook(folder / "demo.ipynb")
    (folder / "notes.md").write_text("line one\nline two\n", encoding="utf-8")
    return folder


@pytest.fixture
async def server(root: Path, tmp_path: Path) -> AsyncIterator[TandemServer]:
    srv = TandemServer(root, tmp_path / "state", args=FAST)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()
