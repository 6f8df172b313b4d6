"""Turns at the application for the requests of one server process (probely/wsgi.py)."""

import io
import json
import logging
import threading

from django.conf import settings
from django.db import connections

from .bodies import chunked, declared_length, read_at_most
from .exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)

# The probes that never ask the database are answered at once, even while a request holds the
# turn waiting on it: a liveness probe must not fail, and get the server restarted, because the
# database is slow or down. /readyz, which asks it, takes its turn.
WITHOUT_TURN = {"/healthz", "/metrics"}

# As DRF renders the 503 of a request that gets no database connection.
UNAVAILABLE = json.dumps(
    {"detail": ServiceUnavailable.default_detail}, separators=(",", ":")
).encode()


class Turns:
    """Let `at_once` requests of this process run the application at a time; the others wait
    for their turn with their bodies read, for `wait` seconds at most (then a JSON 503, as when
    no database connection comes).

    A worker's threads are there for its clients: one that sends its request slowly holds a
    thread while the others are served (gunicorn.conf.py). Running the application in all of
    them at once bought nothing and cost a quarter of the throughput: a request's work is
    Python, which the threads run one at a time anyway, and the database answers in well under
    a millisecond, so the threads mostly took the interpreter and the cores from each other,
    and spread their statements over as many PostgreSQL sessions. One request at a time on one
    connection answered 25-40% more GETs and PATCHes a second (bench/RESULTS.md).

    The body is read before the turn is taken, so a client that sends it slowly holds its own
    thread only; one larger than DATA_UPLOAD_MAX_MEMORY_SIZE is left unread for
    BodySizeLimitMiddleware to refuse. The request's database connection goes back to the pool
    before the turn ends, so the next request takes the same one.
    """

    def __init__(self, application, at_once: int, wait: float):
        self.application, self.wait = application, wait
        self.turns = threading.Semaphore(at_once)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") in WITHOUT_TURN:
            return self.application(environ, start_response)
        read_body(environ)
        if not self.turns.acquire(timeout=self.wait):
            # Before the middleware that logs and counts requests: said here, or never.
            logger.warning(
                "%s %s 503: no turn within %s s",
                environ["REQUEST_METHOD"],
                environ["PATH_INFO"],
                self.wait,
            )
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(UNAVAILABLE)))],
            )
            return [UNAVAILABLE]
        try:
            return self.application(environ, start_response)
        finally:
            connections.close_all()
            self.turns.release()


def read_body(environ) -> None:
    """Read the request's body now and serve it from memory, unless it is too large to accept
    or its length is malformed, which the middleware answers without reading it."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    stream = environ["wsgi.input"]
    if chunked(environ):
        if not environ.get("wsgi.input_terminated"):
            return
        body = read_at_most(stream, limit)
    else:
        length = declared_length(environ)
        if not length or length < 0 or (limit is not None and length > limit):
            return
        body = stream.read(length)
    environ["wsgi.input"] = io.BytesIO(body)
