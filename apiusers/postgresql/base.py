"""Django's PostgreSQL backend (settings.py names this one as the ENGINE), with two changes:
the check a pooled connection passes before a request gets it, and `json` values read by orjson.

A connection that the server has closed (a restart, `pg_terminate_backend`, an idle timeout)
must not reach a request, which would fail on it. psycopg_pool's own check, which Django's
CONN_HEALTH_CHECKS turns on, asks the server: one empty round trip per request. This one looks
at the socket instead: an idle connection has nothing to read, and one the server closed has its
goodbye to read (an error message, then the end of the stream). Anything readable makes the
connection unusable, and the pool replaces it. A server that vanished without closing anything
(its machine lost) is seen by neither check until a statement times out.
"""

import select

import orjson
import psycopg
import psycopg.types.json
from django.db.backends.postgresql import base

# The representations PostgreSQL builds (apiusers.representation: a page of 100 API users is
# some 100 kB) and the JSON arrays of the key lookup and a write's read are `json` values, which
# psycopg parses with this: the same objects as the standard library's, in half the time.
# (Django reads `jsonb`, JSONField's type, as text and parses it itself.)
psycopg.types.json.set_json_loads(orjson.loads)


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
