"""POST /api-users/, PUT and DELETE /api-users/{id}/, POST /api-users/bulk/update/."""

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from rest_framework.test import APIClient

from apiusers import keys
from apiusers.models import ApiKey, Change, Label, User

from .conftest import REPRESENTATION_QUERIES, client_for, url
from .factories import ApiUserFactory, LabelFactory, TargetFactory, TeamFactory, api_user_with_key
from .test_query_counts import BULK_UPDATE_QUERIES, PATCH_NEW_LABELS_QUERIES, PATCH_QUERIES

pytestmark = pytest.mark.django_db

OWNER, ADMIN, DEVELOPER = "xRDpnjuNSWJX", "UdU7tPEHa1DU", "mvHmA52RyzCE"
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
NOT_FOUND = {"detail": "Not found."}
FORM_USER_ROLES = {"user_roles": ["Roles cannot be sent in a form body: send the request as JSON."]}
FORM = "application/x-www-form-urlencoded"
SCHEMA = yaml.safe_load((Path(__file__).parent.parent / "schema/openapi.yaml").read_text())

# Authentication; the roles and the teams of the items; savepoint, user insert, its changed_by,
# labels by name, label insert, labels re-read, delete and insert of the user's labels, role
# insert, history entry, key insert, release savepoint; and the representation.
CREATE_QUERIES = 15 + REPRESENTATION_QUERIES
# A PUT is the write of a PATCH with every field sent (here, with a new label).
PUT_QUERIES = PATCH_NEW_LABELS_QUERIES
# Authentication, the user; savepoint, row lock, the user's roles (whether the
# caller may act on it), the Owner roles and whether the user is an active Owner (the last
# Owner rule), soft delete, key delete, history entry, release savepoint.
DELETE_QUERIES = 11


def request_schemas(path: str, method: str) -> dict:
    """The request schema of an operation by media type, its component resolved."""
    content = SCHEMA["paths"][path][method]["requestBody"]["content"]
    return {
        media_type: SCHEMA["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
        for media_type, body in content.items()
    }


def role(role_id: str, tier: str = "account", **scope) -> dict:
    return {
        "role": {"id": role_id},
        "scope": {"tier": tier, **{k: {"id": v} for k, v in scope.items()}},
    }


# Create ----------------------------------------------------------------------------------------


def test_create_answers_201_with_location_the_representation_and_the_full_key(
    admin_client, admin, account
):
    team = TeamFactory(account=account, name="Platform")

    response = admin_client.post(
        "/api-users/",
        {
            "name": "deployer",
            "title": "devop",
            "labels": [{"name": "ci", "color": "#00FF00"}],
            "user_roles": [role(DEVELOPER, "team", team=team.id), role(ADMIN)],
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    user = User.objects.get(id=body["id"])
    assert response["Location"] == f"/api-users/{user.id}/"
    assert (user.name, user.title, user.active, user.is_apiuser) == (
        "deployer",
        "devop",
        True,
        True,
    )
    assert user.account == account
    assert user.changed_by == admin[0]
    assert [label.name for label in user.labels.all()] == ["ci"]
    assert sorted((r.role_id, r.tier, r.team_id) for r in user.user_roles.all()) == sorted(
        [(DEVELOPER, "team", team.id), (ADMIN, "account", None)]
    )
    key = body["key"]
    assert keys.prefix_of(key) == ApiKey.objects.get(user=user).prefix
    assert client_for(key).get(url(user)).status_code == 200
    get = admin_client.get(url(user)).json()
    assert {**body, "key": get["key"]} == get
    assert get["key"] == keys.redact(keys.prefix_of(key))


def test_created_key_appears_only_in_the_create_answer(admin_client):
    created = admin_client.post("/api-users/", {"name": "bot"}).json()
    secret = created["key"].split(".")[1]

    answers = [
        admin_client.get(url(created["id"])),
        admin_client.get("/api-users/"),
        admin_client.patch(url(created["id"]), {"name": "bot2"}),
        admin_client.put(url(created["id"]), {"name": "bot3", "labels": []}),
        admin_client.get(f"/api-users/{created['id']}/key/"),
        admin_client.get(f"/api-users/{created['id']}/history/"),
    ]

    for answer in answers:
        assert answer.status_code == 200
        assert secret not in answer.content.decode()


def test_create_with_only_a_name(admin_client):
    response = admin_client.post("/api-users/", {"name": "bare"})

    assert response.status_code == 201
    body = response.json()
    assert (body["labels"], body["user_roles"], body["active"]) == ([], [], True)


def test_create_records_a_history_entry(admin_client, admin):
    body = admin_client.post(
        "/api-users/",
        {"name": "bot", "labels": [{"name": "x", "color": ""}], "user_roles": [role(DEVELOPER)]},
    ).json()

    change = Change.objects.get(user_id=body["id"])
    assert (change.action, change.actor_id) == ("created", admin[0].id)
    assert change.changes == {
        "name": {"from": None, "to": "bot"},
        "title": {"from": None, "to": ""},
        "active": {"from": None, "to": True},
        "labels": {"from": [], "to": ["x"]},
        "user_roles": {"from": [], "to": ["Developer on account"]},
    }


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"name": ["This field is required."]}),
        ({"name": "x" * 61}, {"name": ["Ensure this field has no more than 60 characters."]}),
        ({"name": "bot", "active": "yes"}, {"active": ["Must be a valid boolean: true or false."]}),
        (
            {"name": "bot", "labels": [{"name": "a"}]},
            {"labels": {"0": {"color": ["This field is required."]}}},
        ),
        (
            {"name": "bot", "user_roles": [role("0OIl0OIl0OIl")]},
            {"user_roles": {"0": {"role": {"id": ["Not a valid id."]}}}},
        ),
        (
            {"name": "bot", "user_roles": [role("Missing1d234")]},
            {
                "user_roles": {
                    "0": {"role": {"id": ['Invalid pk "Missing1d234" - object does not exist.']}}
                }
            },
        ),
        (
            {"name": "bot", "user_roles": [role(DEVELOPER, "team")]},
            {
                "user_roles": {
                    "0": {
                        "scope": {
                            "non_field_errors": ["The team tier takes a team, and no target."]
                        }
                    }
                }
            },
        ),
        (
            {"name": "bot", "user_roles": [role(DEVELOPER), role(DEVELOPER)]},
            {
                "user_roles": {
                    "1": {"non_field_errors": ["This role is already given in this scope above."]}
                }
            },
        ),
    ],
)
def test_create_refuses_bad_input_and_creates_nothing(admin_client, body, errors):
    before = User.objects.count()

    response = admin_client.post("/api-users/", body)

    assert response.status_code == 400
    assert response.json() == errors
    assert User.objects.count() == before


def test_create_refuses_a_team_or_target_of_another_account_like_a_missing_one(
    admin_client, other_account
):
    theirs = [TeamFactory(account=other_account), TargetFactory(account=other_account)]
    before = User.objects.count()

    for tier, scope in zip(["team", "target"], theirs, strict=True):
        response = admin_client.post(
            "/api-users/",
            {"name": "bot", "user_roles": [role(DEVELOPER, tier, **{tier: scope.id})]},
        )
        assert response.status_code == 400
        assert response.json() == {
            "user_roles": {
                "0": {
                    "scope": {tier: {"id": [f'Invalid pk "{scope.id}" - object does not exist.']}}
                }
            }
        }
    assert User.objects.count() == before


def test_an_admin_cannot_grant_owner_but_an_owner_can(admin_client, account):
    response = admin_client.post("/api-users/", {"name": "bot", "user_roles": [role(OWNER)]})

    assert response.status_code == 403
    assert response.json() == {
        "detail": "You cannot grant the Owner role: it has permissions you do not hold."
    }
    assert not User.objects.filter(name="bot").exists()
    owner_client = client_for(api_user_with_key(account, "Owner")[1])
    assert (
        owner_client.post("/api-users/", {"name": "bot", "user_roles": [role(OWNER)]}).status_code
        == 201
    )


@pytest.mark.parametrize("role_name", ["Auditor", "SecOps", "Developer", "Billing"])
def test_only_managers_create(account, role_name):
    response = client_for(api_user_with_key(account, role_name)[1]).post(
        "/api-users/", {"name": "x"}
    )

    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert not User.objects.filter(name="x").exists()


def test_create_without_credentials_is_401():
    response = APIClient().post("/api-users/", {"name": "x"}, format="json")

    assert response.status_code == 401
    assert not User.objects.filter(name="x").exists()


@pytest.mark.usefixtures("keys_read_every_time")
def test_create_queries_do_not_grow_with_labels_or_roles(
    admin_client, account, django_assert_num_queries
):
    for n in (1, 30):
        teams = TeamFactory.create_batch(n, account=account)
        body = {
            "name": "bot",
            "labels": [{"name": f"l{n}-{i}", "color": ""} for i in range(n)],
            "user_roles": [role(DEVELOPER, "team", team=team.id) for team in teams],
        }

        with django_assert_num_queries(CREATE_QUERIES):
            response = admin_client.post("/api-users/", body)

        assert response.status_code == 201, response.content


# Update (PUT) ----------------------------------------------------------------------------------


def test_put_replaces_name_labels_and_active(admin_client, api_user):
    User.objects.filter(pk=api_user.pk).update(active=False, title="cto")

    response = admin_client.put(
        url(api_user), {"name": "new", "labels": [{"name": "z", "color": ""}]}
    )

    assert response.status_code == 200
    api_user.refresh_from_db()
    assert (api_user.name, api_user.active, api_user.title) == ("new", True, "cto")
    assert [label.name for label in api_user.labels.all()] == ["z"]
    assert response.json() == admin_client.get(url(api_user)).json()


def test_put_requires_name_and_labels(admin_client, api_user):
    response = admin_client.put(url(api_user), {"active": False})

    assert response.status_code == 400
    assert response.json() == {
        "name": ["This field is required."],
        "labels": ["This field is required."],
    }
    api_user.refresh_from_db()
    assert api_user.active is True


def test_put_of_a_foreign_id_answers_like_a_missing_one(admin_client, foreign_api_user):
    foreign = admin_client.put(url(foreign_api_user), {"name": "x", "labels": []})
    missing = admin_client.put(url("Missing1d234"), {"name": "x", "labels": []})

    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    foreign_api_user.refresh_from_db()
    assert foreign_api_user.name == "their-bot"


def test_put_is_forbidden_to_readers(account, api_user):
    client = client_for(api_user_with_key(account, "Auditor")[1])

    assert client.put(url(api_user), {"name": "x", "labels": []}).json() == FORBIDDEN


# Delete ----------------------------------------------------------------------------------------


def test_delete_answers_204_revokes_the_key_at_once_and_hides_the_user(
    admin_client, account, admin
):
    user, key = api_user_with_key(account, "Admin")
    assert client_for(key).get(url(user)).status_code == 200

    response = admin_client.delete(url(user))

    assert response.status_code == 204
    assert response.content == b""
    assert client_for(key).get(url(admin[0])).json() == {
        "detail": "Incorrect authentication credentials."
    }
    assert admin_client.get(url(user)).json() == NOT_FOUND
    assert user.id not in [u["id"] for u in admin_client.get("/api-users/").json()["results"]]
    assert not ApiKey.objects.filter(user=user).exists()
    assert Change.objects.get(user=user, action="deleted").actor == admin[0]


def test_a_deleted_user_still_names_what_it_changed(admin_client, account):
    user, _ = api_user_with_key(account, "Admin", name="short-lived")
    label = LabelFactory(account=account, changed_by=user)

    admin_client.delete(url(user))

    label.refresh_from_db()
    assert label.changed_by.name == "short-lived"


def test_delete_of_a_foreign_or_missing_id_is_the_same_404(admin_client, foreign_api_user):
    foreign = admin_client.delete(url(foreign_api_user))
    missing = admin_client.delete(url("Missing1d234"))

    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    foreign_api_user.refresh_from_db()
    assert foreign_api_user.deleted is None


def test_delete_is_forbidden_to_readers(account, api_user):
    client = client_for(api_user_with_key(account, "SecOps")[1])

    assert client.delete(url(api_user)).status_code == 403
    api_user.refresh_from_db()
    assert api_user.deleted is None


# Create from a form body -----------------------------------------------------------------------


def test_create_from_a_form_body_takes_name_active_and_label_rows(admin_client, account):
    response = admin_client.post(
        "/api-users/",
        "name=formed&active=false&labels[0]name=ci&labels[0]color=%2300FF00",
        content_type=FORM,
    )

    assert response.status_code == 201, response.content
    user = User.objects.get(pk=response.json()["id"])
    assert (user.name, user.active, list(user.labels.values_list("name", "color"))) == (
        "formed",
        False,
        [("ci", "#00FF00")],
    )


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "user_roles": json.dumps([role(DEVELOPER)])},
        {"name": "x", "user_roles": ""},
        {"name": "x", "user_roles[0]role.id": DEVELOPER, "user_roles[0]scope.tier": "account"},
    ],
    ids=["json-part", "empty-part", "dotted-parts"],
)
def test_create_refuses_roles_in_a_multipart_body_and_creates_nothing(admin_client, body):
    """Forms cannot carry the nested roles; they were dropped unseen (201 without roles)."""
    before = User.objects.count()

    response = admin_client.post("/api-users/", body, format="multipart")

    assert response.status_code == 400
    assert response.json() == FORM_USER_ROLES
    assert User.objects.count() == before


def test_create_refuses_roles_in_a_form_body_and_creates_nothing(admin_client):
    before = User.objects.count()

    response = admin_client.post("/api-users/", f"name=x&user_roles={DEVELOPER}", content_type=FORM)

    assert response.status_code == 400
    assert response.json() == FORM_USER_ROLES
    assert User.objects.count() == before


def test_the_create_schema_offers_roles_in_json_only():
    schemas = request_schemas("/api-users/", "post")

    assert set(schemas) == {"application/json", FORM, "multipart/form-data"}
    assert "user_roles" in schemas["application/json"]["properties"]
    assert schemas[FORM] == schemas["multipart/form-data"]
    assert set(schemas[FORM]["properties"]) == {"name", "title", "active", "labels"}
    assert schemas[FORM]["required"] == ["name"]


# Bulk update -----------------------------------------------------------------------------------


def test_bulk_update_refuses_an_overlong_list_of_ids_before_looking_at_any(admin_client, api_user):
    """Each of 150,000 ids cost a validation (seconds of a worker) before the list's length was
    checked: the length is checked first, so the errors are not those of the items."""
    response = admin_client.post(
        "/api-users/bulk/update/", {"ids": ["0OIl0OIl0OIl"] * 101, "active": False}
    )

    assert response.status_code == 400
    assert response.json() == {"ids": ["Ensure this field has no more than 100 elements."]}
    api_user.refresh_from_db()
    assert api_user.active is True


def test_bulk_update_request_schema_requires_only_ids():
    schemas = request_schemas("/api-users/bulk/update/", "post")

    for schema in schemas.values():
        assert schema["required"] == ["ids"]
        assert "default" not in schema["properties"]["active"]


def test_bulk_update_from_a_form_body(admin_client, account):
    users = ApiUserFactory.create_batch(2, account=account)

    response = admin_client.post(
        "/api-users/bulk/update/",
        f"ids={users[0].id}&ids={users[1].id}&active=false&labels[0]name=frozen&labels[0]color=",
        content_type=FORM,
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"ids": [users[0].id, users[1].id]}
    for user in users:
        user.refresh_from_db()
        assert (user.active, [label.name for label in user.labels.all()]) == (False, ["frozen"])


def test_bulk_update_sets_the_fields_on_every_user(admin_client, account, admin):
    users = ApiUserFactory.create_batch(3, account=account)
    ids = [user.id for user in users]

    response = admin_client.post(
        "/api-users/bulk/update/",
        {"ids": ids, "active": False, "labels": [{"name": "frozen", "color": "#000000"}]},
    )

    assert response.status_code == 200
    assert response.json() == {"ids": ids}
    for user in users:
        user.refresh_from_db()
        assert user.active is False
        assert [label.name for label in user.labels.all()] == ["frozen"]
        assert user.changed_by == admin[0]
    assert Label.objects.filter(account=account, name="frozen").count() == 1
    assert Change.objects.filter(user__in=users, action="updated").count() == 3


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"active": False}, {"ids": ["This field is required."]}),
        ({"ids": [], "active": False}, {"ids": ["Ensure this field has at least 1 elements."]}),
        (
            {"ids": ["Missing1d234"], "active": False},
            {"ids": ['Invalid pk "Missing1d234" - object does not exist.']},
        ),
        ({"ids": ["0OIl0OIl0OIl"], "active": False}, {"ids": {"0": ["Not a valid id."]}}),
    ],
)
def test_bulk_update_refuses_bad_input_and_changes_nothing(admin_client, api_user, body, errors):
    response = admin_client.post("/api-users/bulk/update/", body)

    assert response.status_code == 400
    assert response.json() == errors
    api_user.refresh_from_db()
    assert api_user.active is True


def test_bulk_update_refuses_a_bad_value_for_all(admin_client, api_user):
    response = admin_client.post(
        "/api-users/bulk/update/", {"ids": [api_user.id], "active": "maybe"}
    )

    assert response.status_code == 400
    assert response.json() == {"active": ["Must be a valid boolean: true or false."]}
    api_user.refresh_from_db()
    assert api_user.active is True


def test_bulk_update_is_all_or_nothing_with_one_foreign_id(
    admin_client, api_user, foreign_api_user
):
    response = admin_client.post(
        "/api-users/bulk/update/", {"ids": [api_user.id, foreign_api_user.id], "name": "same"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "ids": [f'Invalid pk "{foreign_api_user.id}" - object does not exist.']
    }
    api_user.refresh_from_db()
    foreign_api_user.refresh_from_db()
    assert (api_user.name, foreign_api_user.name) == ("ci-bot", "their-bot")


def test_bulk_update_is_forbidden_to_readers(account, api_user):
    client = client_for(api_user_with_key(account, "Auditor")[1])

    response = client.post("/api-users/bulk/update/", {"ids": [api_user.id], "active": False})

    assert response.json() == FORBIDDEN
    api_user.refresh_from_db()
    assert api_user.active is True


def test_bulk_update_refuses_duplicate_ids(admin_client, api_user):
    response = admin_client.post("/api-users/bulk/update/", {"ids": [api_user.id] * 2, "name": "x"})

    assert response.json() == {"ids": ["Each id may be given only once."]}


ENDPOINTS = [
    ("post", "/api-users/", {"name": "x"}),
    ("put", "{user}", {"name": "x", "labels": []}),
    ("delete", "{user}", None),
    ("post", "/api-users/bulk/update/", {"ids": ["{id}"], "name": "x"}),
    ("post", "{user}rotate-key/", None),
    ("get", "{user}key/", None),
    ("get", "{user}history/", None),
]


def request(client, api_user, method, path, body):
    path = path.format(user=url(api_user))
    if body and "ids" in body:
        body = {**body, "ids": [api_user.id]}
    return getattr(client, method)(path, body, format="json")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_a_key(api_user, method, path, body):
    response = request(APIClient(), api_user, method, path, body)

    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "JWT"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_refuses_a_developer(account, api_user, method, path, body):
    developer = client_for(api_user_with_key(account, "Developer")[1])

    response = request(developer, api_user, method, path, body)

    assert response.status_code == 403
    assert response.json() == FORBIDDEN


@pytest.mark.usefixtures("keys_read_every_time")
def test_put_and_delete_queries_do_not_grow_with_labels_or_roles(
    admin_client, account, django_assert_num_queries
):
    def user_with(n: int) -> User:
        user = ApiUserFactory(account=account)
        user.labels.set(LabelFactory.create_batch(n, account=account))
        for team in TeamFactory.create_batch(n, account=account):
            user.user_roles.create(role_id=DEVELOPER, tier="team", team=team)
        return user

    users = [user_with(1), user_with(30)]

    for user in users:
        body = {"name": "x", "labels": [{"name": f"new-for-{user.id}", "color": ""}]}
        with django_assert_num_queries(PUT_QUERIES):
            response = admin_client.put(url(user), body)
        assert response.status_code == 200, response.content
        # The common case: something changes, the labels are the user's already.
        with django_assert_num_queries(PATCH_QUERIES):
            response = admin_client.put(url(user), {**body, "name": "y"})
        assert response.status_code == 200, response.content

    for user in users:
        with django_assert_num_queries(DELETE_QUERIES):
            response = admin_client.delete(url(user))
        assert response.status_code == 204, response.content


@pytest.mark.usefixtures("keys_read_every_time")
def test_bulk_update_queries_grow_with_the_users_only(
    admin_client, account, django_assert_num_queries
):
    for n_labels in (1, 30):
        users = ApiUserFactory.create_batch(3, account=account)
        for user in users:
            user.labels.set(LabelFactory.create_batch(n_labels, account=account))
        body = {
            "ids": [user.id for user in users],
            "labels": [{"name": f"z{n_labels}", "color": ""}],
        }

        with django_assert_num_queries(BULK_UPDATE_QUERIES):
            response = admin_client.post("/api-users/bulk/update/", body)

        assert response.status_code == 200, response.content


@pytest.mark.parametrize("media_type", ["json", "multipart", "urlencoded"])
def test_bulk_update_refuses_an_empty_name_in_a_form_as_in_json(admin_client, api_user, media_type):
    body = {"ids": api_user.id, "name": ""}
    if media_type == "urlencoded":
        response = admin_client.post(
            "/api-users/bulk/update/",
            urlencode(body),
            content_type="application/x-www-form-urlencoded",
        )
    else:
        body["ids"] = [api_user.id] if media_type == "json" else api_user.id
        response = admin_client.post("/api-users/bulk/update/", body, format=media_type)

    assert response.status_code == 400
    assert response.json() == {"name": ["This field may not be blank."]}
    api_user.refresh_from_db()
    assert api_user.name == "ci-bot"
