"""Health probes, request ids, one JSON log line per request, and Prometheus metrics."""

import io
import json
import logging
import re
import uuid

import pytest
from django.db.migrations.executor import MigrationExecutor
from prometheus_client import REGISTRY
from rest_framework.test import APIClient

from apiusers import __version__, observability, throttling
from apiusers.logs import JsonFormatter, RequestIdFilter

from .conftest import client_for, url
from .test_settings import manage
from .test_throttling import require_redis

pytestmark = pytest.mark.django_db

BAD_KEY = "JWT 11111111.1111111111111111111111111111111111111111"


@pytest.fixture
def log_lines():
    """The lines the configured JSON handler writes, as a list that fills while the test runs."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logging.getLogger().removeHandler(handler)


@pytest.fixture
def production_like(settings):
    """What a load balancer meets in production: no host allowed but the service's name, HTTPS
    redirect on, a tight failed-authentication limit."""
    settings.ALLOWED_HOSTS = ["api.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.THROTTLE_FAILED_AUTH = "1/hour"


def probe(path: str, **headers):
    return APIClient().get(path, HTTP_HOST="10.0.0.7", HTTP_AUTHORIZATION=BAD_KEY, **headers)


# Health


def test_healthz_answers_any_host_over_http_unthrottled_and_unlogged(production_like, log_lines):
    answers = [probe("/healthz") for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json() == {"status": "ok", "version": __version__} for a in answers)
    assert log_lines() == []


def test_readyz_checks_the_database_and_migrations(production_like, log_lines):
    answer = probe("/readyz")

    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}
    assert log_lines() == []


def test_readyz_is_503_naming_unapplied_migrations(monkeypatch):
    monkeypatch.setattr(observability, "_migrated", False)
    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [1, 2])

    answer = probe("/readyz")

    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "2 not applied"},
    }


def test_readyz_checks_redis_when_it_is_configured(settings, monkeypatch):
    settings.REDIS_URL = require_redis()
    monkeypatch.setattr(throttling, "_stores", {})

    answer = probe("/readyz")

    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "redis": "ok"},
    }


def test_readyz_is_503_naming_an_unreachable_redis(settings, monkeypatch):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(throttling, "_stores", {})

    answer = probe("/readyz")

    assert answer.status_code == 503
    assert answer.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "migrations": "ok", "redis": "unavailable (ConnectionError)"},
    }


# Request ids and logs


def test_a_short_token_request_id_is_kept_and_echoed(admin_client, api_user):
    answer = admin_client.get(url(api_user), HTTP_X_REQUEST_ID="lb-7f3a.Z_9")

    assert answer.status_code == 200
    assert answer["X-Request-ID"] == "lb-7f3a.Z_9"


@pytest.mark.parametrize("sent", ["", "has space", "x" * 129, "a/b", "é"])
def test_any_other_request_id_is_replaced_by_a_fresh_one(sent, admin_client, api_user):
    answer = admin_client.get(url(api_user), HTTP_X_REQUEST_ID=sent)

    assert answer.status_code == 200
    assert uuid.UUID(answer["X-Request-ID"]).hex == answer["X-Request-ID"]


@pytest.mark.parametrize(
    ("path", "status"), [("/no-such-page/", 404), ("/api-users/", 401), ("/api-users", 404)]
)
def test_error_answers_echo_the_request_id(path, status):
    answer = APIClient().get(path, HTTP_X_REQUEST_ID="req-1")

    assert answer.status_code == status
    assert answer["Content-Type"] == "application/json"
    assert answer["X-Request-ID"] == "req-1"


def test_one_json_line_per_request_with_route_status_and_caller(admin, api_user, log_lines):
    answer = client_for(admin[1]).get(url(api_user), HTTP_X_REQUEST_ID="req-2")

    assert answer.status_code == 200
    (line,) = log_lines()
    assert set(line) == {
        "time",
        "level",
        "logger",
        "message",
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
        "db_queries",
        "account_id",
        "api_user_id",
    }
    assert line["time"].endswith("Z")
    assert line["level"] == "INFO"
    assert line["request_id"] == "req-2"
    assert line["method"] == "GET"
    assert line["route"] == "api-users/<pk>/"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    assert line["db_queries"] > 0
    assert line["account_id"] == admin[0].account_id
    assert line["api_user_id"] == admin[0].id


def test_no_key_authorization_or_body_reaches_the_log(admin, api_user, log_lines):
    secret = "hunter2-Pa55word-never-logged"
    body = {"name": "renamed", "password": secret}
    client_for(admin[1]).patch(url(api_user), body, format="json")
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION=BAD_KEY)
    bad.patch(url(api_user), body, format="json")

    lines = log_lines()
    assert [(line["status"], line["route"]) for line in lines] == [
        (200, "api-users/<pk>/"),
        (401, "api-users/<pk>/"),
    ]
    text = json.dumps(lines)
    for leaked in (admin[1], admin[1].split(".")[0], BAD_KEY.split()[1], secret, "renamed"):
        assert leaked not in text


def test_warnings_carry_the_request_id(settings, monkeypatch, tmp_path, api_user, log_lines):
    monkeypatch.setattr(throttling, "_stores", {})
    settings.THROTTLE_SQLITE_PATH = tmp_path / "throttle.sqlite3"
    settings.THROTTLE_FAILED_AUTH = "1/hour"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=BAD_KEY)

    client.get(url(api_user), HTTP_X_REQUEST_ID="first")
    answer = client.get(url(api_user), HTTP_X_REQUEST_ID="second")

    assert answer.status_code == 429
    warning, request = log_lines()[1:]
    assert warning["level"] == "WARNING"
    assert warning["message"] == "Throttling failed-auth 127.0.0.1 until the window ends."
    assert warning["request_id"] == request["request_id"] == "second"


def test_the_configured_log_is_json_without_debug():
    (handler,) = logging.getLogger().handlers[:1]
    assert isinstance(handler.formatter, JsonFormatter)


def test_development_logs_each_warning_once_as_text():
    """Django's own handler on the "django" logger printed it a second time, bare."""
    script = (
        "import logging; "
        "logging.getLogger('django.request').warning('Something odd'); "
        "logging.getLogger('django.request').error('Something wrong')"
    )
    result = manage("shell", "-c", script, DJANGO_DEBUG="true")

    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert [line.split(" ", 2)[2] for line in lines if "Something" in line] == [
        "ERROR django.request [] Something wrong"
    ]


# Metrics


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0


def test_metrics_are_a_json_404_unless_enabled(settings):
    settings.METRICS_ENABLED = False

    answer = probe("/metrics")

    assert answer.status_code == 404
    assert answer.json() == {"detail": "Not found."}


def test_metrics_count_requests_latency_queries_and_429s(
    settings, monkeypatch, tmp_path, admin_client, api_user
):
    settings.METRICS_ENABLED = True
    monkeypatch.setattr(throttling, "_stores", {})
    settings.THROTTLE_SQLITE_PATH = tmp_path / "throttle.sqlite3"
    settings.THROTTLE_KEY_PREFIX = f"test-{uuid.uuid4().hex}:"
    settings.THROTTLE_FAILED_AUTH = "1/hour"
    route = {"route": "api-users/<pk>/"}
    ok = {"method": "GET", "status": "200", **route}
    before = (
        sample("http_requests_total", **ok),
        sample("http_request_duration_seconds_count", **route),
        sample("db_queries_per_request_count"),
        sample("db_queries_per_request_sum"),
        sample("throttled_requests_total", limit="failed-auth"),
    )

    admin_client.get(url(api_user))
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION=BAD_KEY)
    assert [bad.get(url(api_user)).status_code for _ in range(2)] == [401, 429]
    answer = probe("/metrics")

    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=")
    assert 'http_requests_total{method="GET",route="api-users/<pk>/",status="429"}' in (
        answer.content.decode()
    )
    after = (
        sample("http_requests_total", **ok),
        sample("http_request_duration_seconds_count", **route),
        sample("db_queries_per_request_count"),
        sample("db_queries_per_request_sum"),
        sample("throttled_requests_total", limit="failed-auth"),
    )
    assert after[0] - before[0] == 1
    assert after[1] - before[1] == 3
    assert after[2] - before[2] == 3
    assert after[3] - before[3] > 0
    assert after[4] - before[4] == 1


def test_unmatched_paths_and_unknown_methods_share_one_label_value(settings):
    settings.METRICS_ENABLED = True
    unmatched = {"method": "GET", "route": "<unmatched>", "status": "404"}
    other = {"method": "other", "route": "api-users/", "status": "401"}
    before = sample("http_requests_total", **unmatched), sample("http_requests_total", **other)

    APIClient().get(f"/{uuid.uuid4().hex}/")
    APIClient().generic(f"X{uuid.uuid4().hex[:8].upper()}", "/api-users/")

    assert sample("http_requests_total", **unmatched) - before[0] == 1
    assert sample("http_requests_total", **other) - before[1] == 1


def test_metrics_token_is_required_when_set(settings):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = "scrape-token-0123456789"

    without = APIClient().get("/metrics")
    wrong = APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    right = APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")

    assert without.status_code == wrong.status_code == 401
    assert without.json() == {"detail": "Send the metrics token: Authorization: Bearer <token>."}
    assert without["WWW-Authenticate"] == "Bearer"
    assert right.status_code == 200


def test_development_logs_one_line_per_request():
    """runserver's own line (a warning for a 4xx) repeated the request line."""
    script = (
        "import logging; from django.test import Client; "
        "Client().get('/api-users/', HTTP_HOST='127.0.0.1'); "
        "logging.getLogger('django.server').warning('\"GET /api-users/ HTTP/1.1\" 401 50')"
    )
    result = manage("shell", "-c", script, DJANGO_DEBUG="true")

    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if "api-users" in line]
    assert len(lines) == 1
    assert re.fullmatch(
        r"\S+ \S+ INFO apiusers.requests \[[0-9a-f]{32}\] GET api-users/ 401 [0-9.]+ms", lines[0]
    )
