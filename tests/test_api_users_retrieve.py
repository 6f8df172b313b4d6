"""GET /api-users/{id}/ and account isolation."""

import pytest

from apiusers import keys
from apiusers.models import ApiKey

from .conftest import url
from .factories import ApiUserFactory, TargetFactory, TeamFactory, grant

pytestmark = pytest.mark.django_db


def test_get_returns_the_documented_representation(admin_client, admin, account, api_user):
    team = TeamFactory(account=account, name="Platform")
    target = TargetFactory(account=account, name="Shop", url="https://shop.example.com/")
    grant(api_user, "Admin", tier="team", team=team)
    grant(api_user, "Auditor", tier="target", target=target)
    prefix = ApiKey.objects.create(user=api_user, prefix="Abcdefgh", digest="0" * 64).prefix

    response = admin_client.get(url(api_user))

    assert response.status_code == 200
    labels = list(api_user.labels.order_by("name"))
    roles = {role.role.name: role.id for role in api_user.user_roles.select_related("role")}
    assert response.json() == {
        "id": api_user.id,
        "name": "ci-bot",
        "changed_by": {"id": api_user.id, "email": "", "name": "ci-bot"},
        "changed": api_user.changed.isoformat().replace("+00:00", "Z"),
        "active": True,
        "labels": [
            {
                "id": label.id,
                "name": label.name,
                "color": label.color,
                "changed_by": {"id": admin[0].id, "email": "", "name": "admin-bot"},
                "changed": label.changed.isoformat().replace("+00:00", "Z"),
            }
            for label in labels
        ],
        "user_roles": [
            {
                "id": roles["Admin"],
                "role": {"id": "UdU7tPEHa1DU", "name": "Admin"},
                "scope": {"tier": "team", "team": {"id": team.id, "name": "Platform"}},
            },
            {
                "id": roles["Auditor"],
                "role": {"id": "xwUdiXQuAjX8", "name": "Auditor"},
                "scope": {
                    "tier": "target",
                    "target": {"id": target.id, "name": "Shop", "url": "https://shop.example.com/"},
                },
            },
            {
                "id": roles["Developer"],
                "role": {"id": "mvHmA52RyzCE", "name": "Developer"},
                "scope": {"tier": "account"},
            },
        ],
        "is_apiuser": True,
        "key": keys.redact(prefix),
    }


def test_key_shows_the_public_prefix_of_the_newest_key_only(admin_client, admin):
    response = admin_client.get(url(admin[0]))

    prefix = admin[1].split(".")[0]
    assert response.json()["key"] == f"{prefix}.********"
    assert admin[1] not in response.content.decode()
    assert admin[1].split(".")[1] not in response.content.decode()


def test_full_key_never_appears_in_get_or_patch_answers(admin_client, admin):
    secret = admin[1].split(".")[1]

    answers = [
        admin_client.get(url(admin[0])),
        admin_client.patch(url(admin[0]), {"name": "renamed"}),
        admin_client.patch(
            url(admin[0]), "name=again", content_type="application/x-www-form-urlencoded"
        ),
    ]

    for answer in answers:
        assert answer.status_code == 200
        assert secret not in answer.content.decode()


def test_foreign_id_answers_exactly_like_a_missing_one(admin_client, foreign_api_user):
    for method in ("get", "patch"):
        same = {"HTTP_X_REQUEST_ID": "same-request-id"}
        foreign = getattr(admin_client, method)(url(foreign_api_user), {"name": "x"}, **same)
        missing = getattr(admin_client, method)(url("Missing1d234"), {"name": "x"}, **same)

        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content == b'{"detail":"Not found."}'
        assert foreign.headers == missing.headers
    foreign_api_user.refresh_from_db()
    assert foreign_api_user.name == "their-bot"


def test_a_human_user_is_not_an_api_user(admin_client, account):
    human = ApiUserFactory(account=account, is_apiuser=False, email="person@example.com")

    assert admin_client.get(url(human)).status_code == 404


@pytest.mark.parametrize("bad_id", ["0OIl0OIl0OIl", "tooShort", "ABCDEFGHJKLMN", "a" * 10_000])
def test_an_id_that_is_not_12_base58_characters_is_a_404_without_a_query(
    admin_client, bad_id, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = admin_client.get(f"/api-users/{bad_id}/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
