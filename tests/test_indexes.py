"""The indexes every write pays for are the ones some query uses."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="Pattern indexes are PostgreSQL's."
    ),
]


def indexes(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename = %s",
            [table],
        )
        return dict(cursor.fetchall())


@pytest.mark.parametrize("table", ["apiusers_user", "apiusers_change", "apiusers_user_labels"])
def test_no_id_column_has_a_prefix_pattern_index(table):
    patterns = [name for name, sql in indexes(table).items() if "varchar_pattern_ops" in sql]
    assert patterns == []


def test_what_a_patch_writes_updates_only_indexes_queries_use():
    assert sorted(indexes("apiusers_user")) == [
        "api_user_by_changed",
        "api_user_by_name",
        "apiusers_user_account_id_f89bd79b",
        "apiusers_user_changed_by_id_c35bae15",
        "apiusers_user_pkey",
        "user_email_unique",
    ]
    assert sorted(indexes("apiusers_change")) == [
        "apiusers_change_actor_id_519f2494",
        "apiusers_change_pkey",
        "change_user_newest_first",
    ]
