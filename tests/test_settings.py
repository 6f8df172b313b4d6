"""Settings from the environment, with production-safe defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from .conftest import url

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_SECRET_KEY": "x7#production-like-secret-key-with-enough-entropy-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgres://app@db.example.com:5432/app",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    settings = ("DJANGO_", "DATABASE_", "THROTTLE_", "REDIS_URL", "TRUSTED_PROXIES")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(settings)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_debug_is_off_unless_asked_for():
    script = (
        "from django.conf import settings; print(settings.DEBUG, settings.SESSION_COOKIE_SECURE)"
    )

    result = manage("shell", "--no-imports", "-c", script, **PRODUCTION)

    assert result.stdout.split() == ["False", "True"]


def test_a_missing_secret_key_is_refused_outside_debug():
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_postgresql_uses_the_connection_pool():
    script = (
        "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['pool'])"
    )

    result = manage("shell", "--no-imports", "-c", script, **PRODUCTION)
    four = manage("shell", "--no-imports", "-c", script, **PRODUCTION, WEB_ACTIVE_REQUESTS="4")
    threads = manage("shell", "--no-imports", "-c", script, **PRODUCTION, WEB_THREADS="2")
    sized = manage("shell", "--no-imports", "-c", script, **PRODUCTION, DATABASE_POOL_MAX_SIZE="1")

    # Kept open: one connection per request a worker runs at once (apiusers/turns.py), one by
    # default. At most: one per thread. A minimum above the maximum made every request fail.
    assert "'min_size': 1, 'max_size': 8," in result.stdout
    assert "'min_size': 4, 'max_size': 8," in four.stdout
    assert "'min_size': 1, 'max_size': 2," in threads.stdout
    assert "'min_size': 1, 'max_size': 1," in sized.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"DATABASE_POOL_MIN_SIZE": "5", "DATABASE_POOL_MAX_SIZE": "4"},
            "DATABASE_POOL_MIN_SIZE (5) must not exceed the pool's maximum size (4: "
            "DATABASE_POOL_MAX_SIZE, else WEB_THREADS).",
        ),
        (
            {"DATABASE_POOL_MAX_SIZE": "0"},
            "DATABASE_POOL_MAX_SIZE must be a whole number of 1 or more, not '0'.",
        ),
        (
            {"WEB_ACTIVE_REQUESTS": "eight"},
            "WEB_ACTIVE_REQUESTS must be a whole number of 1 or more, not 'eight'.",
        ),
        (
            {"WEB_THREADS": "eight"},
            "WEB_THREADS must be a whole number of 1 or more, not 'eight'.",
        ),
        (
            {"WEB_ACTIVE_REQUESTS": "0"},
            "WEB_ACTIVE_REQUESTS must be a whole number of 1 or more, not '0'.",
        ),
        (
            {"AUTH_CACHE_SECONDS": "-1"},
            "AUTH_CACHE_SECONDS must be a whole number of 0 or more, not '-1'.",
        ),
        (
            {"DATABASE_POOL_MIN_SIZE": "-1"},
            "DATABASE_POOL_MIN_SIZE must be a whole number of 0 or more, not '-1'.",
        ),
    ],
)
def test_impossible_pool_sizes_and_turns_are_refused(env, message):
    result = manage("check", **PRODUCTION, **env)

    assert result.returncode != 0
    assert message in result.stderr


def test_rate_limits_and_trusted_proxies_have_safe_defaults():
    script = (
        "from django.conf import settings; "
        "print(settings.THROTTLE_FAILED_AUTH, settings.THROTTLE_API_KEY, "
        "repr(settings.REDIS_URL), settings.TRUSTED_PROXIES)"
    )

    result = manage("shell", "--no-imports", "-c", script, **PRODUCTION)

    assert result.stdout.split() == ["20/minute", "1200/minute", "''", "[]"]


def test_a_verified_key_is_trusted_for_one_second_unless_told_otherwise():
    script = "from django.conf import settings; print(settings.AUTH_CACHE_SECONDS)"

    default = manage("shell", "--no-imports", "-c", script, **PRODUCTION)
    off = manage("shell", "--no-imports", "-c", script, **PRODUCTION, AUTH_CACHE_SECONDS="0")

    assert (default.stdout.strip(), off.stdout.strip()) == ("1", "0")


def test_trusted_proxies_take_a_count_or_networks():
    script = "from django.conf import settings; print(settings.TRUSTED_PROXIES)"

    count = manage("shell", "--no-imports", "-c", script, **PRODUCTION, TRUSTED_PROXIES="2")
    networks = manage(
        "shell", "--no-imports", "-c", script, **PRODUCTION, TRUSTED_PROXIES="10.0.0.0/8, ::1"
    )

    assert count.stdout.strip() == "2"
    assert networks.stdout.strip() == "[IPv4Network('10.0.0.0/8'), IPv6Network('::1/128')]"


def test_malformed_rate_limit_settings_are_refused():
    rate = manage("check", **PRODUCTION, THROTTLE_API_KEY="lots")
    proxies = manage("check", **PRODUCTION, TRUSTED_PROXIES="the load balancer")
    redis = manage("check", **PRODUCTION, REDIS_URL="redis.example.com:6379")

    assert rate.returncode != 0
    assert "THROTTLE_API_KEY must read like 20/minute (or be empty), not 'lots'." in rate.stderr
    assert proxies.returncode != 0
    assert "TRUSTED_PROXIES must be a number of proxies" in proxies.stderr
    assert redis.returncode != 0
    assert "REDIS_URL must start with redis://, rediss:// or unix://." in redis.stderr


def test_postgresql_sessions_have_timeouts_and_no_jit():
    script = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['options'])"
    )

    result = manage("shell", "--no-imports", "-c", script, **PRODUCTION)

    assert result.stdout.split() == [
        "-c",
        "lock_timeout=5000",
        "-c",
        "statement_timeout=15000",
        "-c",
        "jit=off",
    ]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="Prepared statements: PostgreSQL.")
def test_the_queries_every_request_makes_are_prepared_on_postgresql(admin_client, api_user):
    for _ in range(6):
        assert admin_client.get(url(api_user)).status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]

    # The key lookup and the representation: each parsed once for this connection.
    assert any("FROM apiusers_apikey k" in statement for statement in prepared)
    assert any("json_build_object" in statement for statement in prepared)
