"""Whether something accepts TCP connections on a port of 127.0.0.1: the engines publish there."""

from __future__ import annotations

import socket


def accepts(port: int, timeout: float = 1.0) -> bool:
    """Whether a TCP connection to 127.0.0.1:port is accepted within `timeout` seconds."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
    except OSError:
        return False
    return True
