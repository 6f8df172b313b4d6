"""Django's PostgreSQL backend, with one change: the check a pooled connection passes before a
request gets it (settings.py names this backend as the ENGINE).

A connection that the server has closed (a restart, `pg_terminate_backend`, an idle timeout)
must not reach a request, which would fail on it. psycopg_pool's own check, which Django's
CONN_HEALTH_CHECKS turns on, asks the server: one empty round trip per request. This one looks
at the socket instead: an idle connection has nothing to read, and one the server closed has its
goodbye to read (an error message, then the end of the stream). Anything readable makes the
connection unusable, and the pool replaces it. A server that vanished without closing anything
(its machine lost) is seen by neither check until a statement times out.
"""

import select

import psycopg
from django.db.backends.postgresql import base


def check_connection(conn: psycopg.Connection) -> None:
    """Raise if `conn`, idle in the pool, is closed or has something to read; it is closed
    then, so that the pool replaces it rather than keeping it."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("The pooled connection is closed.")
    # poll, not select: it takes any descriptor number, however many files are open.
    poller = select.poll()
    poller.register(conn.pgconn.socket, select.POLLIN)
    if poller.poll(0):
        conn.close()
        raise psycopg.OperationalError("The server closed the pooled connection.")


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self):
        pool = super().pool
        # Django hands psycopg_pool its round-trip check or none (CONN_HEALTH_CHECKS off, as
        # here); psycopg_pool reads the check from this attribute on each checkout.
        if pool is not None:
            pool._check = check_connection
        return pool
