"""OpenAPI pieces drf-spectacular cannot derive: the key scheme and the documented error bodies."""

from drf_spectacular import openapi
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.utils import OpenApiResponse

from .ids import ID_HELP_TEXT


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with every id in a path described as the docs describe ids."""

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "id" or parameter["name"].endswith("_id"):
                parameter.setdefault("description", ID_HELP_TEXT)
        return parameters


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "apiusers.authentication.ApiKeyAuthentication"
    name = "JWTAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "The API key, prefixed with `JWT `: `Authorization: JWT <key>`.",
        }


class ListedApiUserScheme(OpenApiSerializerExtension):
    """A listed API user requires only `id`: `exclude` may leave out any other field."""

    target_class = "apiusers.serializers.api_users.ListedApiUserSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["required"] = ["id"]
        return schema


class ScopeInputScheme(OpenApiSerializerExtension):
    """A scope names a team exactly at the team tier and a target exactly at the target tier;
    the schema says so, so that a client (or a fuzzer) can tell a valid scope from its shape."""

    target_class = "apiusers.serializers.common.ScopeInputSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        scopes = {"account": [], "team": ["team"], "target": ["target"]}
        schema["oneOf"] = [
            {
                "properties": {"tier": {"enum": [tier]}},
                "required": ["tier", *names],
                "not": {
                    "anyOf": [
                        {"required": [other]} for other in ("team", "target") if other not in names
                    ]
                },
            }
            for tier, names in scopes.items()
        ]
        return schema


def _string_list(example: str) -> dict:
    return {"type": "array", "items": {"type": "string"}, "example": [example]}


VALIDATION_ERROR = OpenApiResponse(
    response={
        "type": "object",
        "properties": {
            "<field name>": _string_list("Errors related to field <field name>."),
            "non_field_errors": _string_list("Errors not related to any field specific field."),
        },
    },
    description="The request is invalid; nothing was changed.",
)


def detail_error(detail: str, description: str) -> OpenApiResponse:
    return OpenApiResponse(
        response={
            "type": "object",
            "properties": {"detail": {"type": "string", "example": detail}},
            "required": ["detail"],
        },
        description=description,
    )


NOT_AUTHENTICATED = detail_error(
    "Incorrect authentication credentials.",
    "No key, or a key that is malformed, unknown, revoked or of an inactive API user.",
)
FORBIDDEN = detail_error(
    "You do not have permission to perform this action.",
    "The caller's account-tier roles do not allow this operation.",
)
NOT_FOUND = detail_error("Not found.", "No API user with this id in the caller's account.")
INVALID_PAGE = detail_error(
    "Invalid page.", "The page is past the last one, or is not a positive integer."
)
SERVER_ERROR = detail_error("Unexpected error while handling your request.", "Unexpected error.")

STANDARD_ERRORS = {401: NOT_AUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND, 500: SERVER_ERROR}
