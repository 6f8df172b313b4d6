"""Two app servers, one PostgreSQL, one Redis: the servers keep no state of their own.

Conditional PATCHes through both lose nothing, the per-key rate limit counts across both, and a
key rotated through one server is refused by the other once its grace period is over. Runs in
the PostgreSQL pass of the suite, on a database of its own."""

import contextlib
import http.client
import json
import secrets
import subprocess
import threading
import time

import psycopg
import pytest
from django.db import connection

from .live import ROOT, gunicorn
from .test_throttling import require_redis

pytestmark = [pytest.mark.live, pytest.mark.postgres]

RACERS = 20
LIMIT = 40


@contextlib.contextmanager
def fresh_database():
    """A new, empty database on the test run's PostgreSQL server, dropped afterwards."""
    params = connection.settings_dict
    server = f"postgres://{params['USER']}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"
    name = f"servers_{secrets.token_hex(4)}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(database_url: str, *args: str) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database_url,
        "DJANGO_SECRET_KEY": "live-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "API_KEY_PEPPER": "test-only-pepper",
    }
    result = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def api_user(database_url: str, name: str, role: str) -> dict:
    out = manage(
        database_url, "create_api_user", name, "--account", "Acme", "--role", role, "--json"
    )
    return json.loads(out.strip().splitlines()[-1])


def call(port: int, method: str, path: str, key: str, body=None, **headers):
    connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"JWT {key}", **headers}
    if body is not None:
        headers["Content-Type"] = "application/json"
        body = json.dumps(body)
    try:
        connection_.request(method, path, body=body, headers=headers)
        response = connection_.getresponse()
        data = response.read()
        return response.status, dict(response.getheaders()), json.loads(data) if data else None
    finally:
        connection_.close()


def test_two_servers_share_one_postgresql_and_one_redis(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("Runs in the PostgreSQL pass: DATABASE_URL=postgres://... make test")
    redis_url = require_redis()
    with fresh_database() as database_url:
        manage(database_url, "migrate", "--no-input", "-v0")
        owner = api_user(database_url, "owner", "Owner")
        counter = api_user(database_url, "counter", "Auditor")
        target = api_user(database_url, "target", "Developer")
        env = {
            "DATABASE_URL": database_url,
            "API_KEY_PEPPER": "test-only-pepper",
            "REDIS_URL": redis_url,
            "THROTTLE_API_KEY": f"{LIMIT}/hour",
            "API_KEY_ROTATION_GRACE_SECONDS": "2",
        }
        with gunicorn(tmp_path, **env) as one, gunicorn(tmp_path, **env) as other:
            ports = [one, other]
            path = f"/api-users/{target['id']}/"

            # 20 PATCHes carrying one ETag, spread over both servers: exactly one applies.
            _, headers, _ = call(one, "GET", path, owner["key"])
            tag = headers["ETag"]
            results = [None] * RACERS
            barrier = threading.Barrier(RACERS)

            def race(index):
                barrier.wait()
                results[index] = call(
                    ports[index % 2],
                    "PATCH",
                    path,
                    owner["key"],
                    {"name": f"racer-{index}"},
                    **{"If-Match": tag},
                )[0]

            threads = [threading.Thread(target=race, args=(i,)) for i in range(RACERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            _, _, after = call(other, "GET", path, owner["key"])

            # The per-key limit counts the requests of both servers.
            counted = [call(ports[i % 2], "GET", path, counter["key"])[0] for i in range(LIMIT)]
            over = [call(port, "GET", path, counter["key"])[0] for port in ports]

            # A key rotated through one server works on the other for its grace period only.
            status, _, rotated = call(one, "POST", f"{path}rotate-key/", owner["key"])
            during = call(other, "GET", path, target["key"])[0]
            time.sleep(2.5)
            after_grace = call(other, "GET", path, target["key"])[0]
            new_key = call(other, "GET", "/api-users/", rotated["key"])[0]

    assert sorted(results) == [200] + [412] * (RACERS - 1)
    assert after["name"] == f"racer-{results.index(200)}"
    assert counted == [200] * LIMIT
    assert over == [429, 429]
    assert status == 201
    assert (during, after_grace) == (403, 401)  # a Developer may not read; then no key at all
    assert new_key == 403
