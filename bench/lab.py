#!/usr/bin/env python
"""JupyterLab opening a 500-cell notebook: Tandem against jupyter-collaboration 5.0.4.

    .venv/bin/python bench/lab.py             # 5 opens per server, about 2 minutes
    .venv/bin/python bench/lab.py --repeats 3 --cells 2000

The same JupyterLab frontend (jupyter-docprovider + jupyter-collaboration-ui) in the same
Chromium, served once by ``tandem lab`` and once by the reference (``jupyter lab`` in
``bench/.venv-ref``, built by ``bench/setup_reference.sh``). For each server, JupyterLab
starts once (not measured); then each measurement opens a notebook copy the server has
never seen, through JupyterLab's own ``docmanager:open`` command, and stops the clock
when the notebook is interactive: the document is synced (context ready), every cell
has its widget, and the first cells' editors are in the page (JupyterLab renders the
cells out of view lazily, as the user scrolls). Opens alternate between the servers. Prints a table
with the ratio (Tandem / reference).

    .venv/bin/python bench/lab.py --extension  # Tandem with its lab extension vs without

``--extension`` compares two ``tandem lab`` servers instead: one with Tandem's JupyterLab
extension (Share, People), one with it disabled (a ``labconfig/page_config.json`` in a
scratch ``JUPYTER_CONFIG_DIR``), so the extension's cost on opening shows as a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from run import REF_VENV, ensure_reference, log, make_notebook  # noqa: E402

from tandem.testing import TandemServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LAB_EXTENSION = "@jupyter-tandem/labextension"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
LAB_ARGS = [
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    "--LabApp.news_url=",
]

READY = """([path, cells]) => {
    const w = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === path);
    if (!w || !w.context.isReady) return false;
    if (w.context.model.sharedModel.cells.length !== cells) return false;
    if (w.content.widgets.length !== cells) return false;
    if (!w.node.querySelector('.jp-Cell .cm-content')) return false;
    return performance.now();
}"""


DIAGNOSE = """path => {
    const w = Array.from(window.jupyterapp.shell.widgets('main')).find(w => w.context && w.context.path === path);
    if (!w) return {open: Array.from(window.jupyterapp.shell.widgets('main')).map(w => w.id)};
    return {path: w.context.path, ready: w.context.isReady, model: w.context.model.sharedModel.cells.length,
            widgets: w.content.widgets.length, editors: w.node.querySelectorAll('.jp-Cell .cm-content').length};
}"""


class LabServer:
    """One JupyterLab server (Tandem or the reference) and one browser page on it."""

    def __init__(
        self, name: str, command: list[str], workdir: Path, env: dict[str, str] | None = None
    ) -> None:
        self.name = name
        self.root = workdir / name.replace(" ", "-") / "root"
        self.state = workdir / name.replace(" ", "-") / "state"
        self.root.mkdir(parents=True)
        self.state.mkdir(parents=True)
        self.server = TandemServer(self.root, self.state, command=command, args=LAB_ARGS, env=env)
        self.page: Any = None

    async def start(self, browser: Any) -> None:
        import os

        old = os.getcwd()
        os.chdir(self.state)  # the reference keeps its store in its working directory
        try:
            await self.server.start(timeout=180)
        finally:
            os.chdir(old)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = await context.new_page()
        await self.page.goto(f"{self.server.http_url}/lab?reset&token={self.server.token}")
        await self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell", timeout=120_000
        )
        await self.page.evaluate("() => window.jupyterapp.started")

    async def open_ms(self, notebook: Path, cells: int) -> float:
        """Open ``notebook`` (copied in under a new name) in JupyterLab; milliseconds from
        the open command to an interactive notebook."""
        name = notebook.name
        shutil.copy(notebook, self.root / name)
        await self.page.evaluate(
            "() => window.jupyterapp.commands.execute('application:close-all')"
        )
        start = await self.page.evaluate(
            "path => { window.__opened = window.jupyterapp.commands.execute('docmanager:open', {path}); return performance.now(); }",
            name,
        )
        try:
            handle = await self.page.wait_for_function(
                READY, arg=[name, cells], timeout=120_000, polling="raf"
            )
        except Exception:
            state = await self.page.evaluate(DIAGNOSE, name)
            raise RuntimeError(f"{self.name}: {name} never became interactive: {state}") from None
        return float(await handle.json_value()) - float(start)

    async def stop(self) -> None:
        if self.page is not None:
            await self.page.context.close()
        await self.server.stop()


def bench_notebook(path: Path, cells: int) -> None:
    """The benchmark's usual notebook, without a kernelspec (so no kernel starts)."""
    make_notebook(path, cells)
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("kernelspec", None)
    nbformat.write(nb, path)


async def main_async(args: argparse.Namespace) -> int:
    from playwright.async_api import async_playwright

    workdir = Path(tempfile.mkdtemp(prefix="tandem-bench-lab-", dir=args.workdir))
    source = workdir / "source.ipynb"
    bench_notebook(source, args.cells)
    tandem_lab = [sys.executable, "-m", "tandem", "lab"]
    if args.extension:
        names = ("with extension", "without")
        config = workdir / "config-without"
        (config / "labconfig").mkdir(parents=True)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {LAB_EXTENSION: True}})
        )
        servers = [
            LabServer(names[0], tandem_lab, workdir),
            LabServer(names[1], tandem_lab, workdir, env={"JUPYTER_CONFIG_DIR": str(config)}),
        ]
    else:
        ensure_reference()
        names = ("tandem", "reference")
        servers = [
            LabServer(names[0], tandem_lab, workdir),
            LabServer(names[1], [str(REF_VENV / "bin" / "jupyter-lab")], workdir),
        ]
    results: dict[str, list[float]] = {s.name: [] for s in servers}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for server in servers:
                await server.start(browser)
                warm = workdir / "warm.ipynb"
                bench_notebook(warm, 10)
                await server.open_ms(warm, 10)  # first notebook: imports, signing key, bundles
            for rep in range(args.repeats):
                for server in servers if rep % 2 == 0 else servers[::-1]:
                    copy = workdir / f"open-{args.cells}-{rep}.ipynb"
                    shutil.copy(source, copy)
                    ms = await server.open_ms(copy, args.cells)
                    results[server.name].append(ms)
                    log(f"  {server.name}: {args.cells} cells interactive in {ms:.0f} ms")
        finally:
            for server in servers:
                await server.stop()
            await browser.close()
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    first, second = (statistics.median(results[k]) for k in names)
    label = "with / without" if args.extension else "Tandem / reference"
    print(
        f"JupyterLab opens a {args.cells}-cell notebook (median of {args.repeats}, ms); "
        f"ratio = {label}"
    )
    print(f"{'':40}{names[0]:>16}{names[1]:>12}{'ratio':>9}")
    print(f"{'open to interactive':40}{first:>16.0f}{second:>12.0f}{first / second:>8.2f}x")
    print(f"{'  fastest':40}{min(results[names[0]]):>16.0f}{min(results[names[1]]):>12.0f}")
    print(f"{'  slowest':40}{max(results[names[0]]):>16.0f}{max(results[names[1]]):>12.0f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--extension",
        action="store_true",
        help="Tandem with its JupyterLab extension against Tandem without it",
    )
    parser.add_argument(
        "--workdir", default=None, help="where the servers' folders go (default: the temp dir)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the servers' folders (logs in */state/server.log)"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
