"""The owner's pages in real Chromium against a real server: the share dialog, who is in
each notebook (live), people with access and their Revoke buttons, the audit filter.
Every page is watched for requests leaving the origin and CSP violations."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tandem.testing import TandemServer
from tests.conftest import write_notebook
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

TABLET = {"width": 768, "height": 1024}


@dataclass
class Watch:
    """What pages did that they must not: requests to other origins, CSP violations, errors."""

    origin: str
    problems: list[str] = field(default_factory=list)

    def attach(self, page: Any) -> Any:
        """Watch ``page`` while it shows these pages (the editor has its own tests)."""

        def ours() -> bool:
            return "/tandem/notebook/" not in page.url

        def on_request(request: Any) -> None:
            if not request.url.startswith((self.origin + "/", "data:", "blob:", "about:")):
                self.problems.append(f"request left the origin: {request.url}")

        def on_console(message: Any) -> None:
            if ours() and (
                "Content Security Policy" in message.text or "Refused to" in message.text
            ):
                self.problems.append(f"console: {message.text}")

        def on_error(error: Any) -> None:
            if ours():
                self.problems.append(f"page error: {error}")

        page.on("request", on_request)
        page.on("console", on_console)
        page.on("pageerror", on_error)
        return page

    def check(self) -> None:
        assert self.problems == []


async def owner_page(
    browser: Any, server: TandemServer, watch: Watch, path: str = "/tandem/", **options: Any
) -> Any:
    """A page in its own context, signed in as the owner (the token once, then its cookie)."""
    context = await browser.new_context(**options)
    page = watch.attach(await context.new_page())
    separator = "&" if "?" in path else "?"
    response = await page.goto(f"{server.http_url}{path}{separator}token={server.token}")
    assert response is not None and response.status == 200
    return page


async def new_page(browser: Any, watch: Watch, **options: Any) -> Any:
    context = await browser.new_context(**options)
    return watch.attach(await context.new_page())


async def test_share_dialog_creates_a_working_link(server, browser, screenshots):
    watch = Watch(server.http_url)
    page = await owner_page(
        browser,
        server,
        watch,
        permissions=["clipboard-read", "clipboard-write"],
        viewport={"width": 1280, "height": 900},
    )
    share_button = page.get_by_role("button", name="Share demo.ipynb")
    # Keyboard: Enter opens the dialog on the first role, Escape closes it.
    await share_button.focus()
    await page.keyboard.press("Enter")
    dialog = page.locator("dialog.share")
    await dialog.wait_for()
    assert await page.evaluate("document.activeElement.value") == "view"
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="detached")

    await share_button.click()
    warning = dialog.locator(".warning")
    assert await warning.is_hidden()
    await dialog.get_by_label("Run").check()
    assert (
        await warning.is_visible()
        and "runs in a sandbox confined to what you share" in await warning.inner_text()
    )
    await dialog.get_by_label("Link works for").select_option(label="1 hour")
    await dialog.get_by_label("How many people").fill("2")
    await dialog.get_by_label("Label (only you see it)").fill("pairing with Grace")
    await dialog.screenshot(path=str(screenshots / "share-dialog.png"))
    await dialog.get_by_label("Edit").check()
    assert await warning.is_hidden()
    before = time.time()
    await dialog.get_by_role("button", name="Create link").click()
    link_field = dialog.get_by_label("Share link")
    await link_field.wait_for()
    link = await link_field.input_value()
    assert link.startswith(f"{server.http_url}/tandem/join/")
    await dialog.get_by_role("button", name="Copy").click()
    await dialog.get_by_text("Copied").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == link

    status, body = await server.arequest("GET", "/tandem/api/invitations")
    [invitation] = body["invitations"]
    assert invitation["role"] == "edit" and invitation["max_uses"] == 2
    assert invitation["label"] == "pairing with Grace" and invitation["scope_path"] == "demo.ipynb"
    assert not invitation["approval_required"] and not invitation["anonymous_allowed"]
    assert abs(invitation["expires_at"] - invitation["created_at"] - 3600) < 1
    assert before - 5 < invitation["created_at"] < time.time() + 5
    guest = Guest(server)
    assert (await guest.join(link)).headers["Location"] == "/tandem/notebook/demo.ipynb"
    assert (await guest.session("demo.ipynb")).status_code in (200, 201)
    await guest.close()
    watch.check()


async def test_home_shows_who_is_in_each_notebook_live(server, browser, root):
    write_notebook(root / "course" / "a.ipynb")
    watch = Watch(server.http_url)
    page = await owner_page(browser, server, watch, viewport=TABLET)
    demo = page.locator('tr[data-path="demo.ipynb"]')
    await demo.wait_for()
    assert await page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.path)") == [
        "course",
        "demo.ipynb",
    ]
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= window.innerWidth"
    )  # fits a tablet

    guest = Guest(server)
    await guest.join((await share(server, role="edit"))["link"], name="Grace Hopper")
    colour = (await guest.http.get("/api/me")).json()["identity"]["color"]
    peer = await guest.peer("demo.ipynb")
    person = demo.locator("li.person", has_text="Grace Hopper")
    await person.wait_for(timeout=10_000)  # no reload: the page polls presence
    assert await person.get_attribute("data-color") == colour
    background = await person.locator(".avatar").evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    assert background == "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))
    await peer.close()
    await person.wait_for(state="detached", timeout=10_000)

    await page.get_by_role("link", name="course").click()
    await page.locator('tr[data-path="course/a.ipynb"]').wait_for()
    assert await page.get_by_role("button", name="Share this folder").is_visible()
    await guest.close()
    watch.check()


async def test_revoke_buttons_take_access_away(server, browser):
    watch = Watch(server.http_url)
    guest = Guest(server)
    await guest.join(
        (await share(server, role="edit", label="for Grace"))["link"], name="Grace Hopper"
    )
    peer = await guest.peer("demo.ipynb")
    other = await share(server, role="view", label="spare link")
    page = await owner_page(browser, server, watch, "/tandem/people")

    row = page.locator("tr[data-grant]", has_text="Grace Hopper")
    await row.locator(".state.active").wait_for()
    await page.get_by_role("button", name="Revoke Grace Hopper's access").click()
    await row.locator(".state.revoked").wait_for()
    await eventually(lambda: peer.closed.is_set(), timeout=5)
    assert peer.close_code == 4403
    assert (await guest.session("demo.ipynb")).status_code == 403  # the very next request

    link_row = page.locator(f'tr[data-invitation="{other["invitation"]["id"]}"]')
    await link_row.get_by_role("button", name="Revoke").click()
    await link_row.locator(".state.revoked").wait_for()
    late = Guest(server)
    path = other["link"].split(str(server.port), 1)[1]
    assert (await late.http.get(path)).status_code == 404
    for client in (guest, late):
        await client.close()
    watch.check()


async def test_audit_filter_shows_only_the_chosen_kind(server, browser):
    watch = Watch(server.http_url)
    guest = Guest(server)
    await guest.join((await share(server, role="edit"))["link"])
    await share(server, "notes.md", role="view")
    assert (await guest.session("notes.md")).status_code == 403  # an access_denied event
    page = await owner_page(browser, server, watch, "/tandem/audit")
    rows = page.locator("table.audit tbody tr")
    await rows.first.wait_for()
    kinds = set(await rows.evaluate_all("rows => rows.map(r => r.dataset.kind)"))
    assert {"invitation_created", "redeemed", "access_denied"} <= kinds

    await page.get_by_label("Event", exact=True).select_option("invitation_created")
    await page.locator('[data-count="2"]').wait_for()
    assert (
        await rows.evaluate_all("rows => rows.map(r => r.dataset.kind)")
        == ["invitation_created"] * 2
    )
    assert "kind=invitation_created" in page.url
    assert await rows.first.locator("td").nth(1).inner_text() == "Created a view link for notes.md"

    async with page.expect_request(
        lambda r: "/tandem/api/audit?" in r.url and "since=" in r.url
    ) as request:
        await page.get_by_label("Time", exact=True).select_option(label="Last 15 minutes")
    since = float(request_query(await request.value)["since"])
    assert abs(time.time() - 900 - since) < 60
    await page.get_by_label("Event", exact=True).select_option("access_denied")
    await page.locator('[data-count="1"]').wait_for()
    assert await rows.evaluate_all("rows => rows.map(r => r.dataset.kind)") == ["access_denied"]
    assert "Grace Hopper" in await rows.first.inner_text()
    await guest.close()
    watch.check()


def request_query(request: Any) -> dict[str, str]:
    from urllib.parse import parse_qsl, urlsplit

    return dict(parse_qsl(urlsplit(request.url).query))


async def test_guest_cannot_open_owner_pages(server, browser):
    watch = Watch(server.http_url)
    page = await new_page(browser, watch)
    invite = await share(server, "demo.ipynb", role="run")
    await page.goto(invite["link"])
    await page.get_by_label("Your name").fill("Mallory")
    await page.get_by_role("button", name="Join").click()
    await page.wait_for_url("**/tandem/notebook/demo.ipynb")
    for path in ("/tandem/people", "/tandem/audit", "/tandem/api/presence", "/tandem/api/grants"):
        response = await page.request.get(
            server.http_url + path, max_redirects=0
        )  # the guest's cookies
        assert response.status == 403, path
    statuses = await page.evaluate("""async () => {
        const xsrf = document.cookie.split('; ').find(c => c.startsWith('_xsrf='))?.slice(6) ?? '';
        const post = await fetch('/tandem/api/invitations', {method: 'POST', headers: {'X-XSRFToken': xsrf,
            'Content-Type': 'application/json'}, body: JSON.stringify({path: 'notes.md', role: 'run'})});
        const files = await fetch('/tandem/api/files?path=..');
        return [post.status, files.status];
    }""")
    assert statuses == [403, 403]
    status, body = await server.arequest("GET", "/tandem/api/invitations")
    assert len(body["invitations"]) == 1
