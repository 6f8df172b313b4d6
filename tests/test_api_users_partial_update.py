"""PATCH /api-users/{id}/ through HTTP: the semantics set out in README's "Behaviour worth
knowing" and docs/decisions.md ("PATCH and the other writes")."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apiusers.models import Label, User

from .conftest import url
from .factories import ApiUserFactory, LabelFactory, UserFactory

pytestmark = pytest.mark.django_db


def label_names(user: User) -> list[str]:
    return sorted(user.labels.values_list("name", flat=True))


def test_patch_changes_only_the_fields_sent(admin_client, admin, api_user):
    response = admin_client.patch(url(api_user), {"name": "renamed"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    api_user.refresh_from_db()
    assert api_user.name == "renamed"
    assert api_user.active is True
    assert label_names(api_user) == ["ci", "prod"]
    assert api_user.changed_by_id == admin[0].id
    assert response.json()["name"] == "renamed"


def test_patch_answers_the_representation_a_following_get_returns(admin_client, api_user):
    patched = admin_client.patch(
        url(api_user), {"active": False, "labels": [{"name": "ci", "color": "#000000"}]}
    )
    fetched = admin_client.get(url(api_user))

    assert patched.status_code == 200
    assert patched.json() == fetched.json()


def test_patch_representation_has_exactly_the_documented_fields(admin_client, admin, api_user):
    response = admin_client.patch(url(api_user), {"name": "renamed"})

    body = response.json()
    assert list(body) == [
        "id",
        "name",
        "changed_by",
        "changed",
        "active",
        "labels",
        "user_roles",
        "is_apiuser",
        "key",
    ]
    assert body["changed_by"] == {"id": admin[0].id, "email": "", "name": "admin-bot"}
    assert body["changed"].endswith("Z")
    assert [list(label) for label in body["labels"]] == [
        ["id", "name", "color", "changed_by", "changed"]
    ] * 2
    assert body["user_roles"] == [
        {
            "id": api_user.user_roles.get().id,
            "role": {"id": api_user.user_roles.get().role_id, "name": "Developer"},
            "scope": {"tier": "account"},
        }
    ]
    assert body["is_apiuser"] is True


def test_labels_replace_the_whole_set(admin_client, api_user):
    response = admin_client.patch(
        url(api_user),
        {"labels": [{"name": "prod", "color": "#FF0000"}, {"name": "new", "color": "#123456"}]},
    )

    assert response.status_code == 200
    assert [label["name"] for label in response.json()["labels"]] == ["new", "prod"]
    assert label_names(api_user) == ["new", "prod"]


def test_empty_labels_clear_the_set_and_keep_the_labels_themselves(admin_client, account, api_user):
    response = admin_client.patch(url(api_user), {"labels": []})

    assert response.status_code == 200
    assert response.json()["labels"] == []
    assert label_names(api_user) == []
    assert Label.objects.filter(account=account, name__in=["ci", "prod"]).count() == 2


def test_absent_labels_leave_the_set_untouched(admin_client, api_user):
    admin_client.patch(url(api_user), {"active": False})

    assert label_names(api_user) == ["ci", "prod"]


def test_an_existing_label_is_reused_with_its_colour_unchanged(admin_client, account, api_user):
    existing = LabelFactory(account=account, name="shared", color="#AAAAAA")

    admin_client.patch(url(api_user), {"labels": [{"name": "shared", "color": "#BBBBBB"}]})

    assert list(api_user.labels.all()) == [existing]
    existing.refresh_from_db()
    assert existing.color == "#AAAAAA"
    assert Label.objects.filter(account=account, name="shared").count() == 1


def test_a_new_label_is_created_in_the_account_by_the_requester(
    admin_client, admin, account, api_user
):
    admin_client.patch(url(api_user), {"labels": [{"name": "fresh", "color": "#010203"}]})

    label = Label.objects.get(account=account, name="fresh")
    assert label.color == "#010203"
    assert label.changed_by_id == admin[0].id


def test_labels_of_another_account_with_the_same_name_are_not_used(
    admin_client, account, other_account, api_user
):
    theirs = LabelFactory(account=other_account, name="shared", color="#AAAAAA")

    admin_client.patch(url(api_user), {"labels": [{"name": "shared", "color": "#BBBBBB"}]})

    ours = api_user.labels.get()
    assert ours.id != theirs.id
    assert ours.account_id == account.id
    assert ours.color == "#BBBBBB"


def test_title_is_stored_but_not_shown(admin_client, api_user):
    response = admin_client.patch(url(api_user), {"title": "seceng"})

    assert response.status_code == 200
    assert "title" not in response.json()
    api_user.refresh_from_db()
    assert api_user.title == "seceng"


def test_blank_title_is_accepted(admin_client, api_user):
    User.objects.filter(pk=api_user.pk).update(title="cto")

    response = admin_client.patch(url(api_user), {"title": ""})

    assert response.status_code == 200
    api_user.refresh_from_db()
    assert api_user.title == ""


def test_an_effective_change_moves_changed_and_changed_by(admin_client, admin, api_user):
    before = timezone.now() - timedelta(days=1)
    User.objects.filter(pk=api_user.pk).update(changed=before)

    response = admin_client.patch(url(api_user), {"labels": [{"name": "ci", "color": "#00FF00"}]})

    api_user.refresh_from_db()
    assert api_user.changed > before
    assert api_user.changed_by_id == admin[0].id
    assert response.json()["changed"] == api_user.changed.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "ci-bot"},
        {"active": True},
        {"title": ""},
        {"labels": [{"name": "prod", "color": "#000000"}, {"name": "ci", "color": "#000000"}]},
        {"name": "ci-bot", "id": "XXXXXXXXXXXX", "changed": "2020-01-01T00:00:00Z"},
    ],
)
def test_a_patch_that_changes_nothing_leaves_changed_and_changed_by(admin_client, api_user, body):
    before = timezone.now() - timedelta(days=1)
    User.objects.filter(pk=api_user.pk).update(changed=before)

    response = admin_client.patch(url(api_user), body)

    assert response.status_code == 200
    api_user.refresh_from_db()
    assert api_user.changed == before
    assert api_user.changed_by_id == api_user.id


def test_read_only_and_unknown_keys_are_ignored(admin_client, api_user):
    response = admin_client.patch(
        url(api_user),
        {
            "id": "XXXXXXXXXXXX",
            "is_apiuser": False,
            "key": "abc",
            "changed_by": {"id": "XXXXXXXXXXXX"},
            "user_roles": [],
            "is_superuser": True,
            "name": "renamed",
        },
    )

    assert response.status_code == 200
    api_user.refresh_from_db()
    assert api_user.id == response.json()["id"]
    assert api_user.is_apiuser is True
    assert api_user.is_superuser is False
    assert api_user.user_roles.count() == 1
    assert api_user.name == "renamed"


def test_form_urlencoded_body_with_documented_label_syntax(admin_client, api_user):
    response = admin_client.patch(
        url(api_user),
        "name=form-bot&active=false&labels[0]name=x&labels[0]color=%2300FF00&labels[1]name=y&labels[1]color=",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200, response.json()
    api_user.refresh_from_db()
    assert api_user.name == "form-bot"
    assert api_user.active is False
    assert label_names(api_user) == ["x", "y"]


def test_multipart_body(admin_client, api_user):
    response = admin_client.patch(
        url(api_user),
        {"name": "multipart-bot", "labels[0]name": "x", "labels[0]color": "#00FF00"},
        format="multipart",
    )

    assert response.status_code == 200, response.json()
    api_user.refresh_from_db()
    assert api_user.name == "multipart-bot"
    assert label_names(api_user) == ["x"]


def test_a_form_body_without_active_leaves_it_untouched(admin_client, api_user):
    response = admin_client.patch(
        url(api_user), "name=form-bot", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    api_user.refresh_from_db()
    assert api_user.active is True


def test_deactivated_api_user_key_is_refused_on_its_next_request(admin_client, account):
    from .conftest import client_for
    from .factories import api_user_with_key

    other, other_key = api_user_with_key(account, "Admin")
    other_client = client_for(other_key)
    assert other_client.get(url(other)).status_code == 200

    assert admin_client.patch(url(other), {"active": False}).status_code == 200

    response = other_client.get(url(other))
    assert response.status_code == 401
    assert response.json() == {"detail": "Incorrect authentication credentials."}


def test_a_bad_body_answers_after_the_user_is_found_and_its_if_match_checked(
    admin_client, account, api_user, foreign_api_user
):
    """The body is validated before the write reads the user, yet refusals keep their order:
    404 for a user that is not one of the account's API users, 412 for a stale If-Match, only
    then 400."""
    deleted = ApiUserFactory(account=account, deleted=timezone.now())
    person = UserFactory(account=account)
    bad = {"name": 1}
    stale = '"0123456789abcdef0123456789abcdef"'

    for missing in ("Missing1d234", foreign_api_user.id, deleted.id, person.id):
        response = admin_client.patch(url(missing), bad)
        assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
    assert admin_client.patch(url(api_user), bad, HTTP_IF_MATCH=stale).status_code == 412
    response = admin_client.patch(url(api_user), bad)
    assert (response.status_code, response.json()) == (400, {"name": ["Not a valid string."]})
