"""Every Tandem JSON API refuses in one shape: ``{"message": human text, "reason": code}``.

In process for the translation itself; against a real server for each API's answers.
"""

from __future__ import annotations

import json

import pytest
from tornado import web

from tandem.access import InvalidRequest, InvalidScope, NotFound
from tandem.handlers.errors import INTERNAL, XSRF, error_of, refuse, sharing_error
from tests.handlers.test_sharing import Guest, share

ROOT = "/srv/course"


def shaped(status: int, body: object, reason: str | None = None) -> dict:
    """Assert the one shape (and the reason, if given); return the body."""
    assert isinstance(body, dict), body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("reason"), str) and body["reason"], body
    assert body["message"] != body["reason"], body  # the human text is not the code
    assert "Traceback" not in body["message"] and "Unhandled error" not in body["message"]
    if reason is not None:
        assert body["reason"] == reason, (status, body)
    return body


# -- in process ------------------------------------------------------------------------


def test_http_errors_keep_their_message_and_get_a_reason():
    error = error_of(400, web.HTTPError(400, "cells must be a %s", "list"))
    assert (error.status, error.reason, error.message) == (
        400,
        "bad_request",
        "cells must be a list",
    )
    assert error_of(404, web.HTTPError(404)).body() == {
        "message": "Not Found",
        "reason": "not_found",
    }
    assert error_of(403, web.HTTPError(403, "'_xsrf' argument missing from POST")).message == XSRF


def test_refusals_carry_their_reason_and_fields():
    error = error_of(409, refuse(409, "source_changed", "The cell changed", cell_id="c1"))
    assert error.body() == {
        "cell_id": "c1",
        "message": "The cell changed",
        "reason": "source_changed",
    }


def test_unexpected_exceptions_say_nothing_of_their_insides():
    error = error_of(500, KeyError("secret internals"))
    assert (
        error.status == 500
        and error.message == INTERNAL
        and "secret" not in json.dumps(error.body())
    )


@pytest.mark.parametrize(
    ("exc", "path", "reason", "words"),
    [
        (
            InvalidScope("path does not exist"),
            "demo.ipynb",
            "path_not_found",
            "demo.ipynb does not exist in /srv/course",
        ),
        (
            InvalidScope("share a file or a folder, not the whole server root"),
            "",
            "whole_root",
            "not the whole folder",
        ),
        (
            InvalidScope("path must stay inside the server root"),
            "../x",
            "outside_root",
            "../x is outside /srv/course",
        ),
        (
            InvalidScope("path contains forbidden characters"),
            "a\\b",
            "invalid_path",
            "forbidden characters",
        ),
        (NotFound("g-nope"), "", "unknown_id", "no share link or person with the id g-nope"),
        (InvalidRequest("unknown role 'admin'"), "", "invalid_request", "unknown role 'admin'"),
    ],
)
def test_sharing_refusals_are_worded_for_people(exc, path, reason, words):
    error = sharing_error(exc, ROOT, json.dumps({"path": path}).encode())
    assert error is not None and error.reason == reason and words in error.message, error


def test_an_expiry_over_the_maximum_names_both():
    class Access:
        max_expiry = 30 * 86400.0

    body = json.dumps({"path": "a.ipynb", "expires_in": 90 * 86400}).encode()
    error = sharing_error(
        InvalidRequest("expiry must be between 0 and 2.592e+06 seconds"), ROOT, body, Access()
    )
    assert error is not None and error.reason == "expiry_too_long"
    assert "at most 30 days, not 90 days" in error.message


# -- against a real server ----------------------------------------------------------


async def test_owner_apis_answer_the_one_shape(server):
    async def ask(method, path, body=None, reason=None, status=None):
        got, answer = await server.arequest(method, path, body)
        if status is not None:
            assert got == status, (path, got, answer)
        return shaped(got, answer, reason)

    invitations = "/tandem/api/invitations"
    missing = await ask("POST", invitations, {"path": "nope.ipynb"}, "path_not_found", 400)
    assert "nope.ipynb does not exist in" in missing["message"]
    await ask("POST", invitations, {"path": ""}, "whole_root", 400)
    await ask("POST", invitations, {"path": "../x.ipynb"}, "outside_root", 400)
    await ask(
        "POST", invitations, {"path": "notes.md", "expires_in": 90 * 86400}, "expiry_too_long", 400
    )
    await ask("POST", invitations, {"path": "notes.md", "role": "admin"}, "invalid_request", 400)
    await ask("POST", invitations, {"path": "notes.md", "bogus": 1}, "invalid_request", 400)
    await ask("POST", invitations, b"{not json", "bad_request", 400)
    await ask("DELETE", "/tandem/api/grants/g-nope", None, "unknown_id", 404)
    await ask("DELETE", "/tandem/api/invitations/i-nope", None, "unknown_id", 404)
    await ask("POST", "/tandem/api/grants/g-nope", {"decision": "admit"}, "unknown_id", 404)
    await ask("GET", "/tandem/api/audit?since=yesterday", None, "invalid_request", 400)
    await ask("PUT", "/api/collaboration/session/demo.ipynb", {"format": 1}, "bad_request", 400)
    await ask(
        "PUT",
        "/api/collaboration/session/gone.ipynb",
        {"format": "json", "type": "notebook"},
        "not_found",
        404,
    )
    await ask("GET", "/tandem/api/files?path=nope", None, "not_found", 404)
    await ask("GET", "/tandem/api/me/nope.ipynb", None, "not_found", 404)
    run = await ask(
        "POST", "/tandem/api/execution/run/demo.ipynb", {"cells": []}, "bad_request", 400
    )
    assert "cells must be" in run["message"]  # the message, no longer replaced by a code
    await ask("POST", "/tandem/api/execution/input/demo.ipynb", {"run_id": 1}, "bad_request", 400)
    status, listing = await server.arequest("GET", invitations)
    assert status == 200 and listing["invitations"] == []  # no refusal created anything


async def test_guests_are_refused_in_the_one_shape(server):
    guest = Guest(server)
    try:
        await guest.join((await share(server, role="view"))["link"])
        owner_only = await guest.http.get("/tandem/api/invitations")
        shaped(owner_only.status_code, owner_only.json(), "guest_refused")
        no_xsrf = await guest.http.post("/tandem/api/execution/run/demo.ipynb", json={"cells": []})
        assert no_xsrf.status_code == 403
        assert shaped(403, no_xsrf.json(), "xsrf")["message"] == XSRF
        not_allowed = await guest.http.post(
            "/tandem/api/execution/interrupt/demo.ipynb", json={}, headers=guest.xsrf
        )
        shaped(not_allowed.status_code, not_allowed.json(), "forbidden")
    finally:
        await guest.close()


def test_every_tandem_json_handler_writes_the_one_shape():
    """A new JSON handler that forgets the mixin would answer Jupyter's own error body."""
    import importlib
    import inspect
    import pkgutil

    from jupyter_server.base.handlers import APIHandler

    import tandem.handlers
    from tandem.handlers.errors import JsonErrors

    handlers = []
    for info in pkgutil.iter_modules(tandem.handlers.__path__):
        module = importlib.import_module(f"tandem.handlers.{info.name}")
        handlers += [
            cls
            for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, APIHandler) and cls.__module__ == module.__name__
        ]
    assert len(handlers) >= 10
    assert [cls.__name__ for cls in handlers if not issubclass(cls, JsonErrors)] == []
