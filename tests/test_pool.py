"""The pool's check before a request gets a connection (apiusers/postgresql)."""

import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from apiusers.postgresql.base import check_connection

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="The pool is PostgreSQL's."
)


@pytest.fixture
def idle():
    conn = psycopg.connect(dsn(), autocommit=True)
    yield conn
    conn.close()


def dsn() -> str:
    db = settings.DATABASES["default"]
    return psycopg.conninfo.make_conninfo(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432
    )


def test_an_idle_connection_passes_without_a_round_trip(idle):
    idle.execute("SELECT 1")
    before = idle.pgconn.socket
    check_connection(idle)
    check_connection(idle)
    assert idle.pgconn.socket == before
    assert idle.execute("SELECT 2").fetchone() == (2,)


def test_a_connection_the_server_ended_fails(idle):
    pid = idle.info.backend_pid
    with psycopg.connect(dsn(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    deadline = time.monotonic() + 5
    while True:
        try:
            check_connection(idle)
        except psycopg.OperationalError:
            assert idle.closed  # so that the pool replaces it
            break
        assert time.monotonic() < deadline, "the ended connection still passed"
        time.sleep(0.01)


def test_a_closed_connection_fails(idle):
    idle.close()
    with pytest.raises(psycopg.OperationalError):
        check_connection(idle)


@pytest.mark.django_db
def test_the_pool_checks_with_it():
    connection.ensure_connection()
    assert connection.pool._check is check_connection


@pytest.mark.django_db
def test_a_connection_is_left_with_nothing_to_read_by_every_request(admin_client, api_user):
    """Otherwise the check would replace the connection after each such request."""
    labels = [{"name": "ci", "color": "#00FF00"}, {"name": "new", "color": "#0000FF"}]
    requests = [
        lambda: admin_client.get(f"/api-users/{api_user.pk}/"),
        lambda: admin_client.patch(f"/api-users/{api_user.pk}/", {"name": "renamed"}),
        lambda: admin_client.patch(f"/api-users/{api_user.pk}/", {"labels": labels}),
        lambda: admin_client.put(f"/api-users/{api_user.pk}/", {"name": 5, "labels": []}),
        lambda: admin_client.patch("/api-users/111111111111/", {"name": "missing"}),
        lambda: admin_client.get("/api-users/?length=100"),
    ]
    for request in requests:
        assert request().status_code in {200, 400, 404}
        check_connection(connection.connection)
