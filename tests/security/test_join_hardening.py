"""Items 7, 11 and 12: the way in, hardened.

7. Session fixation: redeeming a link (and being admitted) issues a fresh guest session
   id; a guest cookie value planted in the browser beforehand never carries access.
11. The rate limiter limits failures only: a valid code works from an address that made
    many failed attempts, and a GET of the join page counts like a POST.
12. Link codes and session ids never appear in the server log; the invitation id does.
"""

from __future__ import annotations

import re

import httpx

from tandem.access import new_session_id
from tandem.auth import guest_cookie_name
from tandem.testing import TandemServer
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share

GUEST_COOKIE = guest_cookie_name("/")  # the test server's base URL

BAD_CODE = "A" * 32


def join_path(server: TandemServer, link: str) -> str:
    return link.split(str(server.port), 1)[1]


async def xsrf_of(guest: Guest, path: str) -> str:
    page = await guest.http.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)


async def can_open(server: TandemServer, session: str, path: str = "demo.ipynb") -> bool:
    async with httpx.AsyncClient(base_url=server.http_url) as client:
        client.cookies.set(GUEST_COOKIE, session)
        client.cookies.set("_xsrf", "x")
        response = await client.put(
            f"/api/collaboration/session/{path}",
            json={"format": "json", "type": "notebook"},
            headers={"X-XSRFToken": "x"},
        )
        return response.status_code in (200, 201)


# -- 7: session fixation ---------------------------------------------------------


async def test_a_planted_session_id_never_gets_the_victims_grant(server, guest):
    planted = new_session_id()
    guest.http.cookies.set(GUEST_COOKIE, planted, domain="127.0.0.1", path="/")
    invite = await share(server, role="edit")
    joined = await guest.join(invite["link"])
    assert joined.status_code == 303
    issued = guest.http.cookies.get(GUEST_COOKIE)
    assert issued and issued != planted
    assert await can_open(server, issued)
    assert not await can_open(server, planted)


async def test_redeeming_again_in_the_same_browser_keeps_earlier_access(server, guest, root):
    (root / "second.ipynb").write_bytes((root / "demo.ipynb").read_bytes())
    first = await share(server, role="view")
    second = await share(server, path="second.ipynb", role="view")
    await guest.join(first["link"])
    before = guest.http.cookies.get(GUEST_COOKIE)
    await guest.join(second["link"])
    after = guest.http.cookies.get(GUEST_COOKIE)
    assert after != before
    assert await can_open(server, after, "demo.ipynb")
    assert await can_open(server, after, "second.ipynb")
    assert not await can_open(server, before, "demo.ipynb")


async def test_admission_issues_a_fresh_session_id(server, guest):
    invite = await share(server, role="edit", approval_required=True)
    joined = await guest.join(invite["link"])
    assert joined.headers["Location"].endswith("tandem/waiting")
    waiting = guest.http.cookies.get(GUEST_COOKIE)
    status, grants = await server.arequest("GET", "/tandem/api/grants")
    grant_id = grants["grants"][0]["id"]
    status, _ = await server.arequest(
        "POST", f"/tandem/api/grants/{grant_id}", {"decision": "admit"}
    )
    assert status == 200
    state = (await guest.http.get("/tandem/api/waiting")).json()
    assert state["status"] == "admitted"
    admitted = guest.http.cookies.get(GUEST_COOKIE)
    assert admitted and admitted != waiting
    assert await can_open(server, admitted)
    assert not await can_open(server, waiting)


# -- 11: the rate limiter --------------------------------------------------------


async def test_failures_do_not_lock_out_a_valid_code(server, guest):
    invite = await share(server, role="view")
    path = join_path(server, invite["link"])
    token = await xsrf_of(guest, path)
    for _ in range(12):
        bad = await guest.http.post(f"/tandem/join/{BAD_CODE}", data={"_xsrf": token, "name": "x"})
        assert bad.status_code in (404, 429)
    assert bad.status_code == 429  # guessing is limited...
    good = await guest.http.post(path, data={"_xsrf": token, "name": "Student"})
    assert good.status_code == 303, good.text  # ...a real guest behind the same NAT is not
    assert (await guest.http.get(path)).status_code == 200


async def test_join_page_gets_count_as_failures(server, guest):
    statuses = [(await guest.http.get(f"/tandem/join/{BAD_CODE}")).status_code for _ in range(12)]
    assert statuses[0] == 404
    assert statuses[-1] == 429, statuses
    invite = await share(server, role="view")
    assert (await guest.http.get(join_path(server, invite["link"]))).status_code == 200


# -- 12: no codes or sessions in the log -----------------------------------------


async def test_codes_and_sessions_never_reach_the_log(server, guest):
    invite = await share(server, role="edit")
    path = join_path(server, invite["link"])
    joined = await guest.join(invite["link"])
    assert joined.status_code == 303
    session = guest.http.cookies.get(GUEST_COOKIE)
    token = await xsrf_of(guest, path)
    wrong = invite["code"][:-4] + "AAAA"
    for _ in range(12):
        await guest.http.get(f"/tandem/join/{wrong}")
        await guest.http.post(f"/tandem/join/{wrong}", data={"_xsrf": token})
    await guest.http.post(path, data={"name": "x"})  # 403: no XSRF token
    await guest.http.put("/tandem/notebook/demo.ipynb")

    def logged() -> None:
        log = server.log_path.read_text(errors="replace")
        assert f"tandem/join/[code of {invite['invitation']['id']}]" in log
        assert "429" in log

    await eventually(logged)
    log = server.log_path.read_text(errors="replace")
    assert invite["code"] not in log
    assert wrong not in log
    assert session not in log
