"""A key verified lately is checked against its row as read, for AUTH_CACHE_SECONDS, without the
query (apiusers.selectors.RecentKeys); changes made through the services take effect at once."""

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from apiusers.models import ApiKey, User, UserRole
from apiusers.selectors import RECENT_KEYS, RecentKeys

from .conftest import REPRESENTATION_QUERIES, client_for, url
from .factories import api_user_with_key
from .test_query_counts import PATCH_QUERIES

pytestmark = pytest.mark.django_db

INCORRECT = {"detail": "Incorrect authentication credentials."}
FORBIDDEN = {"detail": "You do not have permission to perform this action."}


def later(seconds: float):
    """This process's clock for RecentKeys, `seconds` on."""
    now = time.monotonic() + seconds
    return mock.patch("apiusers.selectors.time.monotonic", return_value=now)


def test_a_key_used_again_is_not_read_again(admin_client, api_user, django_assert_num_queries):
    assert admin_client.get(url(api_user)).status_code == 200

    with django_assert_num_queries(REPRESENTATION_QUERIES):
        response = admin_client.get(url(api_user))

    assert response.status_code == 200


def test_a_patch_with_a_remembered_key_makes_one_query_less(
    admin_client, api_user, django_assert_num_queries
):
    labels = [{"name": label.name, "color": label.color} for label in api_user.labels.all()]
    assert admin_client.get(url(api_user)).status_code == 200

    with django_assert_num_queries(PATCH_QUERIES - 1):
        response = admin_client.patch(url(api_user), {"name": "renamed", "labels": labels})

    assert response.status_code == 200
    assert response.json()["name"] == "renamed"


def test_a_key_is_read_again_after_auth_cache_seconds(
    admin_client, api_user, django_assert_num_queries
):
    assert admin_client.get(url(api_user)).status_code == 200

    with later(1.01), django_assert_num_queries(1 + REPRESENTATION_QUERIES):
        response = admin_client.get(url(api_user))

    assert response.status_code == 200


def test_with_auth_cache_seconds_0_every_request_reads_its_key(
    admin_client, api_user, settings, django_assert_num_queries
):
    settings.AUTH_CACHE_SECONDS = 0
    assert admin_client.get(url(api_user)).status_code == 200

    with django_assert_num_queries(1 + REPRESENTATION_QUERIES):
        response = admin_client.get(url(api_user))

    assert response.status_code == 200


def tampered(key: str) -> str:
    """The key with the last character of its secret changed: same prefix, wrong secret."""
    return f"{key[:-1]}{'3' if key.endswith('2') else '2'}"


def test_a_remembered_key_writes_last_used_once_a_minute_all_the_same(admin, api_user):
    user, key = admin
    ApiKey.objects.filter(user=user).update(last_used=timezone.now() - timedelta(minutes=2))
    assert client_for(key).get(url(api_user)).status_code == 200
    written = ApiKey.objects.get(user=user).last_used

    assert client_for(key).get(url(api_user)).status_code == 200

    assert ApiKey.objects.get(user=user).last_used == written
    assert written > timezone.now() - timedelta(seconds=5)


def test_a_wrong_secret_with_the_prefix_of_a_remembered_key_is_401(admin, api_user):
    key = admin[1]
    assert client_for(key).get(url(api_user)).status_code == 200

    response = client_for(tampered(key)).get(url(api_user))

    assert response.status_code == 401
    assert response.json() == INCORRECT


def test_only_a_key_that_matched_its_row_is_remembered(admin, api_user):
    key = admin[1]

    assert client_for(tampered(key)).get(url(api_user)).status_code == 401

    assert RECENT_KEYS.get(key.split(".")[0]) is None
    assert client_for(key).get(url(api_user)).status_code == 200
    assert RECENT_KEYS.get(key.split(".")[0]) is not None


def test_a_remembered_key_stops_at_its_expiry(admin, api_user):
    user, key = admin
    expires = timezone.now() + timedelta(seconds=30)
    ApiKey.objects.filter(user=user).update(expires=expires)
    assert client_for(key).get(url(api_user)).status_code == 200

    with mock.patch("django.utils.timezone.now", return_value=expires):
        response = client_for(key).get(url(api_user))

    assert response.status_code == 401
    assert response.json() == INCORRECT


def test_a_change_made_without_the_services_shows_within_auth_cache_seconds(admin, api_user):
    user, key = admin
    assert client_for(key).get(url(api_user)).status_code == 200
    User.objects.filter(pk=user.pk).update(active=False)

    assert client_for(key).get(url(api_user)).status_code == 200
    with later(1.01):
        assert client_for(key).get(url(api_user)).json() == INCORRECT


def test_a_deactivated_api_users_remembered_key_is_refused_at_once(admin_client, account, api_user):
    user, key = api_user_with_key(account, "Auditor")
    assert client_for(key).get(url(api_user)).status_code == 200

    assert admin_client.patch(url(user), {"active": False}).status_code == 200

    assert client_for(key).get(url(api_user)).json() == INCORRECT


def test_a_deleted_api_users_remembered_key_is_refused_at_once(admin_client, account, api_user):
    user, key = api_user_with_key(account, "Auditor")
    assert client_for(key).get(url(api_user)).status_code == 200

    assert admin_client.delete(url(user)).status_code == 204

    assert client_for(key).get(url(api_user)).json() == INCORRECT


def test_a_rotated_out_remembered_key_is_refused_at_once(admin_client, account, api_user, settings):
    settings.API_KEY_ROTATION_GRACE_SECONDS = 0
    user, key = api_user_with_key(account, "Auditor")
    assert client_for(key).get(url(api_user)).status_code == 200

    assert admin_client.post(f"{url(user)}rotate-key/").status_code == 201

    assert client_for(key).get(url(api_user)).json() == INCORRECT


def test_a_role_taken_away_from_a_remembered_key_is_gone_at_once(admin_client, account, api_user):
    user, key = api_user_with_key(account, "Admin")
    assert client_for(key).patch(url(api_user), {"title": "cto"}).status_code == 200
    [admin_role] = UserRole.objects.filter(user=user)

    revoked = admin_client.delete(f"/api-users/{user.id}/roles/{admin_role.id}/")

    assert revoked.status_code == 204, revoked.content
    response = client_for(key).patch(url(api_user), {"title": "ceo"})
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert User.objects.get(pk=api_user.pk).title == "cto"


def test_a_write_that_changes_keys_forgets_them_again_when_it_commits(
    django_capture_on_commit_callbacks,
):
    row = ("kept",)

    with django_capture_on_commit_callbacks() as callbacks:
        RECENT_KEYS.changed()
        RECENT_KEYS.keep("a1b2c3d4", row)  # read by another thread before the COMMIT

    assert RECENT_KEYS.get("a1b2c3d4") == row
    for callback in callbacks:
        callback()
    assert RECENT_KEYS.get("a1b2c3d4") is None


def test_the_memory_holds_at_most_most_keys():
    recent = RecentKeys()
    recent.MOST = 3
    for n in range(3):
        recent.keep(f"prefix-{n}", (n,))
    assert [recent.get(f"prefix-{n}") for n in range(3)] == [(0,), (1,), (2,)]

    recent.keep("prefix-3", (3,))

    assert [recent.get(f"prefix-{n}") for n in range(4)] == [None, None, None, (3,)]
