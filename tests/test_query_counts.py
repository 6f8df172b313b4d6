"""Queries per request are a constant: they do not grow with labels or roles."""

import pytest

from apiusers.models import Tier, User

from .conftest import REPRESENTATION_QUERIES, url
from .factories import ApiUserFactory, LabelFactory, TeamFactory, grant

pytestmark = pytest.mark.django_db

# Authentication (with the caller's permissions), then the representation.
GET_QUERIES = 1 + REPRESENTATION_QUERIES
# Authentication, the user (no prefetch), savepoint, row lock, the user's roles (whether the
# caller may act on it), labels by name, label insert, labels re-read, current labels, delete
# and insert of the user's labels, user save, history entry, release savepoint; and the
# representation.
PATCH_QUERIES = 14 + REPRESENTATION_QUERIES
# The same, when every label sent exists already: no insert and no re-read.
PATCH_EXISTING_LABELS_QUERIES = 12 + REPRESENTATION_QUERIES


def give_labels_and_roles(user, account, n_labels: int, n_roles: int) -> None:
    user.labels.set(LabelFactory.create_batch(n_labels, account=account))
    teams = TeamFactory.create_batch(n_roles, account=account)
    for team in teams:
        grant(user, "Developer", tier=Tier.TEAM, team=team)


@pytest.mark.parametrize(("n_labels", "n_roles"), [(1, 1), (50, 1), (1, 20), (50, 20)])
def test_get_queries_do_not_grow_with_labels_or_roles(
    admin_client, account, api_user, n_labels, n_roles, django_assert_num_queries
):
    give_labels_and_roles(api_user, account, n_labels, n_roles)

    with django_assert_num_queries(GET_QUERIES):
        response = admin_client.get(url(api_user))

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(("n_labels", "n_roles"), [(1, 1), (50, 1), (1, 20), (50, 20)])
def test_patch_queries_do_not_grow_with_labels_or_roles(
    admin_client, account, api_user, n_labels, n_roles, django_assert_num_queries
):
    give_labels_and_roles(api_user, account, 3, n_roles)
    body = {"labels": [{"name": f"new-{i}", "color": "#000000"} for i in range(n_labels)]}

    with django_assert_num_queries(PATCH_QUERIES):
        response = admin_client.patch(url(api_user), body)

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("n_labels", [1, 50])
def test_patch_with_existing_labels_queries_do_not_grow(
    admin_client, account, api_user, n_labels, django_assert_num_queries
):
    labels = LabelFactory.create_batch(n_labels, account=account)
    body = {"labels": [{"name": label.name, "color": "#000000"} for label in labels]}

    with django_assert_num_queries(PATCH_EXISTING_LABELS_QUERIES):
        response = admin_client.patch(url(api_user), body)

    assert response.status_code == 200, response.content


# Authentication; savepoint, lock the users, their roles (authority), labels by
# name, label insert, labels re-read, current labels, delete and insert of label links, the
# users' UPDATE, history entries, release savepoint.
BULK_UPDATE_QUERIES = 13


@pytest.mark.parametrize("n_users", [1, 100])
def test_bulk_update_queries_do_not_grow_with_users(
    admin_client, account, n_users, django_assert_num_queries
):
    users = ApiUserFactory.create_batch(n_users, account=account)
    for user in users:
        user.labels.set(LabelFactory.create_batch(2, account=account))
    body = {
        "ids": [user.id for user in users],
        "name": "renamed",
        "labels": [{"name": f"new-{i}", "color": "#000000"} for i in range(3)],
    }

    with django_assert_num_queries(BULK_UPDATE_QUERIES):
        response = admin_client.post("/api-users/bulk/update/", body)

    assert response.status_code == 200, response.content
    assert set(User.objects.filter(pk__in=body["ids"]).values_list("name", flat=True)) == {
        "renamed"
    }
    assert User.labels.through.objects.filter(user__in=users).count() == 3 * n_users
