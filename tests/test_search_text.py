"""A user's search text (its name and its labels' names, upper-cased, one per line), which the
database's triggers keep (migration 0009) whatever writes the name, a label or a link: the API,
the ORM, a bulk UPDATE. A search reads it alone, so every way of writing is checked here, and a
property test compares the search with its definition (the name or a label's name contains
each term) after any sequence of writes."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Q
from django.db.models.functions import Upper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apiusers.models import Label, User

from .conftest import before_and_after, client_for, url
from .factories import AccountFactory, ApiUserFactory, LabelFactory, api_user_with_key

pytestmark = pytest.mark.django_db

LIST = "/api-users/"


def tag(name: str) -> dict:
    return {"name": name, "color": "#00FF00"}


def stored(user: User) -> tuple[str, list[str]]:
    """The search text of `user` as stored: its name line and its label lines, sorted."""
    name, *labels = User.objects.values_list("search_text", flat=True).get(pk=user.pk).split("\n")
    return name, sorted(labels)


def expected(user: User) -> tuple[str, list[str]]:
    """The same, from the user's name and labels as they are, upper-cased by the database."""
    name = User.objects.filter(pk=user.pk).values_list(Upper("name"), flat=True).get()
    labels = Label.objects.filter(users=user).values_list(Upper("name"), flat=True)
    return name, sorted(labels)


def assert_kept(*users: User) -> None:
    for user in users:
        assert stored(user) == expected(user)


@pytest.fixture
def holders(account, admin):
    """Two API users sharing the label ci; the first also has prod."""
    ci = LabelFactory(account=account, name="ci", changed_by=admin[0])
    prod = LabelFactory(account=account, name="prod", changed_by=admin[0])
    first = ApiUserFactory(account=account, name="first")
    second = ApiUserFactory(account=account, name="second")
    first.labels.set([ci, prod])
    second.labels.set([ci])
    return first, second, ci, prod


def test_the_text_holds_the_name_then_each_label_upper_cased(holders):
    first, second, _, _ = holders

    assert stored(first) == ("FIRST", ["CI", "PROD"])
    assert stored(second) == ("SECOND", ["CI"])


def test_a_user_without_labels_has_its_name_alone(account):
    user = ApiUserFactory(account=account, name="Lonely Bot")

    assert User.objects.get(pk=user.pk).search_text == "LONELY BOT"


def test_created_through_the_api_with_labels(admin_client):
    body = {"name": "deployer", "labels": [tag("ci"), tag("Release")]}
    response = admin_client.post(LIST, body)

    assert response.status_code == 201, response.json()
    assert stored(User.objects.get(pk=response.json()["id"])) == ("DEPLOYER", ["CI", "RELEASE"])


def test_a_patch_of_the_name_or_the_labels(admin_client, holders):
    first, _, _, _ = holders

    assert admin_client.patch(url(first), {"name": "renamed"}).status_code == 200
    assert stored(first) == ("RENAMED", ["CI", "PROD"])

    response = admin_client.patch(url(first), {"labels": [tag("prod"), tag("new")]})
    assert response.status_code == 200
    assert stored(first) == ("RENAMED", ["NEW", "PROD"])

    body = {"name": "both", "labels": []}
    assert admin_client.patch(url(first), body).status_code == 200
    assert stored(first) == ("BOTH", [])


def test_a_put_and_a_bulk_update(admin_client, holders):
    first, second, _, _ = holders
    body = {"name": "put", "active": True, "labels": [tag("x")]}

    assert admin_client.put(url(first), body).status_code == 200
    assert stored(first) == ("PUT", ["X"])

    bulk = {"ids": [first.id, second.id], "labels": [tag("y"), tag("ci")]}
    response = admin_client.post(f"{LIST}bulk/update/", bulk)
    assert response.status_code == 200, response.json()
    assert stored(first) == ("PUT", ["CI", "Y"])
    assert stored(second) == ("SECOND", ["CI", "Y"])


def test_renaming_a_label_rewrites_every_holder_and_no_one_else(admin_client, account, holders):
    first, second, ci, _ = holders
    stranger = ApiUserFactory(account=account, name="stranger")

    response = admin_client.patch(f"/labels/users/{ci.id}/", {"name": "Continuous"})

    assert response.status_code == 200, response.json()
    assert stored(first) == ("FIRST", ["CONTINUOUS", "PROD"])
    assert stored(second) == ("SECOND", ["CONTINUOUS"])
    assert stored(stranger) == ("STRANGER", [])


def test_deleting_a_label_removes_it_from_every_holder(admin_client, holders):
    first, second, ci, _ = holders

    assert admin_client.delete(f"/labels/users/{ci.id}/").status_code == 204

    assert stored(first) == ("FIRST", ["PROD"])
    assert stored(second) == ("SECOND", [])


def test_orm_writes_keep_it_too(account, admin, holders):
    first, second, ci, prod = holders

    first.labels.remove(ci)
    assert stored(first) == ("FIRST", ["PROD"])
    second.labels.clear()
    assert stored(second) == ("SECOND", [])
    second.labels.add(ci, prod)
    assert stored(second) == ("SECOND", ["CI", "PROD"])

    first.name = "saved"
    first.search_text = "stale"
    first.save()
    assert stored(first) == ("SAVED", ["PROD"])

    User.objects.filter(pk=second.pk).update(name="updated")
    Label.objects.filter(pk=prod.pk).update(name="production")
    assert_kept(first, second)
    assert stored(second) == ("UPDATED", ["CI", "PRODUCTION"])


def test_a_write_that_changes_neither_name_nor_labels_leaves_it(admin_client, holders):
    first, _, _, _ = holders

    assert admin_client.patch(url(first), {"active": False}).status_code == 200

    assert stored(first) == ("FIRST", ["CI", "PROD"])


def test_a_quoted_term_holding_a_newline_matches_nothing(admin_client, holders):
    # The stored text of `first` is FIRST, CI and PROD on lines of their own.
    response = admin_client.get(LIST, {"search": '"first\nci"'})

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_fills_the_text_of_existing_users_and_goes_back(holders):
    """Backwards, the column and its triggers go; forwards again, every user's text is written
    from what it holds, and the triggers keep it from then on."""
    first, second, ci, _ = holders
    before, leaves = before_and_after("user_search_text")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("apiusers", "Label")
    old.objects.filter(pk=ci.pk).update(name="renamed while no trigger ran")

    MigrationExecutor(connection).migrate(leaves)

    assert stored(first) == ("FIRST", ["PROD", "RENAMED WHILE NO TRIGGER RAN"])
    assert stored(second) == ("SECOND", ["RENAMED WHILE NO TRIGGER RAN"])
    Label.objects.filter(pk=ci.pk).update(name="ci")
    assert stored(second) == ("SECOND", ["CI"])


# Any names, labels and writes: the search answers what its definition says -----------------

# Few letters, so that terms often match; cases that upper-casing meets; a character outside
# ASCII and one that LIKE would read as a wildcard.
ALPHABET = "abAB-é_% "
text = st.text(alphabet=ALPHABET, min_size=1, max_size=6).map(str.strip).filter(bool)
write = st.one_of(
    st.tuples(st.just("rename user"), st.integers(0, 2), text),
    st.tuples(st.just("set labels"), st.integers(0, 2), st.lists(text, max_size=3, unique=True)),
    st.tuples(st.just("rename label"), st.integers(0, 3), text),
    st.tuples(st.just("delete label"), st.integers(0, 3)),
)


def search(client, term: str) -> list[str]:
    response = client.get(LIST, {"search": f'"{term}"', "length": 100})
    assert response.status_code == 200, response.json()
    return sorted(user["id"] for user in response.json()["results"])


def by_definition(users: list[User], term: str) -> list[str]:
    matches = User.objects.filter(
        Q(name__icontains=term) | Q(labels__name__icontains=term), pk__in=[u.pk for u in users]
    )
    return sorted(set(matches.values_list("pk", flat=True)))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    names=st.lists(text, min_size=3, max_size=3),
    writes=st.lists(write, max_size=6),
    terms=st.lists(text, min_size=1, max_size=4),
)
def test_search_answers_its_definition_after_any_writes(db, names, writes, terms):
    account = AccountFactory()
    caller, key = api_user_with_key(account, "Admin", name="zz caller")
    client = client_for(key)
    users = [ApiUserFactory(account=account, name=name) for name in names]
    for kind, index, *value in writes:
        if kind == "rename user":
            assert client.patch(url(users[index]), {"name": value[0]}).status_code == 200
        elif kind == "set labels":
            labels = [tag(name) for name in value[0]]
            assert client.patch(url(users[index]), {"labels": labels}).status_code == 200
        else:
            label = Label.objects.filter(account=account).order_by("id")[index : index + 1].first()
            if label is None:
                continue
            if kind == "rename label":
                response = client.patch(f"/labels/users/{label.id}/", {"name": value[0]})
                assert response.status_code in {200, 400}, response.json()  # 400: name taken
            else:
                assert client.delete(f"/labels/users/{label.id}/").status_code == 204

    assert_kept(*users)
    for term in terms:
        assert search(client, term) == by_definition([*users, caller], term), (
            term,
            connection.vendor,
        )
