"""Rate limits against hostile callers: failed authentications per client address, requests per
API key.

Each limit is a fixed-window counter, incremented atomically in one round trip to a store that
every process shares: Redis (INCR and EXPIREAT in one MULTI) when REDIS_URL is set, otherwise a
SQLite file (an upsert) for the processes of one machine. A limit whose setting is empty costs
one attribute read. When the store fails the request is served unthrottled: limiting is a
defence, not a dependency, and an outage of Redis must not become an outage of the API.
"""

import ipaddress
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

from .metrics import THROTTLED

logger = logging.getLogger(__name__)

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
# After a store error, this process stops asking the store for a while (so a down Redis costs
# no connection attempt per request), and it says so in the log at most once a minute.
PAUSE_AFTER_ERROR = 5.0
WARNING_INTERVAL = 60.0


@lru_cache
def parse_rate(rate: str) -> tuple[int, int] | None:
    """`20/minute` -> (20, 60); an empty rate is no limit (settings.env_rate checks the form)."""
    if not rate:
        return None
    count, unit = rate.split("/")
    return int(count), PERIODS[unit]


class Store:
    """A shared counter store that fails open: None instead of a count while it is failing."""

    errors: tuple[type[Exception], ...] = ()
    # What each store does, without the failing open.
    _increment: Callable[[str, int], int]
    _read: Callable[[str], int]

    def __init__(self):
        self.paused_until = 0.0
        self.warned_at = -math.inf

    def increment(self, key: str, expires: int) -> int | None:
        """Add one to `key`, which disappears at the Unix time `expires`; return its count."""
        return self._failing_open(self._increment, key, expires)

    def read(self, key: str) -> int | None:
        return self._failing_open(self._read, key)

    def _failing_open(self, operation, *args) -> int | None:
        now = time.monotonic()
        if now < self.paused_until:
            return None
        try:
            return operation(*args)
        except self.errors as exc:
            self.paused_until = now + PAUSE_AFTER_ERROR
            if now - self.warned_at >= WARNING_INTERVAL:
                self.warned_at = now
                logger.warning(
                    "Rate-limit store unavailable (%s); requests are served without limits.",
                    exc.__class__.__name__,
                )
            return None


class RedisStore(Store):
    errors = (redis.RedisError, OSError)

    def __init__(self, url: str):
        super().__init__()
        # Short timeouts and no retries: a slow or down Redis must not hold requests up.
        self.client = redis.Redis.from_url(
            url,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),
        )

    def _increment(self, key, expires):
        pipeline = self.client.pipeline(transaction=True)
        pipeline.incr(key)
        pipeline.expireat(key, expires)
        return pipeline.execute()[0]

    def _read(self, key):
        return int(self.client.get(key) or 0)


class SQLiteStore(Store):
    """One table in a file of var/; each thread of each process has its own connection."""

    errors = (sqlite3.Error,)

    def __init__(self, path):
        super().__init__()
        self.path = path
        self.local = threading.local()

    def connection(self) -> sqlite3.Connection:
        # A connection opened before a fork (gunicorn --preload) is not used after it.
        if getattr(self.local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=2, isolation_level=None)
            # Counters need no durability: no sync to disk on each commit.
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS counter "
                "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires INTEGER NOT NULL)"
            )
            self.local.connection, self.local.pid = connection, os.getpid()
        return self.local.connection

    def _increment(self, key, expires):
        connection = self.connection()
        (count,) = connection.execute(
            "INSERT INTO counter VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count",
            (key, expires),
        ).fetchone()
        if count == 1:
            # A window begins: the ones that ended are of no more use.
            connection.execute("DELETE FROM counter WHERE expires <= ?", (int(time.time()),))
        return count

    def _read(self, key):
        row = self.connection().execute("SELECT count FROM counter WHERE key = ?", (key,))
        return next(iter(row), (0,))[0]


_stores: dict[str, Store] = {}


def store() -> Store:
    location = settings.REDIS_URL or str(settings.THROTTLE_SQLITE_PATH)
    try:
        return _stores[location]
    except KeyError:
        made = RedisStore(location) if settings.REDIS_URL else SQLiteStore(Path(location))
        return _stores.setdefault(location, made)


class Limit:
    """At most `count` events per `period` for each identity, read from the named setting."""

    def __init__(self, scope: str, setting: str):
        self.scope = scope
        self.setting = setting

    def window(self, identity) -> tuple[int, int, str, float] | None:
        rate = parse_rate(getattr(settings, self.setting))
        if rate is None:
            return None
        limit, period = rate
        now = time.time()
        start = int(now // period) * period
        key = f"{settings.THROTTLE_KEY_PREFIX}{self.scope}:{identity}:{start}"
        return limit, start + period, key, now

    def hit(self, identity) -> int | None:
        """Count an event; when it is over the limit, the seconds until the window ends."""
        window = self.window(identity)
        if window is None:
            return None
        limit, end, key, now = window
        count = store().increment(key, end)
        if count is not None and count > limit:
            if count == limit + 1:
                logger.warning("Throttling %s %s until the window ends.", self.scope, identity)
            THROTTLED.labels(limit=self.scope).inc()
            return max(1, math.ceil(end - now))
        return None

    def exhausted(self, identity) -> int | None:
        """Seconds until the identity may try again, when it has used up its limit."""
        window = self.window(identity)
        if window is None:
            return None
        limit, end, key, now = window
        count = store().read(key)
        if count is not None and count >= limit:
            THROTTLED.labels(limit=self.scope).inc()
            return max(1, math.ceil(end - now))
        return None


FAILED_AUTH = Limit("failed-auth", "THROTTLE_FAILED_AUTH")
API_KEY = Limit("api-key", "THROTTLE_API_KEY")


def count_failed_log_in(sender, credentials, request=None, **kwargs):
    """Django's user_login_failed signal: a wrong email or password at a log-in page (the
    browsable API's, the admin's). The page refuses the next attempts itself once the address
    has used up its limit (probely.urls.throttled_log_in)."""
    if request is not None:
        FAILED_AUTH.hit(client_address(request))


def client_address(request) -> str:
    """The address a failed authentication is counted against.

    X-Forwarded-For is believed only as far as TRUSTED_PROXIES says: with a count N, the entry
    the Nth proxy from us appended; with a list, the rightmost entry that is not one of those
    proxies. Entries further left were written by the client and may be anything. IPv6 clients
    count per /64, the block one subscriber usually holds.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXIES
    address = remote
    if trusted:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()] + [remote]
        if isinstance(trusted, int):
            address = hops[max(0, len(hops) - 1 - trusted)]
        else:
            address = next((hop for hop in reversed(hops) if not _within(hop, trusted)), hops[0])
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return remote
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _within(hop: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(hop)
    except ValueError:
        return False
    return any(ip in network for network in networks)
