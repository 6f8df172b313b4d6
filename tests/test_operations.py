"""The service as an operator runs it: gunicorn's workers share their metrics, and a database
outage is a quick JSON 503 that ends by itself when the database is back."""

import contextlib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .live import ROOT, free_port, get, gunicorn

pytestmark = pytest.mark.live

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def test_metrics_sum_the_requests_of_every_worker(tmp_path):
    """Requests are sent, eight at a time, until both workers have served some (each then has
    a counter file of its own); /metrics counts every one of them."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_99999.db").write_bytes(b"left over from an earlier run")
    env = {"METRICS_ENABLED": "true", "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    statuses = []
    with gunicorn(tmp_path, "-w", "2", **env) as port, ThreadPoolExecutor(8) as pool:
        while len(list(folder.glob("counter_*.db"))) < 2 and len(statuses) < 800:
            statuses += pool.map(lambda _: get(port, "/api-users/")[0], range(8))
        status, body = get(port, "/metrics")
        workers = {path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}

    assert set(statuses) == {401}
    assert len(workers) == 2 and "99999" not in workers
    assert status == 200
    counted = re.findall(
        r'^http_requests_total\{method="GET",route="api-users/",status="401"\} (\S+)$',
        body.decode(),
        re.MULTILINE,
    )
    assert [float(count) for count in counted] == [len(statuses)]


@contextlib.contextmanager
def throwaway_postgres():
    """A PostgreSQL server of its own, in a temporary folder, run by the postgres user (initdb
    refuses root); yields its port and a function that stops or starts it."""
    if not PG_BIN or shutil.which("runuser") is None:
        pytest.skip("Needs PostgreSQL's server programs (/usr/lib/postgresql/*/bin) and runuser")
    bin_dir = Path(PG_BIN[-1])
    folder = Path(tempfile.mkdtemp(prefix="pg-outage-"))
    shutil.chown(folder, "postgres")
    data, port = folder / "data", free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def pg_ctl(action: str) -> None:
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [bin_dir / "pg_ctl", action, "-D", data, "-w", "-m", "immediate"]
        if action == "start":
            command = [bin_dir / "pg_ctl", action, "-D", data, "-w", "-o", options]
        command += ["-l", folder / "server.log"]
        subprocess.run([*as_postgres, *map(str, command)], check=True, capture_output=True)

    try:
        initdb = [bin_dir / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "--no-sync"]
        subprocess.run(
            [*as_postgres, *map(str, initdb)],
            check=True,
            capture_output=True,
        )
        pg_ctl("start")
        yield port, pg_ctl
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            pg_ctl("stop")
        shutil.rmtree(folder, ignore_errors=True)


# A request that must read the database: its key is looked up.
BAD_KEY = {"Authorization": "JWT 11111111.1111111111111111111111111111111111111111"}


def timed_get(port: int, path: str) -> tuple[int, dict, float]:
    began = time.monotonic()
    status, body = get(port, path, **BAD_KEY)
    return status, json.loads(body), time.monotonic() - began


def test_a_database_outage_is_a_quick_503_and_ends_by_itself(tmp_path):
    with throwaway_postgres() as (pg_port, pg_ctl):
        env = {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pg_port}/postgres",
            "DATABASE_CONNECT_TIMEOUT": "2",
        }
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SECRET_KEY": "outage-test", **env},
            capture_output=True,
            text=True,
        )
        assert migrate.returncode == 0, migrate.stderr
        with gunicorn(tmp_path, **env) as port:
            assert timed_get(port, "/readyz")[:2] == (
                200,
                {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}},
            )
            assert get(port, "/api-users/", **BAD_KEY)[0] == 401

            pg_ctl("stop")
            down = [timed_get(port, path) for path in ("/readyz", "/api-users/", "/healthz")]

            pg_ctl("start")
            back = [timed_get(port, path) for path in ("/readyz", "/api-users/")]

    (ready, ready_body, ready_time), (api, api_body, api_time), (health, _, _) = down
    assert ready == 503
    assert ready_body["status"] == "unavailable"
    assert ready_body["checks"]["database"].startswith("unavailable (")
    assert ready_time < 4
    assert (api, api_body) == (
        503,
        {"detail": "The service is temporarily unavailable. Try again later."},
    )
    assert api_time < 4
    assert health == 200
    assert [(status, body) for status, body, _ in back] == [
        (200, {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}),
        (401, {"detail": "Incorrect authentication credentials."}),
    ]
