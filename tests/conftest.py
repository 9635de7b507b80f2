"""Shared fixtures: a real Tandem server on a free port, with a temporary root.

``root``/``server`` are fresh per test. ``module_root``/``module_server`` are one
server per test module, for tests that do not need a fresh one: such a module runs in
the module's event loop (``pytestmark = MODULE_LOOP``) and gives each test its own
files (``fresh_notebook``), so tests cannot see each other's edits."""

from __future__ import annotations

from tandem.quick_start import defer_iri_parsers

defer_iri_parsers()  # as the ``tandem`` command does (before nbformat imports jsonschema)

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import pytest_asyncio
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import tandem.testing
from tandem.testing import TandemServer

# Servers fork from one process that imported the server once (tandem.prestart): about
# a second of CPU saved per start. TANDEM_TEST_PRESTART=0 starts each from nothing.
tandem.testing.PRESTART = os.environ.get("TANDEM_TEST_PRESTART", "1") != "0"

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")
"""Mark for modules whose tests share ``module_server``: they run in its event loop."""

SHARED_PACKAGES = ("tests/browser/", "tests/hub/")
"""Packages whose modules share a package-scoped fixture (the browser tests' Chromium, in
the package's event loop; the hub tests' JupyterHub): under pytest-xdist all their
modules run on one worker."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``pytest -n 3 --dist loadfile`` (``make test``) each worker takes whole
    modules, where their module-scoped servers live, and a shared package whole.
    (xdist's own ``loadgroup`` marks are ignored by pytest 9, which keeps node ids
    elsewhere than xdist sets the group.)"""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return next((p for p in SHARED_PACKAGES if path.startswith(p)), path)

    return ModuleScheduling(config, log)


FAST = [
    "--TandemApp.save_delay=0.1",
    "--TandemApp.save_max_wait=1.0",
    "--TandemApp.file_poll_interval=0.2",
    "--TandemApp.room_evict_delay=1.0",
]

NO_SAVE = [*FAST, "--TandemApp.save_delay=600", "--TandemApp.save_max_wait=600"]
"""``FAST``, but a room writes its file only when it closes (or the test saves)."""


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


def populate(folder: Path) -> Path:
    """The files every test root starts with."""
    folder.mkdir(parents=True, exist_ok=True)
    write_notebook(folder / "demo.ipynb")
    (folder / "notes.md").write_text("line one\nline two\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root shared by one module's tests (as ``root`` is for one test)."""
    return populate(tmp_path_factory.mktemp("module") / "root")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def module_server(module_root: Path) -> AsyncIterator[TandemServer]:
    """One server (with ``FAST``) for all the tests of a module."""
    srv = TandemServer(module_root, module_root.parent / "state", args=FAST)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def _own_name(request: pytest.FixtureRequest, suffix: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in request.node.name)[:80] + suffix


@pytest.fixture
def fresh_notebook(module_root: Path, request: pytest.FixtureRequest) -> str:
    """A notebook of this test's own in ``module_root`` (like ``demo.ipynb``); its path."""
    name = _own_name(request, ".ipynb")
    write_notebook(module_root / name)
    return name


@pytest.fixture
def fresh_text(module_root: Path, request: pytest.FixtureRequest) -> str:
    """A text file of this test's own in ``module_root`` (like ``notes.md``); its path."""
    name = _own_name(request, ".md")
    (module_root / name).write_text("line one\nline two\n", encoding="utf-8")
    return name
