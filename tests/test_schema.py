"""The committed OpenAPI document is the one the code generates, and it states the docs page."""

import difflib
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

SCHEMA = Path(__file__).resolve().parent.parent / "schema" / "openapi.yaml"
REGENERATE = "make schema"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    return out.read_text()


@pytest.fixture(scope="module")
def schema(generated) -> dict:
    return yaml.safe_load(generated)


def test_committed_schema_is_the_generated_one(generated):
    committed = SCHEMA.read_text()
    if committed != generated:
        SCHEMA.with_name("openapi_out.yaml").write_text(generated)
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                generated.splitlines(keepends=True),
                "schema/openapi.yaml (committed)",
                "generated (schema/openapi_out.yaml)",
            )
        )
        pytest.fail(f"schema/openapi.yaml is out of date; review and run `{REGENERATE}`\n{diff}")


def test_schema_is_valid_openapi(schema):
    validate(schema)


def resolve(schema: dict, node: dict) -> dict:
    """Follow `$ref` and single-item `allOf` wrappers to the schema they point at."""
    while True:
        if "$ref" in node:
            node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        elif "allOf" in node and len(node["allOf"]) == 1:
            node = node["allOf"][0]
        else:
            return node


# Facts of the published docs page of PATCH /api-users/{id}/, written by hand from it.
NAME = "Name of the user."
ACTIVE = (
    "If true, the user can authenticate to Probely to interact with apps and the API.\n"
    "If false, the user's access to Probely's apps and API is blocked.\n"
    "Defaults to true."
)
LABEL_NAME = "Name of the label.\nThe maximum length is 255 characters."
LABEL_COLOR = (
    'Color of the label, in RGB hexadecimal format prefixed with "#".\n'
    'For example, "#00FF00" for green.'
)
CHANGED = (
    "Date and time of the last change, in ISO 8601 UTC format.\n"
    'For example, "2023-08-09T13:27:43.8208302".'
)
ID = "A unique Base58 value identifying this object."
TITLES = ["ceo", "cto", "cso", "seceng", "dev", "devop", "manager", "other", ""]
TITLE_LABELS = [
    "* `ceo` - Chief Executive Officer",
    "* `cto` - Chief Technology Officer",
    "* `cso` - Chief Security Officer",
    "* `seceng` - Security engineer",
    "* `dev` - Developer",
    "* `devop` - Developer Operations",
    "* `manager` - Manager",
    "* `other` - Other",
]


@pytest.fixture(scope="module")
def patch(schema) -> dict:
    return schema["paths"]["/api-users/{id}/"]["patch"]


def test_patch_operation_summary_path_parameter_and_media_types(patch):
    assert patch["summary"] == "Partial Update API User"
    assert [(p["in"], p["name"], p.get("required", False)) for p in patch["parameters"]] == [
        ("header", "If-Match", False),
        ("path", "id", True),
    ]
    assert "required" not in patch["requestBody"]
    assert list(patch["requestBody"]["content"]) == [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ]


def test_patch_request_fields(schema, patch):
    for media in patch["requestBody"]["content"].values():
        body = resolve(schema, media["schema"])
        assert "required" not in body
        fields = body["properties"]
        assert list(fields) == ["name", "title", "active", "labels"]
        assert fields["name"]["maxLength"] == 60
        assert fields["name"]["description"] == NAME
        assert fields["title"]["enum"] == TITLES
        assert fields["title"]["description"] == "Job title:\n\n" + "\n".join(TITLE_LABELS)
        assert fields["active"]["default"] is True
        assert fields["active"]["description"] == ACTIVE
        label = resolve(schema, fields["labels"]["items"])
        assert fields["labels"]["type"] == "array"
        assert label["properties"]["name"]["maxLength"] == 255
        assert label["properties"]["name"]["description"] == LABEL_NAME
        assert label["properties"]["color"]["pattern"] == "^[a-zA-Z0-9#_-]*$"
        assert label["properties"]["color"]["description"] == LABEL_COLOR


def test_patch_statuses_and_error_examples(schema, patch):
    responses = patch["responses"]
    assert {"200", "400", "401", "500"} <= set(responses)
    for code in responses:
        assert list(responses[code]["content"]) == ["application/json"]

    def example(code, field):
        return responses[code]["content"]["application/json"]["schema"]["properties"][field][
            "example"
        ]

    assert example("400", "<field name>") == ["Errors related to field <field name>."]
    assert example("400", "non_field_errors") == ["Errors not related to any field specific field."]
    assert example("401", "detail") == "Incorrect authentication credentials."
    assert example("500", "detail") == "Unexpected error while handling your request."


def test_patch_200_representation(schema, patch):
    user = resolve(schema, patch["responses"]["200"]["content"]["application/json"]["schema"])
    fields = user["properties"]
    assert list(fields) == [
        "id",
        "name",
        "changed_by",
        "changed",
        "active",
        "labels",
        "user_roles",
        "is_apiuser",
        "key",
    ]
    assert {"changed_by", "labels"} <= set(user["required"])
    assert "user_roles" not in user["required"]
    assert fields["id"]["description"] == ID
    assert (fields["name"]["maxLength"], fields["name"]["description"]) == (60, NAME)
    assert fields["changed_by"]["description"] == "User who last made changes."
    assert fields["changed"]["description"] == CHANGED
    assert fields["changed"]["format"] == "date-time"
    assert (fields["active"]["default"], fields["active"]["description"]) == (True, ACTIVE)
    assert fields["user_roles"]["description"] == "Roles of the user."
    assert fields["is_apiuser"]["description"] == (
        "If true, it is an app that interacts with Probely through the API.\n"
        "If false, it is a human who interacts with Probely through our web interface.\n"
        'Defaults to false."'
    )
    assert fields["key"]["type"] == "string"

    changed_by = resolve(schema, fields["changed_by"])
    assert list(changed_by["properties"]) == ["id", "email", "name"]
    assert changed_by["properties"]["email"]["description"] == "Email of the user."
    assert changed_by["properties"]["email"]["oneOf"][0] == {
        "type": "string",
        "format": "email",
        "maxLength": 254,
    }
    assert changed_by["properties"]["name"]["maxLength"] == 60

    label = resolve(schema, fields["labels"]["items"])
    assert list(label["properties"]) == ["id", "name", "color", "changed_by", "changed"]
    assert "changed_by" in label["required"]
    assert label["properties"]["name"]["maxLength"] == 255
    assert label["properties"]["name"]["description"] == LABEL_NAME
    assert label["properties"]["color"]["pattern"] == "^[a-zA-Z0-9#_-]*$"
    assert label["properties"]["changed"]["description"] == CHANGED

    user_role = resolve(schema, fields["user_roles"]["items"])
    assert list(user_role["properties"]) == ["id", "role", "scope"]
    assert {"role", "scope"} <= set(user_role["required"])
    role = resolve(schema, user_role["properties"]["role"])
    assert role["description"].startswith(
        "Return serializer_class with all fields as read_only except key."
    )
    assert role["description"].endswith("This is for the drf-spectacular documentation generation.")
    assert role["properties"]["name"] == {
        "type": "string",
        "readOnly": True,
        "description": "Role's name.",
        "maxLength": 255,
    }
    scope = resolve(schema, user_role["properties"]["scope"])
    assert list(scope["properties"]) == ["tier", "target", "team"]
    assert not {"target", "team"} & set(scope["required"])
    target = resolve(schema, scope["properties"]["target"])
    assert list(target["properties"]) == ["id", "name", "url"]
    assert target["properties"]["url"]["description"] == "Target URL."
    assert list(resolve(schema, scope["properties"]["team"])["properties"]) == ["id", "name"]


# Fields the docs page shows without a description; every other field has one.
UNDESCRIBED_AS_IN_THE_DOCS = {
    ("ApiUser", "labels"),
    ("CreatedApiUser", "labels"),
    ("ListedApiUser", "labels"),
    ("UserRole", "role"),
    ("UserRole", "scope"),
    ("ApiUserRole", "role"),
    ("ApiUserRole", "scope"),
    ("Scope", "tier"),
    ("Scope", "target"),
    ("Scope", "team"),
    ("TargetReference", "name"),
    ("TeamReference", "name"),
}


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_operation_has_a_summary_tag_description_and_documented_parameters(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (method, path)
        assert operation.get("description"), (method, path)
        assert operation.get("tags"), (method, path)
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), (method, path, parameter["name"])


def test_every_operation_documents_its_error_statuses_with_json_bodies(schema):
    for path, method, operation in operations(schema):
        expected = {"401", "403", "500"}
        if "{" in path:
            expected.add("404")
        if method in {"put", "patch"} or (method == "post" and "requestBody" in operation):
            expected.add("400")
        assert expected <= set(operation["responses"]), (method, path)
        for code, response in operation["responses"].items():
            if code not in {"204", "304"}:
                assert list(response["content"]) == ["application/json"], (method, path, code)


def test_every_field_is_described_except_where_the_docs_page_has_none(schema):
    undescribed = {
        (name, field)
        for name, component in schema["components"]["schemas"].items()
        for field, spec in component.get("properties", {}).items()
        if not spec.get("description")
    }

    assert undescribed == UNDESCRIBED_AS_IN_THE_DOCS
