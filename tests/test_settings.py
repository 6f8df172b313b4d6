"""Settings from the environment, with production-safe defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_SECRET_KEY": "x7#production-like-secret-key-with-enough-entropy-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "api.example.com",
    "DATABASE_URL": "postgres://app@db.example.com:5432/app",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
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

    assert "'max_size': 20" in result.stdout


def test_postgresql_sessions_have_timeouts_and_no_jit():
    script = (
        "from django.conf import settings; "
        "print(settings.DATABASES['default']['OPTIONS']['options'])"
    )

    result = manage("shell", "--no-imports", "-c", script, **PRODUCTION)

    assert result.stdout.split() == [
        "-c",
        "lock_timeout=10000",
        "-c",
        "statement_timeout=30000",
        "-c",
        "jit=off",
    ]
