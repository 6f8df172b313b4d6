"""API user roles: /api-users/{api_user_id}/roles/ and the bulk operations, through HTTP."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from django.db import connection
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from apiusers.models import Change, Role, Tier, User, UserRole
from apiusers.services import user_roles as service

from .conftest import client_for
from .factories import (
    AccountFactory,
    ApiUserFactory,
    TargetFactory,
    TeamFactory,
    UserFactory,
    api_user_with_key,
    grant,
)
from .test_concurrency import run_together

pytestmark = pytest.mark.django_db

BULK = "/api-users/roles/bulk/"
BULK_CREATE = "/api-users/roles/bulk/create/"
BULK_DELETE = "/api-users/roles/bulk/delete/"
BULK_UPDATE = "/api-users/roles/bulk/update/"
MISSING = "Missing1d234"
NOT_FOUND = b'{"detail":"Not found."}'
FORBIDDEN = {"detail": "You do not have permission to perform this action."}
GRANT_OWNER = {"detail": "You cannot grant the Owner role: it has permissions you do not hold."}
TAKE_OWNER = {"detail": "You cannot take away the Owner role: it has permissions you do not hold."}
ALREADY_HELD = ["The API user already has this role in this scope."]
BUILT_IN = {"Owner", "Admin", "Auditor", "Billing", "Developer", "SecOps"}


def roles_url(user, user_role=None) -> str:
    user_id = getattr(user, "id", user)
    if user_role is None:
        return f"/api-users/{user_id}/roles/"
    return f"/api-users/{user_id}/roles/{getattr(user_role, 'id', user_role)}/"


def role_id(name: str) -> str:
    return Role.objects.get(name=name).id


def item(role: str, team=None, target=None, **extra) -> dict:
    """A write item: `role` by built-in name (or a raw id), in the scope of `team`, `target` or the
    account."""
    if team is not None:
        scope = {"tier": "team", "team": {"id": getattr(team, "id", team)}}
    elif target is not None:
        scope = {"tier": "target", "target": {"id": getattr(target, "id", target)}}
    else:
        scope = {"tier": "account"}
    return {**extra, "role": {"id": role_id(role) if role in BUILT_IN else role}, "scope": scope}


def shown(user_role: UserRole, with_user: bool = False) -> dict:
    """The representation of an assignment, written out from the database."""
    scope = {"tier": user_role.tier}
    if user_role.team:
        scope["team"] = {"id": user_role.team.id, "name": user_role.team.name}
    if user_role.target:
        scope["target"] = {
            "id": user_role.target.id,
            "name": user_role.target.name,
            "url": user_role.target.url,
        }
    user = {"api_user": user_role.user_id} if with_user else {}
    return {
        "id": user_role.id,
        **user,
        "role": {"id": user_role.role.id, "name": user_role.role.name},
        "scope": scope,
    }


def held(user: User) -> list[tuple]:
    """A user's assignments as (role name, tier, team or target name), sorted."""
    return sorted(
        (ur.role.name, ur.tier, (ur.team or ur.target or ur.user.account).name)
        for ur in user.user_roles.select_related("role", "team", "target", "user__account")
    )


def roles_history(user: User) -> list[dict]:
    return [change.changes["user_roles"] for change in user.history.order_by("at", "id")]


def long_ago(*users: User):
    then = timezone.now() - timedelta(days=1)
    User.objects.filter(pk__in=[user.pk for user in users]).update(changed=then)
    return then


@pytest.fixture
def team(account):
    return TeamFactory(account=account, name="Platform")


@pytest.fixture
def target(account):
    return TargetFactory(account=account, name="Shop", url="https://shop.example.com/")


@pytest.fixture
def developer(api_user):
    """`api_user`'s one assignment: Developer on the account."""
    return api_user.user_roles.select_related("role", "team", "target").get()


@pytest.fixture
def other_api_user(account):
    return ApiUserFactory(account=account, name="deploy-bot")


@pytest.fixture
def foreign_user_role(foreign_api_user):
    return grant(foreign_api_user, "Developer")


# List and retrieve ---------------------------------------------------------------------------


def test_list_answers_the_api_users_assignments_in_the_envelope(
    admin_client, api_user, developer, team, target
):
    on_team = grant(api_user, "Auditor", tier=Tier.TEAM, team=team)
    on_target = grant(api_user, "Developer", tier=Tier.TARGET, target=target)

    response = admin_client.get(roles_url(api_user))

    assert response.status_code == 200
    assert response.json() == {
        "count": 3,
        "page_total": 1,
        "page": 1,
        "length": 10,
        "results": [shown(on_team), shown(developer), shown(on_target)],
    }
    assert response.json()["results"][1] == {
        "id": developer.id,
        "role": {"id": role_id("Developer"), "name": "Developer"},
        "scope": {"tier": "account"},
    }
    assert response.json()["results"][2]["scope"] == {
        "tier": "target",
        "target": {"id": target.id, "name": "Shop", "url": "https://shop.example.com/"},
    }


def test_list_is_paged_by_length(admin_client, api_user, account):
    for team in TeamFactory.create_batch(3, account=account):
        grant(api_user, "Developer", tier=Tier.TEAM, team=team)

    body = admin_client.get(roles_url(api_user), {"length": 2, "page": 2}).json()

    assert (body["count"], body["page_total"], body["page"], body["length"]) == (4, 2, 2, 2)
    assert len(body["results"]) == 2


def test_list_of_an_api_user_without_roles_is_empty(admin_client, other_api_user):
    response = admin_client.get(roles_url(other_api_user))

    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_foreign_a_missing_a_human_and_a_deleted_api_user_answer_the_same_404(
    admin_client, account, foreign_api_user, other_api_user
):
    human = UserFactory(account=account)
    grant(human, "Developer")
    User.objects.filter(pk=other_api_user.pk).update(deleted=timezone.now())

    answers = [
        admin_client.get(roles_url(user_id))
        for user_id in (foreign_api_user.id, MISSING, human.id, other_api_user.id)
    ]

    assert {(answer.status_code, answer.content) for answer in answers} == {(404, NOT_FOUND)}


def test_an_api_user_id_that_is_not_an_id_is_404_without_a_query(
    admin_client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = admin_client.get("/api-users/not-an-id/roles/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_retrieve_answers_one_assignment(admin_client, api_user, team):
    on_team = grant(api_user, "Auditor", tier=Tier.TEAM, team=team)

    response = admin_client.get(roles_url(api_user, on_team))

    assert response.status_code == 200
    assert response.json() == {
        "id": on_team.id,
        "role": {"id": role_id("Auditor"), "name": "Auditor"},
        "scope": {"tier": "team", "team": {"id": team.id, "name": "Platform"}},
    }


def test_retrieve_of_an_assignment_not_of_this_api_user_is_the_same_404(
    admin_client, api_user, other_api_user, foreign_api_user, foreign_user_role
):
    others = grant(other_api_user, "Developer")

    answers = [
        admin_client.get(url)
        for url in (
            roles_url(api_user, others),
            roles_url(api_user, foreign_user_role),
            roles_url(foreign_api_user, foreign_user_role),
            roles_url(api_user, MISSING),
        )
    ]

    assert {(answer.status_code, answer.content) for answer in answers} == {(404, NOT_FOUND)}


# Create --------------------------------------------------------------------------------------


def test_create_gives_the_role_and_answers_the_new_assignment(admin_client, admin, api_user, team):
    then = long_ago(api_user)

    response = admin_client.post(roles_url(api_user), item("Auditor", team=team))

    assert response.status_code == 201
    created = api_user.user_roles.get(role__name="Auditor")
    assert (created.tier, created.team_id, created.target_id) == ("team", team.id, None)
    assert response.json() == {
        "id": created.id,
        "role": {"id": role_id("Auditor"), "name": "Auditor"},
        "scope": {"tier": "team", "team": {"id": team.id, "name": "Platform"}},
    }
    api_user.refresh_from_db()
    assert api_user.changed > then
    assert api_user.changed_by_id == admin[0].id
    change = api_user.history.get()
    assert (change.action, change.actor_id) == (Change.Action.UPDATED, admin[0].id)
    assert change.changes == {
        "user_roles": {
            "from": ["Developer on account"],
            "to": [f"Auditor on team Platform ({team.id})", "Developer on account"],
        }
    }


def test_create_in_a_target_scope(admin_client, api_user, target):
    response = admin_client.post(roles_url(api_user), item("SecOps", target=target))

    assert response.status_code == 201
    assert response.json()["scope"] == {
        "tier": "target",
        "target": {"id": target.id, "name": "Shop", "url": "https://shop.example.com/"},
    }
    assert held(api_user) == [("Developer", "account", "Acme"), ("SecOps", "target", "Shop")]


JSON_ONLY = [
    ("post", "{user}"),
    ("put", "{assignment}"),
    ("patch", "{assignment}"),
    ("post", BULK),
    ("post", BULK_CREATE),
    ("post", BULK_DELETE),
    ("post", BULK_UPDATE),
]


@pytest.mark.parametrize(("method", "path"), JSON_ONLY)
@pytest.mark.parametrize(
    "body",
    [
        {"role.id": "Auditor", "scope.tier": "team", "scope.team.id": "{team}"},
        {"role": '{"id": "Auditor"}', "scope": '{"tier": "account"}'},
    ],
    ids=["dotted-parts", "json-parts"],
)
@pytest.mark.parametrize("format_", ["multipart", "form"])
def test_role_writes_take_json_only_and_refuse_forms_with_415(
    admin_client, api_user, developer, team, method, path, body, format_
):
    """Forms cannot carry the nested objects of an assignment; a form body was dropped unseen
    (a PATCH answered 200 having changed nothing)."""
    path = path.format(user=roles_url(api_user), assignment=roles_url(api_user, developer))
    body = {
        key: value.replace("Auditor", role_id("Auditor")).replace("{team}", team.id)
        for key, value in body.items()
    }
    before = held(api_user)

    if format_ == "form":
        content_type = "application/x-www-form-urlencoded"
        response = getattr(admin_client, method)(path, urlencode(body), content_type=content_type)
    else:
        response = getattr(admin_client, method)(path, body, format="multipart")
        content_type = response.wsgi_request.META["CONTENT_TYPE"]

    assert response.status_code == 415
    assert response.json() == {"detail": f'Unsupported media type "{content_type}" in request.'}
    assert held(api_user) == before


TOO_MANY = ["Ensure this field has no more than 100 elements."]


@pytest.mark.parametrize(
    ("path", "body", "errors"),
    [
        (BULK_DELETE, {"ids": ["0OIl0OIl0OIl"] * 101}, {"ids": TOO_MANY}),
        (BULK, {"delete": ["0OIl0OIl0OIl"] * 101}, {"delete": TOO_MANY}),
        (
            BULK_CREATE,
            {"api_users": ["0OIl0OIl0OIl"] * 101},
            {"api_users": TOO_MANY, "user_roles": ["This field is required."]},
        ),
    ],
)
def test_an_overlong_list_of_ids_is_refused_before_looking_at_any(
    admin_client, api_user, developer, path, body, errors
):
    """Each of 150,000 ids cost a validation (seconds of a worker) before the list's length was
    checked: the length is checked first, so the errors are not those of the items."""
    before = held(api_user)

    response = admin_client.post(path, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert held(api_user) == before


def test_role_write_schemas_offer_json_only():
    schema = yaml.safe_load((Path(__file__).parent.parent / "schema/openapi.yaml").read_text())
    role_paths = [path for path in schema["paths"] if "/roles/" in path]

    media_types = {
        (path, method): list(operation["requestBody"]["content"])
        for path in role_paths
        for method, operation in schema["paths"][path].items()
        if "requestBody" in operation
    }

    assert len(media_types) == 7
    assert set(map(tuple, media_types.values())) == {("application/json",)}


def test_bulk_role_schemas_state_which_lists_may_be_empty():
    components = yaml.safe_load((Path(__file__).parent.parent / "schema/openapi.yaml").read_text())[
        "components"
    ]["schemas"]

    def bounds(component: str) -> dict:
        return {
            name: (prop.get("minItems"), prop.get("maxItems"))
            for name, prop in components[component]["properties"].items()
        }

    assert bounds("ApiUserRolesBulkCreateRequest") == {
        "api_users": (1, 100),
        "user_roles": (1, 100),
    }
    assert bounds("ApiUserRolesBulkDeleteRequest") == {"ids": (1, 100)}
    assert bounds("ApiUserRolesBulkUpdateRequest") == {"user_roles": (1, 100)}
    assert bounds("ApiUserRolesBulkRequest") == {
        "create": (None, 100),
        "update": (None, 100),
        "delete": (None, 100),
    }
    assert components["ApiUserRolesBulkRequest"]["anyOf"] == [
        {"required": [name], "properties": {name: {"minItems": 1}}}
        for name in ("create", "update", "delete")
    ]


def test_an_assignment_the_api_user_has_already_is_a_400(admin_client, api_user):
    then = long_ago(api_user)

    response = admin_client.post(roles_url(api_user), item("Developer"))

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ALREADY_HELD}
    api_user.refresh_from_db()
    assert api_user.changed == then
    assert not api_user.history.exists()


def test_the_same_role_in_another_scope_is_another_assignment(admin_client, api_user, team):
    response = admin_client.post(roles_url(api_user), item("Developer", team=team))

    assert response.status_code == 201
    assert held(api_user) == [
        ("Developer", "account", "Acme"),
        ("Developer", "team", "Platform"),
    ]


def test_a_foreign_team_is_refused_like_a_missing_one(
    admin_client, api_user, other_account, account
):
    theirs = TeamFactory(account=other_account)

    foreign = admin_client.post(roles_url(api_user), item("Developer", team=theirs))
    missing = admin_client.post(roles_url(api_user), item("Developer", team=MISSING))

    assert foreign.status_code == missing.status_code == 400
    assert foreign.json() == {
        "scope": {"team": {"id": [f'Invalid pk "{theirs.id}" - object does not exist.']}}
    }
    assert foreign.content == missing.content.replace(MISSING.encode(), theirs.id.encode())
    assert held(api_user) == [("Developer", "account", "Acme")]


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            item(MISSING),
            {"role": {"id": [f'Invalid pk "{MISSING}" - object does not exist.']}},
        ),
        (
            {"role": {"id": "short"}, "scope": {"tier": "account"}},
            {"role": {"id": ["Ensure this field has at least 12 characters.", "Not a valid id."]}},
        ),
        (
            {"role": {}, "scope": {"tier": "moon"}},
            {
                "role": {"id": ["This field is required."]},
                "scope": {"tier": ['"moon" is not a valid choice.']},
            },
        ),
        (
            {"scope": {"tier": "account"}},
            {"role": ["This field is required."]},
        ),
        (
            {"role": {"id": "X" * 12}, "scope": {"tier": "team"}},
            {"scope": {"non_field_errors": ["The team tier takes a team, and no target."]}},
        ),
        (
            {"role": {"id": "X" * 12}, "scope": {"tier": "account", "team": {"id": "X" * 12}}},
            {
                "scope": {
                    "non_field_errors": ["The account tier takes neither a team nor a target."]
                }
            },
        ),
        (
            [],
            {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
        ),
    ],
)
def test_create_refuses_bad_items_with_the_items_own_errors(admin_client, api_user, body, errors):
    response = admin_client.post(roles_url(api_user), body)

    assert response.status_code == 400
    assert response.json() == errors
    assert held(api_user) == [("Developer", "account", "Acme")]


def test_an_admin_cannot_grant_owner_but_an_owner_can(account, api_user):
    admin_client = client_for(api_user_with_key(account, "Admin")[1])
    owner_client = client_for(api_user_with_key(account, "Owner")[1])

    refused = admin_client.post(roles_url(api_user), item("Owner"))
    granted = owner_client.post(roles_url(api_user), item("Owner"))

    assert refused.status_code == 403
    assert refused.json() == GRANT_OWNER
    assert granted.status_code == 201
    assert held(api_user) == [("Developer", "account", "Acme"), ("Owner", "account", "Acme")]


def test_create_on_a_foreign_api_user_is_404_before_the_body_is_read(
    admin_client, foreign_api_user
):
    foreign = admin_client.post(roles_url(foreign_api_user), {"role": "nonsense"})
    missing = admin_client.post(roles_url(MISSING), item("Developer"))

    assert (foreign.status_code, foreign.content) == (404, NOT_FOUND)
    assert (missing.status_code, missing.content) == (404, NOT_FOUND)
    assert not foreign_api_user.user_roles.exists()


def test_a_duplicate_that_slips_past_the_check_is_a_400_not_a_500(
    admin_client, api_user, monkeypatch
):
    """A writer that does not lock the API user could insert the assignment between the
    check and the insert; the unique constraint then refuses it."""
    monkeypatch.setattr(service, "_held_key", lambda user_role: ("not", "held"))

    response = admin_client.post(roles_url(api_user), item("Developer"))

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": [service.CHANGED_MEANWHILE]}
    assert api_user.user_roles.count() == 1
    assert not api_user.history.exists()


# Update and partial update ---------------------------------------------------------------------


def test_put_replaces_role_and_scope_and_keeps_the_id(
    admin_client, admin, api_user, developer, team
):
    then = long_ago(api_user)

    response = admin_client.put(roles_url(api_user, developer), item("Auditor", team=team))

    assert response.status_code == 200
    developer.refresh_from_db()
    assert (developer.role.name, developer.tier, developer.team_id) == ("Auditor", "team", team.id)
    assert response.json() == shown(developer)
    api_user.refresh_from_db()
    assert (api_user.changed > then, api_user.changed_by_id) == (True, admin[0].id)
    assert roles_history(api_user) == [
        {"from": ["Developer on account"], "to": [f"Auditor on team Platform ({team.id})"]}
    ]


def test_put_needs_role_and_scope(admin_client, api_user, developer):
    response = admin_client.put(roles_url(api_user, developer), {"role": {"id": MISSING}})

    assert response.status_code == 400
    assert response.json() == {"scope": ["This field is required."]}


def test_put_of_the_values_it_has_changes_nothing(admin_client, api_user, developer):
    then = long_ago(api_user)

    response = admin_client.put(roles_url(api_user, developer), item("Developer"))

    assert response.status_code == 200
    assert response.json() == shown(developer)
    api_user.refresh_from_db()
    assert (api_user.changed, api_user.changed_by_id) == (then, api_user.id)
    assert not api_user.history.exists()


def test_put_to_an_assignment_the_api_user_has_in_another_is_a_400(
    admin_client, api_user, developer, team
):
    grant(api_user, "Auditor", tier=Tier.TEAM, team=team)

    response = admin_client.put(roles_url(api_user, developer), item("Auditor", team=team))

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ALREADY_HELD}
    assert held(api_user) == [("Auditor", "team", "Platform"), ("Developer", "account", "Acme")]


def test_patch_of_the_role_keeps_the_scope(admin_client, api_user, team):
    on_team = grant(api_user, "Developer", tier=Tier.TEAM, team=team)

    response = admin_client.patch(roles_url(api_user, on_team), {"role": {"id": role_id("SecOps")}})

    assert response.status_code == 200
    on_team.refresh_from_db()
    assert response.json() == shown(on_team)
    assert response.json()["scope"] == {"tier": "team", "team": {"id": team.id, "name": "Platform"}}
    assert response.json()["role"]["name"] == "SecOps"


def test_patch_of_the_scope_keeps_the_role(admin_client, api_user, developer, target):
    response = admin_client.patch(
        roles_url(api_user, developer), {"scope": {"tier": "target", "target": {"id": target.id}}}
    )

    assert response.status_code == 200
    assert held(api_user) == [("Developer", "target", "Shop")]


def test_patch_with_an_empty_body_changes_nothing(admin_client, api_user, developer):
    response = admin_client.patch(roles_url(api_user, developer), {})

    assert response.status_code == 200
    assert response.json() == shown(developer)
    assert not api_user.history.exists()


def test_patch_of_the_tier_alone_is_refused(admin_client, api_user, developer):
    response = admin_client.patch(roles_url(api_user, developer), {"scope": {"tier": "team"}})

    assert response.status_code == 400
    assert response.json() == {
        "scope": {"non_field_errors": ["The team tier takes a team, and no target."]}
    }


def test_an_admin_cannot_change_or_delete_an_owner_assignment(admin_client, api_user):
    owner = grant(api_user, "Owner")

    changed = admin_client.put(roles_url(api_user, owner), item("Developer", team=None))
    patched = admin_client.patch(roles_url(api_user, owner), {"scope": {"tier": "account"}})
    deleted = admin_client.delete(roles_url(api_user, owner))

    assert changed.status_code == patched.status_code == deleted.status_code == 403
    assert changed.json() == TAKE_OWNER
    assert patched.json() == GRANT_OWNER
    assert deleted.json() == TAKE_OWNER
    assert held(api_user) == [("Developer", "account", "Acme"), ("Owner", "account", "Acme")]


# Delete --------------------------------------------------------------------------------------


def test_delete_takes_the_role_away(admin_client, admin, api_user, developer):
    then = long_ago(api_user)

    response = admin_client.delete(roles_url(api_user, developer))

    assert response.status_code == 204
    assert response.content == b""
    assert not api_user.user_roles.exists()
    api_user.refresh_from_db()
    assert (api_user.changed > then, api_user.changed_by_id) == (True, admin[0].id)
    assert roles_history(api_user) == [{"from": ["Developer on account"], "to": []}]


def test_delete_of_a_foreign_or_missing_assignment_is_the_same_404(
    admin_client, api_user, foreign_api_user, foreign_user_role
):
    answers = [
        admin_client.delete(url)
        for url in (
            roles_url(api_user, foreign_user_role),
            roles_url(foreign_api_user, foreign_user_role),
            roles_url(api_user, MISSING),
        )
    ]

    assert {(answer.status_code, answer.content) for answer in answers} == {(404, NOT_FOUND)}
    assert UserRole.objects.filter(pk=foreign_user_role.pk).exists()


# Permissions ---------------------------------------------------------------------------------


def every_request(api_user, developer) -> list[tuple[str, str, object]]:
    """(method, url, body) of every operation, with bodies that would succeed."""
    return [
        ("get", roles_url(api_user), None),
        ("get", roles_url(api_user, developer), None),
        ("post", roles_url(api_user), item("Auditor")),
        ("put", roles_url(api_user, developer), item("Auditor")),
        ("patch", roles_url(api_user, developer), item("Auditor")),
        ("delete", roles_url(api_user, developer), None),
        ("post", BULK_CREATE, {"api_users": [api_user.id], "user_roles": [item("Auditor")]}),
        ("post", BULK_DELETE, {"ids": [developer.id]}),
        ("post", BULK_UPDATE, {"user_roles": [item("Auditor", id=developer.id)]}),
        ("post", BULK, {"delete": [developer.id]}),
    ]


def send(client, method: str, url: str, body):
    return getattr(client, method)(url, body) if body is not None else getattr(client, method)(url)


def test_without_a_key_every_operation_is_401(api_user, developer):
    client = APIClient()

    for method, url, body in every_request(api_user, developer):
        response = send(client, method, url, body)
        assert response.status_code == 401, (method, url)
        assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize(("role", "may_read"), [("Developer", False), ("Auditor", True)])
def test_callers_that_may_not_manage_users_change_nothing(
    account, api_user, developer, role, may_read
):
    client = client_for(api_user_with_key(account, role)[1])

    for method, url, body in every_request(api_user, developer):
        response = send(client, method, url, body)
        if method == "get" and may_read:
            assert response.status_code == 200, (method, url)
        else:
            assert (response.status_code, response.json()) == (403, FORBIDDEN), (method, url)
    assert held(api_user) == [("Developer", "account", "Acme")]
    assert not Change.objects.exists()


def test_a_forbidden_caller_gets_the_same_403_for_foreign_and_missing_api_users(
    account, foreign_api_user
):
    client = client_for(api_user_with_key(account, "Developer")[1])

    answers = {client.get(roles_url(user_id)).content for user_id in (foreign_api_user.id, MISSING)}

    assert answers == {b'{"detail":"You do not have permission to perform this action."}'}


# Bulk create ---------------------------------------------------------------------------------


def test_bulk_create_gives_every_api_user_every_role(
    admin_client, admin, api_user, other_api_user, team
):
    then = long_ago(api_user, other_api_user)
    body = {
        "api_users": [other_api_user.id, api_user.id],
        "user_roles": [item("Developer"), item("Auditor", team=team)],
    }

    response = admin_client.post(BULK_CREATE, body)

    assert response.status_code == 200
    assert held(other_api_user) == [
        ("Auditor", "team", "Platform"),
        ("Developer", "account", "Acme"),
    ]
    assert held(api_user) == held(other_api_user)
    results = [
        UserRole.objects.get(user=user, role__name=role)
        for user in (other_api_user, api_user)
        for role in ("Developer", "Auditor")
    ]
    assert response.json() == {"user_roles": [shown(ur, with_user=True) for ur in results]}
    assert results[2].id == api_user.user_roles.get(tier="account").id  # already held: kept
    for user in (api_user, other_api_user):
        user.refresh_from_db()
        assert (user.changed > then, user.changed_by_id) == (True, admin[0].id)
    assert roles_history(api_user) == [
        {
            "from": ["Developer on account"],
            "to": [f"Auditor on team Platform ({team.id})", "Developer on account"],
        }
    ]
    assert roles_history(other_api_user) == [
        {
            "from": [],
            "to": [f"Auditor on team Platform ({team.id})", "Developer on account"],
        }
    ]


def test_bulk_create_of_assignments_all_held_changes_nothing(admin_client, api_user, developer):
    then = long_ago(api_user)

    response = admin_client.post(
        BULK_CREATE, {"api_users": [api_user.id], "user_roles": [item("Developer")]}
    )

    assert response.status_code == 200
    assert response.json() == {"user_roles": [shown(developer, with_user=True)]}
    api_user.refresh_from_db()
    assert api_user.changed == then
    assert not api_user.history.exists()


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            lambda ids: {"api_users": [ids["ours"], ids["theirs"]], "user_roles": [item("SecOps")]},
            lambda ids: {
                "api_users": {"1": [f'Invalid pk "{ids["theirs"]}" - object does not exist.']}
            },
        ),
        (
            lambda ids: {"api_users": [ids["human"]], "user_roles": [item("SecOps")]},
            lambda ids: {
                "api_users": {"0": [f'Invalid pk "{ids["human"]}" - object does not exist.']}
            },
        ),
        (
            lambda ids: {"api_users": [ids["ours"], ids["ours"]], "user_roles": [item("SecOps")]},
            lambda ids: {"api_users": {"1": ["This id is already listed above."]}},
        ),
        (
            lambda ids: {
                "api_users": [ids["ours"]],
                "user_roles": [item("SecOps"), item(MISSING), item("SecOps")],
            },
            lambda ids: {
                "user_roles": {
                    "1": {"role": {"id": [f'Invalid pk "{MISSING}" - object does not exist.']}},
                    "2": {"non_field_errors": ["This role is already given in this scope above."]},
                }
            },
        ),
        (
            lambda ids: {"api_users": [], "user_roles": []},
            lambda ids: {
                "api_users": ["This list may not be empty."],
                "user_roles": {"non_field_errors": ["This list may not be empty."]},
            },
        ),
        (
            lambda ids: {"api_users": [ids["ours"]] * 101, "user_roles": [item("SecOps")] * 101},
            lambda ids: {
                "api_users": ["Ensure this field has no more than 100 elements."],
                "user_roles": {
                    "non_field_errors": ["Ensure this field has no more than 100 elements."]
                },
            },
        ),
        (
            lambda ids: {"api_users": ids["ours"], "user_roles": {}},
            lambda ids: {
                "api_users": ['Expected a list of items but got type "str".'],
                "user_roles": {
                    "non_field_errors": ['Expected a list of items but got type "dict".']
                },
            },
        ),
    ],
)
def test_bulk_create_refuses_bad_input_and_changes_nothing(
    admin_client, account, api_user, foreign_api_user, body, errors
):
    ids = {
        "ours": api_user.id,
        "theirs": foreign_api_user.id,
        "human": UserFactory(account=account).id,
    }

    response = admin_client.post(BULK_CREATE, body(ids))

    assert response.status_code == 400
    assert response.json() == errors(ids)
    assert UserRole.objects.filter(role__name="SecOps").count() == 0
    assert not Change.objects.exists()


def test_bulk_create_refuses_a_foreign_api_user_like_a_missing_one(admin_client, foreign_api_user):
    answers = [
        admin_client.post(BULK_CREATE, {"api_users": [user_id], "user_roles": [item("SecOps")]})
        for user_id in (foreign_api_user.id, MISSING)
    ]

    assert answers[0].content == answers[1].content.replace(
        MISSING.encode(), foreign_api_user.id.encode()
    )


def test_bulk_create_of_owner_by_an_admin_is_403_and_changes_nothing(
    admin_client, api_user, other_api_user
):
    response = admin_client.post(
        BULK_CREATE,
        {
            "api_users": [api_user.id, other_api_user.id],
            "user_roles": [item("SecOps"), item("Owner")],
        },
    )

    assert (response.status_code, response.json()) == (403, GRANT_OWNER)
    assert not other_api_user.user_roles.exists()


# Bulk delete ---------------------------------------------------------------------------------


def test_bulk_delete_takes_the_roles_away(
    admin_client, admin, api_user, developer, other_api_user, team
):
    others = grant(other_api_user, "Auditor", tier=Tier.TEAM, team=team)
    kept = grant(other_api_user, "Developer")

    response = admin_client.post(BULK_DELETE, {"ids": [others.id, developer.id]})

    assert response.status_code == 200
    assert response.json() == {"ids": [others.id, developer.id]}
    assert list(UserRole.objects.filter(user__in=[api_user, other_api_user])) == [kept]
    assert roles_history(api_user) == [{"from": ["Developer on account"], "to": []}]
    assert roles_history(other_api_user) == [
        {
            "from": [f"Auditor on team Platform ({team.id})", "Developer on account"],
            "to": ["Developer on account"],
        }
    ]
    assert User.objects.get(pk=other_api_user.pk).changed_by_id == admin[0].id


def test_bulk_delete_refuses_foreign_missing_human_and_repeated_ids(
    admin_client, account, developer, foreign_user_role
):
    human_role = grant(UserFactory(account=account), "Developer")
    ids = [developer.id, foreign_user_role.id, MISSING, human_role.id, developer.id]

    response = admin_client.post(BULK_DELETE, {"ids": ids})

    assert response.status_code == 400
    assert response.json() == {
        "ids": {
            "1": [f'Invalid pk "{foreign_user_role.id}" - object does not exist.'],
            "2": [f'Invalid pk "{MISSING}" - object does not exist.'],
            "3": [f'Invalid pk "{human_role.id}" - object does not exist.'],
            "4": ["This id is already listed above."],
        }
    }
    assert UserRole.objects.filter(pk__in=ids).count() == 3


def test_bulk_delete_of_an_owner_assignment_by_an_admin_is_403(admin_client, api_user, developer):
    owner = grant(api_user, "Owner")

    response = admin_client.post(BULK_DELETE, {"ids": [developer.id, owner.id]})

    assert (response.status_code, response.json()) == (403, TAKE_OWNER)
    assert api_user.user_roles.count() == 2


# Bulk update ---------------------------------------------------------------------------------


def test_bulk_update_changes_each_assignment_and_keeps_ids(
    admin_client, api_user, developer, other_api_user, team
):
    others = grant(other_api_user, "Auditor")

    response = admin_client.post(
        BULK_UPDATE,
        {
            "user_roles": [
                item("SecOps", team=team, id=others.id),
                item("SecOps", team=team, id=developer.id),
            ]
        },
    )

    assert response.status_code == 200
    others.refresh_from_db()
    developer.refresh_from_db()
    assert response.json() == {
        "user_roles": [shown(others, with_user=True), shown(developer, with_user=True)]
    }
    assert held(api_user) == held(other_api_user) == [("SecOps", "team", "Platform")]
    assert roles_history(other_api_user) == [
        {"from": ["Auditor on account"], "to": [f"SecOps on team Platform ({team.id})"]}
    ]


def test_bulk_update_is_all_or_nothing(admin_client, api_user, developer, team):
    on_team = grant(api_user, "Auditor", tier=Tier.TEAM, team=team)
    other = grant(api_user, "SecOps")

    response = admin_client.post(
        BULK_UPDATE,
        {
            "user_roles": [
                item("Billing", id=other.id),
                item("Auditor", team=team, id=developer.id),
            ]
        },
    )

    assert response.status_code == 400
    assert response.json() == {"user_roles": {"1": {"non_field_errors": ALREADY_HELD}}}
    assert held(api_user) == [
        ("Auditor", "team", "Platform"),
        ("Developer", "account", "Acme"),
        ("SecOps", "account", "Acme"),
    ]
    assert on_team.id in {ur.id for ur in api_user.user_roles.all()}
    assert not Change.objects.exists()


def test_bulk_update_may_not_give_one_api_user_an_assignment_twice(
    admin_client, api_user, developer, team
):
    on_team = grant(api_user, "Auditor", tier=Tier.TEAM, team=team)

    response = admin_client.post(
        BULK_UPDATE,
        {"user_roles": [item("SecOps", id=developer.id), item("SecOps", id=on_team.id)]},
    )

    assert response.status_code == 400
    assert response.json() == {"user_roles": {"1": {"non_field_errors": ALREADY_HELD}}}


def test_bulk_update_refuses_bad_ids_and_resolves_the_rest_per_item(
    admin_client, developer, foreign_user_role
):
    response = admin_client.post(
        BULK_UPDATE,
        {
            "user_roles": [
                item(MISSING, id=foreign_user_role.id),
                item("Auditor", id=developer.id),
                item("SecOps", id=developer.id),
            ]
        },
    )

    assert response.status_code == 400
    assert response.json() == {
        "user_roles": {
            "0": {
                "id": [f'Invalid pk "{foreign_user_role.id}" - object does not exist.'],
                "role": {"id": [f'Invalid pk "{MISSING}" - object does not exist.']},
            },
            "2": {"id": ["This id is already listed above."]},
        }
    }
    assert UserRole.objects.get(pk=developer.pk).role.name == "Developer"


# Bulk operations -----------------------------------------------------------------------------


def test_bulk_operations_delete_update_and_create_in_one_go(
    admin_client, api_user, developer, other_api_user, team
):
    gone = grant(other_api_user, "Auditor")
    moved = grant(other_api_user, "Developer")

    response = admin_client.post(
        BULK,
        {
            "create": [
                item("Developer", api_user=other_api_user.id),
                item("Auditor", team=team, api_user=api_user.id),
                item("Developer", api_user=api_user.id),
            ],
            "update": [item("SecOps", team=team, id=moved.id)],
            "delete": [gone.id],
        },
    )

    assert response.status_code == 200
    created = UserRole.objects.get(user=other_api_user, role__name="Developer")
    on_team = UserRole.objects.get(user=api_user, role__name="Auditor")
    moved.refresh_from_db()
    assert response.json() == {
        "create": [
            shown(created, with_user=True),
            shown(on_team, with_user=True),
            shown(developer, with_user=True),
        ],
        "update": [shown(moved, with_user=True)],
        "delete": [gone.id],
    }
    assert created.id != moved.id
    assert held(other_api_user) == [
        ("Developer", "account", "Acme"),
        ("SecOps", "team", "Platform"),
    ]
    assert roles_history(other_api_user) == [
        {
            "from": ["Auditor on account", "Developer on account"],
            "to": ["Developer on account", f"SecOps on team Platform ({team.id})"],
        }
    ]
    assert len(roles_history(api_user)) == 1


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"non_field_errors": ["Send at least one of create, update and delete."]}),
        (
            {"create": [], "update": [], "delete": []},
            {"non_field_errors": ["Send at least one of create, update and delete."]},
        ),
        (
            lambda ids: {"update": [item("SecOps", id=ids["role"])], "delete": [ids["role"]]},
            {"delete": {"0": ["This role assignment is also updated in this request."]}},
        ),
        (
            lambda ids: {
                "create": [
                    item("SecOps", api_user=ids["user"]),
                    item("SecOps", api_user=ids["theirs"]),
                    item("SecOps", api_user=ids["user"]),
                ]
            },
            lambda ids: {
                "create": {
                    "1": {"api_user": [f'Invalid pk "{ids["theirs"]}" - object does not exist.']},
                    "2": {"non_field_errors": ["This role is already given in this scope above."]},
                }
            },
        ),
        (
            lambda ids: {
                "create": [item("SecOps", api_user=ids["user"])],
                "update": [item("Developer", id=ids["role"])],
                "delete": [MISSING],
            },
            {"delete": {"0": [f'Invalid pk "{MISSING}" - object does not exist.']}},
        ),
        (
            lambda ids: {
                "create": [item("SecOps", api_user=ids["user"])],
                "update": [item("Auditor", id=ids["role"])],
            },
            {"update": {"0": {"non_field_errors": ALREADY_HELD}}},
        ),
    ],
)
def test_bulk_operations_refuse_bad_input_and_change_nothing(
    admin_client, api_user, developer, foreign_api_user, body, errors
):
    grant(api_user, "Auditor")
    ids = {"user": api_user.id, "role": developer.id, "theirs": foreign_api_user.id}
    body = body(ids) if callable(body) else body

    response = admin_client.post(BULK, body)

    assert response.status_code == 400
    assert response.json() == (errors(ids) if callable(errors) else errors)
    assert held(api_user) == [("Auditor", "account", "Acme"), ("Developer", "account", "Acme")]
    assert not Change.objects.exists()


def test_the_same_role_may_be_created_for_two_api_users(admin_client, api_user, other_api_user):
    response = admin_client.post(
        BULK,
        {
            "create": [
                item("SecOps", api_user=api_user.id),
                item("SecOps", api_user=other_api_user.id),
            ]
        },
    )

    assert response.status_code == 200
    assert ("SecOps", "account", "Acme") in held(api_user)
    assert held(other_api_user) == [("SecOps", "account", "Acme")]


def test_bulk_update_refuses_to_swap_two_assignments(admin_client, api_user, developer):
    auditor = grant(api_user, "Auditor")

    response = admin_client.post(
        BULK_UPDATE,
        {"user_roles": [item("Auditor", id=developer.id), item("Developer", id=auditor.id)]},
    )

    assert response.status_code == 400
    assert response.json() == {
        "user_roles": {
            "0": {"non_field_errors": ALREADY_HELD},
            "1": {"non_field_errors": ALREADY_HELD},
        }
    }


@pytest.mark.parametrize(("order", "refused"), [(1, "1"), (-1, "0")])
def test_bulk_update_refuses_to_pass_a_role_on_in_either_order(
    admin_client, api_user, developer, order, refused
):
    """Auditor moves on to SecOps while Developer takes Auditor: refused whatever the order."""
    auditor = grant(api_user, "Auditor")
    items = [item("SecOps", id=auditor.id), item("Auditor", id=developer.id)][::order]

    response = admin_client.post(BULK_UPDATE, {"user_roles": items})

    assert response.status_code == 400
    assert response.json() == {"user_roles": {refused: {"non_field_errors": ALREADY_HELD}}}
    assert held(api_user) == [("Auditor", "account", "Acme"), ("Developer", "account", "Acme")]


def test_bulk_operations_may_update_into_what_they_delete(admin_client, api_user, developer):
    auditor = grant(api_user, "Auditor")

    response = admin_client.post(
        BULK, {"delete": [auditor.id], "update": [item("Auditor", id=developer.id)]}
    )

    assert response.status_code == 200
    assert held(api_user) == [("Auditor", "account", "Acme")]
    assert api_user.user_roles.get().id == developer.id


def test_bulk_operations_may_create_what_an_update_moves_away(
    admin_client, api_user, developer, team
):
    response = admin_client.post(
        BULK,
        {
            "update": [item("Developer", team=team, id=developer.id)],
            "create": [item("Developer", api_user=api_user.id)],
        },
    )

    assert response.status_code == 200
    assert held(api_user) == [("Developer", "account", "Acme"), ("Developer", "team", "Platform")]
    assert response.json()["update"][0]["id"] == developer.id
    assert response.json()["create"][0]["id"] != developer.id


def test_an_assignment_deleted_meanwhile_stays_deleted_and_cannot_be_changed(
    admin, api_user, developer
):
    """Another request may delete an assignment between the validation of a request and the
    lock of its API user."""
    UserRole.objects.filter(pk=developer.pk).delete()
    auditor = {"role": Role.objects.get(name="Auditor"), "tier": "account"}

    outcome = service.user_roles_change(actor=admin[0], revokes=[developer])
    with pytest.raises(ValidationError) as refused:
        service.user_roles_change(
            actor=admin[0],
            regrants=[service.Regrant(developer, {**auditor, "team": None, "target": None})],
        )

    assert outcome.revoked == [developer.id]
    assert refused.value.detail == {
        "non_field_errors": [f'Invalid pk "{developer.id}" - object does not exist.']
    }
    assert not api_user.user_roles.exists()
    assert not api_user.history.exists()


# Query counts --------------------------------------------------------------------------------

# Authentication, the API user, the count, the page of assignments.
LIST_QUERIES = 4
# Authentication, the assignment with its role and scope.
RETRIEVE_QUERIES = 2
# Authentication, the API user; the role and the team of the item; savepoint,
# lock of the API user, its assignments, insert, the user's changed, history entry, release;
# the new assignment.
CREATE_QUERIES = 12
# Authentication, the assignment; the role and the team of the item; savepoint,
# lock, assignments, update, the user's changed, history entry, release; the assignment.
UPDATE_QUERIES = 12
# Authentication, the assignment; savepoint, lock, assignments, delete, the user's
# changed, history entry, release.
DELETE_QUERIES = 9
# Authentication; the API users, the roles and the teams of the items; savepoint,
# lock of the API users, their assignments, insert, their changed, history entries, release;
# the resulting assignments.
BULK_CREATE_QUERIES = 12
# Authentication; the assignments; savepoint, lock, assignments, delete, changed,
# history entries, release.
BULK_DELETE_QUERIES = 9
# Authentication; the assignments, the roles and the teams of the items;
# savepoint, lock, assignments, update, changed, history entries, release; the assignments.
BULK_UPDATE_QUERIES = 12
# Authentication; the API users, roles and teams of the creations; the assignments,
# roles and teams of the updates; the deleted assignments; savepoint, lock, assignments, delete,
# update, insert, changed, history entries, release; created and updated assignments.
BULK_QUERIES = 19


def many_roles(user: User, account, n: int) -> list[UserRole]:
    return [
        grant(user, "Developer", tier=Tier.TEAM, team=team)
        for team in TeamFactory.create_batch(n, account=account)
    ]


@pytest.mark.parametrize("n", [2, 30])
def test_list_queries_do_not_grow_with_the_page(
    admin_client, account, api_user, n, django_assert_num_queries
):
    many_roles(api_user, account, 30)

    with django_assert_num_queries(LIST_QUERIES):
        response = admin_client.get(roles_url(api_user), {"length": n})

    assert response.status_code == 200, response.content


@pytest.mark.usefixtures("keys_read_every_time")
@pytest.mark.parametrize("n", [1, 30])
def test_single_operations_queries_do_not_grow_with_the_roles_held(
    admin_client, account, api_user, developer, team, n, django_assert_num_queries
):
    many_roles(api_user, account, n)
    one = roles_url(api_user, developer)
    change, new = item("Auditor", team=team), item("SecOps", team=team)

    with django_assert_num_queries(RETRIEVE_QUERIES):
        response = admin_client.get(one)
    assert response.status_code == 200, response.content

    with django_assert_num_queries(UPDATE_QUERIES):
        response = admin_client.patch(one, change)
    assert response.status_code == 200, response.content

    with django_assert_num_queries(CREATE_QUERIES):
        response = admin_client.post(roles_url(api_user), new)
    assert response.status_code == 201, response.content

    with django_assert_num_queries(DELETE_QUERIES):
        response = admin_client.delete(one)
    assert response.status_code == 204, response.content


@pytest.mark.usefixtures("keys_read_every_time")
@pytest.mark.parametrize(("n_users", "n_roles"), [(1, 2), (10, 5)])
def test_bulk_queries_do_not_grow_with_api_users_or_roles(
    admin_client, account, n_users, n_roles, django_assert_num_queries
):
    users = ApiUserFactory.create_batch(n_users, account=account)
    teams = TeamFactory.create_batch(n_roles, account=account)
    for user in users:
        many_roles(user, account, 3)
    create = {
        "api_users": [user.id for user in users],
        "user_roles": [item("Auditor", team=team) for team in teams],
    }
    with django_assert_num_queries(BULK_CREATE_QUERIES):
        response = admin_client.post(BULK_CREATE, create)
    assert response.status_code == 200, response.content

    assignments = list(UserRole.objects.filter(role__name="Auditor"))
    update = {"user_roles": [item("SecOps", team=ur.team, id=ur.id) for ur in assignments]}
    with django_assert_num_queries(BULK_UPDATE_QUERIES):
        response = admin_client.post(BULK_UPDATE, update)
    assert response.status_code == 200, response.content

    bulk = {
        "create": [
            item("Billing", team=team, api_user=user.id) for user in users for team in teams
        ][:100],
        "update": [
            item("Auditor", team=ur.team, id=ur.id) for ur in assignments[: len(assignments) // 2]
        ],
        "delete": [ur.id for ur in assignments[len(assignments) // 2 :]],
    }
    with django_assert_num_queries(BULK_QUERIES):
        response = admin_client.post(BULK, bulk)
    assert response.status_code == 200, response.content

    delete = {"ids": [ur.id for ur in UserRole.objects.filter(role__name="Auditor")]}
    with django_assert_num_queries(BULK_DELETE_QUERIES):
        response = admin_client.post(BULK_DELETE, delete)
    assert response.status_code == 200, response.content


# Concurrency (PostgreSQL) --------------------------------------------------------------------

CONCURRENT = 10


def post_with(key: str, path: str, body: dict):
    def request():
        response = client_for(key).post(path, body)
        return response.status_code, response.json()

    return request


@pytest.fixture
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("Row locks need PostgreSQL; SQLite serialises writers itself.")


@pytest.fixture
def caller_and_bot(postgresql_only):
    account = AccountFactory(name="Acme")
    _, key = api_user_with_key(account, "Admin", name="admin-bot")
    return account, key, ApiUserFactory(account=account, name="ci-bot")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_grants_to_one_api_user_apply_one_after_the_other(caller_and_bot):
    account, key, bot = caller_and_bot
    teams = TeamFactory.create_batch(CONCURRENT, account=account)

    results = run_together(
        [post_with(key, roles_url(bot), item("Developer", team=team)) for team in teams]
    )

    assert [status for status, _ in results] == [201] * CONCURRENT
    assert bot.user_roles.count() == CONCURRENT
    chain = roles_history(bot)
    assert [entry["from"] for entry in chain[1:]] == [entry["to"] for entry in chain[:-1]]
    assert len(chain[-1]["to"]) == CONCURRENT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_creations_of_one_assignment_give_it_once(caller_and_bot):
    _, key, bot = caller_and_bot

    results = run_together(
        [post_with(key, roles_url(bot), item("Auditor")) for _ in range(CONCURRENT)]
    )

    assert sorted(status for status, _ in results) == [201] + [400] * (CONCURRENT - 1)
    assert {str(body) for status, body in results if status == 400} == {
        str({"non_field_errors": ALREADY_HELD})
    }
    assert bot.user_roles.count() == 1
    assert len(roles_history(bot)) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_bulk_creates_listing_api_users_in_opposite_orders_do_not_deadlock(
    caller_and_bot,
):
    account, key, _ = caller_and_bot
    users = ApiUserFactory.create_batch(CONCURRENT, account=account)
    teams = TeamFactory.create_batch(CONCURRENT, account=account)
    ids = [user.id for user in users]
    bodies = [
        {
            "api_users": ids if index % 2 else ids[::-1],
            "user_roles": [item("Developer", team=team)],
        }
        for index, team in enumerate(teams)
    ]

    results = run_together([post_with(key, BULK_CREATE, body) for body in bodies])

    assert [status for status, _ in results] == [200] * CONCURRENT
    assert UserRole.objects.filter(user__in=users).count() == CONCURRENT * CONCURRENT
