"""Every error answer is JSON (docs/decisions.md, "Errors"), whatever DEBUG is."""

import http.client
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.admindocs.views import extract_views_from_urlpatterns, simplify_regex
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import (
    IntegrityError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
)
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django.urls import get_resolver
from rest_framework.test import APIClient

from apiusers.ids import new_id
from apiusers.models import Label, User
from apiusers.services import history

from .conftest import client_for, url
from .factories import (
    AccountFactory,
    ApiUserFactory,
    LabelFactory,
    TargetFactory,
    TeamFactory,
    api_user_with_key,
)

pytestmark = pytest.mark.django_db

NOT_FOUND = {"detail": "Not found."}
UNEXPECTED = {"detail": "Unexpected error while handling your request."}
UNAVAILABLE = {"detail": "The service is temporarily unavailable. Try again later."}
TOO_LARGE = {"detail": "Request body is too large."}
ALLOW = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS"


def assert_json_error(response, status: int, body: dict) -> None:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == body


def label_names(user: User) -> list[str]:
    return sorted(User.objects.get(pk=user.pk).labels.values_list("name", flat=True))


def fail_statements(predicate):
    """An execute wrapper (Django's database instrumentation hook) that raises the error a lost
    database connection raises, for every statement `predicate(sql)` selects."""

    def wrapper(execute, sql, params, many, context):
        if predicate(sql):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    return wrapper


# 404 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/nope/",
        "/api-users",
        "/api-users/abc/",
        # Base58 has no 0, O, I or l: twelve characters, but not an id.
        "/api-users/0OIl0OIl0OIl/",
        # No APPEND_SLASH redirect that would drop a PATCH body.
        "/api-users/abcdefghijkm",
    ],
)
@pytest.mark.parametrize("method", ["get", "patch"])
def test_unknown_route_is_a_json_404(admin_client, path, method):
    response = getattr(admin_client, method)(path, {"name": "x"} if method == "patch" else None)

    assert_json_error(response, 404, NOT_FOUND)


def test_unknown_route_is_a_json_404_without_credentials():
    assert_json_error(APIClient().get("/nope"), 404, NOT_FOUND)


def test_unknown_route_is_a_json_404_with_debug_on(admin_client, settings):
    settings.DEBUG = True

    response = admin_client.get("/nope", HTTP_ACCEPT="text/html")

    assert_json_error(response, 404, NOT_FOUND)


@pytest.mark.parametrize("method", ["get", "patch"])
def test_missing_api_user_is_a_json_404(admin_client, method):
    response = getattr(admin_client, method)(url(new_id()), {"name": "x"})

    assert_json_error(response, 404, NOT_FOUND)


@pytest.mark.parametrize("method", ["get", "patch"])
def test_foreign_api_user_answers_exactly_like_a_missing_one(
    admin_client, foreign_api_user, method
):
    body = {"name": "taken-over", "labels": [{"name": "x", "color": "#000000"}]}

    same = {"HTTP_X_REQUEST_ID": "same-request-id"}
    foreign = getattr(admin_client, method)(url(foreign_api_user), body, **same)
    missing = getattr(admin_client, method)(url(new_id()), body, **same)

    assert foreign.status_code == missing.status_code == 404
    assert dict(foreign.headers) == dict(missing.headers)
    assert foreign.content == missing.content
    assert json.loads(foreign.content) == NOT_FOUND
    foreign_api_user.refresh_from_db()
    assert foreign_api_user.name == "their-bot"
    assert not Label.objects.filter(name="x").exists()


# 401 and 403 --------------------------------------------------------------------------------


def test_no_credentials_is_a_json_401(api_user):
    response = APIClient().get(url(api_user))

    assert_json_error(response, 401, {"detail": "Authentication credentials were not provided."})
    assert response["WWW-Authenticate"] == "JWT"


def test_wrong_key_is_a_json_401(api_user):
    response = client_for("not-a-key").patch(url(api_user), {"name": "x"})

    assert_json_error(response, 401, {"detail": "Incorrect authentication credentials."})
    assert response["WWW-Authenticate"] == "JWT"


def test_role_without_permission_is_a_json_403(account, api_user):
    _, key = api_user_with_key(account, "Developer")

    response = client_for(key).patch(url(api_user), {"name": "x"})

    assert_json_error(
        response, 403, {"detail": "You do not have permission to perform this action."}
    )


# 405 ----------------------------------------------------------------------------------------


def test_unsupported_method_is_a_json_405_with_allow(admin_client, api_user):
    response = admin_client.post(url(api_user), {"name": "x"})

    assert_json_error(response, 405, {"detail": 'Method "POST" not allowed.'})
    assert response["Allow"] == ALLOW
    api_user.refresh_from_db()
    assert api_user.name == "ci-bot"


def test_unsupported_method_on_a_missing_id_is_still_405(admin_client):
    response = admin_client.post(url(new_id()), {"name": "x"})

    assert_json_error(response, 405, {"detail": 'Method "POST" not allowed.'})
    assert response["Allow"] == ALLOW


def test_unsupported_method_on_a_collection_is_a_json_405(admin_client):
    response = admin_client.delete("/api-users/")

    assert_json_error(response, 405, {"detail": 'Method "DELETE" not allowed.'})
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"


# OPTIONS ------------------------------------------------------------------------------------

# Pages for people, where Django answers OPTIONS itself (an empty page, or a redirect to log in).
HTML_PREFIXES = ("/admin/", "/api-auth/")


def every_route() -> list[str]:
    """Every path of the URL configuration, with its parameters as `<name>`."""
    return sorted(
        {
            simplify_regex(regex)
            for _, regex, _, _ in extract_views_from_urlpatterns(get_resolver().url_patterns)
        }
    )


@pytest.fixture
def route_ids(account, api_user) -> dict:
    """The id a route's `<pk>` takes, by the path before it: an object of the caller's account."""
    return {
        "/api-users/<api_user_id>/roles/": api_user.user_roles.get().id,
        "/api-users/": api_user.id,
        "/labels/users/": api_user.labels.first().id,
        "/roles/": api_user.user_roles.get().role_id,
        "/teams/": TeamFactory(account=account).id,
        "/targets/": TargetFactory(account=account).id,
    }


def concrete(route: str, api_user, route_ids: dict) -> str:
    def value(match):
        if match["name"] == "pk":
            return next(pk for prefix, pk in route_ids.items() if route.startswith(prefix))
        return api_user.id

    return re.sub(r"<(?:\w+:)?(?P<name>\w+)>", value, route)


def test_every_route_answers_options_without_a_server_error(admin_client, api_user, route_ids):
    admin_client.raise_request_exception = False
    routes = every_route()
    assert "/api-users/roles/bulk/create/" in routes
    assert "/docs/" in routes

    answers = {
        route: admin_client.options(concrete(route, api_user, route_ids)) for route in routes
    }

    assert {route: r.status_code for route, r in answers.items() if r.status_code >= 500} == {}
    assert {
        route: r["Content-Type"]
        for route, r in answers.items()
        if not route.startswith(HTML_PREFIXES) and r["Content-Type"] != "application/json"
    } == {}


@pytest.mark.parametrize(
    ("path", "serializer_field"),
    [
        ("/api-users/roles/bulk/", "delete"),
        ("/api-users/roles/bulk/create/", "api_users"),
        ("/api-users/roles/bulk/delete/", "ids"),
        ("/api-users/roles/bulk/update/", "user_roles"),
    ],
)
def test_options_of_a_bulk_role_route_describes_its_post(admin_client, path, serializer_field):
    response = admin_client.options(path)

    assert response.status_code == 200
    assert serializer_field in response.json()["actions"]["POST"]


# 413 ----------------------------------------------------------------------------------------


def test_json_body_over_the_limit_is_a_json_413(admin_client, api_user, settings):
    name = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = admin_client.patch(url(api_user), {"name": name})

    assert_json_error(response, 413, TOO_LARGE)
    api_user.refresh_from_db()
    assert api_user.name == "ci-bot"


def test_multipart_body_with_a_big_file_part_is_a_json_413(admin_client, api_user, settings):
    upload = SimpleUploadedFile(
        "big.bin", b"\0" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "application/octet-stream"
    )

    response = admin_client.patch(
        url(api_user), {"name": "renamed", "file": upload}, format="multipart"
    )

    assert_json_error(response, 413, TOO_LARGE)
    api_user.refresh_from_db()
    assert api_user.name == "ci-bot"


def test_body_over_the_limit_is_a_json_413_even_without_credentials(api_user, settings):
    response = APIClient().patch(
        url(api_user), {"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    )

    assert_json_error(response, 413, TOO_LARGE)


def test_form_with_too_many_fields_is_a_json_400(admin_client, api_user, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"f{i}=1" for i in range(11))

    response = admin_client.patch(
        url(api_user), body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


# Chunked bodies -----------------------------------------------------------------------------
#
# A body sent with `Transfer-Encoding: chunked` has no Content-Length. gunicorn hands it over
# dechunked, and says so with `wsgi.input_terminated`; a server that does not say so gets 411.

LENGTH_REQUIRED = {"detail": "A chunked body needs Content-Length on this server."}


def chunked(client, method: str, path: str, body: bytes, content_type: str, terminated=True):
    """A request as a WSGI server passes on a chunked one: no CONTENT_LENGTH, the body in
    wsgi.input."""
    client.raise_request_exception = False
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_TYPE": content_type,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(body),
    }
    if terminated:
        environ["wsgi.input_terminated"] = True
    return client.request(**environ)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"name": "renamed", "labels": [{"name": "new", "color": ""}]}', "application/json"),
        (b"name=renamed&labels[0]name=new&labels[0]color=", "application/x-www-form-urlencoded"),
        (
            encode_multipart(
                BOUNDARY, {"name": "renamed", "labels[0]name": "new", "labels[0]color": ""}
            ),
            MULTIPART_CONTENT,
        ),
    ],
    ids=["json", "form", "multipart"],
)
def test_chunked_patch_is_applied(admin_client, api_user, body, content_type):
    response = chunked(admin_client, "PATCH", url(api_user), body, content_type)

    assert response.status_code == 200, response.content
    assert (response.json()["name"], label_names(api_user)) == ("renamed", ["new"])


def test_chunked_post_creates(admin_client, account):
    response = chunked(
        admin_client, "POST", "/api-users/", b'{"name": "chunky"}', "application/json"
    )

    assert response.status_code == 201, response.content
    assert User.objects.get(pk=response.json()["id"]).name == "chunky"


def test_chunked_body_at_the_limit_is_read_and_one_byte_more_is_a_json_413(
    admin_client, api_user, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = b'{"name": "renamed"}'.ljust(100)

    assert (
        chunked(admin_client, "PATCH", url(api_user), body, "application/json").json()["name"]
        == "renamed"
    )
    response = chunked(admin_client, "PATCH", url(api_user), body + b" ", "application/json")

    assert_json_error(response, 413, TOO_LARGE)


def test_chunked_body_over_the_limit_is_a_json_413_and_changes_nothing(admin_client, api_user):
    body = b'{"name": "' + b"x" * 3 * 1024 * 1024 + b'"}'

    response = chunked(admin_client, "PATCH", url(api_user), body, "application/json")

    assert_json_error(response, 413, TOO_LARGE)
    assert User.objects.get(pk=api_user.pk).name == "ci-bot"


def test_chunked_body_is_a_json_411_when_the_server_does_not_end_it(admin_client, api_user):
    response = chunked(
        admin_client, "PATCH", url(api_user), b'{"name": "x"}', "application/json", False
    )

    assert_json_error(response, 411, LENGTH_REQUIRED)
    assert User.objects.get(pk=api_user.pk).name == "ci-bot"


# Through gunicorn, as production serves it: raw chunked requests on a socket.

GUNICORN_PORTS = range(18150, 18200)
ROOT = Path(__file__).resolve().parent.parent


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    port = next((port for port in GUNICORN_PORTS if not listening(port)), None)
    if port is None:
        pytest.skip("No free port in 18150-18199 for gunicorn.")
    return port


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    """gunicorn serving the app on its own SQLite database, and an Admin key of it."""
    env = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('gunicorn') / 'db.sqlite3'}",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [*manage, "create_api_user", "chunky", "--account", "Acme", "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "probely.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not listening(port):
            assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield port, json.loads(created.stdout)
    finally:
        server.terminate()
        server.wait(timeout=10)


def send(port: int, key: str, method: str, path: str, chunks=None, content_type=None):
    """One request; a body is sent in chunks (`Transfer-Encoding: chunked`), without length."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"JWT {key}"}
    if chunks is not None:
        headers.update({"Content-Type": content_type, "Transfer-Encoding": "chunked"})
    try:
        connection.request(method, path, body=chunks, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("chunks", "content_type"),
    [
        (
            [b'{"name": ', b'"renamed", "labels": [{"name": "new", ', b'"color": ""}]}'],
            "application/json",
        ),
        (
            [b"name=renamed&labels[0]", b"name=new&labels[0]color="],
            "application/x-www-form-urlencoded",
        ),
        (
            [
                encode_multipart(
                    BOUNDARY, {"name": "renamed", "labels[0]name": "new", "labels[0]color": ""}
                )
            ],
            MULTIPART_CONTENT,
        ),
    ],
    ids=["json", "form", "multipart"],
)
def test_gunicorn_applies_a_chunked_patch(gunicorn, chunks, content_type):
    port, created = gunicorn
    path = url(created["id"])

    status, media_type, body = send(port, created["key"], "PATCH", path, chunks, content_type)

    assert (status, media_type) == (200, "application/json"), body
    assert (body["name"], [label["name"] for label in body["labels"]]) == ("renamed", ["new"])
    assert send(port, created["key"], "GET", path)[2] == body


def test_gunicorn_creates_from_a_chunked_post(gunicorn):
    port, created = gunicorn

    status, _, body = send(
        port,
        created["key"],
        "POST",
        "/api-users/",
        [b'{"name": "chunk', b'ed"}'],
        "application/json",
    )

    assert status == 201, body
    assert send(port, created["key"], "GET", url(body["id"]))[2]["name"] == "chunked"


def test_gunicorn_answers_a_chunked_body_over_the_limit_with_a_json_413(gunicorn):
    port, created = gunicorn
    path = url(created["id"])
    before = send(port, created["key"], "GET", path)[2]
    chunks = [b'{"name": "', *[b"x" * 1024 * 1024] * 3, b'"}']

    status, media_type, body = send(port, created["key"], "PATCH", path, chunks, "application/json")

    assert (status, media_type, body) == (413, "application/json", TOO_LARGE)
    assert send(port, created["key"], "GET", path)[2] == before


# 415 ----------------------------------------------------------------------------------------


def test_text_plain_body_is_a_json_415(admin_client, api_user):
    response = admin_client.patch(url(api_user), "name=x", content_type="text/plain")

    assert_json_error(response, 415, {"detail": 'Unsupported media type "text/plain" in request.'})


def test_json_in_another_charset_is_a_json_415(admin_client, api_user):
    response = admin_client.patch(
        url(api_user), b'{"name": "x"}', content_type="application/json; charset=latin-1"
    )

    assert response.status_code == 415
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


# Bad Host header ----------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_disallowed_host_is_a_json_400(admin_client, api_user, settings, debug):
    settings.DEBUG = debug

    response = admin_client.get(url(api_user), HTTP_HOST="evil.example")

    assert_json_error(response, 400, {"detail": "Bad request."})


# 500 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_error_in_patch_is_the_documented_json_500(
    admin_client, api_user, settings, caplog, debug
):
    settings.DEBUG = debug

    with mock.patch("apiusers.views.api_users.api_user_update", side_effect=RuntimeError("boom")):
        response = admin_client.patch(url(api_user), {"name": "x"})

    assert_json_error(response, 500, UNEXPECTED)
    assert b"boom" not in response.content
    assert b"Traceback" not in response.content
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert any(record.exc_info and record.exc_info[0] is RuntimeError for record in errors)


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_error_in_get_is_the_documented_json_500(
    admin_client, api_user, settings, debug
):
    settings.DEBUG = debug

    with mock.patch("apiusers.representation.pending_api_users", side_effect=RuntimeError("boom")):
        response = admin_client.get(url(api_user), HTTP_ACCEPT="application/json")

    assert_json_error(response, 500, UNEXPECTED)


@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_error_outside_the_view_is_the_documented_json_500(
    admin, api_user, settings, debug
):
    """An error raised in a middleware never reaches DRF's handler; Django answers it with its
    own page, which must still be the documented JSON."""
    settings.DEBUG = debug
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"JWT {admin[1]}")

    with mock.patch(
        "django.middleware.common.CommonMiddleware.process_request",
        side_effect=RuntimeError("boom"),
    ):
        response = client.patch(url(api_user), {"name": "x"})

    assert_json_error(response, 500, UNEXPECTED)


def test_a_500_leaves_no_half_applied_write(admin_client, api_user):
    """The labels are replaced and the user saved, then recording the history fails: the whole
    PATCH is rolled back."""
    during_the_request = []

    def labels_set_then_save_fails(*args, **kwargs):
        during_the_request.append(label_names(api_user))
        raise RuntimeError("boom")

    with mock.patch.object(history, "record_many", side_effect=labels_set_then_save_fails):
        response = admin_client.patch(
            url(api_user),
            {"name": "renamed", "labels": [{"name": "new", "color": "#000000"}]},
        )

    assert_json_error(response, 500, UNEXPECTED)
    assert during_the_request == [["new"]]
    assert label_names(api_user) == ["ci", "prod"]
    assert not Label.objects.filter(name="new").exists()
    api_user.refresh_from_db()
    assert api_user.name == "ci-bot"


# 503 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "patch"])
def test_database_unreachable_is_a_json_503(admin_client, api_user, method):
    with connection.execute_wrapper(fail_statements(lambda sql: True)):
        response = getattr(admin_client, method)(url(api_user), {"name": "x"})

    assert_json_error(response, 503, UNAVAILABLE)


def test_database_unreachable_with_debug_on_is_a_json_503(admin_client, api_user, settings):
    settings.DEBUG = True

    with connection.execute_wrapper(fail_statements(lambda sql: True)):
        response = admin_client.get(url(api_user), HTTP_ACCEPT="application/json")

    assert_json_error(response, 503, UNAVAILABLE)


def test_database_lost_at_the_last_write_is_a_503_that_leaves_nothing_half_applied(
    admin_client, api_user
):
    update_user = f'UPDATE "{User._meta.db_table}"'

    with connection.execute_wrapper(fail_statements(lambda sql: sql.startswith(update_user))):
        response = admin_client.patch(
            url(api_user),
            {"name": "renamed", "labels": [{"name": "new", "color": "#000000"}]},
        )

    assert_json_error(response, 503, UNAVAILABLE)
    assert label_names(api_user) == ["ci", "prod"]
    assert not Label.objects.filter(name="new").exists()
    api_user.refresh_from_db()
    assert api_user.name == "ci-bot"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_connection_killed_mid_write_is_a_503_then_the_service_recovers():
    """The database ends the request's connection in the middle of the write (pg_terminate_backend
    from a second connection). The answer is a JSON 503, the transaction is rolled back, and once
    the request is over the next one is served again."""
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    account = AccountFactory()
    admin, key = api_user_with_key(account, "Admin")
    user = ApiUserFactory(account=account, name="ci-bot")
    user.labels.set([LabelFactory(account=account, name="ci", changed_by=admin)])
    client = client_for(key)
    update_user = f'UPDATE "{User._meta.db_table}"'
    killer = connections.create_connection("default")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()

    def kill_own_backend_then_execute(execute, sql, params, many, context):
        if sql.startswith(update_user):
            with killer.cursor() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(kill_own_backend_then_execute):
            response = client.patch(
                url(user), {"name": "renamed", "labels": [{"name": "new", "color": "#000000"}]}
            )
    finally:
        killer.close()

    assert_json_error(response, 503, UNAVAILABLE)
    close_old_connections()  # what Django does when a request ends
    assert label_names(user) == ["ci"]
    assert not Label.objects.filter(name="new").exists()
    assert User.objects.get(pk=user.pk).name == "ci-bot"
    assert client.get(url(user)).status_code == 200


def test_a_write_that_loses_a_race_on_a_constraint_is_a_json_409(admin_client, api_user):
    with mock.patch(
        "apiusers.views.api_users.api_user_update", side_effect=IntegrityError("FK violated")
    ):
        response = admin_client.patch(url(api_user), {"name": "x"})

    assert_json_error(
        response, 409, {"detail": "The request conflicts with a concurrent change. Try again."}
    )
