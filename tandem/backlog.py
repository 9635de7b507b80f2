"""A listen backlog sized for a class joining at once.

Tornado listens with a backlog of 128 connections. When a whole class opens the notebook
together (300 sockets within a second), the connections past the backlog are dropped by
the kernel and their clients retry only after the TCP retransmission timeout (1 s, then
3 s): a join storm's slowest joins were these retries, not the server's work. Calling
``listen()`` again on a listening socket changes its backlog (the kernel caps it at
``net.core.somaxconn``).
"""

from __future__ import annotations

import socket
from typing import Any

__all__ = ["raise_backlog"]


def raise_backlog(serverapp: Any, backlog: int) -> int:
    """Give the running server's listening sockets ``backlog``; how many were changed."""
    server = getattr(serverapp, "http_server", None)
    sockets = getattr(server, "_sockets", None) or {}
    changed = 0
    for sock in list(sockets.values()):
        if isinstance(sock, socket.socket) and sock.type == socket.SOCK_STREAM:
            sock.listen(backlog)
            changed += 1
    return changed
