#!/usr/bin/env python
"""The web editor in real Chromium: how fast notebooks open, and how fast a keystroke in
one browser reaches another browser's screen.

    .venv/bin/python bench/browser.py            # 10, 500 and 2000 cells; 200 keystrokes
    .venv/bin/python bench/browser.py --quick    # 10 and 500 cells; 50 keystrokes

Measured against one Tandem server (a subprocess, ``tandem.testing.TandemServer``) with
Debian's Chromium driven by Playwright. Results: ``docs/benchmarks.md`` ("The web editor in Chromium").

Opening (each notebook fresh on the server, in a new browser context, median of 3):
- **cells painted**: navigation start to the first frame after every cell of the synced
  notebook is in the page (their text visible; editors are built lazily near the viewport);
- **interactive**: to the moment the cells in the viewport have their editors and the main
  thread answers within a frame;
- **last cell editable**: then jump to the end (Ctrl+End in command mode) until a
  keystroke typed there is in the document;
- **longest task**: the longest main-thread task (Long Tasks API) up to "interactive",
  i.e. the worst freeze while opening.

Keystroke latency: two browsers (separate contexts) on a 10-cell notebook; one types a
character every 40 ms into a cell; for each keystroke, from its keydown in the writer's
page to the first animation frame after it is in the reader's editor. Both pages run on
this machine's clock (``performance.timeOrigin + performance.now()``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

from scenarios.common import make_notebook  # noqa: E402
from stats import percentile  # noqa: E402

from tandem.testing import TandemServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
SERVER_ARGS = ["--TandemApp.room_evict_delay=1"]

LONG_TASKS = """
window.__longest = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__longest = Math.max(window.__longest, entry.duration);
}).observe({ type: "longtask", buffered: true });
"""

PAINTED = """() => {
  const ready = document.documentElement.dataset.tandemReady === "true";
  if (!ready) return false;
  return new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now())));
}"""

INTERACTIVE = """() => {
  const cells = [...document.querySelectorAll(".tc-cell")];
  const visible = cells.filter((c) => { const r = c.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; });
  if (!visible.length || !visible.every((c) => c.querySelector(".cm-editor, .tc-rendered:not([hidden])"))) return false;
  return new Promise((resolve) => setTimeout(() => requestAnimationFrame(() => resolve(performance.now())), 0));
}"""


async def open_once(browser: Any, server: TandemServer, path: str, cells: int) -> dict[str, float]:
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.add_init_script(LONG_TASKS)
    try:
        await page.goto(
            f"{server.http_url}/tandem/notebook/{path}?token={server.token}", wait_until="commit"
        )
        painted = await (
            await page.wait_for_function(PAINTED, timeout=120_000, polling="raf")
        ).json_value()
        count = await page.locator(".tc-cell").count()
        assert count == cells, (count, cells)
        interactive = await (
            await page.wait_for_function(INTERACTIVE, timeout=120_000, polling="raf")
        ).json_value()
        longest = await page.evaluate("() => window.__longest")
        started = await page.evaluate("() => performance.now()")
        await page.locator(".tc-cell").first.click(position={"x": 10, "y": 10})
        await page.keyboard.press("End")  # select the last cell (command mode)
        await page.keyboard.press("Enter")
        await page.keyboard.press("Control+End")
        await page.keyboard.type("#")
        await page.wait_for_function(
            "() => { const c = [...document.querySelectorAll('.tc-cell')].pop();"
            " return c.querySelector('.cm-editor') && c.textContent.includes('#') }",
            polling="raf",
        )
        last = await page.evaluate("() => performance.now()") - started
        return {
            "painted": painted,
            "interactive": interactive,
            "last_cell": last,
            "longest_task": longest,
        }
    finally:
        await context.close()


async def keystroke_latency(
    browser: Any, server: TandemServer, path: str, keystrokes: int, interval: float
) -> list[float]:
    writer_ctx = await browser.new_context()
    reader_ctx = await browser.new_context()
    try:
        pages = []
        for ctx in (writer_ctx, reader_ctx):
            page = await ctx.new_page()
            await page.goto(f"{server.http_url}/tandem/notebook/{path}?token={server.token}")
            await page.wait_for_selector('.tc-status[data-connection="online"]', timeout=60_000)
            pages.append(page)
        writer, reader = pages
        target = 1
        await writer.locator(".tc-cell").nth(target).locator(".cm-content").click()
        await writer.keyboard.press("Control+End")
        await writer.keyboard.type("\n# ")
        await writer.evaluate(
            "() => { window.__down = []; document.addEventListener('keydown', () =>"
            " window.__down.push(performance.timeOrigin + performance.now()), true); }"
        )
        base = len(
            await reader.locator(".tc-cell").nth(target).locator(".cm-content").text_content()
        )
        await reader.evaluate(
            """([index, base]) => {
              window.__seen = [];
              const content = document.querySelectorAll('.tc-cell')[index].querySelector('.cm-content');
              let known = base;
              new MutationObserver(() => {
                const length = content.textContent.length;
                if (length <= known) return;
                const added = length - known;
                known = length;
                requestAnimationFrame(() => {
                  const at = performance.timeOrigin + performance.now();
                  for (let i = 0; i < added; i++) window.__seen.push(at);
                });
              }).observe(content, { childList: true, subtree: true, characterData: true });
            }""",
            [target, base],
        )
        for _ in range(keystrokes):
            await writer.keyboard.press("a")
            await asyncio.sleep(interval)
        await reader.wait_for_function(
            f"() => window.__seen.length >= {keystrokes}", timeout=60_000
        )
        down = await writer.evaluate("() => window.__down")
        seen = await reader.evaluate("() => window.__seen")
        return [s - d for d, s in zip(down[:keystrokes], seen[:keystrokes], strict=True)]
    finally:
        await writer_ctx.close()
        await reader_ctx.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 and 500 cells, 50 keystrokes")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    args = parser.parse_args()
    sizes = [10, 500] if args.quick else [10, 500, 2000]
    repeats = 1 if args.quick else 3
    keystrokes = 50 if args.quick else 200

    from playwright.async_api import async_playwright

    started = time.monotonic()
    results: dict[str, Any] = {"open": {}, "keystrokes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        for cells in sizes:
            for r in range(repeats):
                make_notebook(root / f"nb{cells}-{r}.ipynb", cells, seed=f"-{r}")
        make_notebook(root / "typing.ipynb", 10)
        make_notebook(root / "warm.ipynb", 10)
        async with TandemServer(root, Path(tmp) / "state", args=SERVER_ARGS) as server:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_ARGS
                )
                try:
                    await open_once(browser, server, "warm.ipynb", 10)  # bundle cached, server warm
                    for cells in sizes:
                        runs = [
                            await open_once(browser, server, f"nb{cells}-{r}.ipynb", cells)
                            for r in range(repeats)
                        ]
                        results["open"][cells] = {
                            key: statistics.median(run[key] for run in runs) for key in runs[0]
                        }
                    latencies = await keystroke_latency(
                        browser, server, "typing.ipynb", keystrokes, 0.04
                    )
                    results["keystrokes"] = {
                        "count": len(latencies),
                        "p50": percentile(latencies, 50),
                        "p95": percentile(latencies, 95),
                        "p99": percentile(latencies, 99),
                        "max": max(latencies),
                    }
                finally:
                    await browser.close()

    print(
        f"Tandem web editor in Chromium ({'quick' if args.quick else 'full'} run, {time.monotonic() - started:.0f} s)"
    )
    print(
        f"{'opening a notebook (median of ' + str(repeats) + ', ms)':<44}{'cells painted':>14}{'interactive':>13}{'last cell':>11}{'longest task':>14}"
    )
    print("-" * 96)
    for cells, row in results["open"].items():
        print(
            f"{f'  {cells} cells':<44}{row['painted']:>14.0f}{row['interactive']:>13.0f}"
            f"{row['last_cell']:>11.0f}{row['longest_task']:>14.0f}"
        )
    k = results["keystrokes"]
    print(
        f"\nkeystroke to the other browser's screen ({k['count']} keystrokes, ms): "
        f"p50 {k['p50']:.1f}  p95 {k['p95']:.1f}  p99 {k['p99']:.1f}  max {k['max']:.1f}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
