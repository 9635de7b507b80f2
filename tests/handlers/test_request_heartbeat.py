"""A request to join whose waiting tab was closed disappears: the waiting page's poll is
its heartbeat, and the owner's grants list says which pending requests are still asking."""

from __future__ import annotations

import asyncio

from tandem.testing import TandemServer
from tests.conftest import FAST
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share


async def asking(server: TandemServer) -> dict[str, bool]:
    status, body = await server.arequest("GET", "/tandem/api/grants")
    assert status == 200
    return {g["display_name"]: g["asking"] for g in body["grants"]}


async def test_a_request_whose_waiting_page_stopped_polling_is_no_longer_asking(root, tmp_path):
    args = [*FAST, "--TandemApp.join_request_timeout=3"]
    async with TandemServer(root, tmp_path / "state", args=args) as server:
        invite = await share(server, role="edit", approval_required=True)
        open_tab, closed_tab = Guest(server), Guest(server)
        try:
            for guest, name in ((open_tab, "Open"), (closed_tab, "Closed")):
                joined = await guest.join(invite["link"], name=name)
                assert joined.headers["Location"].endswith("/tandem/waiting")
            assert await asking(server) == {"Open": True, "Closed": True}

            async def poll(guest: Guest) -> None:
                while True:
                    reply = await guest.http.get("/tandem/api/waiting")
                    assert reply.json()["status"] == "pending"
                    await asyncio.sleep(0.5)

            heartbeat = asyncio.ensure_future(poll(open_tab))
            try:
                # "Closed" never polls again: after the timeout only "Open" is asking.
                async def only_open() -> None:
                    assert await asking(server) == {"Open": True, "Closed": False}

                await eventually(only_open, timeout=30)
                await asyncio.sleep(4)  # longer than the timeout: the heartbeat keeps it
                assert (await asking(server))["Open"] is True
            finally:
                heartbeat.cancel()
            # A tab that comes back (polls again) is asking again, and can still be let in.
            await closed_tab.http.get("/tandem/api/waiting")
            assert (await asking(server))["Closed"] is True
            status, body = await server.arequest("GET", "/tandem/api/grants")
            grant = next(g for g in body["grants"] if g["display_name"] == "Closed")
            status, decided = await server.arequest(
                "POST", f"/tandem/api/grants/{grant['id']}", {"decision": "admit"}
            )
            assert status == 200 and (await asking(server))["Closed"] is False
        finally:
            for guest in (open_tab, closed_tab):
                await guest.close()
