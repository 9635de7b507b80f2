"""Links can be copied again later: the owner's API returns a working link's code, kept
sealed with a key derived from the server key (the database alone does not reveal it)."""

from __future__ import annotations

from tandem.access import codes
from tests.handlers.test_sharing import Guest, share


async def test_the_owner_gets_a_working_link_again_and_nobody_else_does(server):
    invite = await share(server, role="edit", label="class")
    inv_id = invite["invitation"]["id"]
    status, again = await server.arequest("GET", f"/tandem/api/invitations/{inv_id}/link")
    assert status == 200 and again == {"code": invite["code"], "link": invite["link"]}

    guest = Guest(server)
    try:
        assert (await guest.join(again["link"], name="Alice")).status_code == 303
        refused = await guest.http.get(f"/tandem/api/invitations/{inv_id}/link")
        assert refused.status_code == 403 and invite["code"] not in refused.text
    finally:
        await guest.close()
    status, _ = await server.arequest("GET", "/tandem/api/invitations/i-nope/link")
    assert status == 404
    assert (await server.arequest("DELETE", f"/tandem/api/invitations/{inv_id}"))[0] == 204
    status, body = await server.arequest("GET", f"/tandem/api/invitations/{inv_id}/link")
    assert status == 400 and invite["code"] not in str(body)

    # What the database holds is not the code.
    databases = list(server.state_dir.rglob("*.sqlite*"))
    assert databases
    for db in databases:
        assert invite["code"].encode() not in db.read_bytes()


def test_a_sealed_code_opens_only_with_its_key_and_invitation():
    key, other = codes.new_key(), codes.new_key()
    code = codes.new_code()
    sealed = codes.seal_code(key, "i-1", code)
    assert code not in sealed and codes.seal_code(key, "i-1", code) != sealed  # fresh nonce
    assert codes.unseal_code(key, "i-1", sealed) == code
    assert codes.unseal_code(other, "i-1", sealed) is None
    assert codes.unseal_code(key, "i-2", sealed) is None  # moved to another link
    flipped = sealed[:10] + ("A" if sealed[10] != "A" else "B") + sealed[11:]
    assert codes.unseal_code(key, "i-1", flipped) is None
    assert codes.unseal_code(key, "i-1", "not base64!") is None
