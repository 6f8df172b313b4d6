"""What the contract fuzzer (.ci/contract) relies on: the seeding command, and answers that
match the schema where the fuzzer found that they did not."""

import json
import tomllib
from importlib import import_module
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator

from apiusers.management.commands.seed_contract import CONSUMED, IDS
from apiusers.models import Label, Role, Team, User, UserRole

from .conftest import client_for, url
from .factories import TargetFactory, TeamFactory

BUILTIN_ROLES = import_module("apiusers.migrations.0002_builtin_roles").BUILTIN_ROLES

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = yaml.safe_load((ROOT / "schema" / "openapi.yaml").read_text())


def seed() -> dict:
    out = StringIO()
    call_command("seed_contract", stdout=out)
    return json.loads(out.getvalue())


def test_seed_contract_gives_a_working_owner_key_and_the_ids_it_made():
    seeded = seed()

    client = client_for(seeded["key"])
    caller = client.get(url(IDS["caller"]))
    assert caller.status_code == 200
    assert [role["role"]["name"] for role in caller.json()["user_roles"]] == ["Owner"]
    assert (seeded["ids"], seeded["consumed"]) == (IDS, CONSUMED)
    users = ["reader", "editor", "rotated", "holder", "bulk_a", "bulk_b"]
    for user_id in [*(IDS[name] for name in users), *CONSUMED["doomed"]]:
        assert client.get(url(user_id)).status_code == 200
    holder_roles = client.get(f"{url(IDS['holder'])}roles/", {"length": 100}).json()["results"]
    assert {IDS["role_kept"], *CONSUMED["roles_dropped"]} <= {role["id"] for role in holder_roles}
    history = client.get(f"{url(IDS['reader'])}history/").json()
    assert [change["action"] for change in history["results"]] == ["updated", "created"]
    for label_id in [IDS["label_kept"], IDS["label_filtered"], *CONSUMED["labels_dropped"]]:
        assert client.get(f"/labels/users/{label_id}/").status_code == 200
    for path in ("teams/{team}", "targets/{target}"):
        assert client.get("/" + path.format(**IDS) + "/").status_code == 200
    bulk = [IDS["role_bulk_a"], IDS["role_bulk_b"], *CONSUMED["roles_bulk_dropped"]]
    assert UserRole.objects.filter(id__in=bulk).count() == len(bulk)


def test_seed_contract_refuses_a_database_it_has_seeded():
    seed()
    counts = (Team.objects.count(), Label.objects.count(), User.objects.count())

    with pytest.raises(CommandError, match="seed a fresh database"):
        seed()
    assert (Team.objects.count(), Label.objects.count(), User.objects.count()) == counts


def test_the_fuzzer_configuration_names_only_seeded_ids():
    config = tomllib.loads((ROOT / ".ci" / "schemathesis.toml").read_text())
    named = set()
    for dictionary in config["dictionaries"].values():
        named |= set(dictionary["values"])
    for operation in config["operations"]:
        named |= {
            value for value in operation.get("parameters", {}).values() if isinstance(value, str)
        }
    builtin_roles = {role_id for role_id, _, _ in BUILTIN_ROLES}
    seeded = {*IDS.values(), *(id for ids in CONSUMED.values() for id in ids)}
    assert named - builtin_roles <= seeded - {IDS["caller"]}


COMPONENTS = {"components": SCHEMA["components"]}


def response_schema(path: str, method: str = "get", status: str = "200") -> dict:
    content = SCHEMA["paths"][path][method]["responses"][status]["content"]
    return {**content["application/json"]["schema"], **COMPONENTS}


def test_history_documents_only_its_own_parameters():
    parameters = SCHEMA["paths"]["/api-users/{id}/history/"]["get"]["parameters"]

    assert sorted(parameter["name"] for parameter in parameters) == ["id", "length", "page"]


def test_a_list_with_every_field_excluded_matches_the_documented_list(admin_client, api_user):
    response = admin_client.get(
        "/api-users/",
        {"exclude": "name,changed_by,changed,active,labels,user_roles,is_apiuser,key"},
    )

    assert response.status_code == 200
    assert {tuple(result) for result in response.json()["results"]} == {("id",)}
    OAS30ReadValidator(response_schema("/api-users/")).validate(response.json())


def test_a_single_api_user_keeps_every_field_required(admin_client, api_user):
    documented = response_schema("/api-users/{id}/")
    item = SCHEMA["components"]["schemas"][documented["$ref"].rsplit("/", 1)[1]]

    # user_roles is the one field the published schema leaves optional.
    assert sorted(item["required"]) == sorted(
        set(admin_client.get(url(api_user)).json()) - {"user_roles"}
    )


def test_a_field_excluded_twice_is_left_out_once(admin_client, api_user):
    response = admin_client.get("/api-users/?exclude=key&exclude=key,labels&exclude=key")

    assert response.status_code == 200
    (result,) = [user for user in response.json()["results"] if user["id"] == api_user.id]
    shown = ["id", "name", "changed_by", "changed", "active", "user_roles", "is_apiuser"]
    assert list(result) == shown


@pytest.mark.parametrize(
    ("scope", "valid"),
    [
        ({"tier": "account"}, True),
        ({"tier": "team", "team": "TEAM"}, True),
        ({"tier": "target", "target": "TARGET"}, True),
        ({"tier": "account", "team": "TEAM"}, False),
        ({"tier": "team"}, False),
        ({"tier": "team", "team": "TEAM", "target": "TARGET"}, False),
        ({"tier": "target", "team": "TEAM"}, False),
    ],
)
def test_the_schema_tells_a_valid_scope_as_the_server_does(admin_client, account, scope, valid):
    team, target = TeamFactory(account=account), TargetFactory(account=account)
    ids = {"TEAM": {"id": team.id}, "TARGET": {"id": target.id}}
    scope = {key: ids.get(value, value) for key, value in scope.items()}
    body = {"role": {"id": Role.objects.get(name="Auditor").id}, "scope": scope}
    created = admin_client.post("/api-users/", {"name": "bot"}, format="json").json()

    response = admin_client.post(f"{url(created['id'])}roles/", body, format="json")

    request = SCHEMA["paths"]["/api-users/{api_user_id}/roles/"]["post"]["requestBody"]
    documented = {**request["content"]["application/json"]["schema"], **COMPONENTS}
    assert OAS30WriteValidator(documented).is_valid(body) is valid
    assert response.status_code == (201 if valid else 400)


LISTS = [
    (path, operation["get"])
    for path, operation in SCHEMA["paths"].items()
    if "get" in operation and "length" in [p["name"] for p in operation["get"]["parameters"]]
]


def parameter(operation: dict, name: str) -> dict:
    (found,) = [p for p in operation["parameters"] if p["name"] == name]
    return found


def test_length_is_documented_as_taking_any_value_as_the_server_does(admin_client, api_user):
    """A `length` that is not a positive integer means the default (README): the schema claims
    no type that the server does not enforce."""
    assert {path: "type" in parameter(get, "length")["schema"] for path, get in LISTS} == {
        path: False for path, _ in LISTS
    }

    response = admin_client.get("/api-users/?length=null&length=true")

    assert response.status_code == 200
    assert response.json()["length"] == 10


@pytest.mark.parametrize("path", ["/api-users/", "/labels/users/", "/roles/"])
def test_a_nul_in_search_is_refused_by_the_schema_as_by_the_server(admin_client, path):
    search = {**parameter(SCHEMA["paths"][path]["get"], "search")["schema"], **COMPONENTS}

    response = admin_client.get(path, {"search": "a\x00b"})

    assert OAS30WriteValidator(search).is_valid("a\x00b") is False
    assert OAS30WriteValidator(search).is_valid("a b") is True
    assert response.status_code == 400
    assert response.json() == {"search": ["Null characters are not allowed."]}


def request_schema(path: str) -> dict:
    content = SCHEMA["paths"][path]["post"]["requestBody"]["content"]
    return {**content["application/json"]["schema"], **COMPONENTS}


@pytest.mark.parametrize(
    ("path", "key", "errors"),
    [
        ("/api-users/bulk/update/", "ids", ["Each id may be given only once."]),
        (
            "/api-users/roles/bulk/create/",
            "api_users",
            {"1": ["This id is already listed above."]},
        ),
    ],
)
def test_an_id_listed_twice_is_refused_by_the_schema_as_by_the_server(
    admin_client, api_user, path, key, errors
):
    auditor = {"role": {"id": Role.objects.get(name="Auditor").id}, "scope": {"tier": "account"}}
    body = {key: [api_user.id, api_user.id], "active": False, "user_roles": [auditor]}

    response = admin_client.post(path, body, format="json")

    assert OAS30WriteValidator(request_schema(path)).is_valid(body) is False
    assert OAS30WriteValidator(request_schema(path)).is_valid({**body, key: [api_user.id]})
    assert response.status_code == 400
    assert response.json() == {key: errors}
    api_user.refresh_from_db()
    assert api_user.active is True
    assert not api_user.user_roles.filter(role__name="Auditor").exists()


def test_every_id_list_that_refuses_a_repeat_says_so():
    schemas = SCHEMA["components"]["schemas"]
    unique = {
        (name, field)
        for name, schema in schemas.items()
        for field, value in schema.get("properties", {}).items()
        if value.get("uniqueItems")
    }

    assert unique == {
        ("ApiUserBulkUpdateRequest", "ids"),
        ("ApiUserRolesBulkCreateRequest", "api_users"),
        ("ApiUserRolesBulkDeleteRequest", "ids"),
        ("ApiUserRolesBulkRequest", "delete"),
    }
