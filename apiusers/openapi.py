"""OpenAPI pieces drf-spectacular cannot derive: the key scheme and the documented error bodies."""

from drf_spectacular import openapi
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse

from .filters import ListOnly
from .ids import ID_HELP_TEXT


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with every id in a path described as the docs describe ids, and only
    the filters that apply to the operation: those of the API users' list are not parameters
    of the other actions returning lists (the history)."""

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "id" or parameter["name"].endswith("_id"):
                parameter.setdefault("description", ID_HELP_TEXT)
        return parameters

    def get_filter_backends(self):
        backends = super().get_filter_backends()
        if getattr(self.view, "action", None) == "list":
            return backends
        return [backend for backend in backends if not issubclass(backend, ListOnly)]


class FilterSetParameters(DjangoFilterExtension):
    """django-filter's parameters as drf-spectacular derives them, where an empty value is
    allowed (it means the parameter is not sent) and a filter may add to its own parameter
    (its limits, the pattern of its ids) with a `document(parameter)` method."""

    target_class = "apiusers.filters.FilterBackend"
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
