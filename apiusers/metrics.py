"""The Prometheus metrics the service records (served at /metrics, apiusers/observability.py).

With PROMETHEUS_MULTIPROC_DIR set before this module is imported, each gunicorn worker writes
its values to files there and /metrics sums them over every worker.
"""

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "http_requests",
    "Requests answered, by method, route and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the request reaching Django to its answer, by route.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
QUERIES = Histogram(
    "db_queries_per_request",
    "Database queries made by one request.",
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100),
)
THROTTLED = Counter(
    "throttled_requests", "Requests refused with 429 by a rate limit, by limit.", ["limit"]
)
