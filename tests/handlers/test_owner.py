"""The home page, the owner's pages and their APIs, the join and waiting pages, against a
real server: what the owner sees, what a guest sees, and the attacks that must fail
(traversal, symlinks out of a shared folder, names of files outside the grant, guests on
owner pages, forged or missing guest sessions).

The tests share one server on one root of traps (made once, listed exactly by the first
test); each test has guests of its own and reads only the grants, invitations and audit
rows it made."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from tandem.access import AuditKind
from tandem.auth import guest_cookie_name
from tandem.handlers.join import owner_display_name
from tandem.testing import TandemServer, YPeer
from tests.conftest import MODULE_LOOP, write_notebook
from tests.eventually import eventually
from tests.handlers.test_sharing import (
    Guest,
    audit_mark,
    audited,
    grants,
    invitation_ids,
    share,
)

pytestmark = MODULE_LOOP

GUEST_COOKIE = guest_cookie_name("/")  # the test server's base URL

REPO = Path(__file__).resolve().parents[2]
XSS_NAME = '<img src=x onerror="window.pwned=1">.ipynb'


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A server root with a shared folder full of traps for a guest's listing (the
    root ``module_server`` serves)."""
    tmp_path = tmp_path_factory.mktemp("owner")
    folder = tmp_path / "root"
    write_notebook(folder / "demo.ipynb")
    write_notebook(folder / XSS_NAME)  # a name the join page must escape
    write_notebook(folder / "people.ipynb")  # only the presence test opens it
    write_notebook(folder / "secret.ipynb")
    (folder / "notes.md").write_text("not a notebook\n")
    write_notebook(folder / "course" / "a.ipynb")
    write_notebook(folder / "course" / "sub" / "b.ipynb")
    write_notebook(folder / "course" / ".hidden.ipynb")
    write_notebook(folder / "course" / ".hidden-folder" / "x.ipynb")
    (folder / "course" / "readme.txt").write_text("not a notebook\n")
    write_notebook(folder / "course2" / "other.ipynb")  # a sibling whose name starts like the scope
    outside = tmp_path / "outside"
    write_notebook(outside / "leak.ipynb")
    os.symlink(
        folder / "secret.ipynb", folder / "course" / "escape.ipynb"
    )  # in the root, out of scope
    os.symlink(outside, folder / "course" / "outside")  # out of the root
    os.symlink(outside / "leak.ipynb", folder / "course" / "leak.ipynb")
    os.symlink(folder, folder / "course" / "upward")  # a folder link back up to the root
    os.symlink(
        folder / "course" / "a.ipynb", folder / "course" / "sub" / "same.ipynb"
    )  # stays inside
    return folder


async def guest_on(server: TandemServer, path: str, **options) -> Guest:
    guest = Guest(server)
    invite = await share(server, path, **options)
    joined = await guest.join(invite["link"])
    assert joined.status_code == 303, joined.text
    guest.location = joined.headers["Location"]
    guest.invitation = invite["invitation"]
    return guest


async def grants_of(server: TandemServer, guest: Guest) -> list[dict]:
    """The grants made by redeeming this guest's invitation."""
    return [g for g in await grants(server) if g["invitation_id"] == guest.invitation["id"]]


async def listing(client: Guest, path: str):
    return await client.http.get("/tandem/api/files", params={"path": path})


def names(response) -> set[str]:
    assert response.status_code == 200, response.text
    return {entry["name"] for entry in response.json()["entries"]}


async def test_owner_lists_folders_and_notebooks_only(module_server):
    server = module_server
    status, body = await server.arequest("GET", "/tandem/api/files")
    assert status == 200 and body["path"] == "" and body["crumbs"] == []
    assert [(e["name"], e["kind"]) for e in body["entries"]] == [
        ("course", "folder"),
        ("course2", "folder"),
        (XSS_NAME, "notebook"),
        ("demo.ipynb", "notebook"),
        ("people.ipynb", "notebook"),
        ("secret.ipynb", "notebook"),
    ]
    status, body = await server.arequest("GET", "/tandem/api/files?path=course")
    # Hidden files, other file types and links out of the root are not listed.
    assert {e["name"] for e in body["entries"]} == {"sub", "upward", "a.ipynb", "escape.ipynb"}
    status, body = await server.arequest("GET", "/tandem/api/files?path=course/sub")
    assert body["crumbs"] == [
        {"name": "course", "path": "course"},
        {"name": "sub", "path": "course/sub"},
    ]
    assert [e["path"] for e in body["entries"]] == ["course/sub/b.ipynb", "course/sub/same.ipynb"]
    for bad in ("../", "..%2f", "/etc", "%2e%2e", "course/../../x", "course/outside", "a\\b"):
        status, _ = await server.arequest("GET", f"/tandem/api/files?path={bad}")
        assert status == 400, bad
    assert (await server.arequest("GET", "/tandem/api/files?path=nope"))[0] == 404
    assert (await server.arequest("GET", "/tandem/api/files?path=course/.hidden-folder"))[0] == 404
    assert (await server.arequest("GET", "/tandem/api/files?path=demo.ipynb"))[0] == 400


async def test_guest_folder_listing_never_shows_anything_outside_the_grant(
    module_server, module_root
):
    server, root = module_server, module_root
    mark = await audit_mark(server)
    guest = await guest_on(server, "course", role="edit")
    assert guest.location == "/tandem/?path=course"
    home = await guest.http.get("/tandem/")
    assert home.status_code == 302 and home.headers["Location"] == "/tandem/?path=course"
    shared = (await listing(guest, "")).json()["entries"]
    assert shared == [
        {
            "name": "course",
            "path": "course",
            "kind": "folder",
            "role": "edit",
            "expires_at": guest.invitation["expires_at"],
        }
    ]
    inside = await listing(guest, "course")
    assert names(inside) == {"sub", "a.ipynb"}
    assert inside.json()["crumbs"] == [{"name": "course", "path": "course"}]
    sub = await listing(guest, "course/sub")
    assert names(sub) == {"b.ipynb", "same.ipynb"}
    assert sub.json()["crumbs"] == [
        {"name": "course", "path": "course"},
        {"name": "sub", "path": "course/sub"},
    ]
    assert (await listing(guest, "course/nope")).status_code == 404  # inside the grant: may know
    assert (await listing(guest, "course/.hidden-folder")).status_code == 404
    # Paths are decoded once (by Tornado): these are literal names inside the grant.
    for literal in ("course/%2e%2e/course2", "course/%252e%252e"):
        response = await listing(guest, literal)
        assert response.status_code == 404 and "course2" not in response.text.replace(literal, "")
    attacks = [
        ".",
        "..",
        "/",
        "/etc",
        "course2",
        "course/..",
        "course/../course2",
        "course/upward",
        "course/upward/course2",
        "course/outside",
        "course/escape.ipynb",
        "%2e%2e",
        "course%2f..%2fcourse2",
        "cours",
        "course2/../course2",
        "secret.ipynb",
        "nope",
        str(root),
        "course/sub/../../course2",
    ]
    for attack in attacks:
        response = await listing(guest, attack)
        assert response.status_code == 403, (attack, response.status_code, response.text)
        for leak in ("secret", "course2", "other", "leak", "outside"):
            assert leak not in response.text.replace(attack, ""), (attack, leak)
    events = await audited(server, "access_denied", mark)
    denied = {e["path"] for e in events if e["principal_id"] != "owner"}
    assert {"course2", "secret.ipynb", ""} <= denied  # every denial is on the owner's record
    await guest.close()


async def test_guest_with_one_notebook_goes_straight_to_its_editor(module_server):
    server = module_server
    guest = await guest_on(server, "demo.ipynb", role="view")
    assert guest.location == "/tandem/notebook/demo.ipynb"
    home = await guest.http.get("/tandem/")
    assert home.status_code == 302 and home.headers["Location"] == "/tandem/notebook/demo.ipynb"
    assert [e["path"] for e in (await listing(guest, "")).json()["entries"]] == ["demo.ipynb"]
    for path in ("course", "course/a.ipynb", "secret.ipynb"):
        assert (await listing(guest, path)).status_code == 403, path
    assert (await listing(guest, "demo.ipynb")).status_code == 400  # theirs, but not a folder
    # A second share to the same browser: the home page now lists both.
    other = await share(server, "course/sub/b.ipynb", role="edit")
    assert (await guest.join(other["link"])).headers[
        "Location"
    ] == "/tandem/notebook/course/sub/b.ipynb"
    assert (await guest.http.get("/tandem/")).status_code == 200
    assert names(await listing(guest, "")) == {"demo.ipynb", "b.ipynb"}
    await guest.close()


async def test_guests_and_strangers_cannot_reach_owner_pages_or_apis(module_server):
    server = module_server
    before = await invitation_ids(server)
    active = await guest_on(server, "course", role="run")
    pending = await guest_on(server, "demo.ipynb", role="edit", approval_required=True)
    stranger = Guest(server)
    for client in (active, pending, stranger):
        for path in (
            "/tandem/people",
            "/tandem/audit",
            "/tandem/api/presence",
            "/tandem/api/grants",
            "/tandem/api/invitations",
            "/tandem/api/audit",
        ):
            response = await client.http.get(path)
            assert response.status_code in (302, 403), (path, response.status_code)
            if response.status_code == 302:  # to the login page, never into the page
                assert "/login" in response.headers["Location"]
        response = await client.http.post(
            "/tandem/api/invitations", json={"path": "secret.ipynb"}, headers=client.xsrf
        )
        assert response.status_code == 403
    assert (await listing(pending, "")).status_code == 403
    assert (await listing(stranger, "")).status_code == 403
    # Someone who is not signed in at all goes to the login page; a waiting guest waits.
    assert "/login" in (await stranger.http.get("/tandem/")).headers["Location"]
    assert (await pending.http.get("/tandem/")).headers["Location"] == "/tandem/waiting"
    after = await invitation_ids(server)  # only the two shares, none by a guest
    assert before <= after and after - before == {active.invitation["id"], pending.invitation["id"]}
    for client in (active, pending, stranger):
        await client.close()


async def test_presence_lists_who_is_in_each_notebook(module_server):
    server = module_server
    guest = await guest_on(server, "people.ipynb", role="edit")
    me = (await guest.http.get("/api/me")).json()["identity"]
    owner = await YPeer.open(server, "people.ipynb")
    peer = await guest.peer("people.ipynb")

    async def people():
        status, body = await server.arequest("GET", "/tandem/api/presence")
        assert status == 200
        return {
            p["name"]: p
            for room in body["rooms"]
            if room["path"] == "people.ipynb"
            for p in room["people"]
        }

    async def both_there():
        present = await people()
        assert "Grace Hopper" in present and len(present) == 2
        assert (
            present["Grace Hopper"]["color"] == me["color"]
            and present["Grace Hopper"]["role"] == "edit"
        )

    await eventually(both_there)
    await peer.close()

    async def guest_gone():
        assert "Grace Hopper" not in await people()

    await eventually(guest_gone)
    await owner.close()
    await guest.close()


async def test_waiting_guest_moves_on_once_admitted(module_server):
    server = module_server
    guest = await guest_on(server, "demo.ipynb", role="edit", approval_required=True)
    assert guest.location == "/tandem/waiting"
    page = await guest.http.get("/tandem/waiting")
    assert page.status_code == 200 and 'data-status="pending"' in page.text
    assert "Waiting for" in page.text and "demo.ipynb" in page.text
    assert (await guest.http.get("/tandem/api/waiting")).json() == {
        "status": "pending",
        "next": None,
    }
    assert (await guest.session("demo.ipynb")).status_code == 403
    (grant,) = await grants_of(server, guest)
    status, _ = await server.arequest(
        "POST", f"/tandem/api/grants/{grant['id']}", {"decision": "admit"}
    )
    assert status == 200
    assert (await guest.http.get("/tandem/api/waiting")).json() == {
        "status": "admitted",
        "next": "/tandem/notebook/demo.ipynb",
    }
    page = await guest.http.get("/tandem/waiting")
    assert page.status_code == 302 and page.headers["Location"] == "/tandem/notebook/demo.ipynb"
    assert (await guest.session("demo.ipynb")).status_code in (200, 201)
    await guest.close()


async def test_refused_forged_and_missing_sessions_learn_nothing_else(module_server):
    server = module_server
    guest = await guest_on(server, "demo.ipynb", role="edit", approval_required=True)
    (grant,) = await grants_of(server, guest)
    await server.arequest("POST", f"/tandem/api/grants/{grant['id']}", {"decision": "refuse"})
    assert (await guest.http.get("/tandem/api/waiting")).json() == {
        "status": "refused",
        "next": None,
    }
    page = await guest.http.get("/tandem/waiting")
    assert (
        page.status_code == 200 and "refused" in page.text and 'data-status="refused"' in page.text
    )
    forged = Guest(server)
    forged.http.cookies.set(GUEST_COOKIE, "A" * 32)
    nobody = Guest(server)
    for client in (forged, nobody):
        assert (await client.http.get("/tandem/api/waiting")).json() == {
            "status": "ended",
            "next": None,
        }
        text = (await client.http.get("/tandem/waiting")).text
        assert "You do not have access" in text and "demo.ipynb" not in text
    for client in (guest, forged, nobody):
        await client.close()


async def test_join_page_says_what_by_whom_which_role_and_until_when(module_server):
    server = module_server
    invite = await share(
        server, XSS_NAME, role="run", approval_required=True, anonymous_allowed=True
    )
    guest = Guest(server)
    page = await guest.http.get(invite["link"].split(str(server.port), 1)[1])
    assert page.status_code == 200
    text = page.text
    assert f"{owner_display_name(None)} shares a notebook with you" in text
    assert (
        "&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;.ipynb" in text and "<img" not in text
    )
    assert "<b>run</b>" in text and "executes on the owner" in text
    assert "asked to let you in" in text and "join anonymously" in text
    assert re.search(r'<time datetime="[0-9T:+-]+">', text)
    headers = page.headers
    assert headers["Referrer-Policy"] == "no-referrer" and headers["Cache-Control"] == "no-store"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
    # Joining anonymously, with approval: the guest waits.
    token = re.search(r'name="_xsrf" value="([^"]+)"', text).group(1)
    joined = await guest.http.post(page.url.path, data={"name": "", "_xsrf": token})
    assert joined.status_code == 303 and joined.headers["Location"] == "/tandem/waiting"
    await guest.close()


async def test_invalid_links_all_get_one_neutral_page(module_server):
    server = module_server
    used = await share(server, max_uses=1)
    first = Guest(server)
    await first.join(used["link"])
    revoked = await share(server)
    await server.arequest("DELETE", f"/tandem/api/invitations/{revoked['invitation']['id']}")
    codes = [used["code"], revoked["code"], "x" * 32, "short", "%3Cscript%3E"]
    pages = []
    visitor = Guest(server)
    for code in codes:
        response = await visitor.http.get(f"/tandem/join/{code}")
        assert response.status_code == 404
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        pages.append(response.text)
    assert len(set(pages)) == 1 and "This link is not valid" in pages[0]
    for client in (first, visitor):
        await client.close()


async def test_pages_send_a_strict_content_security_policy(module_server):
    server = module_server
    guest = await guest_on(server, "course", role="view")
    waiting = await guest_on(server, "demo.ipynb", approval_required=True)
    targets = [
        (None, "/tandem/"),
        (None, "/tandem/people"),
        (None, "/tandem/audit"),
        (guest, "/tandem/?path=course"),
        (waiting, "/tandem/waiting"),
    ]
    owner = httpx.AsyncClient(base_url=server.http_url, headers=server.headers)
    for client, path in targets:
        response = await (owner if client is None else client.http).get(path)
        assert response.status_code == 200, path
        body = response.text
        csp = response.headers["Content-Security-Policy"]
        assert (
            "default-src 'none'" in csp
            and "'unsafe-inline'" not in csp
            and "'unsafe-eval'" not in csp
        ), path
        assert "<script>" not in body and "style=" not in body, path  # nothing inline
        assert re.search(r'<script type="module" src="/tandem/static/\w+\.js\?v=\d+">', body), path
    await owner.aclose()
    await guest.close()
    await waiting.close()


async def test_the_audit_page_knows_every_audit_kind():  # (async: the module is MODULE_LOOP)
    source = (REPO / "web" / "src" / "owner" / "kinds.ts").read_text()
    listed = set(re.findall(r"^\s+(\w+): \"", source, re.MULTILINE))
    assert listed == {kind.value for kind in AuditKind}
