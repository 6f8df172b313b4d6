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


pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server with the shipped settings and one worker: the worst case for slow clients."""
    folder = tmp_path_factory.mktemp("gunicorn")
    with gunicorn(folder) as port:
        yield port, folder / f"gunicorn-{port}.log"


def test_slow_clients_do_not_hold_up_a_normal_request(server):
    """Three clients stuck in their request line, headers and body: a GET from a fourth is
    answered at once (a worker that serves one connection at a time would wait for them)."""
    port, _ = server
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


def test_a_malformed_header_line_is_refused_and_not_logged(server):
    """gunicorn refuses it itself (HTML, see README); its log names the error, not the line."""
    port, log = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"GET /api-users/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization JWT AbCdEfGh.secret-part-of-the-key\r\n\r\n"
        )
        answer = connection.recv(4096)

    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    time.sleep(0.5)
    logged = log.read_text()
    assert "Invalid request from ip=127.0.0.1: Invalid HTTP Header\n" in logged
    assert "secret-part-of-the-key" not in logged
