"""One error shape for every Tandem JSON API.

Every refusal answers ``{"message": <text for a person>, "reason": <code for programs>}``
(plus, for some reasons, the fields a client needs to act, e.g. ``cell_id``). The message
says what went wrong and, where a person can fix it, what to do; the reason is a stable
snake_case code that clients branch on (the CLI, the web app's ``errorOf``). Unexpected
exceptions answer 500 with a generic message: tracebacks stay in the server's log.

Handlers raise :func:`refuse` for a refusal with its own reason, or a plain
``tornado.web.HTTPError`` (its status gives the reason). :class:`JsonErrors` (first in a
handler's bases) writes both, and lets a handler translate its domain exceptions by
overriding :meth:`JsonErrors.describe`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.client import responses
from typing import Any

from tornado import web

from ..access import AccessError, InvalidRequest, InvalidScope, NotFound, RateLimited

__all__ = ["ApiError", "JsonErrors", "error_of", "reason_for_status", "refuse", "sharing_error"]

REASONS = {
    400: "bad_request",
    401: "not_logged_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    429: "rate_limited",
    500: "internal_error",
    501: "not_implemented",
    503: "unavailable",
}
INTERNAL = "Something went wrong on the server; its log has the details."
XSRF = "The request was not sent by a Tandem page (missing or wrong _xsrf token): reload the page."


def reason_for_status(status: int) -> str:
    return REASONS.get(status, "error" if status >= 400 else "ok")


@dataclass(frozen=True)
class ApiError:
    """One refusal as the API reports it."""

    status: int
    reason: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {**self.detail, "message": self.message, "reason": self.reason}


class Refusal(web.HTTPError):
    """An HTTP error that carries its :class:`ApiError` (raise it with :func:`refuse`)."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.status, "%s", error.message)
        self.error = error


def refuse(status: int, reason: str, message: str, **detail: Any) -> Refusal:
    """``raise refuse(409, "source_changed", "...", cell_id=...)``."""
    return Refusal(ApiError(status, reason, message, detail))


def error_of(status: int, exc: BaseException | None) -> ApiError:
    """The answer for an exception a handler did not translate itself."""
    if isinstance(exc, Refusal):
        return exc.error
    if isinstance(exc, web.HTTPError):
        status = exc.status_code
        message = ""
        if exc.log_message:
            try:
                message = exc.log_message % exc.args
            except (TypeError, ValueError):
                message = exc.log_message
        if status == 403 and "_xsrf" in message:
            return ApiError(status, "xsrf", XSRF)
        return ApiError(status, reason_for_status(status), message or responses.get(status, ""))
    if status < 500 and exc is None:
        return ApiError(status, reason_for_status(status), responses.get(status, ""))
    return ApiError(500 if status < 500 else status, reason_for_status(500), INTERNAL)


class JsonErrors:
    """Put first in a JSON handler's bases: ``write_error`` answers the one shape."""

    def describe(self, status: int, exc: BaseException | None) -> ApiError:
        """Translate an exception into the answer; override for domain exceptions and
        fall back to ``super().describe``."""
        return error_of(status, exc)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = self.describe(status_code, exc_info[1] if exc_info else None)
        self.set_status(error.status)  # type: ignore[attr-defined]
        self.set_header("Content-Type", "application/json; charset=UTF-8")  # type: ignore[attr-defined]
        self.finish(json.dumps(error.body()))  # type: ignore[attr-defined]


# -- the sharing API's refusals, worded for the person sharing ------------------------

SCOPE_REASONS = {
    "path does not exist": "path_not_found",
    "share a file or a folder, not the whole server root": "whole_root",
    "path must stay inside the server root": "outside_root",
    "path must be relative to the server root": "outside_root",
}


def _span(seconds: float) -> str:
    """``2592000`` -> ``30 days`` (the largest unit that divides it, else seconds)."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds:g} seconds"


def _requested(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def sharing_error(
    exc: BaseException | None, root: str, body: bytes, access: Any = None
) -> ApiError | None:
    """The owner API's answer for an access-layer exception (None: not one of those).
    ``root`` is the server's folder and ``body`` the request, to name what was asked."""
    asked = _requested(body)
    path = asked.get("path") if isinstance(asked.get("path"), str) else ""
    if isinstance(exc, InvalidScope):
        reason = SCOPE_REASONS.get(str(exc), "invalid_path")
        detail = {"path": path, "root": root}
        if reason == "path_not_found":
            message = f"{path} does not exist in {root}. Check the name and the folder."
        elif reason == "whole_root":
            message = f"Share one notebook or folder inside {root}, not the whole folder."
        elif reason == "outside_root":
            message = (
                f"{path} is outside {root}, the folder this server serves: only what is "
                "inside it can be shared."
            )
        else:
            message = f"{path!r} cannot be shared: {exc}."
        return ApiError(400, reason, message, detail)
    if isinstance(exc, NotFound):
        what = exc.args[0] if exc.args else ""
        return ApiError(
            404,
            "unknown_id",
            f"There is no share link or person with the id {what}: `tandem shares` "
            "and the People page list them.",
        )
    if isinstance(exc, RateLimited):
        return ApiError(429, "rate_limited", str(exc))
    if isinstance(exc, InvalidRequest) and str(exc).startswith("expiry"):
        longest = float(getattr(access, "max_expiry", 0) or 0)
        wanted = asked.get("expires_in")
        if isinstance(wanted, (int, float)) and wanted > longest > 0:
            message = (
                f"A link can last at most {_span(longest)}, not {_span(float(wanted))}: "
                "ask for less (or raise TandemApp.invitation_max_expiry)."
            )
            return ApiError(400, "expiry_too_long", message, {"max_expiry": longest})
        return ApiError(400, "bad_expiry", f"The link's lifetime must be positive ({exc}).")
    if isinstance(exc, (AccessError, ValueError, TypeError)):
        return ApiError(400, "invalid_request", str(exc) or "The request is not valid.")
    return None
