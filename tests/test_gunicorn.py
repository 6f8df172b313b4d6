"""The shipped gunicorn.conf.py: a few slow clients do not stop the others being served, each
worker takes its share of the connections, and the access log writes gunicorn's lines."""

import io
import json
import logging
import runpy
import socket
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn import glogging
from gunicorn.config import Config

from .live import GUNICORN, ROOT, environment, get, gunicorn

SLOW_STARTS = [
    b"GET /api-us",
    b"GET /api-users/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
    b"POST /api-auth/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server with the shipped settings and one worker: the worst case for slow clients."""
    folder = tmp_path_factory.mktemp("gunicorn")
    with gunicorn(folder) as port:
        yield port, folder / f"gunicorn-{port}.log"


@pytest.mark.live
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


@pytest.mark.live
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


def listening_sockets(port: int) -> set[str]:
    """The inodes of the sockets listening on 127.0.0.1:`port` (from /proc/net/tcp, where
    state 0A is LISTEN and the local address is written in hex)."""
    local = f"0100007F:{port:04X}"
    rows = (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
    return {row[9] for row in rows if row[1] == local and row[3] == "0A"}


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="Reads Linux's /proc/net/tcp.")
@pytest.mark.live
@pytest.mark.parametrize(("reuse_port", "sockets"), [("", 2), ("false", 1)])
def test_each_worker_listens_on_a_socket_of_its_own(tmp_path, reuse_port, sockets):
    """So the kernel spreads new connections over the workers: on one socket shared by all, the
    worker awake when a client opens several connections at once takes them all.
    WEB_REUSE_PORT=false shares one socket (gunicorn's upgrade in place, USR2, needs it)."""
    with gunicorn(tmp_path, WEB_CONCURRENCY="2", WEB_REUSE_PORT=reuse_port) as port:
        # The server answers once its first worker listens; the second follows.
        time.sleep(2)
        listening = listening_sockets(port)
        status, _ = get(port, "/healthz")

    assert len(listening) == sockets
    assert status == 200


@pytest.mark.live
def test_a_port_in_use_stops_a_second_server(tmp_path):
    """With a socket per worker (SO_REUSEPORT), the operating system would let a second server
    share the port of a running one, and the two would split its connections."""
    with gunicorn(tmp_path) as port:
        second = subprocess.run(
            [GUNICORN, "probely.wsgi", "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=environment(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        status, _ = get(port, "/healthz")

    assert second.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}: Address already in use." in second.stderr
    assert status == 200


@pytest.mark.skipif(not Path("/proc/net/unix").exists(), reason="Reads Linux's /proc/net/unix.")
@pytest.mark.live
def test_workers_share_a_unix_socket(tmp_path):
    """A unix socket cannot be shared by SO_REUSEPORT (each worker would replace the file, and
    only the last would be reached): the workers share the master's one."""
    path = tmp_path / "api.sock"
    with gunicorn(tmp_path, "-b", f"unix:{path}", WEB_CONCURRENCY="2"):
        time.sleep(2)  # both workers booted
        # Columns: Num RefCount Protocol Flags Type St Inode Path; 00010000 flags a listener.
        rows = (line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:])
        listeners = [row for row in rows if row[-1] == str(path) and row[3] == "00010000"]
        answers = []
        for _ in range(4):
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(15)
                client.connect(str(path))
                client.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                answers.append(client.recv(64))

    assert len(listeners) == 1
    assert [answer[:17] for answer in answers] == [b"HTTP/1.0 200 OK\r\n"] * 4


def access_line(logger_class, log_format: str) -> str:
    """The access-log line `logger_class` writes for one GET, with `log_format`."""
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", log_format)
    logger = logger_class(config)
    written = io.StringIO()
    logger.access_log.handlers = [logging.StreamHandler(written)]
    response = SimpleNamespace(
        status="200 OK", sent=731, headers=[("ETag", '"v1"'), ("X-Request-ID", "abc")]
    )
    request = SimpleNamespace(headers=[("HOST", "127.0.0.1"), ("USER-AGENT", 'curl "8"')])
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": '/api-users/?search="x"',
        "PATH_INFO": "/api-users/",
        "QUERY_STRING": 'search="x"',
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_USER_AGENT": 'curl "8"',
    }
    logger.access(response, request, environ, timedelta(seconds=1, microseconds=2345))
    return written.getvalue()


SHIPPED = runpy.run_path(str(ROOT / "gunicorn.conf.py"))


@pytest.mark.parametrize(
    "log_format",
    [
        SHIPPED["access_log_format"],
        '%(h)s %(l)s %(u)s "%(r)s" %(s)s %(b)s %(B)s "%(f)s" "%(a)s" %(m)s %(U)s %(q)s %(H)s '
        "%(T)s %(D)s %(M)s %(L)s %({etag}o)s %({Host}i)s %({x-request-id}o)s %({nope}i)s %(zz)s",
    ],
)
def test_the_access_log_writes_what_gunicorn_writes(log_format):
    """The shipped logger works out only the fields the format prints (the shipped format's
    directly), and writes the same line as gunicorn's own, quotes escaped alike."""
    line = access_line(SHIPPED["Logger"], log_format)

    assert line == access_line(glogging.Logger, log_format)
    if log_format == SHIPPED["access_log_format"]:
        assert line == '10.1.2.3 "GET /api-users/?search=\\"x\\" HTTP/1.1" 200 731 1002ms\n'


def test_the_access_log_skips_the_probes():
    config = Config()
    config.set("accesslog", "-")
    logger = SHIPPED["Logger"](config)
    written = io.StringIO()
    logger.access_log.handlers = [logging.StreamHandler(written)]
    response = SimpleNamespace(status="200 OK", sent=20, headers=[])
    for path in ("/healthz", "/readyz", "/metrics"):
        environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "RAW_URI": path}
        logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(0))

    assert written.getvalue() == ""
