"""The browser harness itself: Chromium starts and renders a page Tandem serves."""

from tandem.testing import TandemServer


async def test_chromium_opens_a_tandem_page(server: TandemServer, browser) -> None:
    page = await browser.new_page()
    response = await page.goto(f"{server.http_url}/tandem/?token={server.token}")
    assert response is not None and response.status == 200
    assert "Tandem" in await page.title()
