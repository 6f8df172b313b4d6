"""/labels/users/: list, create, retrieve, update, partial update and delete user labels."""

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from rest_framework.test import APIClient

from apiusers.models import Change, Label, User

from .conftest import before_and_after, client_for
from .factories import ApiUserFactory, LabelFactory, UserFactory, api_user_with_key
from .test_concurrency import run_together, run_while_a_label_is_being_created

pytestmark = pytest.mark.django_db

LIST = "/labels/users/"
NAME_TAKEN = {"name": ["A label with this name already exists."]}
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
NOT_PROVIDED = {"detail": "Authentication credentials were not provided."}
NOT_FOUND = b'{"detail":"Not found."}'
PATTERN = ["This value does not match the required pattern."]
CONTROL_CHARACTERS = ["Control and format characters are not allowed."]
COLOR_TOO_LONG = {"color": ["Ensure this field has no more than 255 characters."]}
LONG_AGO = timezone.now() - timedelta(days=30)

# Authentication, count, page.
LIST_QUERIES = 3
# Authentication, the label.
RETRIEVE_QUERIES = 2
# Authentication, savepoint, insert, release savepoint, the representation.
CREATE_QUERIES = 5
# Authentication, the label; savepoint, the label locked; savepoint, update,
# release; release; the representation.
PATCH_QUERIES = 9
# Authentication, the label; savepoint, the label locked, its users locked, their
# label names, delete of the users' links to it, delete of the label, update of the users,
# their history entries, release.
DELETE_QUERIES = 11


def detail(label_or_id) -> str:
    return f"{LIST}{getattr(label_or_id, 'id', label_or_id)}/"


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def represent(label: Label) -> dict:
    label = Label.objects.select_related("changed_by").get(pk=label.pk)
    changer = label.changed_by
    return {
        "id": label.id,
        "name": label.name,
        "color": label.color,
        "changed_by": {"id": changer.id, "email": changer.email, "name": changer.name},
        "changed": iso(label.changed),
    }


@pytest.fixture
def label(account, admin):
    return LabelFactory(
        account=account, name="ci", color="#00FF00", changed_by=admin[0], changed=LONG_AGO
    )


@pytest.fixture
def foreign_label(other_account):
    return LabelFactory(account=other_account, name="ci", color="#00FF00")


@pytest.fixture
def auditor_client(account):
    return client_for(api_user_with_key(account, "Auditor")[1])


@pytest.fixture
def developer_client(account):
    return client_for(api_user_with_key(account, "Developer")[1])


# List -----------------------------------------------------------------------------------------


def test_list_shows_the_account_labels_by_name_in_the_envelope(
    admin_client, account, label, foreign_label
):
    other = LabelFactory(account=account, name="a-first", color="")

    response = admin_client.get(LIST)

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "page_total": 1,
        "page": 1,
        "length": 10,
        "results": [represent(other), represent(label)],
    }


def test_list_search_matches_within_the_name_case_insensitively(admin_client, account, label):
    LabelFactory(account=account, name="Production")
    LabelFactory(account=account, name="staging")

    response = admin_client.get(LIST, {"search": "DUCT"})

    assert [item["name"] for item in response.json()["results"]] == ["Production"]


def test_list_orders_by_changed_newest_first_with_ties_by_id(admin_client, account):
    now = timezone.now()
    old = LabelFactory(account=account, name="old", changed=now - timedelta(days=1))
    tied = sorted(
        (LabelFactory(account=account, name=f"tied-{n}", changed=now) for n in range(3)),
        key=lambda label: label.id,
    )

    response = admin_client.get(LIST, {"ordering": "-changed"})

    assert [item["id"] for item in response.json()["results"]] == [
        *(label.id for label in tied),
        old.id,
    ]


def test_list_ignores_an_unknown_ordering_field(admin_client, account):
    LabelFactory(account=account, name="b", color="#000001")
    LabelFactory(account=account, name="a", color="#000002")

    response = admin_client.get(LIST, {"ordering": "color"})

    assert response.status_code == 200
    assert [item["name"] for item in response.json()["results"]] == ["a", "b"]


def test_list_pages_by_length(admin_client, account):
    LabelFactory.create_batch(5, account=account)

    response = admin_client.get(LIST, {"length": 2, "page": 3})

    body = response.json()
    assert (body["count"], body["page_total"], body["page"], body["length"]) == (5, 3, 3, 2)
    assert len(body["results"]) == 1


def test_list_page_past_the_last_is_404(admin_client, label):
    response = admin_client.get(LIST, {"page": 2})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page."}


def test_list_search_with_a_nul_character_is_a_field_error(admin_client, label):
    response = admin_client.get(LIST, {"search": "c\x00i"})

    assert response.status_code == 400
    assert response.json() == {"search": ["Null characters are not allowed."]}


@pytest.mark.parametrize("length", [1, 100])
def test_list_queries_do_not_grow_with_the_page(
    admin_client, account, length, django_assert_num_queries
):
    LabelFactory.create_batch(100, account=account)

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(LIST, {"length": length})

    assert response.status_code == 200, response.content


# Retrieve -------------------------------------------------------------------------------------


def test_retrieve_answers_the_label(admin_client, label, django_assert_num_queries):
    with django_assert_num_queries(RETRIEVE_QUERIES):
        response = admin_client.get(detail(label))

    assert response.status_code == 200
    assert response.json() == represent(label)


def test_a_foreign_label_answers_exactly_like_a_missing_one(admin_client, foreign_label):
    for method in ("get", "put", "patch", "delete"):
        request = getattr(admin_client, method)
        same = {"HTTP_X_REQUEST_ID": "same-request-id"}
        foreign = request(detail(foreign_label), {"name": "x"}, **same)
        missing = request(detail("Missing1d234"), {"name": "x"}, **same)

        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content == NOT_FOUND
        assert foreign.headers == missing.headers
    assert represent(foreign_label)["name"] == "ci"


def test_an_id_that_is_not_base58_is_a_404_without_a_query(admin_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = admin_client.get(detail("0OIl0OIl0OIl"))

    assert response.status_code == 404


# Create ---------------------------------------------------------------------------------------


def test_create_answers_201_with_the_label_changed_by_the_requester(
    admin_client, admin, account, django_assert_num_queries
):
    with django_assert_num_queries(CREATE_QUERIES):
        response = admin_client.post(LIST, {"name": "outsourced", "color": "#0000FF"})

    assert response.status_code == 201
    label = Label.objects.get(account=account, name="outsourced")
    assert (label.color, label.changed_by_id) == ("#0000FF", admin[0].id)
    assert response.json() == represent(label)


def test_create_without_a_colour_leaves_it_empty(admin_client, account):
    response = admin_client.post(LIST, {"name": "plain"})

    assert response.status_code == 201
    assert response.json()["color"] == ""
    assert Label.objects.get(account=account, name="plain").color == ""


def test_create_from_a_form_body(admin_client, account):
    response = admin_client.post(
        LIST, "name=formed&color=red", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 201
    assert Label.objects.get(account=account, name="formed").color == "red"


def test_create_with_a_name_the_account_has_is_400(admin_client, account, label):
    response = admin_client.post(LIST, {"name": "ci", "color": "#123456"})

    assert response.status_code == 400
    assert response.json() == NAME_TAKEN
    assert Label.objects.filter(account=account).count() == 1


def test_create_with_a_name_another_account_has_works(admin_client, account, foreign_label):
    response = admin_client.post(LIST, {"name": "ci"})

    assert response.status_code == 201
    assert Label.objects.get(account=account, name="ci").id != foreign_label.id


def test_names_differing_in_case_are_different_labels(admin_client, account, label):
    response = admin_client.post(LIST, {"name": "CI"})

    assert response.status_code == 201
    assert sorted(account.labels.values_list("name", flat=True)) == ["CI", "ci"]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"name": None}, {"name": ["This field may not be null."]}),
        ({"name": 7}, {"name": ["Not a valid string."]}),
        ({"name": "x" * 256}, {"name": ["Ensure this field has no more than 255 characters."]}),
        ({"name": "a\u202eb"}, {"name": CONTROL_CHARACTERS}),
        ({"name": "\u001fabc"}, {"name": CONTROL_CHARACTERS}),
        ({"name": "abc\u001e"}, {"name": CONTROL_CHARACTERS}),
        ({"name": "x" * 255 + "\u001e"}, {"name": CONTROL_CHARACTERS}),
        ({"name": "ok", "color": "#00 FF"}, {"color": PATTERN}),
        ({"name": "ok", "color": "a" * 256}, COLOR_TOO_LONG),
        ({"name": "ok", "color": "a" * 2_400_000}, COLOR_TOO_LONG),
        ({"name": "ok", "color": 255}, {"color": ["Not a valid string."]}),
        (
            {"name": "", "color": "no!"},
            {"name": ["This field may not be blank."], "color": PATTERN},
        ),
    ],
)
def test_create_refuses_bad_input_and_creates_nothing(admin_client, account, body, errors):
    response = admin_client.post(LIST, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert not Label.objects.filter(account=account).exists()


def test_create_takes_a_colour_of_255_characters(admin_client, account):
    response = admin_client.post(LIST, {"name": "long", "color": "a" * 255})

    assert response.status_code == 201
    assert response.json()["color"] == "a" * 255
    assert Label.objects.get(account=account, name="long").color == "a" * 255


# Update and partial update --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"color": "a" * 256}, COLOR_TOO_LONG),
        ({"name": "\u001fci"}, {"name": CONTROL_CHARACTERS}),
        ({"name": "ci\t"}, {"name": CONTROL_CHARACTERS}),
    ],
)
@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_refuses_bad_input_and_changes_nothing(admin_client, label, method, body, errors):
    response = getattr(admin_client, method)(detail(label), {"name": "ci", **body})

    assert response.status_code == 400
    assert response.json() == errors
    assert represent(Label.objects.get(pk=label.pk)) == represent(label)


def test_put_replaces_name_and_colour(admin_client, admin, label):
    response = admin_client.put(detail(label), {"name": "continuous", "color": "#111111"})

    assert response.status_code == 200
    label.refresh_from_db()
    assert (label.name, label.color, label.changed_by_id) == ("continuous", "#111111", admin[0].id)
    assert label.changed > LONG_AGO
    assert response.json() == represent(label)


def test_put_without_a_colour_empties_it(admin_client, label):
    response = admin_client.put(detail(label), {"name": "ci"})

    assert response.status_code == 200
    label.refresh_from_db()
    assert label.color == ""


def test_put_without_a_name_is_400(admin_client, label):
    response = admin_client.put(detail(label), {"color": "#111111"})

    assert response.status_code == 400
    assert response.json() == {"name": ["This field is required."]}
    assert represent(label)["color"] == "#00FF00"


def test_patch_changes_only_the_fields_sent(admin_client, admin, label, django_assert_num_queries):
    with django_assert_num_queries(PATCH_QUERIES):
        response = admin_client.patch(detail(label), {"color": "#ABCDEF"})

    assert response.status_code == 200
    label.refresh_from_db()
    assert (label.name, label.color, label.changed_by_id) == ("ci", "#ABCDEF", admin[0].id)
    assert label.changed > LONG_AGO
    assert response.json() == represent(label)


@pytest.mark.parametrize("body", [{}, {"name": "ci"}, {"name": "ci", "color": "#00FF00"}])
def test_a_write_that_changes_nothing_leaves_changed_and_changed_by(account, label, body):
    other_admin, key = api_user_with_key(account, "Admin")
    before = represent(label)

    response = client_for(key).patch(detail(label), body)

    assert response.status_code == 200
    assert response.json() == before
    assert represent(label) == before
    assert other_admin.id != before["changed_by"]["id"]


def test_renaming_to_a_name_another_label_has_is_400(admin_client, account, label):
    LabelFactory(account=account, name="prod")

    for request in (admin_client.patch, admin_client.put):
        response = request(detail(label), {"name": "prod"})

        assert response.status_code == 400
        assert response.json() == NAME_TAKEN
    assert represent(label)["name"] == "ci"


def test_renaming_keeps_the_label_on_its_users_without_changing_them(admin_client, account, label):
    user = ApiUserFactory(account=account, changed=LONG_AGO)
    user.labels.set([label])

    admin_client.patch(detail(label), {"name": "renamed"})

    user.refresh_from_db()
    assert list(user.labels.values_list("name", flat=True)) == ["renamed"]
    assert user.changed == LONG_AGO
    assert not Change.objects.filter(user=user).exists()


# Delete ---------------------------------------------------------------------------------------


def test_delete_removes_the_label_from_its_users_and_records_it(
    admin_client, admin, account, label
):
    prod = LabelFactory(account=account, name="prod")
    carrier = ApiUserFactory(account=account, changed=LONG_AGO)
    carrier.labels.set([label, prod])
    human = UserFactory(account=account, changed=LONG_AGO)
    human.labels.set([label])
    bystander = ApiUserFactory(account=account, changed=LONG_AGO)
    bystander.labels.set([prod])

    response = admin_client.delete(detail(label))

    assert response.status_code == 204
    assert response.content == b""
    assert not Label.objects.filter(pk=label.pk).exists()
    carrier, human, bystander = (User.objects.get(pk=u.pk) for u in (carrier, human, bystander))
    assert list(carrier.labels.all()) == [prod]
    assert list(human.labels.all()) == []
    for user in (carrier, human):
        assert user.changed > LONG_AGO
        assert user.changed_by_id == admin[0].id
    assert (bystander.changed, list(bystander.labels.all())) == (LONG_AGO, [prod])
    change = Change.objects.get()
    assert (change.user_id, change.actor_id, change.action) == (carrier.id, admin[0].id, "updated")
    assert change.changes == {"labels": {"from": ["ci", "prod"], "to": ["prod"]}}


def test_delete_leaves_a_deleted_api_user_as_it_was(admin_client, account, label):
    gone = ApiUserFactory(account=account, changed=LONG_AGO, deleted=LONG_AGO)
    gone.labels.set([label])

    assert admin_client.delete(detail(label)).status_code == 204

    gone.refresh_from_db()
    assert gone.changed == LONG_AGO
    assert not Change.objects.exists()


@pytest.mark.parametrize("holders", [1, 20])
def test_delete_queries_do_not_grow_with_the_users_of_the_label(
    admin_client, account, label, holders, django_assert_num_queries
):
    for user in ApiUserFactory.create_batch(holders, account=account):
        user.labels.set([label, LabelFactory(account=account)])

    with django_assert_num_queries(DELETE_QUERIES):
        response = admin_client.delete(detail(label))

    assert response.status_code == 204, response.content
    assert Change.objects.count() == holders


def test_delete_twice_is_404_the_second_time(admin_client, label):
    assert admin_client.delete(detail(label)).status_code == 204
    assert admin_client.delete(detail(label)).content == NOT_FOUND


# Authentication and permissions ---------------------------------------------------------------


def test_without_a_key_every_operation_is_401(label):
    client = APIClient()

    for method, path in [
        ("get", LIST),
        ("post", LIST),
        ("get", detail(label)),
        ("put", detail(label)),
        ("patch", detail(label)),
        ("delete", detail(label)),
    ]:
        response = getattr(client, method)(path, {"name": "x"})
        assert response.status_code == 401
        assert response.json() == NOT_PROVIDED
    assert represent(label)["name"] == "ci"


def test_an_auditor_reads_but_does_not_write(auditor_client, account, label):
    assert auditor_client.get(LIST).status_code == 200
    assert auditor_client.get(detail(label)).status_code == 200
    for response in (
        auditor_client.post(LIST, {"name": "new"}),
        auditor_client.put(detail(label), {"name": "x"}),
        auditor_client.patch(detail(label), {"name": "x"}),
        auditor_client.delete(detail(label)),
    ):
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert list(account.labels.values_list("name", flat=True)) == ["ci"]


def test_a_developer_neither_reads_nor_writes(developer_client, account, label):
    for response in (
        developer_client.get(LIST),
        developer_client.get(detail(label)),
        developer_client.post(LIST, {"name": "new"}),
        developer_client.patch(detail(label), {"name": "x"}),
        developer_client.delete(detail(label)),
    ):
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert list(account.labels.values_list("name", flat=True)) == ["ci"]


# Concurrency (PostgreSQL) ---------------------------------------------------------------------

HELD = 10


def post_with(key: str, body: dict):
    def request():
        response = client_for(key).post(LIST, body)
        return response.status_code, response.content

    return request


def delete_with(key: str, path: str):
    def request():
        return client_for(key).delete(path).status_code

    return request


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("Concurrency needs PostgreSQL: SQLite serialises writers itself.")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creates_of_one_name_give_one_201_and_400s(postgresql_only, account, admin):
    results = run_while_a_label_is_being_created(
        account, admin[0], "contested", [post_with(admin[1], {"name": "contested"})] * HELD * 2
    )

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [400] * (HELD * 2 - 1), results
    assert {content for status, content in results if status == 400} == {
        b'{"name":["A label with this name already exists."]}'
    }
    assert Label.objects.filter(account=account, name="contested").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_deletes_of_one_label_record_it_once(postgresql_only, account, admin, label):
    users = ApiUserFactory.create_batch(5, account=account)
    for user in users:
        user.labels.set([label])

    statuses = run_together([delete_with(admin[1], detail(label))] * HELD)

    assert sorted(statuses) == [204] + [404] * (HELD - 1)
    assert Change.objects.count() == len(users)


# Colour length ----------------------------------------------------------------------------------


def test_every_label_colour_in_the_schema_has_a_maximum_length_of_255():
    schema = yaml.safe_load((Path(__file__).parent.parent / "schema/openapi.yaml").read_text())
    colours = {
        name: component["properties"]["color"]
        for name, component in schema["components"]["schemas"].items()
        if "color" in component.get("properties", {})
    }

    assert set(colours) >= {"Label", "LabelInputRequest", "LabelWriteRequest"}
    assert {name: colour.get("maxLength") for name, colour in colours.items()} == dict.fromkeys(
        colours, 255
    )


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_that_limits_colours_empties_the_longer_ones(account, admin):
    before, leaves = before_and_after("label_color_max_length")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old = executor.loader.project_state([before]).apps.get_model("apiusers", "Label")
    for name, color in [("long", "a" * 2_400_000), ("limit", "b" * 255), ("short", "#00FF00")]:
        old.objects.create(
            account_id=account.id,
            name=name,
            color=color,
            changed=LONG_AGO,
            changed_by_id=admin[0].id,
        )

    MigrationExecutor(connection).migrate(leaves)

    assert dict(Label.objects.values_list("name", "color")) == {
        "long": "",
        "limit": "b" * 255,
        "short": "#00FF00",
    }
    assert set(Label.objects.values_list("changed", flat=True)) == {LONG_AGO}
