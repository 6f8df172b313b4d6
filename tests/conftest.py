import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from apiusers.selectors import RECENT_KEYS

from .factories import AccountFactory, ApiUserFactory, LabelFactory, api_user_with_key, grant

# Queries of one API user's representation: built by PostgreSQL in one query
# (apiusers.representation); elsewhere the user, its labels and its roles.
REPRESENTATION_QUERIES = 1 if connection.vendor == "postgresql" else 3


@pytest.fixture(scope="session", autouse=True)
def json_support_probed(django_db_setup, django_db_blocker):
    """Django asks SQLite whether it builds JSON objects with a query of its own, once per
    connection, the first time a query builds one (the writes to API users do): asked here, that
    query falls in no test's count."""
    with django_db_blocker.unblock():
        assert connection.features.has_json_object_function


@pytest.fixture(autouse=True)
def test_settings(settings):
    """Fast password hashing, and static files served without `collectstatic`'s manifest."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def no_recent_keys():
    """Each test starts with no key remembered from another (apiusers.selectors.RecentKeys)."""
    RECENT_KEYS.forget()


@pytest.fixture
def keys_read_every_time(settings):
    """Every request reads its key from the database, as the first request with a key does: for
    tests that count a request's queries after other requests with the same key."""
    settings.AUTH_CACHE_SECONDS = 0


@pytest.fixture
def account(db):
    return AccountFactory(name="Acme")


@pytest.fixture
def other_account(db):
    return AccountFactory(name="Umbrella")


def before_and_after(migration_suffix: str) -> tuple[tuple[str, str], list[tuple[str, str]]]:
    """The migration this app's migration named `..._<migration_suffix>` depends on, and the
    latest ones: what a test migrates back to and forward again. Found by name, not number,
    so that renumbering the migration keeps the test."""
    executor = MigrationExecutor(connection)
    [migration] = [
        key
        for key in executor.loader.graph.nodes
        if key[0] == "apiusers" and key[1].endswith(f"_{migration_suffix}")
    ]
    [before] = executor.loader.graph.node_map[migration].parents
    return before.key, executor.loader.graph.leaf_nodes()


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"JWT {key}")
    return client


@pytest.fixture
def admin(account):
    """The caller of most tests: an API user with the Admin role of `account`, and its key."""
    return api_user_with_key(account, "Admin", name="admin-bot")


@pytest.fixture
def admin_client(admin):
    return client_for(admin[1])


@pytest.fixture
def api_user(account, admin):
    """The API user most tests read and change: two labels and an account-tier role."""
    user = ApiUserFactory(account=account, name="ci-bot")
    user.labels.set(
        [
            LabelFactory(account=account, name="ci", color="#00FF00", changed_by=admin[0]),
            LabelFactory(account=account, name="prod", color="#FF0000", changed_by=admin[0]),
        ]
    )
    grant(user, "Developer")
    return user


@pytest.fixture
def foreign_api_user(other_account):
    return ApiUserFactory(account=other_account, name="their-bot")


def url(user_or_id) -> str:
    return f"/api-users/{getattr(user_or_id, 'id', user_or_id)}/"
