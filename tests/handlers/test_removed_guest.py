"""A revoked person who reopens a still-valid link is told the owner removed them; nobody
else learns anything new from the join page (the link stays valid for others)."""

from __future__ import annotations

import re

from tandem.testing import TandemServer
from tests.conftest import FAST
from tests.handlers.test_sharing import Guest, share


async def test_revoked_guest_reopening_a_valid_link_is_told_they_were_removed(root, tmp_path):
    async with TandemServer(
        root, tmp_path / "state", args=[*FAST, "--TandemApp.owner_name=Rose"]
    ) as server:
        invite = await share(server, role="edit")
        path = invite["link"].split(str(server.port), 1)[1]
        alice, bob, stranger = Guest(server), Guest(server), Guest(server)
        try:
            assert (await alice.join(invite["link"], name="Alice")).status_code == 303
            assert (await bob.join(invite["link"], name="Bob")).status_code == 303
            status, grants = await server.arequest("GET", "/tandem/api/grants")
            grant = next(g for g in grants["grants"] if g["display_name"] == "Alice")
            assert (await server.arequest("DELETE", f"/tandem/api/grants/{grant['id']}"))[0] == 204

            page = await alice.http.get(path)
            assert page.status_code == 403
            assert "Rose removed your access" in page.text
            assert "not valid" not in page.text and 'name="name"' not in page.text
            # Trying to join again says the same, and gives nothing back.
            xsrf = alice.http.cookies.get("_xsrf", "")
            again = await alice.http.post(path, data={"name": "Alice", "_xsrf": xsrf})
            assert again.status_code == 403 and "Rose removed your access" in again.text
            assert (await alice.session("demo.ipynb")).status_code == 403

            # Others see the link as it is: still valid for a stranger and for Bob.
            for other in (stranger, bob):
                seen = await other.http.get(path)
                assert seen.status_code == 200 and "removed" not in seen.text
                assert re.search(r"Rose shares a notebook with you", seen.text)
            # A bad code looks the same as always, also to Alice.
            bad = await alice.http.get("/tandem/join/" + "x" * 22)
            assert bad.status_code == 404 and "This link is not valid" in bad.text
            # A new link from the owner works for Alice as for anyone.
            fresh = await share(server, role="view")
            assert (await alice.join(fresh["link"], name="Alice")).status_code == 303
        finally:
            for client in (alice, bob, stranger):
                await client.close()
