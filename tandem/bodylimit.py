"""A small request-body limit for Tandem's endpoints, enforced before any body is read.

Jupyter Server accepts bodies up to ``ServerApp.max_body_size`` (512 MiB by default) and
buffers them whole before any handler (or login check) runs. Tandem's endpoints take
small JSON or form bodies, so for paths under ``/tandem/`` and ``/api/collaboration/``
the HTTP connection's limit is lowered to ``TandemApp.max_request_body`` as soon as the
request's headers arrive: a larger declared or streamed body is refused (Tornado answers
400 and closes the connection) without being buffered. Other Jupyter endpoints keep the
server-wide limit.
"""

from __future__ import annotations

from typing import Any

from tornado import httputil

__all__ = ["BodyLimits", "install"]

PREFIXES = ("tandem/", "api/collaboration/")


class BodyLimits(httputil.HTTPServerConnectionDelegate):
    """Wraps the server's application: requests to Tandem's paths get ``limit``."""

    def __init__(self, inner: Any, base_url: str, limit: int) -> None:
        self.inner = inner
        self.prefixes = tuple(base_url + p for p in PREFIXES)
        self.limit = limit

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        return _Limited(self, self.inner.start_request(server_conn, request_conn), request_conn)

    def on_close(self, server_conn: object) -> None:
        self.inner.on_close(server_conn)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Limited(httputil.HTTPMessageDelegate):
    def __init__(self, limits: BodyLimits, inner: httputil.HTTPMessageDelegate, conn: Any) -> None:
        self.limits, self.inner, self.conn = limits, inner, conn

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Any:
        path = getattr(start_line, "path", "")
        if path.startswith(self.limits.prefixes) and hasattr(self.conn, "set_max_body_size"):
            self.conn.set_max_body_size(self.limits.limit)
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        self.inner.finish()

    def on_connection_close(self) -> None:
        self.inner.on_connection_close()


def install(serverapp: Any, limit: int) -> None:
    """Put the limit in front of the running server's application (once)."""
    server = getattr(serverapp, "http_server", None)
    if server is None or isinstance(server.request_callback, BodyLimits):
        return
    server.request_callback = BodyLimits(server.request_callback, serverapp.base_url, limit)
