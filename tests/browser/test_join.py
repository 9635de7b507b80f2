"""Guests joining through real links in real Chromium: straight into the editor, into a
shared folder, or waiting until the owner (in another browser context) lets them in or
refuses them."""

from __future__ import annotations

from tandem.handlers.join import owner_display_name
from tests.browser.test_owner import Watch, new_page, owner_page
from tests.conftest import write_notebook
from tests.handlers.test_sharing import share

XSS_NAME = '<img src=x onerror="window.pwned=1">'


async def join(page, link: str, name: str) -> None:
    response = await page.goto(link)
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    await page.get_by_label("Your name").fill(name)
    await page.get_by_role("button", name="Join").click()


async def test_guests_join_a_notebook_or_a_folder_without_approval(server, browser, root):
    write_notebook(root / "course" / "a.ipynb")
    write_notebook(root / "course" / "sub" / "b.ipynb")
    watch = Watch(server.http_url)
    page = await new_page(browser, watch)
    notebook = await share(server, "demo.ipynb", role="edit")
    response = await page.goto(notebook["link"])
    assert response is not None and response.status == 200
    text = await page.locator("main").inner_text()
    assert f"{owner_display_name(None)} shares a notebook with you" in text
    assert "demo.ipynb" in text and "edit" in text
    expires = await page.locator("time").get_attribute("datetime")
    assert expires and await page.locator("time").inner_text() != ""
    await join(page, notebook["link"], "Grace Hopper")
    await page.wait_for_url(f"{server.http_url}/tandem/notebook/demo.ipynb")
    assert "demo.ipynb" in await page.title()

    folder_page = await new_page(browser, watch)
    folder = await share(server, "course", role="view")
    await join(folder_page, folder["link"], "Alan Turing")
    await folder_page.wait_for_url(f"{server.http_url}/tandem/?path=course")
    await folder_page.locator('tr[data-path="course/a.ipynb"]').wait_for()
    paths = await folder_page.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.path)"
    )
    assert paths == ["course/sub", "course/a.ipynb"]
    assert "demo.ipynb" not in await folder_page.content()
    await folder_page.get_by_role("link", name="sub").click()
    await folder_page.locator('tr[data-path="course/sub/b.ipynb"]').wait_for()
    assert await folder_page.get_by_role("button", name="Share").count() == 0  # guests cannot share
    await folder_page.get_by_role("link", name="b.ipynb").click()
    await folder_page.wait_for_url(f"{server.http_url}/tandem/notebook/course/sub/b.ipynb")
    watch.check()


async def test_owner_admits_one_guest_and_refuses_another(server, browser):
    watch = Watch(server.http_url)
    invite = await share(server, "demo.ipynb", role="edit", approval_required=True, max_uses=5)
    admitted = await new_page(browser, watch)
    refused = await new_page(browser, watch)
    await join(admitted, invite["link"], XSS_NAME)
    await join(refused, invite["link"], "Eve")
    for page in (admitted, refused):
        await page.wait_for_url(f"{server.http_url}/tandem/waiting")
        assert "Waiting for" in await page.locator("h1").inner_text()

    owner = await owner_page(browser, server, watch, "/tandem/people")
    request = owner.locator("li.request", has_text=XSS_NAME)
    await request.wait_for(timeout=10_000)  # arrives without a reload
    assert await owner.locator(".badge").inner_text() == "2"
    await owner.get_by_role("button", name=f"Admit {XSS_NAME}").click()
    await admitted.wait_for_url(f"{server.http_url}/tandem/notebook/demo.ipynb", timeout=15_000)
    await owner.get_by_role("button", name="Refuse Eve").click()
    await refused.get_by_text("Your request was refused").wait_for(timeout=15_000)
    assert refused.url == f"{server.http_url}/tandem/waiting"

    await owner.locator("section.requests").wait_for(state="hidden")
    row = owner.locator("tr[data-grant]", has_text=XSS_NAME)
    await row.locator(".state.active").wait_for()
    await owner.locator("tr[data-grant]", has_text="Eve").locator(".state.refused").wait_for()
    assert await owner.evaluate("window.pwned") is None  # the name was shown as text
    assert await owner.locator("img").count() == 0
    watch.check()
