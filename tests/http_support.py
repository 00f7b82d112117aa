"""Plain HTTP against a server the tests started as a real process (gunicorn, ``complaintflow serve``).

No browser and no database here: http.client only, so any test module may use it.
"""
from __future__ import annotations

import http.client
import socket


def http_get(port: int, path: str, timeout: float = 10) -> tuple[int, bytes]:
    """GET ``path`` from 127.0.0.1:``port`` on a connection of its own, closed afterwards; (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
