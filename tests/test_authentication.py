"""`Authorization: JWT <key>` for API users, email and password sessions for humans."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apiusers import keys, selectors
from apiusers.models import ApiKey, Role

from .conftest import client_for, url
from .factories import UserFactory, grant

pytestmark = pytest.mark.django_db

NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
INCORRECT = {"detail": "Incorrect authentication credentials."}


def test_no_header_is_401_not_provided_with_the_challenge(api_user):
    response = APIClient().get(url(api_user))

    assert response.status_code == 401
    assert response.json() == NOT_PROVIDED
    assert response["WWW-Authenticate"] == "JWT"


def test_a_valid_key_authenticates(admin, api_user):
    assert client_for(admin[1]).get(url(api_user)).status_code == 200


def test_the_keyword_is_case_insensitive(admin, api_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"jwt {admin[1]}")

    assert client.get(url(api_user)).status_code == 200


def test_the_key_is_stored_only_as_prefix_and_hmac_digest(admin):
    user, key = admin
    stored = ApiKey.objects.get(user=user)

    assert stored.prefix == key.split(".")[0]
    assert stored.digest == keys.digest(key)
    assert len(stored.digest) == 64
    assert key.split(".")[1] not in (stored.prefix + stored.digest)


@pytest.mark.parametrize(
    "make_header",
    [
        lambda key: f"Bearer {key}",
        lambda key: "JWT",
        lambda key: f"JWT {key} extra",
        lambda key: f"JWT  {key}",
        lambda key: f"JWT {key[:-1]}x" if not key.endswith("x") else f"JWT {key[:-1]}y",
        lambda key: f"JWT {key.split('.')[0]}.********",
        lambda key: f"JWT {key}{key}",
        lambda key: "JWT " + "A" * 10_000,
        lambda key: "Token abc",
    ],
    ids=[
        "bearer",
        "keyword-only",
        "extra-token",
        "double-space",
        "wrong-secret",
        "redacted",
        "doubled",
        "10kb",
        "other-scheme",
    ],
)
def test_any_malformed_or_unknown_key_is_401_incorrect(admin, api_user, make_header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=make_header(admin[1]))

    response = client.get(url(api_user))

    assert response.status_code == 401
    assert response.json() == INCORRECT
    assert response["WWW-Authenticate"] == "JWT"


def test_non_ascii_header_is_401(admin, api_user):
    response = APIClient().get(
        url(api_user), HTTP_AUTHORIZATION="JWT clé".encode().decode("latin-1")
    )

    assert response.status_code == 401
    assert response.json() == INCORRECT


def test_key_of_a_deactivated_api_user_is_401(admin, api_user):
    user, key = admin
    user.active = False
    user.save()

    response = client_for(key).get(url(api_user))

    assert response.status_code == 401
    assert response.json() == INCORRECT


def test_revoked_key_is_401(admin, api_user):
    ApiKey.objects.filter(user=admin[0]).delete()

    assert client_for(admin[1]).get(url(api_user)).json() == INCORRECT


def test_the_key_lookup_reads_key_user_and_account_as_the_orm_does(admin):
    user, key = admin
    # Rotated out but in its grace period: every timestamp of the key has a value.
    now = timezone.now()
    ApiKey.objects.filter(user=user).update(last_used=now, expires=now + timedelta(hours=1))
    grant(user, "Developer")  # a second account-tier role: its permissions add up
    expected = ApiKey.objects.select_related("user__account").get(prefix=keys.prefix_of(key))

    found = selectors.verified_key(key)

    for read, orm in [
        (found, expected),
        (found.user, expected.user),
        (found.user.account, expected.user.account),
    ]:
        assert type(read) is type(orm)
        assert {f.attname: getattr(read, f.attname) for f in orm._meta.concrete_fields} == {
            f.attname: getattr(orm, f.attname) for f in orm._meta.concrete_fields
        }
        assert read._state.adding is False
    assert selectors.account_permissions(found.user) == frozenset(
        code for role in ("Admin", "Developer") for code in Role.objects.get(name=role).permissions
    )


def test_a_key_checked_under_another_pepper_is_401(admin, api_user, settings):
    settings.API_KEY_PEPPER = "another pepper"

    assert client_for(admin[1]).get(url(api_user)).status_code == 401


def test_a_human_logs_in_with_email_and_password_for_the_browsable_api(account, api_user):
    human = UserFactory(account=account, email="owner@example.com")
    grant(human, "Owner")
    client = APIClient()

    assert client.login(email="owner@example.com", password="correct horse battery staple")
    response = client.get(url(api_user), HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert b"ci-bot" in response.content
    assert client.get(url(api_user)).json()["id"] == api_user.id


def test_a_human_login_form_works(account):
    UserFactory(account=account, email="owner@example.com")
    client = APIClient()

    response = client.post(
        "/api-auth/login/",
        {"username": "owner@example.com", "password": "correct horse battery staple"},
        format="multipart",
    )

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_an_api_user_cannot_log_in_with_a_password(account, admin):
    user = admin[0]
    user.set_password("a password")
    user.save()

    assert not APIClient().login(email="", password="a password")


def test_an_inactive_human_cannot_log_in(account):
    UserFactory(account=account, email="gone@example.com", active=False)

    assert not APIClient().login(email="gone@example.com", password="correct horse battery staple")
