"""Queries per request are a constant: they do not grow with labels or roles."""

import pytest
from django.db import connection

from apiusers.models import Tier, User

from .conftest import REPRESENTATION_QUERIES, url
from .factories import ApiUserFactory, LabelFactory, TeamFactory, grant

pytestmark = pytest.mark.django_db

# Authentication (with the caller's permissions), then the representation.
GET_QUERIES = 1 + REPRESENTATION_QUERIES
# The row lock a write takes before it reads the users it changes: PostgreSQL sends both
# statements in one round trip; SQLite serialises writers and takes none.
ROW_LOCK = 1 if connection.vendor == "postgresql" else 0
# The common PATCH: something changes, and the labels sent exist and are the user's already.
# Authentication; savepoint, the user's row locked, then read with its roles' permissions
# (whether the caller may act on it), its labels and the account's labels with the names sent;
# the user's UPDATE, its history entry; the representation, read before the release of the
# savepoint.
PATCH_QUERIES = 6 + ROW_LOCK + REPRESENTATION_QUERIES
# The same, when the label set changes: the links that go are deleted, the new ones inserted.
PATCH_RELABEL_QUERIES = PATCH_QUERIES + 2
# The same, when some labels sent are new: their insert and their re-read.
PATCH_NEW_LABELS_QUERIES = PATCH_RELABEL_QUERIES + 2


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


LABELS_AND_ROLES = [(1, 1), (10, 1), (1, 20), (10, 20)]


@pytest.mark.parametrize(("n_labels", "n_roles"), LABELS_AND_ROLES)
def test_patch_queries_do_not_grow_with_labels_or_roles(
    admin_client, account, api_user, n_labels, n_roles, django_assert_num_queries
):
    give_labels_and_roles(api_user, account, n_labels, n_roles)
    labels = [{"name": label.name, "color": "#000000"} for label in api_user.labels.all()]

    with django_assert_num_queries(PATCH_QUERIES):
        response = admin_client.patch(url(api_user), {"name": "renamed", "labels": labels})

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "renamed"
    assert len(response.json()["labels"]) == n_labels


@pytest.mark.parametrize(("n_labels", "n_roles"), LABELS_AND_ROLES)
def test_patch_that_changes_the_label_set_costs_its_two_link_writes(
    admin_client, account, api_user, n_labels, n_roles, django_assert_num_queries
):
    give_labels_and_roles(api_user, account, 3, n_roles)
    labels = LabelFactory.create_batch(n_labels, account=account)
    body = {"labels": [{"name": label.name, "color": "#000000"} for label in labels]}

    with django_assert_num_queries(PATCH_RELABEL_QUERIES):
        response = admin_client.patch(url(api_user), body)

    assert response.status_code == 200, response.content
    assert set(api_user.labels.values_list("name", flat=True)) == {label.name for label in labels}


@pytest.mark.parametrize(("n_labels", "n_roles"), LABELS_AND_ROLES)
def test_patch_with_new_labels_queries_do_not_grow(
    admin_client, account, api_user, n_labels, n_roles, django_assert_num_queries
):
    give_labels_and_roles(api_user, account, 3, n_roles)
    body = {"labels": [{"name": f"new-{i}", "color": "#000000"} for i in range(n_labels)]}

    with django_assert_num_queries(PATCH_NEW_LABELS_QUERIES):
        response = admin_client.patch(url(api_user), body)

    assert response.status_code == 200, response.content
    assert len(response.json()["labels"]) == n_labels


# Authentication; savepoint, the users locked (PostgreSQL), then read with their roles'
# permissions (authority), their labels and the account's labels with the names sent; label
# insert, labels re-read, delete and insert of label links, the users' UPDATE, history entries,
# release savepoint.
# ... and on PostgreSQL the labels named, share-locked before the users.
BULK_UPDATE_QUERIES = 10 + 2 * ROW_LOCK


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


# The statements of a GET and of a PATCH of one API user, as PostgreSQL holds them prepared.
ONE_USER_STATEMENTS = {
    "the key lookup": 'SELECT k."id", k."user_id"',
    "the row lock": "SELECT u.id FROM apiusers_user u WHERE u.id = $1 AND",
    "the read under the lock": "WHERE ur.user_id = u.id) AS held",
    "the representation": "json_build_object('id', u.id",
    "the UPDATE": 'UPDATE "apiusers_user" SET "name" = $1, "changed" = $2',
}


@pytest.mark.usefixtures("keys_read_every_time")
@pytest.mark.skipif(connection.vendor != "postgresql", reason="Plan caching: PostgreSQL.")
def test_one_users_statements_keep_their_generic_plans(admin_client, account, api_user):
    """psycopg prepares a statement after its fifth run; PostgreSQL plans it afresh for its
    first five runs, then keeps a generic plan unless a custom one looks cheaper. For
    `u.id = ANY($1)` one always did once the table had statistics (a generic plan cannot know
    the array holds one key): the PATCH's lock, read, UPDATE and answer, and the GET's
    representation, were planned on every run."""
    ApiUserFactory.create_batch(300, account=account)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    for n in range(12):
        assert admin_client.get(url(api_user)).status_code == 200
        assert admin_client.patch(url(api_user), {"name": f"renamed-{n}"}).status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()

    for name, text in ONE_USER_STATEMENTS.items():
        plans = [(generic, custom) for statement, generic, custom in prepared if text in statement]
        assert plans, f"{name} is not prepared"
        assert all(generic > 0 and custom <= 5 for generic, custom in plans), (name, plans)
