"""gunicorn servers for the live tests, started as production starts them: `gunicorn
probely.wsgi` from the repository's folder, which reads gunicorn.conf.py."""

import contextlib
import http.client
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# LIVE_TEST_PORTS=18350-18399 picks another range (test runs side by side).
_first, _last = os.environ.get("LIVE_TEST_PORTS", "18300-18349").split("-")
PORTS = range(int(_first), int(_last) + 1)
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    """A port of the range with nothing listening on it (other test runs may hold some)."""
    for port in random.sample(PORTS, len(PORTS)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"No free port in {PORTS}")


def environment(tmp_path: Path, **env: str) -> dict[str, str]:
    """A live server's environment: production settings, a SQLite file in `tmp_path`, one
    worker; `env` adds or overrides."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    return {
        **clean,
        "DJANGO_SECRET_KEY": "live-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_LOG_LEVEL": "ERROR",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'live.sqlite3'}",
        "WEB_CONCURRENCY": "1",
        **env,
    }


@contextlib.contextmanager
def gunicorn(tmp_path: Path, *args: str, **env: str):
    """Serve on a free port with a small server (one worker) and yield the port."""
    port = free_port()
    log = tmp_path / f"gunicorn-{port}.log"
    stderr = log.open("w")
    server = subprocess.Popen(
        [GUNICORN, "probely.wsgi", "-b", f"127.0.0.1:{port}", *args],
        cwd=ROOT,
        env=environment(tmp_path, **env),
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start on port {port}:\n{log.read_text()}")
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        stderr.close()


def get(port: int, path: str, **headers: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
