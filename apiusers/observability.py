"""What operators see: health probes, one log line per request with its request id, and
Prometheus metrics.

`ObservabilityMiddleware` is the first middleware. It answers /healthz, /readyz and /metrics
itself, before Django validates the Host header (load balancers probe by address), redirects
to HTTPS or authenticates anything, and without a log line. Every other request gets a request
id (the client's `X-Request-ID` when it is a short token, else a fresh one) that every log
record of the request carries and the answer echoes, then one log line and its metrics.
"""

import hmac
import logging
import os
import re
import time
import uuid
from typing import cast

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse, JsonResponse
from django.utils.functional import SimpleLazyObject, empty
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from . import __version__, throttling
from .logs import request_id
from .metrics import LATENCY, QUERIES, REQUESTS
from .middleware import DETAILS, json_error

logger = logging.getLogger("apiusers.requests")

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

# A route that matched no URL pattern, a method of no route: one label value each, whatever
# the client sent, so that it cannot grow the metrics without bound.
UNMATCHED = "<unmatched>"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def route_of(request) -> str:
    """The URL pattern the request matched (`api-users/<pk>/`), never the raw path, so that
    logs and metrics group by route and ids do not become label values."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.route is None:
        # WhiteNoise answers static files before any URL is matched.
        return "static/" if request.path_info.startswith(settings.STATIC_URL) else UNMATCHED
    return pattern_text(match.route) or "/"


def pattern_text(route: str) -> str:
    """A router's regular expression written as a path() route: `^api-users/(?P<pk>[^/.]+)/$`
    gives `api-users/<pk>/`."""
    out, depth, index = [], 0, 0
    while index < len(route):
        char = route[index]
        if char == "\\" and index + 1 < len(route):
            if depth == 0:
                out.append(route[index + 1])
            index += 2
            continue
        if char == "(":
            if depth == 0:
                name = re.match(r"\(\?P<(\w+)>", route[index:])
                out.append(f"<{name.group(1)}>" if name else "<>")
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0 and char not in "^$":
            out.append(char)
        index += 1
    return "".join(out)


def caller_ids(request) -> dict:
    """The caller's account id and API-user id (a person's user id), when the request
    authenticated one. A session user that nothing has looked at yet stays unread: reading it
    would cost a query."""
    user = getattr(request, "user", None)
    # `_wrapped` is LazyObject's, absent from its stubs.
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # type: ignore[attr-defined]
        return {}
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    return {"account_id": user.account_id, "api_user_id" if user.is_apiuser else "user_id": user.id}


class QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class ObservabilityMiddleware:
    """The first middleware (module docstring): probes, then request id, log line, metrics."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.probes = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}

    def __call__(self, request):
        probe = self.probes.get(request.path_info)
        if probe is not None:
            return probe(request)

        sent = request.META.get("HTTP_X_REQUEST_ID", "")
        token = request_id.set(sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex)
        queries = QueryCounter()
        began = time.perf_counter()
        try:
            with connection.execute_wrapper(queries):
                response = self.get_response(request)
            duration = time.perf_counter() - began
            route = route_of(request)
            method = request.method if request.method in METHODS else "other"
            response[REQUEST_ID_HEADER] = request_id.get()
            logger.info(
                "%s %s %s %.1fms",
                method,
                route,
                response.status_code,
                duration * 1000,
                extra={
                    "method": method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(duration * 1000, 1),
                    "db_queries": queries.count,
                    **caller_ids(request),
                },
            )
            REQUESTS.labels(method, route, str(response.status_code)).inc()
            LATENCY.labels(route).observe(duration)
            QUERIES.observe(queries.count)
            return response
        finally:
            request_id.reset(token)


def healthz(request):
    """The process answers. Nothing else is looked at: a database outage must not make the
    orchestrator restart every server."""
    return JsonResponse({"status": "ok", "version": __version__})


def readyz(request):
    """Whether this server can serve: the database answers and has every migration applied,
    and Redis answers when REDIS_URL is set. 503 names the checks that failed."""
    checks = {"database": check_database()}
    if checks["database"] == "ok":
        checks["migrations"] = check_migrations()
    if settings.REDIS_URL:
        checks["redis"] = check_redis()
    ready = all(result == "ok" for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return f"unavailable ({exc.__class__.__name__})"
    return "ok"


_migrated = False


def check_migrations() -> str:
    """Once every migration is applied it stays so for the life of the process: the check,
    which reads the migration files, then costs nothing."""
    global _migrated
    if _migrated:
        return "ok"
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        return f"unavailable ({exc.__class__.__name__})"
    if plan:
        return f"{len(plan)} not applied"
    _migrated = True
    return "ok"


def check_redis() -> str:
    try:
        # Called only when REDIS_URL is set, so the store is Redis.
        cast(throttling.RedisStore, throttling.store()).client.ping()
    except throttling.RedisStore.errors as exc:
        return f"unavailable ({exc.__class__.__name__})"
    return "ok"


def metrics(request):
    """Prometheus' text format, when METRICS_ENABLED. Meant for the internal network (the
    reverse proxy does not route it); METRICS_TOKEN, when set, must come as a bearer token.
    With PROMETHEUS_MULTIPROC_DIR set, the sum over every gunicorn worker."""
    if not settings.METRICS_ENABLED:
        return json_error(DETAILS[404], 404)
    if settings.METRICS_TOKEN:
        sent = request.META.get("HTTP_AUTHORIZATION", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {settings.METRICS_TOKEN}".encode()):
            response = json_error("Send the metrics token: Authorization: Bearer <token>.", 401)
            response["WWW-Authenticate"] = "Bearer"
            return response
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
