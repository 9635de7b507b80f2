"""Item 4: a URL is decoded exactly once; ``%`` in a name is just a character.

The attack: a grant on ``My Notebook.ipynb`` also opened ``My%20Notebook.ipynb``, and a
grant on ``course/`` opened the root's ``course%2Fsecret.ipynb``, because paths were
decoded again after Tornado had decoded them (and once more in the scope check).

The server tests share one server on one root of such names, each with a guest of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

import pytest
import pytest_asyncio

from tandem.access.scopes import InvalidScope, normalize_path, normalize_scope
from tandem.paths import normalize_api_path
from tandem.testing import TandemServer
from tests.conftest import MODULE_LOOP, write_notebook
from tests.handlers.test_sharing import Guest, share

NAMES = [
    "My Notebook.ipynb",
    "My%20Notebook.ipynb",
    "course/x.ipynb",
    "course/secret.ipynb",
    "course%2Fsecret.ipynb",
    "100%.ipynb",
    "a%25b.ipynb",
    "a%b.ipynb",
]


def named_root(folder: Path) -> Path:
    folder.mkdir()
    for name in NAMES:
        write_notebook(folder / name)
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return named_root(tmp_path / "root")


@pytest.fixture(scope="module")
def module_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The root ``module_server`` serves."""
    return named_root(tmp_path_factory.mktemp("paths") / "root")


@pytest_asyncio.fixture(loop_scope="module")
async def guest(module_server) -> AsyncIterator[Guest]:
    client = Guest(module_server)
    yield client
    await client.close()


def encodings(name: str) -> list[str]:
    """``name`` encoded for a URL once (the right way), twice and three times."""
    once = quote(name, safe="/")
    twice = quote(once, safe="/")
    return [once, twice, quote(twice, safe="/")]


async def file_id(server: TandemServer, name: str) -> str:
    status, body = await server.arequest(
        "PUT",
        f"/api/collaboration/session/{quote(name, safe='/')}",
        {"format": "json", "type": "notebook"},
    )
    assert status in (200, 201), (name, status, body)
    return body["fileId"]


async def guest_file_ids(guest: Guest, name: str) -> set[str]:
    """The file ids a guest obtains for any encoding of ``name``."""
    ids = set()
    for encoded in encodings(name):
        response = await guest.http.put(
            f"/api/collaboration/session/{encoded}",
            json={"format": "json", "type": "notebook"},
            headers=guest.xsrf,
        )
        if response.status_code in (200, 201):
            ids.add(response.json()["fileId"])
    return ids


@MODULE_LOOP
async def test_owner_opens_each_literal_name_as_its_own_file(module_server):
    server = module_server
    ids = {name: await file_id(server, name) for name in NAMES}
    assert len(set(ids.values())) == len(NAMES)


@MODULE_LOOP
@pytest.mark.parametrize(
    "granted, forbidden",
    [
        ("My Notebook.ipynb", "My%20Notebook.ipynb"),
        ("My%20Notebook.ipynb", "My Notebook.ipynb"),
        ("course", "course%2Fsecret.ipynb"),
        ("a%25b.ipynb", "a%b.ipynb"),
        ("100%.ipynb", "a%b.ipynb"),
    ],
)
async def test_a_grant_never_reaches_a_name_that_decodes_to_it(
    module_server, guest, granted, forbidden
):
    server = module_server
    forbidden_id = await file_id(server, forbidden)
    invite = await share(server, path=granted, role="edit")
    await guest.join(invite["link"])
    reached = await guest_file_ids(guest, forbidden)
    assert forbidden_id not in reached
    if not granted.endswith(".ipynb"):
        granted = granted + "/x.ipynb"
    own = await file_id(server, granted)
    assert own in await guest_file_ids(guest, granted)


@pytest.mark.parametrize("name", ["My%20Notebook.ipynb", "course%2Fsecret.ipynb", "a%25b.ipynb"])
def test_helpers_do_not_decode(root, name):
    assert normalize_api_path(name) == name
    assert normalize_path(str(root), name) == name
    assert normalize_scope(str(root), name).path == name


def test_encoded_names_that_do_not_exist_are_not_scopes(root):
    for name in ("class%2Fx.ipynb", "%2e%2e", "My%2520Notebook.ipynb"):
        with pytest.raises(InvalidScope):
            normalize_scope(str(root), name)
