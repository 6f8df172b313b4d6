"""The OpenAPI document's own pieces: the schema class, the key scheme, the documented error bodies,
and, in the modules of this package, the documentation of each resource's operations (so that the
views hold behaviour only)."""

import re

from drf_spectacular import openapi
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from ..conditional import PreconditionFailed
from ..fields import StrictCharField, text_pattern
from ..ids import ID_HELP_TEXT
from ..services.authority import LAST_OWNER


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with every id in a path described as the docs describe ids, the 429 of
    the rate limits on every operation (any request authenticates first), and the bounds of
    every list stated.

    drf-spectacular states a ListField's `min_length`/`max_length` only; a list of nested
    objects (`many=True`) gets neither, nor does a list that may not be empty, nor a list that
    refuses an item given twice (`unique_items`)."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        action = getattr(self.view, "action", None)
        if action == "retrieve" and self.conditional():
            responses["304"] = self._get_response_for_code(NOT_MODIFIED, "304", direction=direction)
        if action in WRITES and getattr(self.view, "lock_model", None):
            responses["412"] = self._get_response_for_code(PRECONDITION, "412", direction=direction)
        responses["429"] = self._get_response_for_code(THROTTLED, "429", direction=direction)
        return responses

    def get_override_parameters(self):
        parameters = [*super().get_override_parameters(), RETRY_AFTER]
        action = getattr(self.view, "action", None)
        if self.conditional() and action in {"retrieve", "create", "update", "partial_update"}:
            parameters.append(ETAG)
        if action == "retrieve" and self.conditional():
            parameters.append(IF_NONE_MATCH)
        if action in WRITES and getattr(self.view, "lock_model", None):
            parameters.append(IF_MATCH)
        return parameters

    def conditional(self) -> bool:
        """Whether the operation's answer is one object's representation, with its ETag."""
        return hasattr(self.view, "within_precondition")

    def get_serializer_name(self, serializer, direction):
        """Serializers are named for their side, `<Thing>OutputSerializer` and
        `<Thing>InputSerializer`; the document names the thing (and adds `Request` to what
        clients send, as drf-spectacular does)."""
        name = super().get_serializer_name(serializer, direction)
        return re.sub(r"(?:Output|Input)(Serializer)$", r"\1", name)

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "id" or parameter["name"].endswith("_id"):
                parameter.setdefault("description", ID_HELP_TEXT)
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if type(field) is StrictCharField and direction == "request" and schema:
            schema.setdefault("pattern", text_pattern(allow_blank=field.allow_blank))
        if isinstance(field, serializers.ListSerializer | serializers.ListField) and schema:
            if getattr(field, "max_length", None) is not None:
                schema.setdefault("maxItems", field.max_length)
            min_items = max(getattr(field, "min_length", None) or 0, int(not field.allow_empty))
            if min_items:
                schema.setdefault("minItems", min_items)
            if getattr(field, "unique_items", False):
                schema["uniqueItems"] = True
        return schema


class AtLeastOneBulkOperation(OpenApiSerializerExtension):
    """Bulk operations on role assignments need at least one non-empty list, which JSON Schema
    states as `anyOf`."""

    target_class = "apiusers.serializers.user_roles.ApiUserRolesBulkInputSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["anyOf"] = [
            {"required": [name], "properties": {name: {"minItems": 1}}}
            for name in ("create", "update", "delete")
        ]
        return schema


class FilterSetParameters(DjangoFilterExtension):
    """django-filter's parameters as drf-spectacular derives them, where an empty value is
    allowed (it means the parameter is not sent) and a filter may add to its own parameter
    (its limits, the pattern of its ids) with a `document(parameter)` method."""

    target_class = "apiusers.filters.backends.FilterBackend"
    priority = 1

    def resolve_filter_field(self, auto_schema, model, filterset_class, field_name, filter_field):
        parameters = super().resolve_filter_field(
            auto_schema, model, filterset_class, field_name, filter_field
        )
        for parameter in parameters:
            parameter["allowEmptyValue"] = True
            if hasattr(filter_field, "document"):
                filter_field.document(parameter)
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

    target_class = "apiusers.serializers.api_users.ListedApiUserOutputSerializer"

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

# Writes to API users, their keys and their roles.
FORBIDDEN_WRITE = detail_error(
    "You cannot change the API user Ab3dEf9hJk2m: it has permissions you do not hold.",
    "The caller's account-tier roles do not allow this operation; or the operation acts on an "
    "API user holding, in any scope, a permission the caller does not hold (an Admin never acts "
    "on an Owner); or it grants or takes away a role with such a permission. Nothing was "
    "changed.",
)
LAST_OWNER_CONFLICT = detail_error(
    LAST_OWNER,
    "The operation would demote, deactivate or delete the last active Owner of the account. "
    "Nothing was changed.",
)
DELETED_MEANWHILE = detail_error(
    "Not found.",
    "An API user of the request was deleted by a concurrent request before this one could "
    "change it. Nothing was changed.",
)
WRITE_ERRORS = {**STANDARD_ERRORS, 403: FORBIDDEN_WRITE, 409: LAST_OWNER_CONFLICT}
PRECONDITION = detail_error(
    PreconditionFailed.default_detail,
    "The request's If-Match names none of the object's current version: it changed since it "
    "was read. Nothing was changed.",
)
THROTTLED = detail_error(
    "Request was throttled. Expected available in 42 seconds.",
    "Too many failed authentications from the caller's address (THROTTLE_FAILED_AUTH), or too "
    "many requests with this key (THROTTLE_API_KEY). Retry after `Retry-After` seconds; a "
    "valid key keeps working from an address throttled for failures.",
)
# Conditional requests (apiusers.conditional), on the writes that change one object.
WRITES = {"update", "partial_update", "destroy"}
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200, 201],
    description=(
        "The version of the object's representation: it changes exactly when the "
        "representation does. Send it back in `If-Match` to change the object only if it is "
        "still that version, or in `If-None-Match` to read it only if it changed."
    ),
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Change the object only if its current ETag is one of these (`*`: any existing "
        "version); otherwise 412 and nothing changes. Checked with the object locked, so of "
        "concurrent writes sending one ETag, one succeeds. Without it, writes apply as usual."
    ),
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Answer 304, without a body, if the object's ETag is one of these.",
)
NOT_MODIFIED = OpenApiResponse(
    description="The object's ETag is one that If-None-Match named: it has not changed."
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    location=OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until the rate limit's window ends.",
)


def list_errors(noun: str) -> dict:
    """The errors a list answers: a bad `search`, and a `page` past the last one."""
    return {
        400: VALIDATION_ERROR,
        **STANDARD_ERRORS,
        404: detail_error("Invalid page.", f"The page asked for is past the last page of {noun}."),
    }


def object_errors(noun: str) -> dict:
    """The errors an operation on one object answers. An id of another account answers the
    same 404 as a missing one."""
    return {
        **STANDARD_ERRORS,
        404: detail_error("Not found.", f"No {noun} with this id that the caller can see."),
    }
