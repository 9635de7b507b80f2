"""The audit log names people ("Revoked Alice", "Alice opened demo.ipynb"), in the API
the owner's page reads and in ``tandem audit``; the stored records keep their hashes."""

from __future__ import annotations

import datetime

from tandem.cli import audit_line
from tests.eventually import eventually
from tests.handlers.test_sharing import Guest, share


async def test_audit_events_name_the_people_they_are_about(server):
    invite = await share(server, role="edit", label="class")
    alice = Guest(server)
    try:
        await alice.join(invite["link"], name="Alice")
        peer = await alice.peer("demo.ipynb")

        async def opened() -> list[dict]:
            status, body = await server.arequest("GET", "/tandem/api/audit?kind=room_joined")
            assert status == 200 and body["events"]
            return body["events"]

        joined = (await eventually(opened))[0]
        assert joined["summary"] == "Alice opened demo.ipynb"
        assert joined["who"] == "Alice"
        await peer.close()
    finally:
        await alice.close()
    status, grants = await server.arequest("GET", "/tandem/api/grants")
    (grant,) = grants["grants"]
    status, _ = await server.arequest("DELETE", f"/tandem/api/grants/{grant['id']}")
    assert status == 204
    status, body = await server.arequest("GET", "/tandem/api/audit")
    revoked = [e for e in body["events"] if e["kind"] == "grant_revoked"]
    assert revoked[0]["action"] == "revoked Alice"
    assert revoked[0]["detail"]["grant_ids"] == [grant["id"]]  # the record is unchanged
    for event in body["events"]:
        assert grant["id"] not in event["summary"]
        assert grant["guest_session_id"][:8] not in event["summary"]
    assert any(e["summary"] == "Alice joined demo.ipynb (edit)" for e in body["events"])


def test_tandem_audit_prints_the_sentence_and_the_time_zone():
    event = {
        "at": 0.0,
        "kind": "room_joined",
        "path": "demo.ipynb",
        "principal_id": "a" * 40,
        "summary": "Alice opened demo.ipynb",
    }
    cet = datetime.timezone(datetime.timedelta(hours=1), "CET")
    assert audit_line(event, cet) == "1970-01-01 01:00:00 CET  Alice opened demo.ipynb"
    assert audit_line(event, datetime.timezone.utc).startswith("1970-01-01 00:00:00 UTC  Alice")
