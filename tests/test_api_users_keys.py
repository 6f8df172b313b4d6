"""Key rotation with a grace period, key metadata, and last use."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apiusers import keys
from apiusers.models import ApiKey, Change
from apiusers.selectors import RECENT_KEYS

from .conftest import client_for, url
from .factories import api_user_with_key

pytestmark = pytest.mark.django_db

INCORRECT = {"detail": "Incorrect authentication credentials."}


def rotate(client, user_or_id):
    return client.post(f"{url(user_or_id)}rotate-key/")


def test_rotation_returns_a_new_full_key_once_and_keeps_the_old_one_for_the_grace_period(
    admin_client, account, settings
):
    settings.API_KEY_ROTATION_GRACE_SECONDS = 3600
    user, old_key = api_user_with_key(account, "Auditor")

    response = rotate(admin_client, user)

    assert response.status_code == 201
    body = response.json()
    new_key = body["key"]
    assert keys.prefix_of(new_key) not in (None, keys.prefix_of(old_key))
    assert body["current"]["key"] == keys.redact(keys.prefix_of(new_key))
    assert body["previous"]["key"] == keys.redact(keys.prefix_of(old_key))
    expires = ApiKey.objects.get(prefix=keys.prefix_of(old_key)).expires
    assert timedelta(minutes=59) < expires - timezone.now() <= timedelta(hours=1)
    assert body["previous"]["expires"] == expires.isoformat().replace("+00:00", "Z")
    assert client_for(new_key).get(url(user)).status_code == 200
    assert client_for(old_key).get(url(user)).status_code == 200


def test_the_old_key_is_refused_once_the_grace_period_is_over(admin_client, account, settings):
    settings.API_KEY_ROTATION_GRACE_SECONDS = 3600
    user, old_key = api_user_with_key(account, "Auditor")
    rotate(admin_client, user)

    ApiKey.objects.filter(prefix=keys.prefix_of(old_key)).update(
        expires=timezone.now() - timedelta(seconds=1)
    )

    response = client_for(old_key).get(url(user))
    assert response.status_code == 401
    assert response.json() == INCORRECT
    assert admin_client.get(f"/api-users/{user.id}/key/").json()["previous"] is None


def test_a_zero_grace_period_refuses_the_old_key_at_once(admin_client, account, settings):
    settings.API_KEY_ROTATION_GRACE_SECONDS = 0
    user, old_key = api_user_with_key(account, "Auditor")

    body = rotate(admin_client, user).json()

    assert body["previous"] is None
    assert client_for(old_key).get(url(user)).json() == INCORRECT
    assert client_for(body["key"]).get(url(user)).status_code == 200


def test_a_second_rotation_ends_the_first_grace_period(admin_client, account, settings):
    settings.API_KEY_ROTATION_GRACE_SECONDS = 3600
    user, first = api_user_with_key(account, "Auditor")
    second = rotate(admin_client, user).json()["key"]

    third = rotate(admin_client, user).json()["key"]

    assert client_for(first).get(url(user)).status_code == 401
    assert client_for(second).get(url(user)).status_code == 200
    assert client_for(third).get(url(user)).status_code == 200
    assert ApiKey.objects.filter(user=user).count() == 2


def test_an_api_user_may_rotate_its_own_key(account, settings):
    settings.API_KEY_ROTATION_GRACE_SECONDS = 60
    user, key = api_user_with_key(account, "Admin")

    response = rotate(client_for(key), user)

    assert response.status_code == 201
    assert client_for(response.json()["key"]).get(url(user)).status_code == 200


def test_rotation_is_recorded_without_secrets(admin_client, admin, account):
    user, old_key = api_user_with_key(account, "Auditor")

    new_key = rotate(admin_client, user).json()["key"]

    change = Change.objects.get(user=user, action="key_rotated")
    assert change.actor == admin[0]
    assert change.changes == {
        "key": {
            "from": keys.redact(keys.prefix_of(old_key)),
            "to": keys.redact(keys.prefix_of(new_key)),
        }
    }


def test_rotation_is_forbidden_to_readers_and_foreign_ids_are_404(
    account, api_user, foreign_api_user, admin_client
):
    auditor = client_for(api_user_with_key(account, "Auditor")[1])

    assert rotate(auditor, api_user).status_code == 403
    foreign, missing = rotate(admin_client, foreign_api_user), rotate(admin_client, "Missing1d234")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    assert not ApiKey.objects.filter(user=foreign_api_user).exists()


def test_key_metadata_shows_prefix_dates_and_no_secret(admin_client, admin):
    user, key = admin

    response = admin_client.get(f"/api-users/{user.id}/key/")

    assert response.status_code == 200
    stored = ApiKey.objects.get(user=user)
    assert response.json() == {
        "current": {
            "key": keys.redact(stored.prefix),
            "created": stored.created.isoformat().replace("+00:00", "Z"),
            "last_used": stored.last_used.isoformat().replace("+00:00", "Z"),
            "expires": None,
        },
        "previous": None,
    }
    assert key.split(".")[1] not in response.content.decode()


def test_key_metadata_is_readable_by_auditors_not_developers(account, api_user):
    ApiKey.objects.create(user=api_user, prefix="Abcdefgh", digest="0" * 64)
    auditor = client_for(api_user_with_key(account, "Auditor")[1])
    developer = client_for(api_user_with_key(account, "Developer")[1])

    assert auditor.get(f"/api-users/{api_user.id}/key/").status_code == 200
    assert developer.get(f"/api-users/{api_user.id}/key/").status_code == 403


def test_last_used_is_written_at_most_once_a_minute(account, api_user):
    user, key = api_user_with_key(account, "Auditor")
    ApiKey.objects.filter(user=user).update(last_used=None)
    client = client_for(key)

    client.get(url(api_user))
    first = ApiKey.objects.get(user=user).last_used
    client.get(url(api_user))
    assert ApiKey.objects.get(user=user).last_used == first

    ApiKey.objects.filter(user=user).update(last_used=timezone.now() - timedelta(seconds=61))
    RECENT_KEYS.forget()  # as a minute later: the key's row is no longer kept
    client.get(url(api_user))
    assert ApiKey.objects.get(user=user).last_used > first


def test_key_metadata_of_an_api_user_without_a_key(admin_client, api_user):
    response = admin_client.get(f"/api-users/{api_user.id}/key/")

    assert response.status_code == 200
    assert response.json() == {"current": None, "previous": None}
