"""Conditional requests: every single-object answer carries an ETag that moves exactly when the
representation does; If-Match makes a write conditional (412, nothing changed, when stale) and
If-None-Match a read (304)."""

import pytest
from django.db import connection

from apiusers.models import Change, Label, Tier, User

from .conftest import client_for, url
from .factories import LabelFactory, TeamFactory, api_user_with_key, grant
from .test_concurrency import Together

pytestmark = pytest.mark.django_db

STALE = '"0123456789abcdef0123456789abcdef"'
PRECONDITION_FAILED = {
    "detail": (
        "The object has changed since the version your If-Match names: nothing was changed. "
        "Read it again (its ETag is in the answer) and retry."
    )
}


def etag(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response["ETag"]


def label_url(label) -> str:
    return f"/labels/users/{label.id}/"


def role_url(user, user_role) -> str:
    return f"/api-users/{user.id}/roles/{user_role.id}/"


def test_an_api_user_answer_carries_an_etag_that_a_write_answer_repeats(admin_client, api_user):
    before = etag(admin_client, url(api_user))
    patched = admin_client.patch(url(api_user), {"name": "renamed"})

    assert before.startswith('"') and before.endswith('"') and len(before) == 34
    assert patched["ETag"] != before
    assert patched["ETag"] == etag(admin_client, url(api_user))


def test_a_write_that_changes_nothing_keeps_the_etag(admin_client, api_user):
    before = etag(admin_client, url(api_user))

    response = admin_client.patch(url(api_user), {"name": "ci-bot"})

    assert response["ETag"] == before == etag(admin_client, url(api_user))


def test_a_label_rename_or_a_role_change_moves_the_users_etag(admin_client, account, api_user):
    first = etag(admin_client, url(api_user))
    label = api_user.labels.get(name="ci")
    assert admin_client.patch(label_url(label), {"name": "continuous"}).status_code == 200
    second = etag(admin_client, url(api_user))
    grant(api_user, "Billing", tier=Tier.TEAM, team=TeamFactory(account=account))

    assert len({first, second, etag(admin_client, url(api_user))}) == 3


def test_the_creation_answer_carries_the_etag_a_get_shows(admin_client):
    created = admin_client.post("/api-users/", {"name": "new-bot"})

    assert created.status_code == 201
    assert created["ETag"] == etag(admin_client, created["Location"])


def test_if_none_match_answers_304_while_the_user_is_unchanged(admin_client, api_user):
    current = etag(admin_client, url(api_user))

    unchanged = admin_client.get(url(api_user), HTTP_IF_NONE_MATCH=current)
    other = admin_client.get(url(api_user), HTTP_IF_NONE_MATCH=STALE)

    assert (unchanged.status_code, unchanged.content, unchanged["ETag"]) == (304, b"", current)
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("method", "body"),
    [("patch", {"name": "renamed"}), ("put", {"name": "renamed", "labels": []}), ("delete", None)],
)
def test_a_stale_if_match_is_412_and_changes_nothing(admin_client, api_user, method, body):
    history = Change.objects.count()
    send = getattr(admin_client, method)

    response = (
        send(url(api_user), body, HTTP_IF_MATCH=STALE)
        if body
        else send(url(api_user), HTTP_IF_MATCH=STALE)
    )

    assert (response.status_code, response.json()) == (412, PRECONDITION_FAILED)
    api_user.refresh_from_db()
    assert (api_user.name, api_user.deleted, api_user.labels.count()) == ("ci-bot", None, 2)
    assert Change.objects.count() == history


@pytest.mark.parametrize("tag", ["current", "*", "list"])
def test_a_matching_if_match_writes(admin_client, api_user, tag):
    current = etag(admin_client, url(api_user))
    header = {"current": current, "*": "*", "list": f"{STALE}, {current}"}[tag]

    response = admin_client.patch(url(api_user), {"name": "renamed"}, HTTP_IF_MATCH=header)

    assert response.status_code == 200
    assert User.objects.get(pk=api_user.pk).name == "renamed"


def test_a_weak_tag_never_matches_if_match(admin_client, api_user):
    current = etag(admin_client, url(api_user))

    response = admin_client.patch(url(api_user), {"name": "x"}, HTTP_IF_MATCH=f"W/{current}")

    assert response.status_code == 412


def test_if_match_on_a_missing_api_user_is_404(admin_client):
    response = admin_client.patch(url("Missing1d234"), {"name": "x"}, HTTP_IF_MATCH="*")

    assert response.status_code == 404


def test_labels_and_role_assignments_are_conditional_too(admin_client, admin, account, api_user):
    label = LabelFactory(account=account, name="solo", changed_by=admin[0])
    user_role = api_user.user_roles.get()

    label_tag = etag(admin_client, label_url(label))
    role_tag = etag(admin_client, role_url(api_user, user_role))
    stale_label = admin_client.patch(label_url(label), {"name": "x"}, HTTP_IF_MATCH=STALE)
    stale_role = admin_client.delete(role_url(api_user, user_role), HTTP_IF_MATCH=STALE)
    fresh_label = admin_client.patch(label_url(label), {"name": "x"}, HTTP_IF_MATCH=label_tag)

    assert (stale_label.status_code, stale_role.status_code) == (412, 412)
    assert Label.objects.get(pk=label.pk).name == "x"
    assert fresh_label.status_code == 200
    assert fresh_label["ETag"] != label_tag
    assert api_user.user_roles.filter(pk=user_role.pk).exists()
    deleted = admin_client.delete(role_url(api_user, user_role), HTTP_IF_MATCH=role_tag)
    assert deleted.status_code == 204


def test_lists_carry_no_etag(admin_client):
    assert "ETag" not in admin_client.get("/api-users/")


RACERS = 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_of_concurrent_patches_sending_one_etag_exactly_one_succeeds(account):
    if connection.vendor != "postgresql":
        pytest.skip("Row locks need PostgreSQL; SQLite serialises writers itself.")
    _, key = api_user_with_key(account, "Owner", name="owner-bot")
    target, _ = api_user_with_key(account, "Developer", name="target")
    current = etag(client_for(key), url(target))

    def patch(index):
        def request():
            response = client_for(key).patch(
                url(target), {"name": f"racer-{index}"}, HTTP_IF_MATCH=current
            )
            return response.status_code

        return request

    results = Together([patch(index) for index in range(RACERS)]).join()

    assert sorted(results) == [200] + [412] * (RACERS - 1)
    winner = results.index(200)
    assert User.objects.get(pk=target.pk).name == f"racer-{winner}"
    assert Change.objects.filter(user=target, action="updated").count() == 1
