"""Rate limits: failed authentications per client address, requests per API key.

The limits are per hour here, and a test that would start within seconds of an hour's end waits
for the next one, so that no window ends halfway through a test. Each test counts under keys of
its own (a fresh prefix in Redis, a fresh SQLite file), so runs never see each other's counts.
"""

import ipaddress
import logging
import os
import secrets
import time
import uuid
from datetime import timedelta

import pytest
import redis
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from apiusers import throttling
from apiusers.models import ApiKey, User

from .conftest import client_for, url
from .factories import UserFactory, api_user_with_key, grant
from .live import free_port, get, gunicorn

pytestmark = pytest.mark.django_db

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/3")
INCORRECT = {"detail": "Incorrect authentication credentials."}
BAD_KEY = "JWT 11111111.1111111111111111111111111111111111111111"


def require_redis() -> str:
    try:
        redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis at {TEST_REDIS_URL} is unreachable (set TEST_REDIS_URL)")
    return TEST_REDIS_URL


def throttled_body(response) -> dict:
    """DRF's 429 text for the wait the Retry-After header announces."""
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 3600
    unit = "second" if wait == 1 else "seconds"
    return {"detail": f"Request was throttled. Expected available in {wait} {unit}."}


def wait_for_a_fresh_window(margin: float = 15) -> None:
    left = 3600 - time.time() % 3600
    if left < margin:
        time.sleep(left + 0.1)


@pytest.fixture(autouse=True)
def own_counters(settings, monkeypatch, tmp_path):
    """Counters of this test only, in the local SQLite store unless a test picks Redis."""
    monkeypatch.setattr(throttling, "_stores", {})
    settings.THROTTLE_KEY_PREFIX = f"test-{uuid.uuid4().hex}:"
    settings.REDIS_URL = ""
    settings.THROTTLE_SQLITE_PATH = tmp_path / "throttle.sqlite3"
    wait_for_a_fresh_window()


@pytest.fixture(params=["sqlite", "redis"])
def store(request, settings):
    """Each store in turn: the local SQLite file, then Redis."""
    if request.param == "redis":
        settings.REDIS_URL = require_redis()
    return request.param


def bad_key_client(address: str = "127.0.0.1", **headers) -> APIClient:
    client = APIClient(REMOTE_ADDR=address, **headers)
    client.credentials(HTTP_AUTHORIZATION=BAD_KEY)
    return client


def test_failures_over_the_limit_are_429_with_retry_after(store, settings, caplog, api_user):
    settings.THROTTLE_FAILED_AUTH = "3/hour"
    client = bad_key_client()

    answers = [client.get(url(api_user)) for _ in range(3)]
    with caplog.at_level(logging.INFO):
        throttled = client.get(url(api_user))
        client.get(url(api_user))

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert all(a.json() == INCORRECT for a in answers)
    assert throttled.status_code == 429
    assert throttled.json() == throttled_body(throttled)
    assert "WWW-Authenticate" not in throttled
    logged = [record.getMessage() for record in caplog.records]
    assert logged.count("Throttling failed-auth 127.0.0.1 until the window ends.") == 1
    assert not any(BAD_KEY.split()[1][:8] in message for message in logged)


def test_a_valid_key_works_from_an_address_throttled_for_failures(store, settings, admin, api_user):
    settings.THROTTLE_FAILED_AUTH = "2/hour"
    for _ in range(3):
        bad_key_client().get(url(api_user))

    response = client_for(admin[1]).get(url(api_user), REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert bad_key_client().get(url(api_user)).status_code == 429


def test_failures_are_counted_per_address(settings, api_user):
    settings.THROTTLE_FAILED_AUTH = "1/hour"
    bad_key_client("192.0.2.1").get(url(api_user))

    assert bad_key_client("192.0.2.1").get(url(api_user)).status_code == 429
    assert bad_key_client("192.0.2.2").get(url(api_user)).status_code == 401


def test_requests_per_api_key_are_limited(store, settings, account, admin, api_user):
    settings.THROTTLE_API_KEY = "2/hour"
    other = api_user_with_key(account, "Admin", name="other-bot")

    answers = [client_for(admin[1]).get(url(api_user)).status_code for _ in range(3)]

    assert answers == [200, 200, 429]
    throttled = client_for(admin[1]).get(url(api_user))
    assert throttled.status_code == 429
    assert throttled.json() == throttled_body(throttled)
    assert client_for(other[1]).get(url(api_user)).status_code == 200


def test_a_request_costs_one_redis_round_trip(settings, monkeypatch, admin, api_user):
    """Valid key or bad, one round trip (the pipeline's INCR and EXPIREAT go together)."""
    settings.REDIS_URL = require_redis()
    settings.THROTTLE_FAILED_AUTH = "100/hour"
    settings.THROTTLE_API_KEY = "100/hour"
    client_for(admin[1]).get(url(api_user))  # the connection's own handshake comes first
    sent = []
    send = redis.connection.AbstractConnection.send_packed_command

    def counting(connection, command, *args, **kwargs):
        sent.append(command)
        return send(connection, command, *args, **kwargs)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)

    assert client_for(admin[1]).get(url(api_user)).status_code == 200
    assert len(sent) == 1
    assert bad_key_client().get(url(api_user)).status_code == 401
    assert len(sent) == 2


def test_a_throttled_request_changes_nothing(settings, admin, api_user):
    settings.THROTTLE_API_KEY = "1/hour"
    client = client_for(admin[1])
    client.get(url(api_user))
    long_ago = timezone.now() - timedelta(days=1)
    ApiKey.objects.filter(user=admin[0]).update(last_used=long_ago)
    before = User.objects.get(pk=api_user.pk)

    response = client.patch(url(api_user), {"name": "renamed", "labels": []})

    assert response.status_code == 429
    after = User.objects.get(pk=api_user.pk)
    assert (after.name, after.changed, list(after.labels.all())) == (
        before.name,
        before.changed,
        list(before.labels.all()),
    )
    assert ApiKey.objects.get(user=admin[0]).last_used == long_ago
    assert client_for(admin[1]).get(f"{url(api_user)}history/").status_code == 429


def test_empty_settings_turn_the_limits_off_without_touching_a_store(
    settings, monkeypatch, admin, api_user
):
    settings.THROTTLE_FAILED_AUTH = ""
    settings.THROTTLE_API_KEY = ""

    def no_store():
        raise AssertionError("a limit that is off must not reach its store")

    monkeypatch.setattr(throttling, "store", no_store)

    assert {bad_key_client().get(url(api_user)).status_code for _ in range(30)} == {401}
    assert {client_for(admin[1]).get(url(api_user)).status_code for _ in range(5)} == {200}


def test_x_forwarded_for_is_ignored_without_trusted_proxies(settings, api_user):
    settings.THROTTLE_FAILED_AUTH = "2/hour"
    for n in range(2):
        bad_key_client("10.0.0.1", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").get(url(api_user))

    response = bad_key_client("10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.99").get(url(api_user))

    assert response.status_code == 429


@pytest.mark.parametrize(
    "trusted", [1, [ipaddress.ip_network("10.0.0.0/8")]], ids=["count", "list"]
)
def test_x_forwarded_for_is_honoured_with_trusted_proxies(settings, api_user, trusted):
    """The client is the address the proxy appended; entries the client wrote are ignored."""
    settings.THROTTLE_FAILED_AUTH = "2/hour"
    settings.TRUSTED_PROXIES = trusted
    for spoofed in ("1.1.1.1", "2.2.2.2"):
        chain = f"{spoofed}, 203.0.113.7"
        bad_key_client("10.0.0.1", HTTP_X_FORWARDED_FOR=chain).get(url(api_user))

    same = bad_key_client("10.0.0.1", HTTP_X_FORWARDED_FOR="3.3.3.3, 203.0.113.7")
    other = bad_key_client("10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7, 203.0.113.8")

    assert same.get(url(api_user)).status_code == 429
    assert other.get(url(api_user)).status_code == 401


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        (0, "10.0.0.1", "203.0.113.7", "10.0.0.1"),
        (1, "10.0.0.1", "", "10.0.0.1"),
        (1, "10.0.0.1", "6.6.6.6,203.0.113.7", "203.0.113.7"),
        (2, "10.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        (2, "10.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("10.0.0.0/8", "10.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        ("10.0.0.0/8", "192.0.2.9", "203.0.113.7", "192.0.2.9"),
        ("10.0.0.0/8,192.0.2.9", "192.0.2.9", "10.0.0.3", "10.0.0.3"),
        (1, "10.0.0.1", "not-an-address", "10.0.0.1"),
        (0, "2001:db8:1:2:3:4:5:6", "", "2001:db8:1:2::/64"),
        (0, "::ffff:192.0.2.1", "", "192.0.2.1"),
    ],
)
def test_client_address(settings, trusted, remote, forwarded, client):
    if isinstance(trusted, str):
        trusted = [ipaddress.ip_network(item) for item in trusted.split(",")]
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)

    assert throttling.client_address(request) == client


def test_an_unreachable_redis_serves_requests_and_warns_once(settings, caplog, admin, api_user):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    settings.THROTTLE_FAILED_AUTH = "1/hour"
    settings.THROTTLE_API_KEY = "1/hour"

    with caplog.at_level(logging.WARNING, logger="apiusers.throttling"):
        failures = [bad_key_client().get(url(api_user)).status_code for _ in range(3)]
        successes = [client_for(admin[1]).get(url(api_user)).status_code for _ in range(3)]

    assert failures == [401, 401, 401]
    assert successes == [200, 200, 200]
    assert [r.getMessage() for r in caplog.records if r.name == "apiusers.throttling"] == [
        "Rate-limit store unavailable (ConnectionError); requests are served without limits."
    ]


@pytest.fixture
def owner(account):
    human = UserFactory(account=account, email="owner@example.com")
    grant(human, "Owner")
    return human


def log_in(password: str, address: str = "127.0.0.1", page: str = "/api-auth/login/"):
    client = APIClient(REMOTE_ADDR=address)
    form = {"username": "owner@example.com", "password": password, "next": "/api-users/"}
    return client, client.post(page, form, format="multipart")


def test_failed_log_ins_are_throttled_even_for_the_right_password(store, settings, owner):
    settings.THROTTLE_FAILED_AUTH = "3/hour"

    failures = [log_in("wrong password")[1].status_code for _ in range(3)]
    client, refused = log_in("correct horse battery staple")

    assert failures == [200, 200, 200]  # the form again, with its error
    assert refused.status_code == 429
    assert refused.json() == throttled_body(refused)
    assert client.get("/api-users/").status_code == 401
    assert log_in("correct horse battery staple", "192.0.2.1")[1].status_code == 302


def test_successful_log_ins_do_not_count(settings, owner):
    settings.THROTTLE_FAILED_AUTH = "1/hour"

    answers = [log_in("correct horse battery staple")[1].status_code for _ in range(3)]

    assert answers == [302, 302, 302]


@pytest.mark.live
def test_two_servers_share_the_failure_count_through_redis(tmp_path):
    """20 failures spread over two servers: the 21st, on either one, is refused."""
    env = {"REDIS_URL": require_redis(), "THROTTLE_FAILED_AUTH": "20/hour", "TRUSTED_PROXIES": "1"}
    # A client address of this test alone, as the trusted proxy in front would report it.
    address = ipaddress.ip_address("10.0.0.0") + secrets.randbelow(2**24)
    # A malformed key is refused before any query: the servers' database stays empty.
    headers = {"Authorization": "JWT not-a-key", "X-Forwarded-For": str(address)}
    with gunicorn(tmp_path, **env) as one, gunicorn(tmp_path, **env) as other:
        failures = [get(port, "/api-users/", **headers) for port in [one, other] * 10]
        refused = [get(port, "/api-users/", **headers) for port in [one, other]]

    assert [status for status, _ in failures] == [401] * 20
    assert [status for status, _ in refused] == [429, 429]
    assert all(b"Request was throttled." in body for _, body in refused)


def test_failed_log_ins_at_the_admin_count_and_are_throttled_too(settings, owner):
    settings.THROTTLE_FAILED_AUTH = "3/hour"

    failures = [log_in("wrong", page=page)[1].status_code for page in ("/admin/login/",) * 2]
    failures.append(log_in("wrong")[1].status_code)
    refused = log_in("wrong", page="/admin/login/")[1]

    assert failures == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == throttled_body(refused)
    assert log_in("wrong")[1].status_code == 429
