"""apiusers/turns.py, as probely/wsgi.py serves it: a server process runs WEB_ACTIVE_REQUESTS
requests at a time, with their bodies read before their turn, and gives the database connection
back when each ends. The tests that touch the database run outside a test transaction, which
giving the connection back would end."""

import io
import json
import sys
import threading

import pytest
from django.db import connection

from apiusers.models import User
from apiusers.turns import Turns
from probely.wsgi import application

from .factories import ApiUserFactory, api_user_with_key

LIMIT = 10
WAIT = 10  # seconds a request waits for its turn


def environ(body: bytes | None = None, stream=None, **meta) -> dict:
    found = {
        "REQUEST_METHOD": "PATCH" if body is not None or stream is not None else "GET",
        "PATH_INFO": "/",
        "wsgi.input": stream if stream is not None else io.BytesIO(body or b""),
        **meta,
    }
    if body is not None:
        found.setdefault("CONTENT_LENGTH", str(len(body)))
    return found


def first_waits(held: threading.Event, release: threading.Event) -> None:
    """The first call holds its turn until released; the ones after it pass."""
    if not held.is_set():
        held.set()
        assert release.wait(10)


class Recorder:
    """An application that notes how many of its calls run at once and the body each read."""

    def __init__(self, inside=lambda: None):
        self.inside, self.lock = inside, threading.Lock()
        self.running = self.most = 0
        self.bodies: list[bytes] = []

    def __call__(self, environ, start_response):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            self.inside()
            self.bodies.append(environ["wsgi.input"].read())
            return [b"done"]
        finally:
            with self.lock:
                self.running -= 1


def call(app, env) -> list[bytes]:
    return app(env, lambda status, headers, exc_info=None: None)


def in_threads(count: int, target) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_one_request_runs_the_application_at_a_time():
    entered = threading.Event()
    recorder = Recorder(inside=lambda: entered.wait(0.05))
    turns = Turns(recorder, 1, WAIT)

    in_threads(4, lambda: call(turns, environ()))

    assert recorder.most == 1
    assert recorder.bodies == [b""] * 4


def test_more_turns_let_more_requests_run_at_once():
    both = threading.Barrier(2, timeout=5)  # broken, and the test failed, if one ran alone
    recorder = Recorder(inside=both.wait)
    turns = Turns(recorder, 2, WAIT)

    in_threads(2, lambda: call(turns, environ()))

    assert recorder.most == 2


def test_the_probes_that_ask_no_database_need_no_turn():
    held, release = threading.Event(), threading.Event()
    recorder = Recorder(inside=lambda: first_waits(held, release))
    turns = Turns(recorder, 1, WAIT)
    busy = threading.Thread(target=call, args=(turns, environ()))
    busy.start()
    try:
        assert held.wait(10)
        for path in ("/healthz", "/metrics"):
            assert call(turns, environ(PATH_INFO=path)) == [b"done"]
        assert recorder.most == 2
    finally:
        release.set()
        busy.join(timeout=10)


def test_a_request_that_waits_too_long_for_its_turn_is_a_503(caplog):
    held, release = threading.Event(), threading.Event()
    recorder = Recorder(inside=lambda: first_waits(held, release))
    turns = Turns(recorder, 1, 0.2)
    busy = threading.Thread(target=call, args=(turns, environ()))
    busy.start()
    answered = []
    try:
        assert held.wait(10)
        body = b"".join(
            turns(environ(b'{"a":1}'), lambda status, headers: answered.append((status, headers)))
        )
    finally:
        release.set()
        busy.join(timeout=10)

    assert answered == [
        (
            "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", "69")],
        )
    ]
    assert json.loads(body) == {
        "detail": "The service is temporarily unavailable. Try again later."
    }
    assert recorder.bodies == [b""]  # the application never saw it
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "PATCH / 503: no turn within 0.2 s")
    ]
    # The turn is free again.
    assert call(turns, environ(b"{}")) == [b"done"]


class SlowBody(io.RawIOBase):
    """A body whose bytes arrive when the test lets them."""

    def __init__(self, body: bytes, arrived: threading.Event):
        self.body, self.arrived = body, arrived

    def read(self, size=-1):
        assert self.arrived.wait(10)
        body, self.body = self.body, b""
        return body


def test_a_slow_body_is_awaited_outside_the_turn():
    arrived = threading.Event()
    recorder = Recorder()
    turns = Turns(recorder, 1, WAIT)
    slow = threading.Thread(
        target=call, args=(turns, environ(stream=SlowBody(b'{"a":1}', arrived), CONTENT_LENGTH="7"))
    )
    slow.start()
    try:
        # Served while the slow request's body has not arrived.
        assert call(turns, environ(b'{"b":2}')) == [b"done"]
        assert recorder.bodies == [b'{"b":2}']
    finally:
        arrived.set()
        slow.join(timeout=10)

    assert recorder.bodies == [b'{"b":2}', b'{"a":1}']


class Unread(io.RawIOBase):
    def read(self, size=-1):
        raise AssertionError("The body was read.")


@pytest.mark.parametrize(
    "meta",
    [
        {"CONTENT_LENGTH": str(LIMIT + 1)},  # BodySizeLimitMiddleware answers 413
        {"CONTENT_LENGTH": "ten"},  # and 400
        {"CONTENT_LENGTH": "0"},
        # Chunked, from a server that does not end the body (411).
        {"HTTP_TRANSFER_ENCODING": "chunked"},
    ],
)
def test_a_body_the_middleware_refuses_unread_is_not_read(settings, meta):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    stream = Unread()
    seen = []

    call(
        Turns(lambda env, start: seen.append(env["wsgi.input"]) or [], 1, WAIT),
        environ(**meta, stream=stream),
    )

    assert seen == [stream]


def test_a_chunked_body_is_read_to_one_byte_past_the_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    recorder = Recorder()
    meta = {"HTTP_TRANSFER_ENCODING": "gzip, Chunked", "wsgi.input_terminated": True}

    call(Turns(recorder, 1, WAIT), environ(stream=io.BytesIO(b"x" * 50), **meta))
    call(Turns(recorder, 1, WAIT), environ(stream=io.BytesIO(b"y" * 4), **meta))

    assert recorder.bodies == [b"x" * (LIMIT + 1), b"y" * 4]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Django never closes SQLite's in-memory test database, whose data would go with it.",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_database_connection_is_given_back_when_the_turn_ends():
    def query(environ, start_response):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connection.connection is not None
        return []

    call(Turns(query, 1, WAIT), environ())

    assert connection.connection is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_patch_through_the_served_application(account):
    """The whole stack as gunicorn calls it: the body, read before the turn, reaches the view."""
    _, key = api_user_with_key(account)
    target = ApiUserFactory(account=account, name="Before")
    body = json.dumps({"name": "After"}).encode()
    answers = []

    chunks = application(
        {
            "REQUEST_METHOD": "PATCH",
            "PATH_INFO": f"/api-users/{target.pk}/",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "HTTP_AUTHORIZATION": f"JWT {key}",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
        },
        lambda status, headers, exc_info=None: answers.append(status),
    )
    shown = json.loads(b"".join(chunks))
    chunks.close()

    assert answers == ["200 OK"]
    assert shown["name"] == "After"
    assert User.objects.get(pk=target.pk).name == "After"
