"""The shipped gunicorn.conf.py: a few slow clients do not stop the others being served."""

import json
import socket
import time

import pytest

from .live import get, gunicorn

SLOW_STARTS = [
    b"GET /api-us",
    b"GET /api-users/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
    b"POST /api-auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=",
]


@pytest.mark.live
def test_slow_clients_do_not_hold_up_a_normal_request(tmp_path):
    """One worker, three clients stuck in their request line, headers and body: a GET from a
    fourth is answered at once (a worker that serves one connection at a time waits for them)."""
    with gunicorn(tmp_path) as port:
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in SLOW_STARTS]
        try:
            for connection, start in zip(slow, SLOW_STARTS, strict=True):
                connection.sendall(start)
            time.sleep(1)
            for connection in slow:
                connection.sendall(b"x")

            began = time.monotonic()
            status, body = get(port, "/no-such-page/")
            elapsed = time.monotonic() - began
        finally:
            for connection in slow:
                connection.close()

    assert status == 404
    assert json.loads(body) == {"detail": "Not found."}
    assert elapsed < 5
