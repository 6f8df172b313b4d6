"""Settings for the API Users service, read from the environment.

Every variable is documented in README.md ("Configuration"). The defaults are the safe ones for
production (DEBUG off, HTTPS-only cookies); `make run` opts into development mode explicitly.
"""

import ipaddress
import math
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from apiusers import __version__

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A rate limit, `<count>/<second|minute|hour|day>`; empty turns the limit off."""
    value = os.environ.get(name, default).strip()
    if value and not re.fullmatch(r"[1-9][0-9]*/(second|minute|hour|day)", value):
        raise ImproperlyConfigured(f"{name} must read like 20/minute (or be empty), not {value!r}.")
    return value


def env_count(name: str, default: int, least: int = 1) -> int:
    """A whole number, at least `least`."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < least:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of {least} or more, not {value!r}."
        )
    return int(value)


def env_proxies(name: str) -> int | list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """How many proxies stand in front of the service, or their addresses and networks."""
    value = os.environ.get(name, "").strip()
    if value.isdigit():
        return int(value)
    try:
        return [ipaddress.ip_network(item, strict=False) for item in env_list(name)]
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a number of proxies or a comma-separated list of addresses and "
            f"networks, not {value!r}."
        ) from None


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=true for development).")
    SECRET_KEY = "dev-only-insecure-secret-key-never-use-in-production-0123456789"  # noqa: S105

# API keys are stored as HMAC-SHA-256 digests keyed with this pepper. Changing it invalidates
# every key, so it is separate from SECRET_KEY (which may be rotated for sessions).
API_KEY_PEPPER = os.environ.get("API_KEY_PEPPER", "") or SECRET_KEY
# After a rotation the replaced key keeps working this long (0: it stops at once).
API_KEY_ROTATION_GRACE_SECONDS = int(os.environ.get("API_KEY_ROTATION_GRACE_SECONDS", "86400"))

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apiusers",
]

MIDDLEWARE = [
    # First: answers the health and metrics probes before Host validation and HTTPS redirect.
    "apiusers.observability.ObservabilityMiddleware",
    "apiusers.middleware.JsonErrorMiddleware",
    "apiusers.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "probely.urls"
WSGI_APPLICATION = "probely.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Templates of other apps drawn differently here (django-filter's form).
        "DIRS": [BASE_DIR / "probely" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# How many requests each server process runs at once (apiusers/turns.py); its other threads wait
# for their clients (gunicorn.conf.py).
WEB_ACTIVE_REQUESTS = env_count("WEB_ACTIVE_REQUESTS", 1)

# SQLite is the embedded default; DATABASE_URL=postgres://... selects PostgreSQL, which is what
# production runs. PostgreSQL connections come from Django's pool (persistent, health-checked).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASE_URL = f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
DATABASE_CONNECT_TIMEOUT = float(os.environ.get("DATABASE_CONNECT_TIMEOUT", "3"))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes a writer take the lock when its transaction begins, so concurrent writers
    # wait for each other (up to the timeout) instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, except that a pooled connection is checked before use by its socket,
    # without a round trip (Django's CONN_HEALTH_CHECKS asks the server each time), so one
    # broken by a database restart is replaced rather than failing a request.
    DATABASES["default"]["ENGINE"] = "apiusers.postgresql"
    # A worker runs WEB_ACTIVE_REQUESTS requests at once (apiusers/turns.py), each on a
    # connection it gives back before the next request's turn: the pool keeps that many open,
    # and the next request takes the one just used (with more kept, the pool hands them out in
    # turn, and a PATCH cost more). It may grow to one per thread of the worker, the most a
    # process can use at once, when a request finds none (see reconnect_timeout below).
    POOL_MAX_SIZE = env_count("DATABASE_POOL_MAX_SIZE", env_count("WEB_THREADS", 8))
    POOL_MIN_SIZE = env_count(
        "DATABASE_POOL_MIN_SIZE", min(WEB_ACTIVE_REQUESTS, POOL_MAX_SIZE), least=0
    )
    if POOL_MIN_SIZE > POOL_MAX_SIZE:
        raise ImproperlyConfigured(
            f"DATABASE_POOL_MIN_SIZE ({POOL_MIN_SIZE}) must not exceed the pool's maximum size "
            f"({POOL_MAX_SIZE}: DATABASE_POOL_MAX_SIZE, else WEB_THREADS)."
        )
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": POOL_MIN_SIZE,
            "max_size": POOL_MAX_SIZE,
            # How long a request waits for a connection: with the database down, the JSON 503
            # comes this many seconds after the request.
            "timeout": DATABASE_CONNECT_TIMEOUT,
            # A connection attempt that fails is not retried later by the pool, whose retries
            # wait longer and longer (1, 2, 4... s) and meanwhile stop it opening another:
            # after an outage, requests waited for the next retry. The next request that
            # finds no connection tries again at once.
            "reconnect_timeout": 0,
        },
        # libpq's own bound on one connection attempt (a host that does not answer at all).
        "connect_timeout": max(2, math.ceil(DATABASE_CONNECT_TIMEOUT)),
        # A request never waits on a row lock or a runaway statement for longer than this. With
        # the pool's wait above, the worst case stays below gunicorn's worker timeout (30 s, in
        # gunicorn.conf.py), so the client gets the JSON 503 rather than a dropped connection.
        # No JIT: compiling a list's plan (its cost estimate passes the JIT threshold at some
        # 100,000 users) takes longer than running it.
        "options": "-c lock_timeout=5000 -c statement_timeout=15000 -c jit=off",
        # Values travel apart from the SQL, so a query that runs again has the same text, and
        # psycopg prepares it on its fifth run: from then on PostgreSQL skips parsing and,
        # when the plan does not depend on the values, planning it (a GET's queries took
        # longer to plan than to run). A transaction-mode PgBouncer in between must keep
        # them (1.21 or later, max_prepared_statements; README, "Running on several machines").
        "server_side_binding": True,
        "prepare_threshold": 5,
    }

AUTH_USER_MODEL = "apiusers.User"
AUTHENTICATION_BACKENDS = ["apiusers.backends.EmailBackend"]
# Email is unique among humans only (API users have none): a conditional unique constraint on
# the model enforces it, which the auth check cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# No redirects that would drop a PATCH body: a path without its trailing slash is a JSON 404.
APPEND_SLASH = False

LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "/api-users/"

# Security headers and cookies for production (all of `manage.py check --deploy`).
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(
    os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apiusers.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "apiusers.parsers.JSONParser",
        "apiusers.parsers.FormParser",
        "apiusers.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "apiusers.renderers.JSONRenderer",
        "apiusers.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "apiusers.negotiation.ContentNegotiation",
    "EXCEPTION_HANDLER": "apiusers.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apiusers.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "VIEW_NAME_FUNCTION": "apiusers.renderers.view_name",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Probely API Users",
    "DESCRIPTION": (
        "Manage the API users (machine users authenticated by an API key) of an account: "
        "their names, active flag, labels and scoped roles.\n\n"
        "Authenticate with `Authorization: JWT <key>`.\n\n"
        "Every error is JSON. Besides the statuses each operation lists, any request may answer "
        "503 when the database is unavailable (retry later), and a write may answer 409 when it "
        "raced a concurrent change that made it impossible (retry it)."
    ),
    "VERSION": __version__,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # No guessed common path prefix: operation ids stay `api_users_...` whatever paths exist.
    "SCHEMA_PATH_PREFIX": "",
    # Enums stay inline, blank choice included, as in the published docs
    # (`Possible values: [ceo, ..., other, ""]`), instead of TitleEnum/BlankEnum components.
    "POSTPROCESSING_HOOKS": [],
    # No validator badge: it would send the schema's URL to an outside validation service.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Rate limits (apiusers/throttling.py): failed authentications per client address, requests per
# API key. The counters live in Redis when REDIS_URL is set, shared by every server; otherwise
# in a SQLite file that every process of this machine shares.
THROTTLE_FAILED_AUTH = env_rate("THROTTLE_FAILED_AUTH", "20/minute")
THROTTLE_API_KEY = env_rate("THROTTLE_API_KEY", "1200/minute")
# How long a worker trusts what it read of a key it verified (apiusers.selectors.RecentKeys):
# a key's deactivation, deletion, rotation or change of roles made elsewhere reaches a worker
# within this many seconds. 0: every request reads the key from the database.
AUTH_CACHE_SECONDS = env_count("AUTH_CACHE_SECONDS", 1, least=0)
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured("REDIS_URL must start with redis://, rediss:// or unix://.")
THROTTLE_SQLITE_PATH = BASE_DIR / "var" / "throttle.sqlite3"
THROTTLE_KEY_PREFIX = "throttle:"
# Whom to believe about the client's address in X-Forwarded-For: nobody (0, the default: the
# connection's address counts), the last N proxies, or proxies at these addresses/networks.
TRUSTED_PROXIES = env_proxies("TRUSTED_PROXIES")

# Health, logs and metrics (apiusers/observability.py; README, "Health, logs and metrics").
METRICS_ENABLED = env_bool("METRICS_ENABLED", False)
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in {"json", "text"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}.")

# Everything to stdout through one handler. Django's own "django" logger gets no handler of its
# own (its default one printed each warning a second time, through the root's); its request
# warnings for 4xx answers repeat the request line, so only its errors are kept.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apiusers.logs.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "apiusers.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.request": {"level": "ERROR"},
        # runserver's own line per request (a warning for a 4xx) repeats ours.
        "django.server": {"handlers": [], "propagate": True, "level": "ERROR"},
    },
}
