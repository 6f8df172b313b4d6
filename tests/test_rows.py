"""apiusers.rows' INSERT and UPDATE write what the ORM would, on SQLite and PostgreSQL."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apiusers import rows
from apiusers.models import Change, Label, User

from .factories import ApiUserFactory

pytestmark = pytest.mark.django_db

# A timestamp with microseconds and one without: SQLite stores them as text, differently.
MOMENTS = [
    datetime(2026, 3, 1, 12, 30, 5, 123456, UTC),
    datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC),
]
# JSON the ORM must read back as written: nesting, None, non-ASCII, quotes and backslashes.
CHANGES = {
    "name": {"from": 'ő "quoted" \\ back', "to": None},
    "labels": {"from": [], "to": ["a", "ü"]},
}


@pytest.fixture
def actor(account):
    return ApiUserFactory(account=account)


def read(model, pk) -> dict:
    values = model.objects.filter(pk=pk).values().get()
    values.pop("id")
    return values


def test_insert_writes_the_row_the_orm_writes(api_user, actor):
    for at in MOMENTS:
        by_orm = Change.objects.create(
            user=api_user, actor=actor, action="updated", changes=CHANGES, at=at
        )
        written = Change(user=api_user, actor=actor, action="updated", changes=CHANGES, at=at)
        with CaptureQueriesContext(connection) as queries:
            rows.insert([written])
        assert len(queries) == 1
        assert read(Change, written.pk) == read(Change, by_orm.pk)
        assert read(Change, written.pk)["at"] == at
        assert read(Change, written.pk)["changes"] == CHANGES


def test_insert_writes_several_rows_in_one_statement(account, actor):
    labels = [
        Label(account=account, name=f"many-{n}", color="#00FF00", changed_by=actor, changed=at)
        for n, at in enumerate(MOMENTS * 2)
    ]
    with CaptureQueriesContext(connection) as queries:
        rows.insert(labels)
    assert len(queries) == 1
    assert {(label.name, label.changed) for label in Label.objects.filter(account=account)} == {
        (label.name, label.changed) for label in labels
    }


def test_insert_splits_what_one_statement_cannot_carry(api_user, actor, monkeypatch):
    # Two rows of Change's six columns a statement: five rows take three statements.
    monkeypatch.setattr(connection.features, "max_query_params", 12)
    written = [
        Change(user=api_user, actor=actor, action="updated", changes={"n": n}) for n in range(5)
    ]
    with CaptureQueriesContext(connection) as queries:
        rows.insert(written)
    assert len(queries) == 3
    stored = Change.objects.filter(pk__in=[change.pk for change in written])
    assert sorted(change.changes["n"] for change in stored) == [0, 1, 2, 3, 4]


def test_update_sets_the_named_fields_of_the_named_rows_only(account, actor):
    first, second, untouched = ApiUserFactory.create_batch(3, account=account)
    before = read(User, untouched.pk)
    for at in MOMENTS:
        with CaptureQueriesContext(connection) as queries:
            rows.update(
                User,
                [first.pk, second.pk],
                {"name": "renamed", "active": False, "changed": at, "changed_by": actor.pk},
            )
        assert len(queries) == 1
        for user in User.objects.filter(pk__in=[first.pk, second.pk]):
            assert (user.name, user.active, user.changed, user.changed_by_id) == (
                "renamed",
                False,
                at,
                actor.pk,
            )
    assert read(User, untouched.pk) == before


def test_update_sets_one_row(account, actor):
    target, untouched = ApiUserFactory.create_batch(2, account=account)
    before = read(User, untouched.pk)

    with CaptureQueriesContext(connection) as queries:
        rows.update(User, [target.pk], {"name": "renamed", "changed_by": actor})

    assert len(queries) == 1
    assert "ANY" not in queries[0]["sql"]
    assert "json_each" not in queries[0]["sql"]
    target.refresh_from_db()
    assert (target.name, target.changed_by_id) == ("renamed", actor.pk)
    assert read(User, untouched.pk) == before


def test_the_statements_are_built_once():
    rows._insert_sql.cache_clear()
    rows._update_sql.cache_clear()
    for _ in range(3):
        rows._insert_sql(Change, 1)
        rows._update_sql(User, ("name",), connection.vendor, False)
    assert rows._insert_sql.cache_info().misses == 1
    assert rows._update_sql.cache_info().misses == 1


@pytest.mark.parametrize("name", ["labels", "history"])
def test_update_refuses_what_is_no_column(api_user, name):
    with pytest.raises(ValueError, match=f"User.{name} is not a column"):
        rows.update(User, [api_user.pk], {name: None})
